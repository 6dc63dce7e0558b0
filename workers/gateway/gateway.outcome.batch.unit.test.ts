import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PendingOutcome } from '../../durable-objects/guard.contract';
import {
  IDLE_MS,
  IDLE_SEND_MS,
  OUTCOME_LINGER_MS,
  queueOutcome,
  sendWaitingOutcomes,
  takeOutcomes,
} from './gateway.outcome.batch';

/**
 * A guard that records each completeMany, and the waits asked for: an idle guard's short wait passes
 * by itself, a linger only when the test releases it.
 */
function setup() {
  const sent: string[][] = [];
  const guard = {
    completeMany: async (items: PendingOutcome[]) => {
      sent.push(items.map((i) => i.eventId));
      return [];
    },
  };
  const waits: Array<{ ms: number; release: () => void }> = [];
  vi.stubGlobal('scheduler', {
    wait: (ms: number) =>
      new Promise<void>((release) => {
        waits.push({ ms, release });
        if (ms === IDLE_SEND_MS) setTimeout(release, 0);
      }),
  });
  return { sent, guard: guard as unknown as Parameters<typeof queueOutcome>[2], waits };
}

const item = (eventId: string): PendingOutcome => ({ eventId, outcome: { upstreamStatus: 200 } });
let n = 0;
/** A guard of its own per test: the module's queues live for the isolate. */
const target = () => ({ orgId: 'org-a', connectionId: `conn-${++n}` });

describe('outcomes on their way to the guard', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('sends a lone call’s outcome at once, without waiting out the linger', async () => {
    const { sent, guard, waits } = setup();
    const send = queueOutcome(target(), item('e1'), guard, 1_000);
    expect(send).not.toBeNull();
    await send;
    expect(sent).toEqual([['e1']]);
    expect(waits.map((w) => w.ms)).toEqual([IDLE_SEND_MS]);
  });

  it('lets a busy guard’s outcome linger so the next admit carries it', async () => {
    const { sent, guard, waits } = setup();
    const t = target();
    await queueOutcome(t, item('e1'), guard, 1_000);
    const send = queueOutcome(t, item('e2'), guard, 1_000 + IDLE_MS - 1);
    expect(waits.map((w) => w.ms)).toEqual([IDLE_SEND_MS, OUTCOME_LINGER_MS]);
    // The next call's admit takes it: nothing is left for the linger to send.
    expect(takeOutcomes(t.orgId, t.connectionId)?.map((i) => i.eventId)).toEqual(['e2']);
    waits[1]!.release();
    await send;
    expect(sent).toEqual([['e1']]);
  });

  it('sends a lingering outcome on its own when no admit came to carry it', async () => {
    const { sent, guard, waits } = setup();
    const t = target();
    await queueOutcome(t, item('e1'), guard, 1_000);
    const send = queueOutcome(t, item('e2'), guard, 1_010);
    // Queued while the linger runs: it rides on the same send.
    expect(queueOutcome(t, item('e3'), guard, 1_012)).toBeNull();
    expect(sent).toEqual([['e1']]);
    waits[1]!.release();
    await send;
    expect(sent).toEqual([['e1'], ['e2', 'e3']]);
  });

  it('treats a guard as idle again once IDLE_MS passed since its last outcome', async () => {
    const { sent, guard, waits } = setup();
    const t = target();
    await queueOutcome(t, item('e1'), guard, 1_000);
    await queueOutcome(t, item('e2'), guard, 1_000 + IDLE_MS);
    expect(sent).toEqual([['e1'], ['e2']]);
    expect(waits.map((w) => w.ms)).toEqual([IDLE_SEND_MS, IDLE_SEND_MS]);
  });

  it('sends one call’s rows, queued in the same turn, together', async () => {
    const { sent, guard } = setup();
    const t = target();
    const send = queueOutcome(t, item('b1'), guard, 5_000);
    expect(queueOutcome(t, item('b2'), guard, 5_000)).toBeNull();
    expect(queueOutcome(t, item('b3'), guard, 5_000)).toBeNull();
    await send;
    expect(sent).toEqual([['b1', 'b2', 'b3']]);
  });

  it('flushing waits for a send the timer already took, until its guard answered', async () => {
    // Every wait passes at once here: what is tested is who waits for whom, not how long.
    vi.stubGlobal('scheduler', { wait: () => new Promise<void>((release) => setTimeout(release, 0)) });
    let answer: () => void = () => {};
    const applied: string[] = [];
    const slow = {
      completeMany: (items: PendingOutcome[]) =>
        new Promise<void>((resolve) => {
          answer = () => {
            applied.push(...items.map((i) => i.eventId));
            resolve();
          };
        }),
    } as unknown as Parameters<typeof queueOutcome>[2];
    const t = target();
    const timerSend = queueOutcome(t, item('t1'), slow, 1_000);
    await new Promise((r) => setTimeout(r, 5)); // the timer fired: t1 left the queue, unanswered
    expect(takeOutcomes(t.orgId, t.connectionId)).toBeUndefined();
    let flushed = false;
    const flush = sendWaitingOutcomes(() => slow).then(() => {
      flushed = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(flushed).toBe(false);
    answer();
    await timerSend;
    await flush;
    expect(applied).toEqual(['t1']);
  });

  it('keeps each guard’s outcomes apart (another organization’s admit takes none of them)', async () => {
    const { guard, waits } = setup();
    const mine = { orgId: 'org-a', connectionId: 'shared-id' };
    const theirs = { orgId: 'org-b', connectionId: 'shared-id' };
    await queueOutcome(mine, item('a1'), guard, 1_000);
    void queueOutcome(mine, item('a2'), guard, 1_001);
    expect(takeOutcomes(theirs.orgId, theirs.connectionId)).toBeUndefined();
    expect(takeOutcomes(mine.orgId, mine.connectionId)?.map((i) => i.eventId)).toEqual(['a2']);
    waits[1]?.release();
  });
});
