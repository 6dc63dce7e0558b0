/**
 * GET /api/v1/events?since=<time>: a new stream first replays the held events whose own timestamp is
 * at or after `since` — filtered like live delivery — then an `id:` line alone (where a reconnect
 * resumes), then goes live with no duplicate and no hole; a `gap` says when the buffer no longer
 * reaches back; a `since` that is not a recent time is a typed 400 that opens nothing; and another
 * organization's events never appear. The same on the root hub and on a shard.
 */
import { createExecutionContext, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { EventHub, REPLAY_LIMIT } from '../../durable-objects/event-hub.do';
import worker from '../../workers/index';
import type { ManagementEvent } from '../../workers/shared/events.types';
import { type SseFrame, SseFrameReader } from '../shared/sse.frames';
import { addMember, BASE, createConnection, createOrg, expectApiError } from './helpers';

const RUN = crypto.randomUUID().slice(0, 8);

/** A connection_update event with a chosen own timestamp (what a replay by time filters on). */
function change(serverId: string, name: string, at: number): ManagementEvent {
  return {
    type: 'connection_update',
    serverId,
    slug: 'x',
    change: name,
    timestamp: new Date(at).toISOString(),
  };
}

const changeOf = (f: SseFrame) => (JSON.parse(f.data!) as ManagementEvent).change;
const iso = (ms: number) => new Date(ms).toISOString();

function get(key: string, query: string, headers: Record<string, string> = {}, shardSize = '1000') {
  const request = new Request(`${BASE}/api/v1/events${query}`, {
    headers: { Authorization: `Bearer ${key}`, ...headers },
  });
  return worker.fetch(request, { ...env, EVENTS_SHARD_SUBSCRIBERS: shardSize }, createExecutionContext());
}

class Stream {
  readonly #frames: SseFrameReader;

  constructor(res: Response) {
    if (res.status !== 200 || !res.body) throw new Error(`subscribe failed: ${res.status}`);
    this.#frames = new SseFrameReader(res.body.getReader());
  }

  frame(): Promise<SseFrame> {
    return this.#frames.frame(10_000);
  }

  /** The replay: its gap (if any) and events, up to the `id:` line alone that ends it. */
  async replay(): Promise<{ gap: unknown; events: SseFrame[]; resumeId: string }> {
    let gap: unknown = null;
    const events: SseFrame[] = [];
    for (;;) {
      const f = await this.frame();
      if (f.event === 'gap') gap = JSON.parse(f.data!);
      else if (f.data !== null) events.push(f);
      else if (f.id !== null) return { gap, events, resumeId: f.id };
    }
  }

  /** The next `n` event frames whose data contains `marker`. */
  async events(n: number, marker: string): Promise<SseFrame[]> {
    const out: SseFrame[] = [];
    while (out.length < n) {
      const f = await this.frame();
      if (f.data?.includes(marker)) out.push(f);
    }
    return out;
  }

  close(): Promise<void> {
    return this.#frames.cancel();
  }
}

async function subscribe(
  key: string,
  query: string,
  headers: Record<string, string> = {},
  shardSize = '1000',
): Promise<Stream> {
  const stream = new Stream(await get(key, query, headers, shardSize));
  expect((await stream.frame()).comments).toContain('connected');
  return stream;
}

describe('a stream opened with since', () => {
  it('replays exactly the held events at or after since, in id order, then continues live', async () => {
    const org = await createOrg('owner');
    const hub = env.EVENT_HUB.getByName(org.orgId);
    const t = Date.now() - 5_000;
    // Timestamps are not in id order (a call's event carries its admit time): a filter, not a suffix.
    await hub.publish([
      change('con_s', `${RUN}-before-1`, t - 2_000),
      change('con_s', `${RUN}-at`, t),
      change('con_s', `${RUN}-after-1`, t + 1_000),
      change('con_s', `${RUN}-before-2`, t - 1),
    ]);
    const last = await hub.publish(change('con_s', `${RUN}-after-2`, t + 2_000));

    const stream = await subscribe(org.key, `?since=${iso(t)}`);
    const replay = await stream.replay();
    expect(replay.gap).toBeNull();
    expect(replay.events.map(changeOf)).toEqual([`${RUN}-at`, `${RUN}-after-1`, `${RUN}-after-2`]);
    expect(replay.events.map((f) => Number(f.id))).toEqual([last - 3, last - 2, last]);
    expect(replay.resumeId).toBe(String(last));

    // Live from then on: every event published after the stream opened, whatever its timestamp.
    await hub.publish([
      change('con_s', `${RUN}-live-old`, t - 3_000),
      change('con_s', `${RUN}-live`, Date.now()),
    ]);
    const live = await stream.events(2, `${RUN}-live`);
    expect(live.map((f) => [Number(f.id), changeOf(f)])).toEqual([
      [last + 1, `${RUN}-live-old`],
      [last + 2, `${RUN}-live`],
    ]);
    await stream.close();

    // Milliseconds work as well as ISO 8601, and a later since replays less.
    const later = await subscribe(org.key, `?since=${t + 1_500}`);
    expect((await later.replay()).events.map(changeOf)).toEqual([`${RUN}-after-2`, `${RUN}-live`]);
    await later.close();
  });

  it('gives each event exactly once when events are published while it opens (root and shard)', async () => {
    for (const shardSize of ['1000', '1']) {
      const org = await createOrg('owner');
      const hub = env.EVENT_HUB.getByName(org.orgId);
      const tag = `${RUN}-race-${shardSize}`;
      // With a threshold of 1 a first stream fills the root, and the stream under test opens on a shard.
      const filler = shardSize === '1' ? await subscribe(org.key, '', {}, shardSize) : null;
      const t = Date.now();
      const published = Array.from({ length: 60 }, (_, i) => change('con_r', `${tag}-${i}`, t + i));
      const opening = get(org.key, `?since=${iso(t)}`, {}, shardSize);
      // Published one at a time around the subscribe: some before the replay, some while a shard
      // fetches it from the root, some after.
      for (const e of published) await hub.publish(e);
      const stream = new Stream(await opening);
      const got: SseFrame[] = [];
      while (got.length < published.length) {
        const f = await stream.frame();
        if (f.data?.includes(tag)) got.push(f);
      }
      expect(got.map(changeOf)).toEqual(published.map((e) => e.change));
      const ids = got.map((f) => Number(f.id));
      for (let i = 1; i < ids.length; i++) expect(ids[i]).toBe(ids[i - 1]! + 1);
      await stream.close();
      await filler?.close();
    }
  });

  it("replays only the connections the caller may see, like live delivery (a Developer's own)", async () => {
    const org = await createOrg('owner');
    const foreign = (await createConnection(`since-own-${RUN}`, { key: org.key })).id;
    const dev = await addMember(org.orgId, 'developer');
    const own = (await createConnection(`since-dev-${RUN}`, { key: dev.key })).id;
    const hub = env.EVENT_HUB.getByName(org.orgId);
    const t = Date.now() - 1_000;
    await hub.publish([
      change(foreign, `${RUN}-foreign-1`, t + 1),
      change(own, `${RUN}-own-1`, t + 2),
      change(foreign, `${RUN}-foreign-2`, t + 3),
    ]);
    const mine = (f: SseFrame) => (f.data ?? '').includes(`${RUN}-`);
    const stream = await subscribe(dev.key, `?since=${iso(t)}`);
    expect((await stream.replay()).events.filter(mine).map(changeOf)).toEqual([`${RUN}-own-1`]);
    await stream.close();
    // The owner's stream (the whole organization) gets all three.
    const whole = await subscribe(org.key, `?since=${iso(t)}`);
    expect((await whole.replay()).events.filter(mine).map(changeOf)).toEqual([
      `${RUN}-foreign-1`,
      `${RUN}-own-1`,
      `${RUN}-foreign-2`,
    ]);
    await whole.close();
  });

  it("never replays another organization's events", async () => {
    const a = await createOrg('owner');
    const b = await createOrg('owner');
    const t = Date.now() - 1_000;
    await env.EVENT_HUB.getByName(b.orgId).publish(change('con_b', `${RUN}-org-b`, t + 10));
    await env.EVENT_HUB.getByName(a.orgId).publish(change('con_a', `${RUN}-org-a`, t + 20));
    const stream = await subscribe(a.key, `?since=${iso(t)}`);
    expect((await stream.replay()).events.map(changeOf)).toEqual([`${RUN}-org-a`]);
    await stream.close();
  });

  it('says with a gap when the buffer no longer reaches back to since', async () => {
    const org = await createOrg('owner');
    const hub = env.EVENT_HUB.getByName(org.orgId);
    const t = Date.now() - 60_000;
    // 50 events before t, then REPLAY_LIMIT at or after it: the first 50 leave the buffer.
    await hub.publish([
      ...Array.from({ length: 50 }, (_, i) => change('con_g', `${RUN}-old-${i}`, t - 1_000 + i)),
      ...Array.from({ length: REPLAY_LIMIT }, (_, i) => change('con_g', `${RUN}-new-${i}`, t + i)),
    ]);
    await runInDurableObject(hub, (instance: EventHub) => instance.flushReplay());

    // What left was all before t: the buffer still holds everything from t on, and says no gap.
    const complete = await subscribe(org.key, `?since=${iso(t)}`);
    const all = await complete.replay();
    expect(all.gap).toBeNull();
    expect(all.events.map((f) => Number(f.id))).toEqual(
      Array.from({ length: REPLAY_LIMIT }, (_, i) => 51 + i),
    );
    await complete.close();

    // From before the last event that left: some of what was asked for is gone, and the stream says so first.
    const since = t - 1_000 + 10;
    const partial = await subscribe(org.key, `?since=${iso(since)}`);
    const first = await partial.frame();
    expect(first.event).toBe('gap');
    expect(first.id).toBeNull();
    expect(JSON.parse(first.data!)).toEqual({ type: 'gap', since: iso(since), missedTo: 50 });
    expect((await partial.replay()).events).toHaveLength(REPLAY_LIMIT);
    await partial.close();
  });

  it('says with a gap when a crash may have lost events at or after since', async () => {
    const org = await createOrg('owner');
    const hub = env.EVENT_HUB.getByName(org.orgId);
    const t = Date.now() - 10_000;
    await hub.publish(change('con_c', `${RUN}-kept`, t + 1));
    await runInDurableObject(hub, (instance: EventHub) => instance.flushReplay());
    await hub.publish(change('con_c', `${RUN}-unwritten`, t + 2)); // not yet in SQLite: a crash loses it
    const replay = await runInDurableObject(hub, (_instance, state) =>
      new EventHub(state, env).replayFrom(t),
    );
    expect(replay.gap).toMatchObject({ since: iso(t) });
    expect(replay.frames.map((f) => f.seq)).toEqual([1]);
  });

  it('refuses a since that is not a recent time with a typed 400, and opens nothing', async () => {
    const org = await createOrg('owner');
    const hub = env.EVENT_HUB.getByName(org.orgId);
    for (const since of ['yesterday', iso(Date.now() - 10 * 60_000), iso(Date.now() + 5 * 60_000)]) {
      const error = await expectApiError(
        await get(org.key, `?since=${encodeURIComponent(since)}`),
        400,
        'validation_failed',
      );
      expect(error.details).toMatchObject({ issues: [{ location: 'query', path: 'since' }] });
    }
    expect(await hub.subscriberCount()).toBe(0);
  });

  it('lets Last-Event-ID win: a reconnect resumes by id, with since no longer checked', async () => {
    const org = await createOrg('owner');
    const hub = env.EVENT_HUB.getByName(org.orgId);
    const t = Date.now() - 1_000;
    await hub.publish([
      change('con_l', `${RUN}-l-1`, t - 500),
      change('con_l', `${RUN}-l-2`, t - 400),
      change('con_l', `${RUN}-l-3`, t + 1),
    ]);
    // The URL an EventSource reuses, long after its since was recent.
    const stale = iso(Date.now() - 60 * 60_000);
    const stream = await subscribe(org.key, `?since=${stale}`, { 'Last-Event-ID': '1' });
    const replayed = await stream.events(2, `${RUN}-l-`);
    expect(replayed.map(changeOf)).toEqual([`${RUN}-l-2`, `${RUN}-l-3`]);
    await stream.close();
  });
});
