/**
 * EventHub — one per organization (`EVENT_HUB.getByName(orgId)`): fans live events out to that
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
 * Failure mode: publishing is best-effort (fail-open). A hub that cannot be reached never blocks or
 * fails a gateway call; the audit trail in D1 remains the record of truth.
 */
import { DurableObject } from 'cloudflare:workers';
import { eventConnection, type GatewayEvent } from '../workers/events/events.types';

export const REPLAY_LIMIT = 1000;
const PRUNE_EVERY = 100;
export const KEEPALIVE_MS = 25_000;
export const MAX_PENDING_BYTES = 4 * 1024 * 1024;

interface Subscriber {
  writer: WritableStreamDefaultWriter<Uint8Array>;
  /** Connection ids this stream is limited to; null = every event of the organization. */
  connections: ReadonlySet<string> | null;
  /** Bytes queued on the stream and not yet taken by the client. */
  pending: number;
  dropped: boolean;
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
    const only = url.searchParams.getAll('connection').filter(Boolean);
    const restricted = only.length > 0 || url.searchParams.get('restricted') === '1';
    const lastEventId = parseLastEventId(request.headers.get('Last-Event-ID'));
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const sub: Subscriber = {
      writer: writable.getWriter(),
      connections: restricted ? new Set(only) : null,
      pending: 0,
      dropped: false,
    };

    // Replay before joining the live set; both happen in this synchronous turn, so no event can
    // fall between the replayed tail and the first live one.
    this.#write(sub, encoder.encode(`: connected\nretry: 2000\n\n`));
    if (lastEventId !== null) this.#replay(sub, lastEventId);
    if (!sub.dropped) {
      // (A replay larger than MAX_PENDING_BYTES drops the stream before it ever joins.)
      this.#subscribers.add(sub);
      this.#ensureKeepalive();
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
    const wasLive = this.#subscribers.delete(sub);
    if (!sub.dropped) {
      sub.dropped = true;
      sub.writer.abort('dropped').catch(() => {});
    }
    if (wasLive && this.#subscribers.size === 0 && this.#keepalive) {
      clearInterval(this.#keepalive);
      this.#keepalive = null;
    }
  }

  #ensureKeepalive(): void {
    if (this.#keepalive) return;
    // SSE from a Durable Object cannot hibernate and may not notice a vanished client: a comment
    // every 25 s keeps intermediaries from timing the stream out, and a failed write cleans up.
    this.#keepalive = setInterval(() => this.sweep(), KEEPALIVE_MS);
  }
}

function matches(sub: Subscriber, connection: string | null): boolean {
  return sub.connections === null || (connection !== null && sub.connections.has(connection));
}

function parseLastEventId(raw: string | null): number | null {
  if (raw === null || !/^\d{1,15}$/.test(raw.trim())) return null;
  return Number(raw.trim());
}
