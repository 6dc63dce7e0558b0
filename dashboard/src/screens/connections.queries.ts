/** Connection queries and mutations shared by the list, detail and create screens. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { v1 } from '../api/api.client';
import type { CreateConnection } from '../api/api.types';

export function useConnections() {
  return useQuery({
    queryKey: ['connections'],
    queryFn: ({ signal }) => v1('get', '/connections', { signal }).then((r) => r.connections),
    refetchInterval: 15_000,
  });
}

export function useConnection(slug: string) {
  return useQuery({
    queryKey: ['connections', slug],
    queryFn: ({ signal }) => v1('get', '/connections/{slug}', { path: { slug }, signal }),
  });
}

export function useConnectionActions(slug: string) {
  const queryClient = useQueryClient();
  const done = () => queryClient.invalidateQueries({ queryKey: ['connections'] });
  return {
    rotate: useMutation({
      mutationFn: (credential: string) =>
        v1('post', '/connections/{slug}/rotate', { path: { slug }, body: { credential } }),
      onSuccess: done,
    }),
    disable: useMutation({
      mutationFn: () => v1('post', '/connections/{slug}/disable', { path: { slug } }),
      onSuccess: done,
    }),
    enable: useMutation({
      mutationFn: () => v1('post', '/connections/{slug}/enable', { path: { slug } }),
      onSuccess: done,
    }),
    remove: useMutation({
      mutationFn: () => v1('delete', '/connections/{slug}', { path: { slug } }),
      onSuccess: done,
    }),
  };
}

export function useCreateConnection() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: CreateConnection) => v1('post', '/connections', { body }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['connections'] }),
  });
}
