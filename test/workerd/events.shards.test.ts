/**
 * An organization's live streams spread over shard objects once its root hub carries
 * EVENTS_SHARD_SUBSCRIBERS of them (durable-objects/event.shards.ts). Here the threshold is 2, so a
 * handful of subscribers spans the root and several shards: every stream still gets every event
 * exactly once and in id order, resumes with Last-Event-ID on a shard, is closed on revocation,
 * and never sees another organization's events.
 */
import { createExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { eventHubFor, eventShardFor } from '../../durable-objects/do.client';
import { encodeText } from '../../durable-objects/event.frame';
import worker from '../../workers/index';
import type { ManagementEvent } from '../../workers/shared/events.types';
import { type SseFrame, SseFrameReader } from '../shared/sse.frames';
import { addMember, apiKeyIdOf, BASE, createOrg } from './helpers';

const SHARD_SIZE = '2';

class Stream {
  readonly #frames: SseFrameReader;

  constructor(res: Response) {
    if (res.status !== 200 || !res.body) throw new Error(`subscribe failed: ${res.status}`);
    this.#frames = new SseFrameReader(res.body.getReader());
  }

  frame(): Promise<SseFrame> {
    return this.#frames.frame(10_000);
  }

  /** The next `n` event frames whose data contains `marker` (comments and other events skipped). */
  async events(n: number, marker: string): Promise<SseFrame[]> {
    const out: SseFrame[] = [];
    while (out.length < n) {
      const f = await this.frame();
      if (f.data?.includes(marker)) out.push(f);
    }
    return out;
  }

  /** Frames until one carries the comment `comment` (throws if the stream ends first). */
  async untilComment(comment: string): Promise<void> {
    for (;;) if ((await this.frame()).comments.includes(comment)) return;
  }

  close(): Promise<void> {
    return this.#frames.cancel();
  }
}

/** A subscriber through the Worker with the small shard threshold (what a deployment's var sets). */
async function subscribe(key: string, headers: Record<string, string> = {}): Promise<Stream> {
  const request = new Request(`${BASE}/api/v1/events`, {
    headers: { Authorization: `Bearer ${key}`, ...headers },
  });
  const res = await worker.fetch(
    request,
    { ...env, EVENTS_SHARD_SUBSCRIBERS: SHARD_SIZE },
    createExecutionContext(),
  );
  const stream = new Stream(res);
  expect((await stream.frame()).comments).toContain('connected');
  return stream;
}

function change(serverId: string, name: string): ManagementEvent {
  return {
    type: 'connection_update',
    serverId,
    slug: 'x',
    change: name,
    timestamp: new Date().toISOString(),
  };
}

const changeOf = (f: SseFrame) => (JSON.parse(f.data!) as ManagementEvent).change;

describe('sharded event streams', () => {
  it('give every subscriber beyond the threshold every event exactly once, in order', async () => {
    const org = await createOrg('owner');
    const streams: Stream[] = [];
    for (let i = 0; i < 7; i++) streams.push(await subscribe(org.key));
    // 2 on the root, then shards of 2, 2 and 1.
    expect(await eventShardFor(env, org.orgId, 1).subscriberCount()).toBe(2);
    expect(await eventShardFor(env, org.orgId, 3).subscriberCount()).toBe(1);
    expect(await eventHubFor(env, org.orgId).subscriberCount()).toBe(7);

    // Concurrent publishes of several batches: the root numbers them; every stream must see that order.
    const hub = eventHubFor(env, org.orgId);
    const batches = Array.from({ length: 20 }, (_, b) =>
      Array.from({ length: 5 }, (_, i) => change('con_s', `sh-${b * 5 + i}`)),
    );
    const lasts = await Promise.all(batches.map((batch) => hub.publish(batch)));
    const expected = batches
      .flatMap((batch, b) => batch.map((e, i) => [lasts[b]! - batch.length + 1 + i, e.change] as const))
      .sort((x, y) => x[0] - y[0]);
    for (const stream of streams) {
      const got = await stream.events(100, '"sh-');
      expect(got.map((f) => [Number(f.id), changeOf(f)])).toEqual(expected);
    }
    // Nothing more (no duplicate) arrives before an event published afterwards.
    await hub.publish(change('con_s', 'sh-end'));
    for (const stream of streams) {
      const [next] = await stream.events(1, '"sh-');
      expect(changeOf(next!)).toBe('sh-end');
      await stream.close();
    }
  });

  it('resume with Last-Event-ID on a shard: the missed events, then live ones, none twice', async () => {
    const org = await createOrg('owner');
    const hub = eventHubFor(env, org.orgId);
    const root = [await subscribe(org.key), await subscribe(org.key)];
    const first = await hub.publish(Array.from({ length: 30 }, (_, i) => change('con_r', `re-${i}`)));
    // The root is full: this one lands on shard 1 and replays from the root's buffer, while more is published.
    const [resumed] = await Promise.all([
      subscribe(org.key, { 'Last-Event-ID': String(first - 20) }),
      hub.publish(Array.from({ length: 10 }, (_, i) => change('con_r', `re-${30 + i}`))),
    ]);
    expect(await eventShardFor(env, org.orgId, 1).subscriberCount()).toBe(1);
    await hub.publish(Array.from({ length: 5 }, (_, i) => change('con_r', `re-${40 + i}`)));
    const got = await resumed!.events(35, '"re-');
    expect(got.map(changeOf)).toEqual(Array.from({ length: 35 }, (_, i) => `re-${10 + i}`));
    await hub.publish(change('con_r', 're-last'));
    expect((await resumed!.events(1, '"re-')).map(changeOf)).toEqual(['re-last']);
    for (const s of [...root, resumed!]) await s.close();
  });

  it("end a shard's stream when its key is revoked, and only that one", async () => {
    const org = await createOrg('owner');
    const other = await addMember(org.orgId, 'admin');
    const root = [await subscribe(org.key), await subscribe(org.key)];
    const onShard = await subscribe(other.key);
    const keep = await subscribe(org.key);
    expect(await eventShardFor(env, org.orgId, 1).subscriberCount()).toBe(2);
    expect(await eventHubFor(env, org.orgId).closeStreams({ apiKeyId: await apiKeyIdOf(other.key) })).toBe(1);
    await onShard.untilComment('closed access-revoked');
    expect(await eventHubFor(env, org.orgId).subscriberCount()).toBe(3);
    await eventHubFor(env, org.orgId).publish(change('con_k', 'kept'));
    expect((await keep.events(1, '"kept"')).map(changeOf)).toEqual(['kept']);
    for (const s of [...root, keep]) await s.close();
  });

  it('end their streams for a resync when the root could not deliver a batch (a hole in the ids)', async () => {
    const org = await createOrg('owner');
    const hub = eventHubFor(env, org.orgId);
    await subscribe(org.key);
    await subscribe(org.key);
    const onShard = await subscribe(org.key);
    await hub.publish(change('con_h', 'h-1'));
    await onShard.events(1, '"h-1"');
    // The shard received up to the root's last id; a batch that skips one is a lost delivery.
    const last = await hub.lastEventId();
    const skipped = last + 2;
    await eventShardFor(env, org.orgId, 1).deliver([
      { seq: skipped, connection: 'con_h', bytes: encodeText(`id: ${skipped}\ndata: {}\n\n`) },
    ]);
    await onShard.untilComment('closed resync');
  });

  it("never carry another organization's events, and refuse a subscribe for another organization", async () => {
    const a = await createOrg('owner');
    const b = await createOrg('owner');
    const streamsB: Stream[] = [];
    for (let i = 0; i < 5; i++) streamsB.push(await subscribe(b.key));
    for (let i = 0; i < 5; i++) await subscribe(a.key);
    await eventHubFor(env, a.orgId).publish(
      Array.from({ length: 10 }, (_, i) => change('con_a', `a-only-${i}`)),
    );
    await eventHubFor(env, b.orgId).publish(change('con_b', 'b-first'));
    for (const stream of streamsB) {
      const [first] = await stream.events(1, '"change"');
      expect(changeOf(first!)).toBe('b-first');
    }
    // A shard of A checks the organization of every subscribe, as the root does.
    const forged = new URL('https://event-hub/subscribe');
    forged.searchParams.set('org', b.orgId);
    forged.searchParams.set(
      'principal',
      JSON.stringify({ kind: 'api_key', apiKeyId: 'key_x', userId: null, role: 'owner' }),
    );
    forged.searchParams.set('recheckSeconds', '10');
    forged.searchParams.set('maxLifetimeSeconds', '60');
    const res = await eventShardFor(env, a.orgId, 1).fetch(forged.toString());
    expect(res.status).toBe(400);
    await res.text();
  });
});
