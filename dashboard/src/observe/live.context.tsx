/**
 * One live event stream for the whole signed-in app: it feeds the Observe store, refreshes the
 * lists that an event changes (sessions, connections, policies), and raises anomalies as alerts on
 * whatever screen is open.
 */
import { useQueryClient } from '@tanstack/react-query';
import { createContext, type ReactNode, useContext, useEffect, useState } from 'react';
import { v1 } from '../api/api.client';
import type { AuditEvent, GatewayEvent } from '../api/api.types';
import { openEventStream, type StreamStatus } from '../api/events.stream';
import { useToast } from '../ui/toast';
import { observeStore, WINDOW_MS } from './observe.store';

interface LiveState {
  status: StreamStatus;
  gaps: number;
}

const LiveContext = createContext<LiveState>({ status: 'closed', gaps: 0 });

/** Most rows one back-fill reads per type: far above a normal 15 minutes, and still bounded. */
const BACKFILL_MAX_PAGES = 10;

/**
 * Every row of the window (page after page), so the counters seeded after a reload are the ones
 * the live stream had counted — a single capped page made them drop, then climb again.
 */
async function recentRows(query: {
  type: 'tool_call' | 'llm_call' | 'a2a_call' | 'request' | 'anomaly';
  from: string;
  to: string;
}) {
  const rows: AuditEvent[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < BACKFILL_MAX_PAGES; page++) {
    const result = await v1('get', '/audit-events', { query: { ...query, cursor, limit: 500 } });
    rows.push(...result.events);
    if (!result.nextCursor) break;
    cursor = result.nextCursor;
  }
  return rows;
}

export function LiveProvider({ orgId, children }: { orgId: string; children: ReactNode }) {
  const [state, setState] = useState<LiveState>({ status: 'connecting', gaps: 0 });
  const queryClient = useQueryClient();
  const { notify } = useToast();

  useEffect(() => {
    if (observeStore.backfilledFor !== orgId) observeStore.reset();
    const openedAt = Date.now();
    let lastRefresh = 0;
    const onEvent = (event: GatewayEvent, id: string | null) => {
      if (!observeStore.add(event, id ? `live:${id}` : null, true)) return;
      if (event.type === 'anomaly') {
        notify(
          `Anomaly: ${event.anomalyType.replace('_', ' ')}${event.toolName ? ` on ${event.toolName}` : ''}`,
          'danger',
        );
      }
      // Session status changes at once; call counts at most every 2 s (a busy agent sends many).
      if (
        event.type === 'session_update' ||
        ((event.type === 'tool_call' || event.type === 'llm_call') && Date.now() - lastRefresh > 2000)
      ) {
        lastRefresh = Date.now();
        void queryClient.invalidateQueries({ queryKey: ['sessions'] });
      }
      if (event.type === 'connection_update')
        void queryClient.invalidateQueries({ queryKey: ['connections'] });
      if (event.type === 'policy_update')
        void queryClient.invalidateQueries({ queryKey: ['policy', event.slug] });
    };
    const close = openEventStream({
      onEvent,
      onStatus: (status) => setState((s) => ({ ...s, status })),
      onGap: () => setState((s) => ({ ...s, gaps: s.gaps + 1 })),
    });
    if (observeStore.backfilledFor !== orgId) {
      // Recent history so the charts and heat map have a shape on first open. Only rows from
      // before the stream opened: later ones arrive live.
      const from = new Date(openedAt - WINDOW_MS).toISOString();
      const to = new Date(openedAt).toISOString();
      void Promise.all([
        recentRows({ type: 'tool_call', from, to }),
        recentRows({ type: 'llm_call', from, to }),
        recentRows({ type: 'a2a_call', from, to }),
        recentRows({ type: 'request', from, to }),
        recentRows({ type: 'anomaly', from, to }),
      ])
        .then((lists) => {
          observeStore.backfill(
            orgId,
            lists.flat().sort((a, b) => b.createdAt.localeCompare(a.createdAt)),
          );
        })
        .catch(() => {
          // Auditor-less roles or an unreachable API: live events still work.
          observeStore.backfilledFor = orgId;
        });
    }
    return close;
  }, [orgId, queryClient, notify]);

  return <LiveContext.Provider value={state}>{children}</LiveContext.Provider>;
}

export function useLive(): LiveState {
  return useContext(LiveContext);
}
