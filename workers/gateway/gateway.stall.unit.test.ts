/**
 * The stall bounds of a streamed answer (gateway.stall.ts), on fake timers: the idle bound counts
 * only while a read is pending, the total bound counts from the start whatever arrives, each fires
 * once with its own `upstream_timeout`, and `stop` leaves no timer behind.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AppError } from '../lib/errors';
import { StallWatch } from './gateway.stall';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function watch(idleMs: number, totalMs: number | null) {
  const fired: AppError[] = [];
  const w = new StallWatch(idleMs, totalMs, (err) => fired.push(err));
  return { w, fired };
}

describe('StallWatch', () => {
  it('idle: fires after idleMs of one pending read, not while chunks keep coming', () => {
    const { w, fired } = watch(1_000, null);
    for (let i = 0; i < 10; i++) {
      w.waiting();
      vi.advanceTimersByTime(900);
      w.arrived();
    }
    expect(fired).toEqual([]);
    w.waiting();
    vi.advanceTimersByTime(999);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired.map((e) => [e.code, e.details])).toEqual([
      ['upstream_timeout', { setting: 'streamIdleTimeoutMs', timeoutMs: 1_000 }],
    ]);
    vi.advanceTimersByTime(10_000);
    expect(fired).toHaveLength(1);
  });

  it('idle: time with no read pending (a caller reading slowly) is not a stall', () => {
    const { w, fired } = watch(1_000, null);
    w.waiting();
    w.arrived();
    vi.advanceTimersByTime(60_000);
    expect(fired).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('total: fires at totalMs however often chunks arrive; an idle gap first fires idle', () => {
    const trickle = watch(1_000, 3_000);
    for (let i = 0; i < 20; i++) {
      trickle.w.waiting();
      vi.advanceTimersByTime(200);
      trickle.w.arrived();
    }
    expect(trickle.fired.map((e) => e.details)).toEqual([
      { setting: 'heldStreamTimeoutMs', timeoutMs: 3_000 },
    ]);
    const silent = watch(1_000, 3_000);
    silent.w.waiting();
    vi.advanceTimersByTime(1_000);
    expect(silent.fired.map((e) => e.details)).toEqual([
      { setting: 'streamIdleTimeoutMs', timeoutMs: 1_000 },
    ]);
  });

  it('stop: nothing fires, no timer left', () => {
    const { w, fired } = watch(1_000, 3_000);
    w.waiting();
    w.stop();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(10_000);
    expect(fired).toEqual([]);
  });
});
