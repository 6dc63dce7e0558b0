/** A2A agents (type "a2a" connections): their cards, access by team, tasks and calls. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { v1 } from '../api/api.client';
import type { Schemas } from '../api/api.types';
import { useSaveConnectionSettings } from './connection-settings.queries';
import { connectionsQuery, isWhole } from './connections.queries';

export type StoredAgentCard = Schemas['StoredAgentCard'];
export type A2aTask = Schemas['A2aTask'];
export type A2aTaskDetail = Schemas['A2aTaskDetail'];

export function useAgents() {
  // An agent only shared with the viewer is on the Connections list, as its shared view.
  return useQuery({
    ...connectionsQuery(),
    select: (connections) => connections.filter(isWhole).filter((c) => c.type === 'a2a'),
  });
}

export function useAgentCard(slug: string) {
  return useQuery({
    queryKey: ['agent-card', slug],
    queryFn: ({ signal }) => v1('get', '/connections/{slug}/agent-card', { path: { slug }, signal }),
  });
}

export function useTeams() {
  return useQuery({
    queryKey: ['teams'],
    queryFn: ({ signal }) => v1('get', '/teams', { signal }).then((r) => r.teams),
  });
}

export function useAgentTasks(slug: string, state: string) {
  return useQuery({
    queryKey: ['a2a-tasks', slug, state],
    queryFn: ({ signal }) =>
      v1('get', '/connections/{slug}/tasks', {
        path: { slug },
        query: { limit: 50, ...(state ? { state } : {}) },
        signal,
      }).then((r) => r.tasks),
    refetchInterval: 5_000,
  });
}

export function useAgentTask(slug: string, taskId: string | null) {
  return useQuery({
    queryKey: ['a2a-task', slug, taskId],
    enabled: taskId !== null,
    queryFn: ({ signal }) =>
      v1('get', '/connections/{slug}/tasks/{taskId}', { path: { slug, taskId: taskId! }, signal }),
    refetchInterval: 5_000,
  });
}

export function useAgentCalls(slug: string) {
  return useQuery({
    queryKey: ['audit', 'a2a', slug],
    queryFn: ({ signal }) =>
      v1('get', '/audit-events', { query: { connection: slug, type: 'a2a_call', limit: 20 }, signal }),
    refetchInterval: 10_000,
  });
}

export function useAgentActions(slug: string) {
  const queryClient = useQueryClient();
  return {
    refresh: useMutation({
      mutationFn: () => v1('post', '/connections/{slug}/agent-card/refresh', { path: { slug }, body: {} }),
      onSuccess: () => queryClient.invalidateQueries({ queryKey: ['agent-card', slug] }),
    }),
    /** Takes `{ allowedTeams }`: the teams whose calls may reach the agent. */
    setTeams: useSaveConnectionSettings(slug),
  };
}
