/**
 * The SSE streams one EventHub object holds — the organization's root hub or one of its shards
 * (event.shards.ts). Both roles use this set the same way: `deliver` hands a batch of frames, each
 * encoded ONCE by the root, to every stream, a slice of streams per turn (event.fanout.ts).
 *
 * Per stream, a batch is one write: the frames it may see, concatenated once per distinct
 * connection filter and shared by every stream with that filter. A write is one `enqueue` on the
 * stream's own ReadableStream controller: no writer, no write promise. Measured in the events
 * benchmark (1,000 subscribers): a TransformStream's writer took 13 µs per stream per batch in the
 * fan-out's turns and this takes 7, and first delivery came about 15 ms sooner; an
 * IdentityTransformStream (its write completes only once the client has read) was slower than both.
 * The queue's byte count (`desiredSize`, with a byte-length size strategy) is what the stream
 * has not yet handed to the client.
 *
 * Order and duplicates: every stream remembers the last event id it was given (`lastSeq`) and is
 * only ever given larger ids, so a replay and the live frames that arrive around it can overlap
 * without an event being written twice or out of order. A stream whose replay is still being
 * fetched (on a shard) holds the live frames that arrive meanwhile and writes them after it.
 *
 * Subscribers: a stream whose client went away (write fails, or the readable side is cancelled) is
 * removed at once; one that stops reading is dropped when MAX_PENDING_BYTES are queued for it,
 * rather than buffer without bound here — it reconnects with Last-Event-ID and replays. Access is
 * re-checked every `recheckMs` (fails closed, see event-hub.do.ts) and a stream ends after its
 * lifetime.
 */
import { log } from '../workers/lib/log';
import { currentRoles } from '../workers/shared/events.access';
import {
  matchesStream,
  principalKey,
  type StreamMatch,
  type StreamPrincipal,
  stillEntitled,
} from '../workers/shared/events.subscriber';
import { FanOut, inSlices, type SharedBytes } from './event.fanout';
import type { Frame } from './event.frame';

export const KEEPALIVE_MS = 25_000;
export const MAX_PENDING_BYTES = 4 * 1024 * 1024;
/** A stream whose access has not been confirmed for this many re-check periods is closed. */
export const STALE_CHECKS = 3;

/** `resync`: a shard missed events from its root; the client reconnects with Last-Event-ID. */
export type CloseReason = 'access-revoked' | 'unverified' | 'max-lifetime' | 'resync';

export interface OpenOptions {
  principal: StreamPrincipal;
  /** Connection ids the stream is limited to; null = every event of the organization. */
  connections: readonly string[] | null;
  recheckMs: number;
  lifetimeMs: number;
  signal?: AbortSignal;
}

export interface Subscriber {
  controller: ReadableStreamDefaultController<Uint8Array>;
  connections: ReadonlySet<string> | null;
  /** Streams with the same key see the same frames of a batch (they share its bytes). */
  filterKey: string;
  /** The last event id given to this stream (or passed over by its filter). */
  lastSeq: number;
  /** Live frames held while the stream's replay is fetched; null once it is live. */
  held: Frame[][] | null;
  dropped: boolean;
  principal: StreamPrincipal;
  /** When the principal was last confirmed entitled (the subscribe itself counts). */
  verifiedAt: number;
  lifetime: ReturnType<typeof setTimeout> | null;
  lifetimeMs: number;
  recheckMs: number;
}

const encoder = new TextEncoder();
const KEEPALIVE_FRAME = encoder.encode(': keepalive\n\n');
const CONNECTED_FRAME = encoder.encode(': connected\nretry: 2000\n\n');

export interface StreamSetHost {
  db: () => D1Database;
  waitUntil: (promise: Promise<unknown>) => void;
}

export class StreamSet {
  readonly #subscribers = new Set<Subscriber>();
  readonly #host: StreamSetHost;
  #keepalive: ReturnType<typeof setInterval> | null = null;
  #recheck: ReturnType<typeof setInterval> | null = null;
  /** The shortest re-check period any live subscriber asked for. */
  #recheckMs = Number.POSITIVE_INFINITY;
  #checking = false;
  readonly #fanOut: FanOut<Subscriber>;
  /** The organization of these streams (known from the first subscribe). */
  orgId: string | null = null;

  constructor(host: StreamSetHost) {
    this.#host = host;
    this.#fanOut = new FanOut(
      () => this.#subscribers.values(),
      (sub, frames, shared) => {
        if (sub.held) sub.held.push(frames);
        else this.#deliverTo(sub, frames, shared);
      },
      host.waitUntil,
    );
  }

  get size(): number {
    return this.#subscribers.size;
  }

  /** A new stream (`: connected` written) and its Response; it joins the live set with `join`. */
  open(o: OpenOptions): { sub: Subscriber; response: Response } {
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const readable = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          controller = c;
        },
        // The client went away: the response body is cancelled.
        cancel: () => this.#drop(sub),
      },
      // desiredSize = MAX_PENDING_BYTES − bytes queued and not yet taken by the client.
      { highWaterMark: MAX_PENDING_BYTES, size: (chunk) => chunk.byteLength },
    );
    const connections = o.connections === null ? null : new Set(o.connections);
    const sub: Subscriber = {
      controller,
      connections,
      filterKey: connections === null ? '*' : [...connections].sort().join(','),
      lastSeq: 0,
      held: null,
      dropped: false,
      principal: o.principal,
      verifiedAt: Date.now(),
      lifetime: null,
      lifetimeMs: o.lifetimeMs,
      recheckMs: o.recheckMs,
    };
    this.write(sub, CONNECTED_FRAME);
    o.signal?.addEventListener('abort', () => this.#drop(sub));
    const response = new Response(readable, {
      headers: {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache, no-transform',
        'X-Accel-Buffering': 'no',
      },
    });
    return { sub, response };
  }

  /**
   * Joins the live set after event `afterSeq`. `holding`: live frames are kept back until
   * `release` (its replay is still to come); otherwise they are written as they arrive.
   */
  join(sub: Subscriber, afterSeq: number, holding: boolean): void {
    if (sub.dropped) return; // (a replay larger than MAX_PENDING_BYTES drops it before it joins)
    sub.lastSeq = afterSeq;
    sub.held = holding ? [] : null;
    this.#subscribers.add(sub);
    this.#ensureKeepalive();
    this.#ensureRecheck(sub.recheckMs);
    sub.lifetime = setTimeout(() => this.end(sub, 'max-lifetime'), sub.lifetimeMs);
  }

  /**
   * Writes a replay (frames in id order, up to `upTo`), then `mark` (bytes that close the replay,
   * if any), then what was held meanwhile; the stream is live.
   */
  release(sub: Subscriber, replay: Frame[], upTo: number, mark: Uint8Array | null = null): void {
    const held = sub.held ?? [];
    sub.held = null;
    if (replay.length > 0) this.#deliverTo(sub, replay, null);
    sub.lastSeq = Math.max(sub.lastSeq, upTo);
    if (mark) this.write(sub, mark);
    for (const frames of held) this.#deliverTo(sub, frames, null);
  }

  /** One batch of frames (ids ascending) to every stream, a slice of streams per turn (event.fanout.ts). */
  deliver(frames: Frame[]): void {
    this.#fanOut.deliver(frames);
  }

  #deliverTo(sub: Subscriber, frames: Frame[], shared: SharedBytes | null): void {
    const last = frames[frames.length - 1]!.seq;
    if (last <= sub.lastSeq) return;
    let bytes: Uint8Array | null | undefined;
    if (shared && frames[0]!.seq > sub.lastSeq) {
      bytes = shared.get(sub.filterKey);
      if (bytes === undefined) {
        bytes = concat(frames.filter((f) => matches(sub, f.connection)));
        shared.set(sub.filterKey, bytes);
      }
    } else {
      const after = sub.lastSeq;
      bytes = concat(frames.filter((f) => f.seq > after && matches(sub, f.connection)));
    }
    sub.lastSeq = last;
    if (bytes) this.write(sub, bytes);
  }

  /** Closes the streams whose principal matches. Returns how many were closed. */
  closeStreams(match: StreamMatch): number {
    let closed = 0;
    for (const sub of [...this.#subscribers]) {
      if (matchesStream(sub.principal, match)) {
        this.end(sub, 'access-revoked');
        closed++;
      }
    }
    return closed;
  }

  /** Ends every stream (e.g. `resync`); returns how many. */
  endAll(reason: CloseReason): number {
    const all = [...this.#subscribers];
    for (const sub of all) this.end(sub, reason);
    return all.length;
  }

  /**
   * One re-check round: every subscriber's key or session is looked up in D1 and the streams that
   * lost access are closed. Fails closed: if D1 cannot answer, every stream it was to verify is
   * closed (their clients reconnect, and are authorized afresh). Returns how many were closed.
   */
  async recheck(): Promise<number> {
    const subs = [...this.#subscribers];
    if (subs.length === 0 || this.orgId === null) return 0;
    const startedAt = Date.now();
    let roles: Map<string, StreamPrincipal['role'] | null>;
    try {
      roles = await currentRoles(
        this.#host.db(),
        this.orgId,
        subs.map((s) => s.principal),
      );
    } catch (err) {
      log('warn', 'event stream access re-check failed; closing the streams it could not verify', {
        err,
        streams: subs.length,
      });
      for (const sub of subs) this.end(sub, 'unverified');
      return subs.length;
    }
    let closed = 0;
    for (const sub of subs) {
      if (sub.dropped) continue;
      if (stillEntitled(sub.principal, roles.get(principalKey(sub.principal)))) sub.verifiedAt = startedAt;
      else {
        this.end(sub, 'access-revoked');
        closed++;
      }
    }
    return closed;
  }

  /**
   * One keepalive round: a comment to every stream, a slice of streams per turn like an event's
   * fan-out; streams that fail to take it are dropped. Returns the streams still open.
   */
  async sweep(): Promise<number> {
    await inSlices(this.#subscribers.values(), (sub) => this.write(sub, KEEPALIVE_FRAME));
    return this.#subscribers.size;
  }

  write(sub: Subscriber, bytes: Uint8Array): void {
    if (sub.dropped) return;
    // A client that stops reading is dropped rather than buffered without bound (null: errored).
    if ((sub.controller.desiredSize ?? 0) < bytes.byteLength) {
      this.#drop(sub);
      return;
    }
    try {
      sub.controller.enqueue(bytes);
    } catch {
      this.#drop(sub);
    }
  }

  /** Ends a stream cleanly (the client sees the end, and why, rather than an error). */
  end(sub: Subscriber, reason: CloseReason): void {
    this.write(sub, encoder.encode(`: closed ${reason}\n\n`));
    if (!sub.dropped) {
      sub.dropped = true;
      try {
        sub.controller.close();
      } catch {
        // already closed or errored by the client's side
      }
    }
    this.#forget(sub);
  }

  #drop(sub: Subscriber): void {
    if (!sub.dropped) {
      sub.dropped = true;
      // Discards what was queued. (workerd logs an errored response body as an uncaught exception.)
      try {
        sub.controller.error(new Error('dropped'));
      } catch {
        // already closed or errored by the client's side
      }
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
    this.#keepalive = setInterval(() => this.#host.waitUntil(this.sweep()), KEEPALIVE_MS);
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
      if (sub.verifiedAt < staleBefore) this.end(sub, 'unverified');
    }
    if (this.#checking) return;
    this.#checking = true;
    this.#host.waitUntil(
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

/** The frames' bytes as one chunk (the frame itself when there is one); null when there are none. */
function concat(frames: Frame[]): Uint8Array | null {
  if (frames.length === 0) return null;
  if (frames.length === 1) return frames[0]!.bytes;
  let size = 0;
  for (const f of frames) size += f.bytes.byteLength;
  const out = new Uint8Array(size);
  let at = 0;
  for (const f of frames) {
    out.set(f.bytes, at);
    at += f.bytes.byteLength;
  }
  return out;
}
