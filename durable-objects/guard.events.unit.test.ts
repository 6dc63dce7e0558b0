import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AuditEventInsert } from '../workers/db/schema.ts';
import { BUSY_MS, EVENT_LINGER_MS, GuardEvents } from './guard.events.ts';

/** The call's audit row as the guard holds it once the outcome is in (only what an event reads). */
function row(n: number): AuditEventInsert {
  return {
    id: `ev-${n}`,
    orgId: 'org-1',
    connectionId: 'conn-1',
    type: 'tool_call',
    tool: 'echo',
    method: 'tools/call',
    action: 'allow',
    upstreamStatus: 200,
    latencyMs: 3,
    traceId: `trace-${n}`,
    createdAt: Date.now(),
  } as AuditEventInsert;
}

/** A guard's events with a hub that records each publish RPC (its events' trace ids) and answers at once. */
function guardEvents() {
  const batches: string[][] = [];
  const pending: Promise<unknown>[] = [];
  const events = new GuardEvents(
    (p) => pending.push(p),
    () => ({
      publish: async (batch) => {
        batches.push(batch.map((e) => ('traceId' in e ? String(e.traceId) : e.type)));
      },
    }),
  );
  return { events, batches };
}

describe('a guard sends its live events in batches', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("sends an idle guard's event at once, without waiting for others", async () => {
    const { events, batches } = guardEvents();
    events.call(row(1));
    await vi.advanceTimersByTimeAsync(0);
    expect(batches).toEqual([['trace-1']]);
  });

  it('lets a busy guard’s next batch linger so the events of calls decided meanwhile travel together', async () => {
    const { events, batches } = guardEvents();
    events.call(row(1));
    await vi.advanceTimersByTimeAsync(0);
    // The guard just sent: the next events wait for one another instead of one RPC each.
    events.call(row(2));
    await vi.advanceTimersByTimeAsync(1);
    events.call(row(3));
    events.call(row(4));
    await vi.advanceTimersByTimeAsync(EVENT_LINGER_MS - 2);
    expect(batches).toEqual([['trace-1']]);
    await vi.advanceTimersByTimeAsync(1);
    // In the order they happened, and no event waited longer than the linger.
    expect(batches).toEqual([['trace-1'], ['trace-2', 'trace-3', 'trace-4']]);
  });

  it('sends at once again once the guard has been quiet for BUSY_MS', async () => {
    const { events, batches } = guardEvents();
    events.call(row(1));
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(BUSY_MS);
    events.call(row(2));
    await vi.advanceTimersByTimeAsync(0);
    expect(batches).toEqual([['trace-1'], ['trace-2']]);
  });

  it('never puts more than 100 events in one RPC, and loses none', async () => {
    const { events, batches } = guardEvents();
    for (let i = 0; i < 250; i++) events.call(row(i));
    await vi.advanceTimersByTimeAsync(10 * EVENT_LINGER_MS);
    // The first event left alone (the guard was idle), the rest in full batches.
    expect(batches.map((b) => b.length)).toEqual([1, 100, 100, 49]);
    expect(batches.flat()).toEqual(Array.from({ length: 250 }, (_, i) => `trace-${i}`));
  });
});

describe('the timestamp of a call’s events', () => {
  it('is its audit row’s createdAt for the call and for a streamed answer’s late findings', async () => {
    const published: Array<{ type: string; timestamp: string }> = [];
    const events = new GuardEvents(
      () => undefined,
      () => ({
        publish: async (batch) => {
          published.push(...batch);
        },
      }),
    );
    // Observe splits its history at one instant: audit rows (createdAt) before it, events after it.
    const call = { ...row(1), createdAt: Date.parse('2026-12-01T10:00:00.123Z') };
    events.call(call);
    events.findings(call, [{ stage: 'inspection', kind: 'secret', severity: 'high' } as never]);
    await vi.waitFor(() => expect(published).toHaveLength(2));
    expect(published.map((e) => [e.type, e.timestamp])).toEqual([
      ['tool_call', '2026-12-01T10:00:00.123Z'],
      ['findings', '2026-12-01T10:00:00.123Z'],
    ]);
  });
});
