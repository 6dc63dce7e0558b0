/**
 * A connection's health as the gateway saw it: the error rate of its upstream over a recent window
 * and its last upstream failure. Read from the audit trail (every forwarded call's row carries its
 * outcome), so it needs no state of its own and agrees with what the audit list shows.
 *
 * Cost is bounded whatever the traffic: each connection reads at most HEALTH_SAMPLE of its newest
 * rows inside HEALTH_WINDOW_MS, through the (org_id, connection_id, created_at) index, and the
 * whole list is one D1 round trip (a batch of two statements per connection).
 */
import { z } from '@hono/zod-openapi';
import { OUTCOME_SQL } from '../shared/audit.outcome';

export const HEALTH_WINDOW_MS = 60 * 60_000;
export const HEALTH_SAMPLE = 1_000;

export const connectionHealthSchema = z
  .object({
    status: z.enum(['idle', 'ok', 'degraded', 'failing']).openapi({
      description:
        'idle: no forwarded call in the window; ok: no upstream failure; failing: half or more failed; degraded: some failed',
    }),
    windowSeconds: z.number().int(),
    calls: z
      .number()
      .int()
      .openapi({ description: 'Forwarded calls in the window (at most the newest 1,000)' }),
    errors: z
      .number()
      .int()
      .openapi({ description: 'Of those, upstream failures (unreachable, 5xx, timeout)' }),
    errorRate: z.number().openapi({ description: 'errors / calls, rounded to 3 decimals (0 when idle)' }),
    lastError: z
      .object({
        at: z.string().openapi({ description: 'ISO 8601' }),
        outcome: z.enum(['upstream_error', 'timeout']),
        upstreamStatus: z.number().int().nullable(),
        errorCode: z.string().nullable(),
      })
      .nullable()
      .openapi({ description: 'The most recent upstream failure in the window' }),
  })
  .openapi('ConnectionHealth');

export type ConnectionHealth = z.infer<typeof connectionHealthSchema>;

/** Rows of calls that went (or tried to go) to the upstream, newest first, bounded. */
const SAMPLE = `SELECT created_at, upstream_status, error_code, ${OUTCOME_SQL} AS outcome FROM audit_events
  WHERE org_id = ? AND connection_id = ? AND created_at >= ? AND type IN ('tool_call', 'request')
  ORDER BY created_at DESC LIMIT ${HEALTH_SAMPLE}`;
const FORWARDED = `outcome IN ('ok', 'upstream_rejected', 'upstream_error', 'timeout')`;
const FAILED = `outcome IN ('upstream_error', 'timeout')`;

export const COUNTS_SQL = `SELECT count(*) AS calls, coalesce(sum(${FAILED}), 0) AS errors
  FROM (${SAMPLE}) WHERE ${FORWARDED}`;
export const LAST_ERROR_SQL = `SELECT created_at, upstream_status, error_code, outcome
  FROM (${SAMPLE}) WHERE ${FAILED} ORDER BY created_at DESC LIMIT 1`;

export interface LastErrorRow {
  created_at: number;
  upstream_status: number | null;
  error_code: string | null;
  outcome: 'upstream_error' | 'timeout';
}

/** Pure: the health figures from the two query results. */
export function toHealth(calls: number, errors: number, last: LastErrorRow | null): ConnectionHealth {
  const errorRate = calls === 0 ? 0 : Math.round((errors / calls) * 1000) / 1000;
  const status = calls === 0 ? 'idle' : errors === 0 ? 'ok' : errorRate >= 0.5 ? 'failing' : 'degraded';
  return {
    status,
    windowSeconds: HEALTH_WINDOW_MS / 1000,
    calls,
    errors,
    errorRate,
    lastError: last
      ? {
          at: new Date(last.created_at).toISOString(),
          outcome: last.outcome,
          upstreamStatus: last.upstream_status,
          errorCode: last.error_code,
        }
      : null,
  };
}
