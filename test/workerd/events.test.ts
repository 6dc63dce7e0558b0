/**
 * GET /api/v1/events — the organization's live stream from its EventHub Durable Object: every
 * event has an id, subscribers get events in publish order, a reconnect with Last-Event-ID replays
 * what was missed, closed streams are cleaned up, and nothing crosses organizations.
 */
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { FANOUT_SLICE } from '../../durable-objects/event.fanout';
import { EventHub, REPLAY_LIMIT } from '../../durable-objects/event-hub.do';
import type { GatewayEvent, ManagementEvent } from '../../workers/shared/events.types';
import { type SseFrame, SseFrameReader } from '../shared/sse.frames';
import {
  addMember,
  call,
  createConnection,
  createOrg,
  expectApiError,
  hubEvents,
  mcp,
  putPolicy,
  type TestOrg,
} from './helpers';

type Frame = SseFrame;

/** Reads an SSE response frame by frame. */
class SseStream {
  readonly #frames: SseFrameReader;

  constructor(res: Response) {
    if (res.status !== 200) throw new Error(`SSE subscribe failed: ${res.status}`);
    this.#frames = new SseFrameReader(res.body!.getReader());
  }

  frame(timeoutMs = 10_000): Promise<Frame> {
    return this.#frames.frame(timeoutMs);
  }

  /** The next `n` frames that carry data (events, and `gap`), skipping comments. */
  async events(
    n: number,
    accept: (f: Frame) => boolean = () => true,
  ): Promise<Array<Frame & { body: GatewayEvent }>> {
    const out: Array<Frame & { body: GatewayEvent }> = [];
    while (out.length < n) {
      const f = await this.frame();
      if (f.data !== null && accept(f)) out.push({ ...f, body: JSON.parse(f.data) as GatewayEvent });
    }
    return out;
  }

  async close(): Promise<void> {
    await this.#frames.cancel();
  }
}

async function subscribe(key: string, query = '', headers: Record<string, string> = {}): Promise<SseStream> {
  const stream = new SseStream(await call('GET', `/api/v1/events${query}`, { key, headers }));
  const hello = await stream.frame();
  expect(hello.comments).toContain('connected');
  return stream;
}

function management(serverId: string, change: string): ManagementEvent {
  return { type: 'connection_update', serverId, slug: 'x', change, timestamp: new Date().toISOString() };
}

let org: TestOrg;
let connA: string;
let connB: string;
const RUN = crypto.randomUUID().slice(0, 8);

beforeAll(async () => {
  org = await createOrg('owner');
  connA = (await createConnection('events-a', { key: org.key })).id;
  connB = (await createConnection('events-b', { key: org.key })).id;
  await putPolicy('events-a', [{ tool: '*', action: 'allow' }], org.key);
  await putPolicy('events-b', [{ tool: '*', action: 'allow' }], org.key);
});

describe('tool_call events from gateway calls', () => {
  it('carry serverId, sessionId, toolName, action, latencyMs, timestamp and an id', async () => {
    const stream = await subscribe(org.key);
    for (const [i, tool] of ['echo', 'add', 'echo'].entries()) {
      const res = await mcp(
        'events-a',
        'tools/call',
        { name: tool, arguments: tool === 'echo' ? { message: 'hi' } : { a: 1, b: 2 } },
        {
          key: org.key,
          headers: { 'X-Igris-Trace-Id': `ev-${RUN}-${i}`, 'X-Igris-User': 'carol@example.com' },
        },
      );
      expect(res.status).toBe(200);
      await res.text();
    }
    const events = await stream.events(3, (f) => f.event === 'tool_call');
    expect(events.map((e) => (e.body as { traceId: string }).traceId)).toEqual(
      [0, 1, 2].map((i) => `ev-${RUN}-${i}`),
    );
    for (const e of events) {
      expect(e.id).toMatch(/^\d+$/);
      expect(e.body).toMatchObject({
        type: 'tool_call',
        serverId: connA,
        sessionId: expect.stringMatching(/^ses_/),
        action: 'allow',
        latencyMs: expect.any(Number),
        user: 'carol@example.com',
      });
      expect(['echo', 'add']).toContain((e.body as { toolName: string }).toolName);
      expect(new Date((e.body as { timestamp: string }).timestamp).toISOString()).toBe(
        (e.body as { timestamp: string }).timestamp,
      );
    }
    const ids = events.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    await stream.close();
  });
});

describe('ordering and ids', () => {
  it('delivers a concurrent burst to every subscriber in publish order, ids consecutive', async () => {
    const hub = env.EVENT_HUB.getByName(org.orgId);
    const s1 = await subscribe(org.key);
    const s2 = await subscribe(org.key);
    const burst = Array.from({ length: 300 }, (_, i) => management(connA, `burst-${i}`));
    const seqs = await Promise.all(burst.map((e) => hub.publish(e)));
    // What the hub numbered each publish: the order subscribers must see.
    const expected = seqs.map((seq, i) => ({ seq, change: burst[i]!.change })).sort((a, b) => a.seq - b.seq);
    for (const stream of [s1, s2]) {
      const got = await stream.events(300, (f) => (f.data ?? '').includes('"burst-'));
      expect(got.map((e) => [Number(e.id), (e.body as ManagementEvent).change])).toEqual(
        expected.map((e) => [e.seq, e.change]),
      );
    }
    for (let i = 1; i < expected.length; i++) expect(expected[i]!.seq).toBe(expected[i - 1]!.seq + 1);
    await s1.close();
    await s2.close();
  });

  it('delivers a burst in order, once each, to more subscribers than one fan-out slice writes in a turn', async () => {
    const hub = env.EVENT_HUB.getByName(org.orgId);
    const everything = await Promise.all(
      Array.from({ length: FANOUT_SLICE * 2 + 5 }, () => subscribe(org.key)),
    );
    const onlyB = await subscribe(org.key, `?connection=${connB}`);
    // Publishes land while earlier fan-outs are still under way (each one's later slices in later turns).
    const burst = Array.from({ length: 60 }, (_, i) => management(i % 3 === 0 ? connB : connA, `slice-${i}`));
    const seqs = await Promise.all(burst.map((e) => hub.publish(e)));
    const expected = seqs
      .map((seq, i) => ({ seq, change: burst[i]!.change, serverId: burst[i]!.serverId }))
      .sort((a, b) => a.seq - b.seq);
    const sliceEvents = (f: Frame) => (f.data ?? '').includes('"slice-');
    for (const stream of everything) {
      const got = await stream.events(60, sliceEvents);
      expect(got.map((e) => [Number(e.id), (e.body as ManagementEvent).change])).toEqual(
        expected.map((e) => [e.seq, e.change]),
      );
    }
    const forB = expected.filter((e) => e.serverId === connB);
    const gotB = await onlyB.events(forB.length, sliceEvents);
    expect(gotB.map((e) => (e.body as ManagementEvent).change)).toEqual(forB.map((e) => e.change));
    // Nothing twice: the next event after the burst is the one published after it.
    await hub.publish(management(connB, 'slice-end'));
    for (const stream of [...everything, onlyB]) {
      const [next] = await stream.events(1, sliceEvents);
      expect((next!.body as ManagementEvent).change).toBe('slice-end');
      await stream.close();
    }
  });

  it('delivers every tool_call of a concurrent gateway burst, the same sequence to every subscriber', async () => {
    const s1 = await subscribe(org.key);
    const s2 = await subscribe(org.key, '?connection=events-b');
    const N = 200;
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < N) {
          const i = next++;
          const res = await mcp(
            'events-b',
            'tools/call',
            { name: 'echo', arguments: { message: 'b' } },
            {
              key: org.key,
              headers: { 'X-Igris-Trace-Id': `gw-burst-${RUN}-${i}` },
            },
          );
          expect(res.status).toBe(200);
          await res.text();
        }
      }),
    );
    const mine = (f: Frame) => f.event === 'tool_call' && (f.data ?? '').includes(`gw-burst-${RUN}-`);
    const a = await s1.events(N, mine);
    const b = await s2.events(N, mine);
    const trace = (e: { body: GatewayEvent }) => (e.body as { traceId: string }).traceId;
    expect(new Set(a.map(trace)).size).toBe(N);
    expect(b.map((e) => [e.id, trace(e)])).toEqual(a.map((e) => [e.id, trace(e)]));
    const ids = a.map((e) => Number(e.id));
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1]!);
    await s1.close();
    await s2.close();
  });

  it('keeps ids growing across a restart of the hub (the counter lives in SQLite)', async () => {
    const hub = env.EVENT_HUB.getByName(org.orgId);
    await hub.publish(Array.from({ length: REPLAY_LIMIT + 50 }, (_, i) => management(connA, `fill-${i}`)));
    const [before, restarted] = await runInDurableObject(hub, (instance: EventHub, state) => [
      instance.lastEventId(),
      new EventHub(state, env).lastEventId(),
    ]);
    expect(restarted).toBe(before);
    expect(await hub.publish(management(connA, 'after'))).toBe(before + 1);
  });
});

describe('Last-Event-ID', () => {
  it('replays exactly what a disconnected subscriber missed, then continues live', async () => {
    const hub = env.EVENT_HUB.getByName(org.orgId);
    const first = await subscribe(org.key);
    await hub.publish(Array.from({ length: 120 }, (_, i) => management(connA, `resume-${RUN}-${i}`)));
    const mine = (f: Frame) => (f.data ?? '').includes(`resume-${RUN}-`);
    const seen = await first.events(40, mine);
    await first.close();

    const lastId = seen.at(-1)!.id!;
    const resumed = await subscribe(org.key, '', { 'Last-Event-ID': lastId });
    await hub.publish(Array.from({ length: 5 }, (_, i) => management(connA, `resume-${RUN}-${120 + i}`)));
    const rest = await resumed.events(85, mine);
    expect([...seen, ...rest].map((e) => (e.body as ManagementEvent).change)).toEqual(
      Array.from({ length: 125 }, (_, i) => `resume-${RUN}-${i}`),
    );
    await resumed.close();

    // The same through ?lastEventId= (EventSource cannot set headers on its first request).
    const viaQuery = await subscribe(org.key, `?lastEventId=${rest.at(-2)!.id}`);
    const [last] = await viaQuery.events(1, mine);
    expect(last!.id).toBe(rest.at(-1)!.id);
    await viaQuery.close();
  });

  it('says when more was missed than the buffer holds', async () => {
    const other = await createOrg('owner');
    const hub = env.EVENT_HUB.getByName(other.orgId);
    await hub.publish(Array.from({ length: REPLAY_LIMIT + 100 }, (_, i) => management('con_x', `old-${i}`)));
    const stream = await subscribe(other.key, '', { 'Last-Event-ID': '0' });
    const gap = await stream.frame();
    expect(gap.event).toBe('gap');
    expect(gap.id).toBeNull();
    expect(JSON.parse(gap.data!)).toEqual({ type: 'gap', missedFrom: 1, missedTo: 100 });
    const replay = await stream.events(REPLAY_LIMIT);
    expect(replay.map((e) => Number(e.id))).toEqual(Array.from({ length: REPLAY_LIMIT }, (_, i) => 101 + i));
    await stream.close();
  });
});

describe('filters and permissions', () => {
  it('limits a stream to one connection given by slug or id', async () => {
    const hub = env.EVENT_HUB.getByName(org.orgId);
    const bySlug = await subscribe(org.key, '?connection=events-a');
    const byId = await subscribe(org.key, `?connection=${connB}`);
    await hub.publish([
      management(connB, `f-${RUN}-b1`),
      management(connA, `f-${RUN}-a1`),
      management(connB, `f-${RUN}-b2`),
    ]);
    const mine = (f: Frame) => (f.data ?? '').includes(`f-${RUN}-`);
    expect((await bySlug.events(1, mine)).map((e) => (e.body as ManagementEvent).change)).toEqual([
      `f-${RUN}-a1`,
    ]);
    expect((await byId.events(2, mine)).map((e) => (e.body as ManagementEvent).change)).toEqual([
      `f-${RUN}-b1`,
      `f-${RUN}-b2`,
    ]);
    await bySlug.close();
    await byId.close();
    await expectApiError(
      await call('GET', '/api/v1/events?connection=nope', { key: org.key }),
      404,
      'not_found',
    );
  });

  it("gives a Developer only their own connections' events", async () => {
    const dev = await addMember(org.orgId, 'developer');
    const own = (await createConnection(`events-dev-${RUN}`, { key: dev.key })).id;
    await expectApiError(
      await call('GET', '/api/v1/events?connection=events-a', { key: dev.key }),
      403,
      'forbidden',
    );
    const stream = await subscribe(dev.key);
    const hub = env.EVENT_HUB.getByName(org.orgId);
    await hub.publish([management(connA, `dev-${RUN}-foreign`), management(own, `dev-${RUN}-own`)]);
    const [first] = await stream.events(1, (f) => (f.data ?? '').includes(`dev-${RUN}-`));
    expect((first!.body as ManagementEvent).change).toBe(`dev-${RUN}-own`);
    await stream.close();
  });

  it('requires a key', async () => {
    await expectApiError(await call('GET', '/api/v1/events', { key: null }), 401, 'unauthorized');
  });
});

describe('organization isolation', () => {
  it("never delivers one organization's events to another's subscriber", async () => {
    const b = await createOrg('owner');
    const streamB = await subscribe(b.key);
    // Organization A: a burst of gateway calls and published events.
    await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const res = await mcp(
          'events-a',
          'tools/call',
          { name: 'echo', arguments: { message: 'a' } },
          {
            key: org.key,
            headers: { 'X-Igris-Trace-Id': `iso-${RUN}-${i}` },
          },
        );
        await res.text();
      }),
    );
    await env.EVENT_HUB.getByName(org.orgId).publish(management(connA, `iso-${RUN}-published`));
    // Then B's own change: the first event B's stream carries must be it.
    const created = await createConnection(`iso-b-${RUN}`, { key: b.key });
    const [first] = await streamB.events(1);
    expect(first!.body).toMatchObject({ type: 'connection_update', serverId: created.id, change: 'created' });
    await streamB.close();
    const stored = await hubEvents(b.orgId);
    expect(stored.some((body) => body.includes(`iso-${RUN}`) || body.includes(connA))).toBe(false);
  });
});

describe('subscriber lifecycle', () => {
  it('sends keepalive comments and removes a stream whose client went away', async () => {
    const lone = await createOrg('owner');
    const hub = env.EVENT_HUB.getByName(lone.orgId);
    const stream = await subscribe(lone.key);
    expect(await hub.subscriberCount()).toBe(1);
    expect(await hub.sweep()).toBe(1);
    expect((await stream.frame()).comments).toEqual(['keepalive']);

    await stream.close();
    let count = await hub.subscriberCount();
    for (let i = 0; i < 100 && count > 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      count = await hub.sweep();
    }
    expect(count).toBe(0);
  });

  it('drops a subscriber that stops reading once MAX_PENDING_BYTES wait for it, and keeps the others', async () => {
    const lone = await createOrg('owner');
    const hub = env.EVENT_HUB.getByName(lone.orgId);
    const stalled = await subscribe(lone.key); // read up to `: connected`, then never again
    const reading = await subscribe(lone.key);
    expect(await hub.subscriberCount()).toBe(2);
    // 64 KiB events: 6 MiB in all, more than MAX_PENDING_BYTES (4 MiB) once the pipe's buffers are full.
    const big = 'x'.repeat(64 * 1024);
    let received = 0;
    for (let batch = 0; batch < 12; batch++) {
      await hub.publish(Array.from({ length: 8 }, (_, i) => management(`${batch}-${i}`, big)));
      received += (await reading.events(8)).length;
    }
    expect(received).toBe(96);
    let count = await hub.subscriberCount();
    for (let i = 0; i < 50 && count > 1; i++) {
      await new Promise((r) => setTimeout(r, 20));
      count = await hub.subscriberCount();
    }
    expect(count).toBe(1);
    await reading.close();
    await stalled.close();
  });
});
