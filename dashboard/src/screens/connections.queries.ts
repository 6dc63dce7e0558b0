/** Connection queries and mutations shared by the list, detail and create screens. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { v1 } from '../api/api.client';
import type { Connection, CreateConnection, ListedConnection } from '../api/api.types';

/** A connection the viewer reads whole, not one only shared with them (`access: "shared"`). */
export function isWhole(c: ListedConnection): c is Connection {
  return !('access' in c);
}

/** GET /connections as it answers: one query (and cache) behind every list of connections. */
export function connectionsQuery() {
  return {
    queryKey: ['connections'],
    queryFn: ({ signal }: { signal: AbortSignal }) =>
      v1('get', '/connections', { signal }).then((r) => r.connections),
    refetchInterval: 15_000,
  };
}

/**
 * The Connections list: a developer's holds those shared with them too, as their shared view
 * (docs/permissions.md#sharing).
 */
export function useConnectionList() {
  return useQuery(connectionsQuery());
}

/**
 * The connections the viewer reads whole, for the pickers (kill switches, detections, system
 * prompts, the live view): a connection only shared with them is not theirs to act on or watch.
 */
export function useConnections() {
  return useQuery({ ...connectionsQuery(), select: (list) => list.filter(isWhole) });
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
