/**
 * EventHub — one per organization (`eventHubFor(env, orgId)`, do.client.ts): fans live events out to that
 * organization's SSE subscribers. Being keyed by organization is what keeps one tenant's events
 * from ever reaching another's stream: there is no shared channel to filter wrongly.
 *
 * Roles: the object named `<orgId>` is the ROOT: it numbers, stores and fans out every event and
 * holds up to `shardSize` streams itself. Beyond that, subscribers go to SHARDS (`<orgId>#<n>`, this
 * same class, event.shards.ts), to which the root forwards each batch already encoded; a shard only
 * holds streams. The streams themselves (writes, keepalives, access re-checks, lifetimes) are the
 * same in both roles (event.streams.ts).
 *
 * Ordering: `publish` takes sequence numbers, stores the events and hands them on without an await,
 * so the root handles publishes one at a time in arrival order; every shard receives batches in id
 * order, and every stream — live or replaying — is given ids in increasing order, each once.
 *
 * Ids and replay (event.replay.ts): every event gets the next sequence number and is kept, in memory
 * and — written in batches, not per event — in SQLite; ids only ever grow, across restarts and
 * crashes. With no stream anywhere, publishing numbers and keeps events and encodes nothing. A client
 * that reconnects with `Last-Event-ID` gets what it missed (a shard fetches it from its root); if it
 * missed more than the buffer holds it first gets a `gap` event naming the ids it can no longer replay
 * (the audit API has them). A stream opened with `since` (a time, ms) is first given every held event
 * whose own timestamp is at or after it — what the dashboard's Observe view asks for, so that the
 * calls of the last moments before it opened, not yet in D1, are not missed — then an `id:` line
 * alone (no event) naming the last id that replay accounted for, so a reconnect resumes from there
 * with Last-Event-ID; a `gap` says when the buffer may no longer reach back to `since`. Last-Event-ID
 * wins over `since` (a reconnect resumes by id).
 *
 * Access: every subscriber carries its principal (API key or cookie session, and the role it
 * subscribed with). Each object re-checks its own streams against D1 every `recheckSeconds` (the
 * Worker's EVENTS_RECHECK_SECONDS) and closes the streams whose access ended
 * (workers/shared/events.access.ts); the API also pushes `closeStreams` to the root the moment a key
 * is revoked, a session signed out or a member demoted or removed, and the root passes it to its
 * shards. The re-check fails closed: when D1 cannot answer, the streams it could not verify are
 * closed, and a stream not verified for STALE_CHECKS periods is closed whatever the reason. Every
 * stream also ends after `maxLifetimeSeconds` (EVENTS_MAX_STREAM_SECONDS); clients reconnect with
 * Last-Event-ID and lose nothing. A closed stream ends cleanly after a `: closed <reason>` comment.
 *
 * Failure mode: publishing is best-effort (fail-open). A hub that cannot be reached never blocks or
 * fails a gateway call; the audit trail in D1 remains the record of truth.
 */
import { DurableObject } from 'cloudflare:workers';
import { z } from 'zod';
import type { StreamMatch } from '../workers/shared/events.subscriber';
import { streamPrincipalSchema } from '../workers/shared/events.subscriber';
import { eventConnection, type GatewayEvent } from '../workers/shared/events.types';
import { eventHubFor, eventShardFor } from './do.client';
import { encodeText, type Frame } from './event.frame';
import { frameOfEntry, ReplayBuffer, type ReplayRows } from './event.replay';
import { DEFAULT_SHARD_SIZE, parseHubName, SHARD_HEADER, ShardRouter } from './event.shards';
import { StreamSet, type Subscriber } from './event.streams';

export { FLUSH_AT, FLUSH_MS, REPLAY_LIMIT, type ReplayRows } from './event.replay';
export { type CloseReason, KEEPALIVE_MS, MAX_PENDING_BYTES, STALE_CHECKS } from './event.streams';

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
  shardSize: z.coerce.number().int().min(1).max(100_000).default(DEFAULT_SHARD_SIZE),
  /** Replay held events with a timestamp ≥ this (ms); the Worker bounds it (events.routes.ts). */
  since: z.coerce.number().int().min(1).optional(),
});

export class EventHub extends DurableObject<Env> {
  readonly #streams: StreamSet;
  readonly #orgId: string | null;
  /** This object's shard number; null for the root. */
  readonly #shard: number | null;
  /** The root's shards (null on a shard). */
  readonly #router: ShardRouter<DurableObjectStub<EventHub>> | null = null;
  /** The root's numbering and replay buffer (null on a shard). */
  readonly #replay: ReplayBuffer | null = null;
  /** On a shard: the last id received from the root (0 = none since this object started). */
  #received = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#streams = new StreamSet({ db: () => this.env.DB, waitUntil: (p) => ctx.waitUntil(p) });
    const name = ctx.id.name;
    const parsed = name === undefined ? null : parseHubName(name);
    this.#orgId = parsed?.orgId ?? null;
    this.#shard = parsed?.shard ?? null;
    if (this.#shard !== null) return;
    this.#replay = new ReplayBuffer(ctx.storage.sql);
    const used =
      ctx.storage.sql.exec<{ value: number }>("SELECT value FROM hub_meta WHERE key = 'shards'").toArray()[0]
        ?.value ?? 0;
    const orgId = this.#orgId;
    if (orgId !== null) {
      this.#router = new ShardRouter(
        (n) => eventShardFor(env, orgId, n),
        (p) => ctx.waitUntil(p),
        (count) =>
          ctx.storage.sql.exec(
            "INSERT INTO hub_meta (key, value) VALUES ('shards', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            count,
          ),
        used,
      );
    }
  }

  /** Appends events (in the given order) and delivers them to every matching stream. Returns the last id. */
  async publish(events: GatewayEvent | GatewayEvent[]): Promise<number> {
    const replay = this.#rootReplay();
    const list = Array.isArray(events) ? events : [events];
    // Nobody to deliver to (no stream here, no shard): number and keep the events, encode nothing.
    const live = this.#streams.size > 0 || (this.#router?.used ?? 0) > 0;
    const frames: Frame[] = [];
    for (const event of list) {
      const entry = replay.append(event, eventConnection(event), JSON.stringify(event));
      if (live) frames.push(frameOfEntry(entry));
    }
    if (live) {
      // Shards first: on Cloudflare they run on their own machines while this object writes its own streams.
      this.#router?.forward(frames);
      this.#streams.deliver(frames);
    }
    // SQLite is written once per flush window or full batch, not per event (event.replay.ts).
    replay.settle();
    return replay.last;
  }

  /** Writes the replay buffer's waiting events to SQLite now (they are otherwise written within FLUSH_MS). */
  flushReplay(): void {
    this.#rootReplay().flush();
  }

  /** A shard: a batch forwarded by its root (ids ascending). Returns how many streams it holds. */
  async deliver(frames: Frame[]): Promise<number> {
    if (this.#shard === null) throw new Error('deliver is for event shards');
    if (frames.length === 0) return this.#streams.size;
    // A hole in the ids (a batch the root could not deliver): resume from the root's buffer.
    if (this.#received !== 0 && frames[0]!.seq !== this.#received + 1) this.#streams.endAll('resync');
    this.#received = frames[frames.length - 1]!.seq;
    this.#streams.deliver(frames);
    return this.#streams.size;
  }

  /** The root: what a stream resuming after `after` missed, for a shard to replay. */
  async replaySince(after: number): Promise<ReplayRows> {
    return this.#rootReplay().replay(after);
  }

  /** The root: the held events with a timestamp ≥ `since` (ms), for a shard to replay. */
  async replayFrom(since: number): Promise<ReplayRows> {
    return this.#rootReplay().replayFrom(since);
  }

  /** Streams of the organization (the root counts its shards'). */
  async subscriberCount(): Promise<number> {
    return this.#streams.size + (await this.#sumShards((s) => s.subscriberCount()));
  }

  /** The id the next event will get minus one (0 when nothing was ever published). */
  lastEventId(): number {
    return this.#replay?.last ?? 0;
  }

  /**
   * Closes the streams whose principal matches (a key was revoked, a session signed out, a member
   * demoted or removed), here and on every shard. Returns how many were closed.
   */
  async closeStreams(match: StreamMatch): Promise<number> {
    const here = this.#streams.closeStreams(match);
    return here + (await this.#sumShards((s) => s.closeStreams(match)));
  }

  /** One access re-check round here and on every shard (see event.streams.ts). Returns how many were closed. */
  async recheck(): Promise<number> {
    const [here, shards] = await Promise.all([this.#streams.recheck(), this.#sumShards((s) => s.recheck())]);
    return here + shards;
  }

  /** One keepalive round here and on every shard; returns the streams still open. */
  async sweep(): Promise<number> {
    const [here, shards] = await Promise.all([this.#streams.sweep(), this.#sumShards((s) => s.sweep())]);
    return here + shards;
  }

  /**
   * GET → an SSE stream. Query: `connection` (repeatable: connection ids to limit the stream to;
   * with `restricted=1` the list applies even when empty — a caller who may see no connection
   * gets only keepalives), `shardSize` (streams per object), `since` (ms: replay the held events
   * whose timestamp is at or after it). Header: `Last-Event-ID` (replay what is still buffered after
   * it; wins over `since`). A full root answers 307 with SHARD_HEADER: the caller subscribes there.
   */
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const parsed = subscribeSchema.safeParse({
      org: url.searchParams.get('org') ?? undefined,
      principal: url.searchParams.get('principal') ?? undefined,
      recheckSeconds: url.searchParams.get('recheckSeconds') ?? undefined,
      maxLifetimeSeconds: url.searchParams.get('maxLifetimeSeconds') ?? undefined,
      shardSize: url.searchParams.get('shardSize') ?? undefined,
      since: url.searchParams.get('since') ?? undefined,
    });
    // A stream that could not be re-checked would outlive revocation: refuse it.
    if (!parsed.success || (this.#orgId !== null && this.#orgId !== parsed.data.org)) {
      return new Response('subscriber principal missing or invalid', { status: 400 });
    }
    const { org, principal, recheckSeconds, maxLifetimeSeconds, shardSize, since } = parsed.data;
    this.#streams.orgId = org;
    if (this.#router && this.#streams.size >= shardSize) {
      const shard = await this.#router.assign(shardSize);
      return new Response(null, { status: 307, headers: { [SHARD_HEADER]: String(shard) } });
    }
    const only = url.searchParams.getAll('connection').filter(Boolean);
    const restricted = only.length > 0 || url.searchParams.get('restricted') === '1';
    const lastEventId = parseLastEventId(request.headers.get('Last-Event-ID'));
    // What the stream replays first: after an id (a reconnect), since a time, or nothing.
    const from: ReplayFrom =
      lastEventId !== null ? { after: lastEventId } : since !== undefined ? { since } : null;
    const { sub, response } = this.#streams.open({
      principal,
      connections: restricted ? only : null,
      recheckMs: recheckSeconds * 1000,
      lifetimeMs: maxLifetimeSeconds * 1000,
      signal: request.signal,
    });
    // A replay by time is a filter, not a suffix of ids: the stream starts from 0 and the replay's
    // frames (each > 0) go through; after it, only ids past the replay's `last`.
    const afterSeq = from === null ? null : 'after' in from ? from.after : 0;
    if (this.#replay) {
      // Replay and joining happen in this synchronous turn: no event can fall between them.
      this.#streams.join(sub, afterSeq ?? this.#replay.last, from !== null);
      if (from !== null) this.#resume(sub, from, this.#replayOf(this.#replay, from));
    } else {
      // Joined first, holding live frames, so none is lost while the root's buffer is read.
      this.#streams.join(sub, afterSeq ?? 0, from !== null);
      if (from !== null) {
        try {
          const root = eventHubFor(this.env, org);
          this.#resume(
            sub,
            from,
            await ('after' in from ? root.replaySince(from.after) : root.replayFrom(from.since)),
          );
        } catch {
          this.#streams.end(sub, 'resync');
        }
      }
    }
    return response;
  }

  #replayOf(buffer: ReplayBuffer, from: NonNullable<ReplayFrom>): ReplayRows {
    return 'after' in from ? buffer.replay(from.after) : buffer.replayFrom(from.since);
  }

  /**
   * Writes a replay (its gap first) to a joined stream, then what it held; it is live after. A
   * replay by time ends with an `id:` line alone: no event for the client, but its Last-Event-ID
   * from then on — a reconnect resumes after the replay, not after the last event it happened to
   * carry (which would hand over again the events before `since` that the audit trail has).
   */
  #resume(sub: Subscriber, from: NonNullable<ReplayFrom>, replay: ReplayRows): void {
    if (replay.gap) {
      // More was missed than the buffer holds: say so, without an id (it is not an event).
      const gap = { type: 'gap', ...replay.gap };
      this.#streams.write(sub, encodeText(`event: gap\ndata: ${JSON.stringify(gap)}\n\n`));
    }
    const mark = 'since' in from ? encodeText(`id: ${replay.last}\n\n`) : null;
    this.#streams.release(sub, replay.frames, replay.last, mark);
  }

  async #sumShards(fn: (stub: DurableObjectStub<EventHub>) => Promise<number>): Promise<number> {
    if (!this.#router) return 0;
    const counts = await this.#router.each(fn, 0);
    return counts.reduce((a, b) => a + b, 0);
  }

  #rootReplay(): ReplayBuffer {
    if (!this.#replay) throw new Error('only the root event hub numbers and stores events');
    return this.#replay;
  }
}

/** Where a new stream's replay starts: after an id (Last-Event-ID), at a time (`since`), or none. */
type ReplayFrom = { after: number } | { since: number } | null;

function parseLastEventId(raw: string | null): number | null {
  if (raw === null || !/^\d{1,15}$/.test(raw.trim())) return null;
  return Number(raw.trim());
}
