/**
 * EventHub — one per organization (`EVENT_HUB.getByName(orgId)`): fans live events out to that
 * organization's SSE subscribers. Being keyed by organization is what keeps one tenant's events
 * from ever reaching another's stream: there is no shared channel to filter wrongly.
 *
 * Every event gets a sequence id; the last REPLAY_LIMIT events are kept in SQLite so a client that
 * reconnects with `Last-Event-ID` gets what it missed, even across an eviction of this object.
 *
 * Failure mode: publishing is best-effort (fail-open). A hub that cannot be reached never blocks or
 * fails a gateway call; the audit trail in D1 remains the record of truth.
 */
import { DurableObject } from 'cloudflare:workers';
import { eventConnection, type GatewayEvent } from '../workers/events/events.types';

export const REPLAY_LIMIT = 1000;
export const KEEPALIVE_MS = 25_000;

interface Subscriber {
  writer: WritableStreamDefaultWriter<Uint8Array>;
  connection: string | null;
}

const encoder = new TextEncoder();

function frame(seq: number, event: GatewayEvent): Uint8Array {
  return encoder.encode(`id: ${seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
}

export class EventHub extends DurableObject<Env> {
  readonly #subscribers = new Set<Subscriber>();
  #seq = 0;
  #keepalive: ReturnType<typeof setInterval> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      'CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, connection TEXT, body TEXT NOT NULL)',
    );
    this.#seq = ctx.storage.sql.exec<{ s: number | null }>('SELECT max(seq) AS s FROM events').one().s ?? 0;
  }

  /** Appends an event and writes it to every matching subscriber, in order. */
  async publish(events: GatewayEvent | GatewayEvent[]): Promise<number> {
    const list = Array.isArray(events) ? events : [events];
    for (const event of list) {
      const seq = ++this.#seq;
      this.ctx.storage.sql.exec(
        'INSERT INTO events (seq, connection, body) VALUES (?, ?, ?)',
        seq,
        eventConnection(event),
        JSON.stringify(event),
      );
      const bytes = frame(seq, event);
      for (const sub of this.#subscribers) {
        if (sub.connection && sub.connection !== eventConnection(event)) continue;
        this.#write(sub, bytes);
      }
    }
    this.ctx.storage.sql.exec('DELETE FROM events WHERE seq <= ?', this.#seq - REPLAY_LIMIT);
    return this.#seq;
  }

  subscriberCount(): number {
    return this.#subscribers.size;
  }

  /** GET → an SSE stream. Query: `connection` (connection id filter). Header: `Last-Event-ID`. */
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const connection = url.searchParams.get('connection');
    const lastEventId = Number.parseInt(request.headers.get('Last-Event-ID') ?? '', 10);
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const sub: Subscriber = { writer: writable.getWriter(), connection };

    // Replay before joining the live set; both happen in this synchronous turn, so no event can
    // fall between the replayed tail and the first live one.
    this.#write(sub, encoder.encode(`: connected\nretry: 2000\n\n`));
    if (Number.isFinite(lastEventId)) {
      const missed = this.ctx.storage.sql
        .exec<{ seq: number; connection: string | null; body: string }>(
          'SELECT seq, connection, body FROM events WHERE seq > ? ORDER BY seq',
          lastEventId,
        )
        .toArray();
      for (const row of missed) {
        if (connection && row.connection !== connection) continue;
        this.#write(sub, frame(row.seq, JSON.parse(row.body) as GatewayEvent));
      }
    }
    this.#subscribers.add(sub);
    this.#ensureKeepalive();
    request.signal?.addEventListener('abort', () => this.#drop(sub));

    return new Response(readable, {
      headers: {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache, no-transform',
        'X-Accel-Buffering': 'no',
      },
    });
  }

  #write(sub: Subscriber, bytes: Uint8Array): void {
    // A subscriber that cannot take more (closed tab, dead connection) is dropped rather than
    // allowed to buffer without bound in this object's memory.
    if ((sub.writer.desiredSize ?? 0) < -1_000_000) {
      this.#drop(sub);
      return;
    }
    sub.writer.write(bytes).catch(() => this.#drop(sub));
  }

  #drop(sub: Subscriber): void {
    if (!this.#subscribers.delete(sub)) return;
    sub.writer.close().catch(() => {});
    if (this.#subscribers.size === 0 && this.#keepalive) {
      clearInterval(this.#keepalive);
      this.#keepalive = null;
    }
  }

  #ensureKeepalive(): void {
    if (this.#keepalive) return;
    // SSE from a Durable Object cannot hibernate and may not notice a vanished client: a comment
    // every 25 s keeps intermediaries from timing the stream out, and a failed write cleans up.
    this.#keepalive = setInterval(() => {
      const ping = encoder.encode(': keepalive\n\n');
      for (const sub of this.#subscribers) this.#write(sub, ping);
    }, KEEPALIVE_MS);
  }
}
