/** Tool integrity and scanner queries of one connection (docs/tool-integrity.md). */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { v1 } from '../api/api.client';
import type { ConnectionSettingsPatch } from './connection-settings.queries';

export function useTools(slug: string) {
  return useQuery({
    queryKey: ['tools', slug],
    queryFn: ({ signal }) => v1('get', '/connections/{slug}/tools', { path: { slug }, signal }),
    refetchInterval: 15_000,
  });
}

export function useToolHistory(slug: string) {
  return useQuery({
    queryKey: ['tools', slug, 'history'],
    queryFn: ({ signal }) =>
      v1('get', '/connections/{slug}/tools/history', { path: { slug }, query: { limit: 50 }, signal }),
  });
}

export function useToolActions(slug: string) {
  const queryClient = useQueryClient();
  const done = () => queryClient.invalidateQueries({ queryKey: ['tools', slug] });
  return {
    approve: useMutation({
      mutationFn: (
        items: Array<{ kind: 'tool' | 'prompt' | 'resource'; name: string; fingerprint: string }>,
      ) => v1('post', '/connections/{slug}/tools/approve', { path: { slug }, body: { items } }),
      onSuccess: done,
    }),
    approveAll: useMutation({
      mutationFn: () =>
        v1('post', '/connections/{slug}/tools/approve', { path: { slug }, body: { all: true } }),
      onSuccess: done,
    }),
    quarantine: useMutation({
      mutationFn: (item: { kind: 'tool' | 'prompt' | 'resource'; name: string }) =>
        v1('post', '/connections/{slug}/tools/quarantine', {
          path: { slug },
          body: { ...item, reason: 'quarantined from the dashboard' },
        }),
      onSuccess: done,
    }),
  };
}

/** A connection's `settings.integrity`, every field set (saved with useSaveConnectionSettings). */
export type IntegritySettings = Required<NonNullable<ConnectionSettingsPatch['integrity']>>;

export function useScans(slug: string) {
  return useQuery({
    queryKey: ['scans', slug],
    queryFn: ({ signal }) => v1('get', '/scans', { query: { connection: slug, limit: 10 }, signal }),
  });
}

export function useScan(id: string | null) {
  return useQuery({
    queryKey: ['scan', id],
    enabled: id !== null,
    queryFn: ({ signal }) =>
      v1('get', '/scans/{id}', { path: { id: id! }, query: { format: 'json' }, signal }),
  });
}

export function useScanActions(slug: string) {
  const queryClient = useQueryClient();
  const done = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: ['scans', slug] }),
      queryClient.invalidateQueries({ queryKey: ['scan'] }),
      queryClient.invalidateQueries({ queryKey: ['tools', slug] }),
    ]);
  return {
    run: useMutation({
      mutationFn: () => v1('post', '/scans', { body: { connection: slug } }),
      onSuccess: done,
    }),
    suppress: useMutation({
      mutationFn: (input: { scanId: string; finding: string; reason: string }) =>
        v1('post', '/scans/{id}/suppressions', {
          path: { id: input.scanId },
          body: { finding: input.finding, reason: input.reason },
        }),
      onSuccess: done,
    }),
  };
}
