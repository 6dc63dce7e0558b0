/**
 * The root hub's replay buffer (durable-objects/event.replay.ts): events are kept in memory and
 * written to SQLite in batches, not one INSERT per publish. What must still hold: a restart replays
 * what SQLite has with the same ids and bytes; events published one at a time reach SQLite without a
 * further publish; and a crash that loses events not yet written never hands out one of their ids
 * again, and tells a resuming client which ids it cannot replay.
 */
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { EventHub, FLUSH_AT } from '../../durable-objects/event-hub.do';
import type { ManagementEvent } from '../../workers/shared/events.types';

const RUN = crypto.randomUUID().slice(0, 8);
const decoder = new TextDecoder();

function management(change: string): ManagementEvent {
  return {
    type: 'connection_update',
    serverId: 'con_r',
    slug: 'r',
    change,
    timestamp: new Date(0).toISOString(),
  };
}

function hub(name: string) {
  return env.EVENT_HUB.getByName(`org_replay_${RUN}_${name}`);
}

function storedSeqs(stub: DurableObjectStub<EventHub>): Promise<number[]> {
  return runInDurableObject(stub, (_instance, state) =>
    state.storage.sql
      .exec<{ seq: number }>('SELECT seq FROM events ORDER BY seq')
      .toArray()
      .map((r) => r.seq),
  );
}

describe('replay buffer', () => {
  it('replays from SQLite after a restart with the same ids and frames', async () => {
    const stub = hub('restart');
    for (let i = 1; i <= 10; i++) await stub.publish(management(`r-${i}`));
    await runInDurableObject(stub, (instance: EventHub) => instance.flushReplay());
    const replay = await runInDurableObject(stub, (_instance, state) =>
      new EventHub(state, env).replaySince(3),
    );
    expect(replay.gap).toBeNull();
    expect(replay.last).toBe(10);
    expect(replay.frames.map((f) => f.seq)).toEqual([4, 5, 6, 7, 8, 9, 10]);
    expect(decoder.decode(replay.frames[0]!.bytes)).toBe(
      `id: 4\nevent: connection_update\ndata: ${JSON.stringify(management('r-4'))}\n\n`,
    );
    // The live object answers the same from memory.
    const live = await stub.replaySince(3);
    expect(live.frames.map((f) => decoder.decode(f.bytes))).toEqual(
      replay.frames.map((f) => decoder.decode(f.bytes)),
    );
  });

  it('writes events published one at a time to SQLite without a further publish', async () => {
    const stub = hub('lazy');
    await stub.publish(management('lazy-1'));
    let stored = await storedSeqs(stub);
    for (let i = 0; i < 100 && stored.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      stored = await storedSeqs(stub);
    }
    expect(stored).toEqual([1]);
  });

  it('never hands out an id twice after a crash lost unwritten events, and names them as a gap', async () => {
    const stub = hub('crash');
    for (let i = 1; i <= 5; i++) await stub.publish(management(`c-${i}`));
    await runInDurableObject(stub, (instance: EventHub) => instance.flushReplay());
    // Published and delivered, not yet written: a crash now loses them from the buffer.
    for (let i = 6; i <= 8; i++) expect(await stub.publish(management(`c-${i}`))).toBe(i);
    expect(await storedSeqs(stub)).toEqual([1, 2, 3, 4, 5]);

    const after = await runInDurableObject(stub, async (_instance, state) => {
      const restarted = new EventHub(state, env); // what a crash and restart would construct
      return {
        last: restarted.lastEventId(),
        resumeBefore: await restarted.replaySince(4),
        resumeAfter: await restarted.replaySince(restarted.lastEventId()),
        next: await restarted.publish(management('c-next')),
      };
    });
    // Ids 6..8 may have reached clients: none of them is reused, and whoever resumes before them is told.
    expect(after.last).toBe(5 + FLUSH_AT);
    expect(after.next).toBe(after.last + 1);
    expect(after.resumeBefore.gap).toEqual({ missedFrom: 5, missedTo: after.last });
    expect(after.resumeBefore.frames).toEqual([]);
    expect(after.resumeAfter.gap).toBeNull();
  });
});
