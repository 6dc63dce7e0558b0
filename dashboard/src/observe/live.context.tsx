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

/**
 * Where the back-fill (audit rows in D1) hands over to the stream's replay: at T = opened − this.
 * A call's audit row reaches D1 only when its guard's spool flushes — FLUSH_DELAY_MS (1 s) after its
 * outcome is known, plus the flush itself — so rows of the last moments before the page opened are
 * not in D1 yet. The hub still holds their events: rows with createdAt < T come from D1, events with
 * timestamp ≥ T from the stream (`?since=T`), and a call's row createdAt and its event's timestamp
 * are the same instant (the guard publishes `new Date(row.createdAt)`, durable-objects/guard.events.ts),
 * so each call is in exactly one half. A call is in D1 by the time it is read if its outcome came
 * more than a flush before the page opened; 10 s leaves that for calls up to ~9 s long (the event
 * carries the admit time, it is published at the outcome) and for a slow flush, and is well inside
 * what the hub holds (1,000 events, and `since` at most 5 minutes back).
 */
const REPLAY_MARGIN_MS = 10_000;

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
    const backfill = observeStore.backfilledFor !== orgId;
    if (backfill) observeStore.reset();
    const openedAt = Date.now();
    const split = openedAt - REPLAY_MARGIN_MS;
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
    const close = openEventStream(
      {
        onEvent,
        onStatus: (status) => setState((s) => ({ ...s, status })),
        onGap: () => setState((s) => ({ ...s, gaps: s.gaps + 1 })),
      },
      // Reconnects resume by Last-Event-ID (events.stream.ts); only a back-filled open replays by time.
      backfill ? { since: new Date(split).toISOString() } : {},
    );
    if (backfill) {
      // Recent history so the charts and heat map have a shape on first open: rows from before the
      // split; from it on, the stream's replay and then live events (REPLAY_MARGIN_MS).
      const from = new Date(openedAt - WINDOW_MS).toISOString();
      const to = new Date(split).toISOString();
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
