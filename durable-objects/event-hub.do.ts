/**
 * EventHub — one per organization (`eventHubFor(env, orgId)`, do.client.ts): fans live events out to that
 * organization's SSE subscribers. Being keyed by organization is what keeps one tenant's events
 * from ever reaching another's stream: there is no shared channel to filter wrongly.
 *
 * Ordering: `publish` does its work synchronously (no await between taking a sequence number,
 * storing the event and queueing it on every stream), so the hub handles publishes one at a time
 * in arrival order and every subscriber — live or replaying — sees events in sequence order.
 *
 * Ids: every event gets the next sequence number, stored with it in SQLite. The counter resumes
 * from the stored maximum after an eviction or restart (the last REPLAY_LIMIT events are always
 * kept, so the maximum is never pruned away): ids only ever grow. A client that reconnects with
 * `Last-Event-ID` gets what it missed; if it missed more than the buffer holds it first gets a
 * `gap` event naming the ids it can no longer replay (the audit API has them).
 *
 * Subscribers: a stream whose client went away (write fails, or the readable side is cancelled)
 * is removed at once; one that stops reading is dropped when MAX_PENDING_BYTES are queued for it,
 * rather than buffer without bound here — it reconnects with Last-Event-ID and replays.
 *
 * Access: every subscriber carries its principal (API key or cookie session, and the role it
 * subscribed with). The hub re-checks them all against D1 every `recheckSeconds` (the Worker's
 * EVENTS_RECHECK_SECONDS) and closes the streams whose access ended (workers/shared/events.access.ts);
 * the API also pushes `closeStreams` the moment a key is revoked, a session signed out or a member
 * demoted or removed. The re-check fails closed: when D1 cannot answer, the streams it could not
 * verify are closed, and a stream not verified for STALE_CHECKS periods is closed whatever the
 * reason. Every stream also ends after `maxLifetimeSeconds` (EVENTS_MAX_STREAM_SECONDS); clients
 * reconnect with Last-Event-ID and lose nothing. A closed stream ends cleanly after a
 * `: closed <reason>` comment.
 *
 * Failure mode: publishing is best-effort (fail-open). A hub that cannot be reached never blocks or
 * fails a gateway call; the audit trail in D1 remains the record of truth.
 */
import { DurableObject } from 'cloudflare:workers';
import { z } from 'zod';
import { log } from '../workers/lib/log';
import { currentRoles } from '../workers/shared/events.access';
import {
  matchesStream,
  principalKey,
  type StreamMatch,
  type StreamPrincipal,
  stillEntitled,
  streamPrincipalSchema,
} from '../workers/shared/events.subscriber';
import { eventConnection, type GatewayEvent } from '../workers/shared/events.types';

export const REPLAY_LIMIT = 1000;
const PRUNE_EVERY = 100;
export const KEEPALIVE_MS = 25_000;
export const MAX_PENDING_BYTES = 4 * 1024 * 1024;
/** A stream whose access has not been confirmed for this many re-check periods is closed. */
export const STALE_CHECKS = 3;

/** What the Worker's events route tells the hub about a new stream (zod: the hub trusts no shape). */
const subscribeSchema = z.object({
  org: z.string().min(1).max(100),
  principal: z
    .string()
    .max(2000)
    .transform((raw, ctx) => {
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'not JSON' });
        return z.NEVER;
      }
    })
    .pipe(streamPrincipalSchema),
  recheckSeconds: z.coerce.number().int().min(1).max(300),
  maxLifetimeSeconds: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 86_400),
});

export type CloseReason = 'access-revoked' | 'unverified' | 'max-lifetime';

interface Subscriber {
  writer: WritableStreamDefaultWriter<Uint8Array>;
  /** Connection ids this stream is limited to; null = every event of the organization. */
  connections: ReadonlySet<string> | null;
  /** Bytes queued on the stream and not yet taken by the client. */
  pending: number;
  dropped: boolean;
  principal: StreamPrincipal;
  /** When the principal was last confirmed entitled (the subscribe itself counts). */
  verifiedAt: number;
  lifetime: ReturnType<typeof setTimeout> | null;
}

const encoder = new TextEncoder();

export function eventFrame(seq: number, event: GatewayEvent): Uint8Array {
  return encoder.encode(`id: ${seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
}

const KEEPALIVE_FRAME = encoder.encode(': keepalive\n\n');

export class EventHub extends DurableObject<Env> {
  readonly #subscribers = new Set<Subscriber>();
  #seq = 0;
  #sincePrune = 0;
  #keepalive: ReturnType<typeof setInterval> | null = null;
  #recheck: ReturnType<typeof setInterval> | null = null;
  /** The shortest re-check period any live subscriber asked for. */
  #recheckMs = Number.POSITIVE_INFINITY;
  #checking = false;
  #orgId: string | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      'CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, connection TEXT, body TEXT NOT NULL)',
    );
    this.#seq = ctx.storage.sql.exec<{ s: number | null }>('SELECT max(seq) AS s FROM events').one().s ?? 0;
  }

  /** Appends events (in the given order) and writes each to every matching subscriber. Returns the last id. */
  async publish(events: GatewayEvent | GatewayEvent[]): Promise<number> {
    const list = Array.isArray(events) ? events : [events];
    for (const event of list) {
      const seq = ++this.#seq;
      const connection = eventConnection(event);
      this.ctx.storage.sql.exec(
        'INSERT INTO events (seq, connection, body) VALUES (?, ?, ?)',
        seq,
        connection,
        JSON.stringify(event),
      );
      const bytes = eventFrame(seq, event);
      for (const sub of this.#subscribers) {
        if (matches(sub, connection)) this.#write(sub, bytes);
      }
    }
    // Trimming the replay buffer every PRUNE_EVERY events instead of on every publish keeps the
    // hot publish path to one INSERT per event; the buffer holds at most REPLAY_LIMIT + PRUNE_EVERY.
    this.#sincePrune += list.length;
    if (this.#sincePrune >= PRUNE_EVERY) {
      this.#sincePrune = 0;
      this.ctx.storage.sql.exec('DELETE FROM events WHERE seq <= ?', this.#seq - REPLAY_LIMIT);
    }
    return this.#seq;
  }

  subscriberCount(): number {
    return this.#subscribers.size;
  }

  /** The id the next event will get minus one (0 when nothing was ever published). */
  lastEventId(): number {
    return this.#seq;
  }

  /**
   * Closes the streams whose principal matches (a key was revoked, a session signed out, a member
   * demoted or removed). Returns how many were closed.
   */
  closeStreams(match: StreamMatch): number {
    let closed = 0;
    for (const sub of [...this.#subscribers]) {
      if (matchesStream(sub.principal, match)) {
        this.#end(sub, 'access-revoked');
        closed++;
      }
    }
    return closed;
  }

  /**
   * One re-check round: every subscriber's key or session is looked up in D1 and the streams that
   * lost access are closed. Fails closed: if D1 cannot answer, every stream it was to verify is
   * closed (their clients reconnect, and are authorized afresh). Returns how many were closed.
   */
  async recheck(): Promise<number> {
    const subs = [...this.#subscribers];
    if (subs.length === 0 || this.#orgId === null) return 0;
    const startedAt = Date.now();
    let roles: Map<string, StreamPrincipal['role'] | null>;
    try {
      roles = await currentRoles(
        this.env.DB,
        this.#orgId,
        subs.map((s) => s.principal),
      );
    } catch (err) {
      log('warn', 'event stream access re-check failed; closing the streams it could not verify', {
        err,
        streams: subs.length,
      });
      for (const sub of subs) this.#end(sub, 'unverified');
      return subs.length;
    }
    let closed = 0;
    for (const sub of subs) {
      if (sub.dropped) continue;
      if (stillEntitled(sub.principal, roles.get(principalKey(sub.principal)))) sub.verifiedAt = startedAt;
      else {
        this.#end(sub, 'access-revoked');
        closed++;
      }
    }
    return closed;
  }

  /** One keepalive round: a comment to every stream; streams that fail to take it are dropped. */
  sweep(): number {
    for (const sub of this.#subscribers) this.#write(sub, KEEPALIVE_FRAME);
    return this.#subscribers.size;
  }

  /**
   * GET → an SSE stream. Query: `connection` (repeatable: connection ids to limit the stream to;
   * with `restricted=1` the list applies even when empty — a caller who may see no connection
   * gets only keepalives). Header: `Last-Event-ID` (replay what is still buffered after it).
   */
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const parsed = subscribeSchema.safeParse({
      org: url.searchParams.get('org') ?? undefined,
      principal: url.searchParams.get('principal') ?? undefined,
      recheckSeconds: url.searchParams.get('recheckSeconds') ?? undefined,
      maxLifetimeSeconds: url.searchParams.get('maxLifetimeSeconds') ?? undefined,
    });
    // A stream that could not be re-checked would outlive revocation: refuse it.
    const name = this.ctx.id.name;
    if (!parsed.success || (name !== undefined && name !== parsed.data.org)) {
      return new Response('subscriber principal missing or invalid', { status: 400 });
    }
    const { org, principal, recheckSeconds, maxLifetimeSeconds } = parsed.data;
    this.#orgId = org;
    const only = url.searchParams.getAll('connection').filter(Boolean);
    const restricted = only.length > 0 || url.searchParams.get('restricted') === '1';
    const lastEventId = parseLastEventId(request.headers.get('Last-Event-ID'));
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const sub: Subscriber = {
      writer: writable.getWriter(),
      connections: restricted ? new Set(only) : null,
      pending: 0,
      dropped: false,
      principal,
      verifiedAt: Date.now(),
      lifetime: null,
    };

    // Replay before joining the live set; both happen in this synchronous turn, so no event can
    // fall between the replayed tail and the first live one.
    this.#write(sub, encoder.encode(`: connected\nretry: 2000\n\n`));
    if (lastEventId !== null) this.#replay(sub, lastEventId);
    if (!sub.dropped) {
      // (A replay larger than MAX_PENDING_BYTES drops the stream before it ever joins.)
      this.#subscribers.add(sub);
      this.#ensureKeepalive();
      this.#ensureRecheck(recheckSeconds * 1000);
      sub.lifetime = setTimeout(() => this.#end(sub, 'max-lifetime'), maxLifetimeSeconds * 1000);
    }
    // The client went away: the readable side is cancelled, which errors our writer.
    sub.writer.closed.catch(() => this.#drop(sub));
    request.signal?.addEventListener('abort', () => this.#drop(sub));

    return new Response(readable, {
      headers: {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache, no-transform',
        'X-Accel-Buffering': 'no',
      },
    });
  }

  #replay(sub: Subscriber, after: number): void {
    const oldest = this.ctx.storage.sql
      .exec<{ s: number | null }>('SELECT min(seq) AS s FROM events')
      .one().s;
    if (oldest !== null && after < oldest - 1) {
      // More was missed than the buffer holds: say so, without an id (it is not an event).
      const gap = { type: 'gap', missedFrom: after + 1, missedTo: oldest - 1 };
      this.#write(sub, encoder.encode(`event: gap\ndata: ${JSON.stringify(gap)}\n\n`));
    }
    const missed = this.ctx.storage.sql.exec<{ seq: number; connection: string | null; body: string }>(
      'SELECT seq, connection, body FROM events WHERE seq > ? ORDER BY seq',
      after,
    );
    for (const row of missed) {
      if (matches(sub, row.connection))
        this.#write(sub, eventFrame(row.seq, JSON.parse(row.body) as GatewayEvent));
    }
  }

  #write(sub: Subscriber, bytes: Uint8Array): void {
    if (sub.dropped) return;
    if (sub.pending + bytes.byteLength > MAX_PENDING_BYTES) {
      this.#drop(sub);
      return;
    }
    sub.pending += bytes.byteLength;
    sub.writer.write(bytes).then(
      () => {
        sub.pending -= bytes.byteLength;
      },
      () => this.#drop(sub),
    );
  }

  #drop(sub: Subscriber): void {
    if (!sub.dropped) {
      sub.dropped = true;
      sub.writer.abort('dropped').catch(() => {});
    }
    this.#forget(sub);
  }

  /** Ends a stream cleanly (the client sees the end, and why, rather than an error). */
  #end(sub: Subscriber, reason: CloseReason): void {
    this.#write(sub, encoder.encode(`: closed ${reason}\n\n`));
    if (!sub.dropped) {
      sub.dropped = true;
      sub.writer.close().catch(() => {});
    }
    this.#forget(sub);
  }

  #forget(sub: Subscriber): void {
    const wasLive = this.#subscribers.delete(sub);
    if (sub.lifetime) {
      clearTimeout(sub.lifetime);
      sub.lifetime = null;
    }
    if (wasLive && this.#subscribers.size === 0) {
      if (this.#keepalive) clearInterval(this.#keepalive);
      if (this.#recheck) clearInterval(this.#recheck);
      this.#keepalive = null;
      this.#recheck = null;
      this.#recheckMs = Number.POSITIVE_INFINITY;
    }
  }

  #ensureKeepalive(): void {
    if (this.#keepalive) return;
    // SSE from a Durable Object cannot hibernate and may not notice a vanished client: a comment
    // every 25 s keeps intermediaries from timing the stream out, and a failed write cleans up.
    this.#keepalive = setInterval(() => this.sweep(), KEEPALIVE_MS);
  }

  #ensureRecheck(periodMs: number): void {
    if (this.#recheck && periodMs >= this.#recheckMs) return;
    if (this.#recheck) clearInterval(this.#recheck);
    this.#recheckMs = periodMs;
    this.#recheck = setInterval(() => this.#recheckTick(), periodMs);
  }

  /**
   * The timer side of the re-check. A round still running (D1 slow) is not doubled; streams that
   * have gone STALE_CHECKS periods without a successful check are closed here, so a check that
   * hangs fails closed too.
   */
  #recheckTick(): void {
    const staleBefore = Date.now() - STALE_CHECKS * this.#recheckMs;
    for (const sub of [...this.#subscribers]) {
      if (sub.verifiedAt < staleBefore) this.#end(sub, 'unverified');
    }
    if (this.#checking) return;
    this.#checking = true;
    this.ctx.waitUntil(
      this.recheck()
        .catch((err: unknown) => log('warn', 'event stream re-check crashed', { err }))
        .finally(() => {
          this.#checking = false;
        }),
    );
  }
}

function matches(sub: Subscriber, connection: string | null): boolean {
  return sub.connections === null || (connection !== null && sub.connections.has(connection));
}

function parseLastEventId(raw: string | null): number | null {
  if (raw === null || !/^\d{1,15}$/.test(raw.trim())) return null;
  return Number(raw.trim());
}
