/**
 * Sharding an organization's live event streams (docs/architecture.md, "Live events").
 *
 * The root hub (`<orgId>`) numbers and stores every event; it holds up to `shardSize` streams
 * itself. A subscriber beyond that is sent to a shard (`<orgId>#<n>`, the same EventHub class)
 * with room, and the root forwards every batch — already encoded — to each shard it has used,
 * before writing to its own streams. A shard holds at most `shardSize` streams, so no object ever
 * does more than `shardSize` writes per batch in one turn; on Cloudflare each shard is its own
 * object on its own machine, so the fan-out of N subscribers runs on ⌈N / shardSize⌉ machines in
 * parallel.
 *
 * Per shard, batches travel through one ordered queue with one RPC in flight (the order of ids is
 * the order on the wire); a shard that notices a hole in the ids (a lost RPC) ends its streams
 * with `resync`, and their clients reconnect with Last-Event-ID and replay from the root.
 *
 * Names: a shard's name is its organization's id, `#`, and its number; the organization part is
 * checked against every subscribe, and the root only ever forwards to its own shards, so sharding
 * adds no shared channel between organizations.
 */
import { log } from '../workers/lib/log';
import type { Frame } from './event.frame';

const SEPARATOR = '#';

/** Subscribers one object carries before new ones go to shards (EVENTS_SHARD_SUBSCRIBERS). */
export const DEFAULT_SHARD_SIZE = 1000;

/** The root answers a subscribe it hands to a shard with 307 and this header (the shard's number). */
export const SHARD_HEADER = 'X-Igris-Event-Shard';

/** A used shard untouched (no subscriber, none sent to it) this long stops receiving batches. */
const RETIRE_AFTER_MS = 60_000;

export function eventShardName(orgId: string, shard: number): string {
  return `${orgId}${SEPARATOR}${shard}`;
}

/** The organization and shard number (null: the root) of a hub's name. */
export function parseHubName(name: string): { orgId: string; shard: number | null } {
  const at = name.lastIndexOf(SEPARATOR);
  if (at < 0) return { orgId: name, shard: null };
  const shard = Number(name.slice(at + 1));
  if (!Number.isInteger(shard) || shard < 1) return { orgId: name, shard: null };
  return { orgId: name.slice(0, at), shard };
}

/** What the root needs of a shard (an EventHub stub). */
export interface ShardStub {
  deliver(frames: Frame[]): Promise<number>;
  subscriberCount(): Promise<number>;
}

/** One shard as the root sees it: its ordered queue of batches and its last known stream count. */
class ShardLink<S extends ShardStub> {
  readonly #queue: Frame[][] = [];
  #draining = false;
  /** Streams the shard reported (plus those sent to it since); null = not known yet. */
  count: number | null = null;
  touchedAt = Date.now();

  constructor(
    readonly stub: S,
    private readonly waitUntil: (p: Promise<unknown>) => void,
  ) {}

  push(frames: Frame[]): void {
    this.#queue.push(frames);
    if (this.#draining) return;
    this.#draining = true;
    this.waitUntil(this.#drain());
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        // Everything queued while the last RPC was in flight goes as one batch.
        const batch = this.#queue.splice(0).flat();
        try {
          this.count = await this.stub.deliver(batch);
        } catch (err) {
          // The shard sees the hole in ids at the next batch and has its clients resync.
          log('warn', 'event batch not delivered to a shard', { err, events: batch.length });
        }
      }
    } finally {
      this.#draining = false;
    }
  }
}

export class ShardRouter<S extends ShardStub> {
  #links: ShardLink<S>[] = [];

  constructor(
    private readonly stubFor: (shard: number) => S,
    private readonly waitUntil: (p: Promise<unknown>) => void,
    /** Called when the number of used shards changes (the root stores it: it survives a restart). */
    private readonly onUsedChange: (used: number) => void,
    used: number,
  ) {
    this.#grow(used, false);
  }

  /** How many shards receive batches. */
  get used(): number {
    return this.#links.length;
  }

  /** Sends a batch to every used shard (each in order, all in parallel). */
  forward(frames: Frame[]): void {
    if (frames.length === 0) return;
    for (const link of this.#links) link.push(frames);
    this.#retireIdle();
  }

  /** The shard a new subscriber goes to: the first with room, or a new one. */
  async assign(shardSize: number): Promise<number> {
    // After a restart the counts are unknown: ask once rather than open needless shards.
    await Promise.all(
      this.#links.map(async (link) => {
        if (link.count !== null) return;
        link.count = await link.stub.subscriberCount().catch(() => shardSize);
      }),
    );
    let index = this.#links.findIndex((link) => (link.count ?? shardSize) < shardSize);
    if (index < 0) {
      this.#grow(this.#links.length + 1);
      index = this.#links.length - 1;
    }
    const link = this.#links[index]!;
    link.count = (link.count ?? 0) + 1;
    link.touchedAt = Date.now();
    return index + 1;
  }

  /** `fn` on every used shard, in parallel; a shard that cannot be reached counts as `fallback`. */
  async each<T>(fn: (stub: S) => Promise<T>, fallback: T): Promise<T[]> {
    return Promise.all(
      this.#links.map((link) =>
        fn(link.stub).catch((err: unknown) => {
          log('warn', 'event shard not reachable', { err });
          return fallback;
        }),
      ),
    );
  }

  #grow(used: number, announce = true): void {
    for (let n = this.#links.length + 1; n <= used; n++) {
      this.#links.push(new ShardLink(this.stubFor(n), this.waitUntil));
    }
    if (announce) this.onUsedChange(this.#links.length);
  }

  /**
   * Shards stop receiving batches once none of them has a stream and none was handed a subscriber
   * for RETIRE_AFTER_MS (a subscriber on its way to a shard is never left without events).
   */
  #retireIdle(): void {
    if (this.#links.length === 0) return;
    const now = Date.now();
    const idle = this.#links.every((link) => link.count === 0 && now - link.touchedAt > RETIRE_AFTER_MS);
    if (!idle) return;
    this.#links = [];
    this.onUsedChange(0);
  }
}
