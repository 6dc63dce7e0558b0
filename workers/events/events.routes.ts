/**
 * `GET /api/v1/events` — the organization's live event stream (SSE), served by its EventHub
 * Durable Object. The hub is chosen by the principal's organization and nothing else, so a
 * stream can only ever carry that organization's events.
 *
 * Permission: audit:read (the live view of the audit trail). A Developer's stream is limited to
 * the connections their user has created (at the time they subscribe).
 *
 * A stream does not outlive its access: the hub re-checks the subscriber's key or session every
 * EVENTS_RECHECK_SECONDS and is told at once of revocations (events.revoke.ts; the re-check is workers/shared/events.access.ts); every stream ends
 * after EVENTS_MAX_STREAM_SECONDS and the client reconnects with Last-Event-ID.
 *
 * `since` (a time): the stream first replays the hub's held events whose own timestamp is at or after
 * it (filtered like live delivery), then goes live — what lets a client join a history read from the
 * audit trail (rows before `since`) with the stream (events from `since` on), with nothing in
 * neither: a call's row `createdAt` and its event's `timestamp` are the same instant. Bounded to the
 * last SINCE_MAX_AGE_MS (about what the hub's buffer holds) and refused when in the future beyond
 * SINCE_MAX_AHEAD_MS; Last-Event-ID, when given, wins and `since` is then not checked against the
 * clock (an EventSource reconnects to the same URL, long after `since` was recent).
 */

import { createRoute, z } from '@hono/zod-openapi';
import { eventHubFor, eventShardFor } from '../../durable-objects/do.client';
import { DEFAULT_SHARD_SIZE, SHARD_HEADER } from '../../durable-objects/event.shards';
import { errorResponses } from '../api/api.openapi';
import { createRouter } from '../app.factory';
import type { Principal } from '../app.types';
import { timeParam } from '../audit/audit.schemas';
import { ownOnly, requireOnResource, requirePermission } from '../auth/permissions';
import { AppError } from '../lib/errors';
import type { StreamPrincipal } from '../shared/events.subscriber';

const eventsQuerySchema = z.object({
  connection: z
    .string()
    .min(1)
    .max(128)
    .optional()
    .openapi({ description: 'Only events of this connection (slug or id)' }),
  lastEventId: z
    .string()
    .regex(/^\d{1,15}$/)
    .optional()
    .openapi({ description: 'Resume after this event id (the Last-Event-ID header wins)' }),
  since: timeParam(
    'Replay the held events whose timestamp is at or after this time (ISO 8601 or ms), then go live. ' +
      'At most 5 minutes back and not in the future; ignored when resuming with Last-Event-ID or lastEventId.',
  ),
});

/** How far back `since` may reach: a few minutes, about what the hub's 1,000 held events cover when busy. */
export const SINCE_MAX_AGE_MS = 5 * 60_000;
/**
 * How far ahead of the Worker's clock `since` may be: a client's clock a little fast is not an error
 * (the replay is then empty); beyond this the time is not a recent one and is refused.
 */
export const SINCE_MAX_AHEAD_MS = 30_000;

/** `since` as the hub takes it (ms), or a typed 400 when it is not a recent time. */
function checkedSince(since: number, now: number): number {
  const problem =
    since < now - SINCE_MAX_AGE_MS
      ? `must be within the last ${SINCE_MAX_AGE_MS / 60_000} minutes`
      : since > now + SINCE_MAX_AHEAD_MS
        ? `must not be ahead of the server's clock by more than ${SINCE_MAX_AHEAD_MS / 1000} seconds`
        : null;
  if (problem === null) return since;
  throw new AppError('validation_failed', {
    details: { issues: [{ location: 'query', path: 'since', message: problem }] },
  });
}

/** The connection ids the stream is limited to; null = the whole organization. */
async function streamScope(
  db: D1Database,
  principal: Principal,
  connection: string | undefined,
): Promise<string[] | null> {
  requirePermission(principal, 'audit:read');
  if (connection !== undefined) {
    const row = await db
      .prepare('SELECT id, created_by FROM connections WHERE org_id = ? AND (id = ? OR slug = ?)')
      .bind(principal.orgId, connection, connection)
      .first<{ id: string; created_by: string | null }>();
    if (!row) {
      throw new AppError('not_found', {
        message: 'Connection not found',
        details: { location: 'query', path: 'connection' },
      });
    }
    requireOnResource(principal, 'audit:read', row.created_by);
    return [row.id];
  }
  if (!ownOnly(principal, 'audit:read')) return null;
  if (principal.userId === null) return [];
  const { results } = await db
    .prepare('SELECT id FROM connections WHERE org_id = ? AND created_by = ?')
    .bind(principal.orgId, principal.userId)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

/** What the hub needs to re-check the subscriber: its key or session, its user, its role now. */
function streamPrincipal(principal: Principal): StreamPrincipal {
  if (principal.kind === 'api_key' && principal.apiKeyId !== null) {
    return { kind: 'api_key', apiKeyId: principal.apiKeyId, userId: principal.userId, role: principal.role };
  }
  if (principal.kind === 'session' && principal.sessionId !== null && principal.userId !== null) {
    return {
      kind: 'session',
      sessionId: principal.sessionId,
      userId: principal.userId,
      role: principal.role,
    };
  }
  throw new AppError('internal', { internal: 'principal without a key or session id cannot be re-checked' });
}

/** A whole number (seconds, streams) from a var, within bounds; the default when unset or malformed. */
function wholeNumber(raw: string | undefined, fallback: number, min: number, max: number): number {
  const value = Number(raw?.trim() || Number.NaN);
  return Number.isInteger(value) ? Math.min(max, Math.max(min, value)) : fallback;
}

export const eventsRoutes = createRouter().openapi(
  createRoute({
    method: 'get',
    path: '/events',
    tags: ['Events'],
    summary: 'Live events of the organization (Server-Sent Events)',
    description:
      'tool_call, anomaly, session_update, policy_update and connection_update events, each with an `id:`. ' +
      'Reconnect with `Last-Event-ID` to replay what was missed from a bounded buffer; a `gap` event says ' +
      'when more was missed than it holds. `since` replays first the held events whose timestamp is at or after ' +
      'it, then an `id:` line alone naming where a reconnect resumes. A `: keepalive` comment is sent every 25 seconds.',
    request: { query: eventsQuerySchema },
    responses: {
      200: { content: { 'text/event-stream': { schema: z.string() } }, description: 'The event stream' },
      ...errorResponses,
    },
  }),
  async (c) => {
    const principal = c.get('principal');
    const query = c.req.valid('query');
    const lastEventId = c.req.header('Last-Event-ID') ?? query.lastEventId;
    // A resume by id (what the hub accepts as one) wins over `since`, which is then not checked.
    const resuming = lastEventId !== undefined && /^\d{1,15}$/.test(lastEventId.trim());
    const since = !resuming && query.since !== undefined ? checkedSince(query.since, Date.now()) : null;
    const scope = await streamScope(c.env.DB, principal, query.connection);

    const url = new URL('https://event-hub/subscribe');
    // Who subscribes, so the hub can re-check them and close the stream when their access ends.
    url.searchParams.set('org', principal.orgId);
    url.searchParams.set('principal', JSON.stringify(streamPrincipal(principal)));
    url.searchParams.set('recheckSeconds', String(wholeNumber(c.env.EVENTS_RECHECK_SECONDS, 10, 1, 300)));
    url.searchParams.set(
      'maxLifetimeSeconds',
      String(wholeNumber(c.env.EVENTS_MAX_STREAM_SECONDS, 3600, 1, 7 * 86_400)),
    );
    // Streams per hub object before the organization's streams spread over shards (event.shards.ts).
    url.searchParams.set(
      'shardSize',
      String(wholeNumber(c.env.EVENTS_SHARD_SUBSCRIBERS, DEFAULT_SHARD_SIZE, 1, 100_000)),
    );
    if (scope !== null) {
      url.searchParams.set('restricted', '1');
      for (const id of scope) url.searchParams.append('connection', id);
    }
    if (since !== null) url.searchParams.set('since', String(since));
    const headers = new Headers();
    if (lastEventId !== undefined) headers.set('Last-Event-ID', lastEventId);

    const res = await eventHubFor(c.env, principal.orgId).fetch(new Request(url, { headers }));
    // A full root hands the stream to one of its shards: subscribe there directly, so the stream's
    // bytes never pass through the root's machine.
    const shard = res.status === 307 ? Number(res.headers.get(SHARD_HEADER)) : Number.NaN;
    if (!Number.isInteger(shard) || shard < 1) return res;
    return eventShardFor(c.env, principal.orgId, shard).fetch(new Request(url, { headers }));
  },
);
