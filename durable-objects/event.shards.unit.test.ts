import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Frame } from './event.frame';
import { eventShardName, parseHubName, ShardRouter, type ShardStub } from './event.shards';

/** A shard that records what it was sent and reports `count` streams. */
class FakeShard implements ShardStub {
  received: number[] = [];
  constructor(public count = 0) {}
  async deliver(frames: Frame[]): Promise<number> {
    this.received.push(...frames.map((f) => f.seq));
    return this.count;
  }
  async subscriberCount(): Promise<number> {
    return this.count;
  }
}

function router(shards: Map<number, FakeShard>, used = 0, onUsed: (n: number) => void = () => {}) {
  const pending: Promise<unknown>[] = [];
  const r = new ShardRouter<FakeShard>(
    (n) => {
      let shard = shards.get(n);
      if (!shard) {
        shard = new FakeShard();
        shards.set(n, shard);
      }
      return shard;
    },
    (p) => pending.push(p),
    onUsed,
    used,
  );
  return { r, settle: () => Promise.all(pending) };
}

const frame = (seq: number): Frame => ({ seq, connection: null, bytes: new Uint8Array([seq]) });

afterEach(() => vi.useRealTimers());

describe('event hub names', () => {
  it('tell the root from its shards, and the organization of each', () => {
    expect(parseHubName('org_abc')).toEqual({ orgId: 'org_abc', shard: null });
    expect(parseHubName(eventShardName('org_abc', 3))).toEqual({ orgId: 'org_abc', shard: 3 });
    expect(parseHubName('org_abc#0')).toEqual({ orgId: 'org_abc#0', shard: null });
  });
});

describe('ShardRouter', () => {
  it('fills shards in order and opens a new one only when every used shard is full', async () => {
    const shards = new Map<number, FakeShard>();
    const used: number[] = [];
    const { r } = router(shards, 0, (n) => used.push(n));
    expect([await r.assign(2), await r.assign(2), await r.assign(2)]).toEqual([1, 1, 2]);
    expect(used).toEqual([1, 2]);
  });

  it('after a restart, asks the shards it used how full they are before opening another', async () => {
    const shards = new Map([
      [1, new FakeShard(2)],
      [2, new FakeShard(1)],
    ]);
    const { r } = router(shards, 2);
    expect(await r.assign(2)).toBe(2);
    expect(r.used).toBe(2);
  });

  it('forwards every batch to every used shard, in order, batches queued during an RPC merged', async () => {
    const shards = new Map<number, FakeShard>();
    const { r, settle } = router(shards, 2);
    r.forward([frame(1), frame(2)]);
    r.forward([frame(3)]);
    r.forward([frame(4)]);
    await settle();
    expect(shards.get(1)!.received).toEqual([1, 2, 3, 4]);
    expect(shards.get(2)!.received).toEqual([1, 2, 3, 4]);
  });

  it('stops forwarding once no shard has held a stream or been handed one for a minute', async () => {
    vi.useFakeTimers();
    const shards = new Map<number, FakeShard>();
    const used: number[] = [];
    const { r, settle } = router(shards, 0, (n) => used.push(n));
    await r.assign(1);
    shards.get(1)!.count = 0;
    r.forward([frame(1)]);
    await settle();
    expect(r.used).toBe(1);
    vi.advanceTimersByTime(61_000);
    r.forward([frame(2)]);
    expect(r.used).toBe(0);
    expect(used.at(-1)).toBe(0);
  });
});
