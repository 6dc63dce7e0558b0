import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RateWindows, retryAfterSeconds } from './rate.window.ts';
import { memorySql } from './sql.fixtures.ts';

const check = (limit: number, windowSeconds: number, key = 'k', ruleIndex = 0) => ({
  ruleIndex,
  key,
  limit,
  windowSeconds,
});

describe('retryAfterSeconds', () => {
  it('is the ceiling of the time until the leaving call exits, at least 1', () => {
    expect(retryAfterSeconds(1_000, 2, 1_000)).toBe(2);
    expect(retryAfterSeconds(1_000, 2, 2_001)).toBe(1);
    expect(retryAfterSeconds(1_000, 2, 2_999)).toBe(1);
    expect(retryAfterSeconds(1_000, 60, 1_500)).toBe(60);
    expect(retryAfterSeconds(1_000, 2, 5_000)).toBe(1);
  });
});

describe('RateWindows', () => {
  it('admits `limit` calls, refuses the next, and admits again once the oldest leaves the window', () => {
    const w = new RateWindows(memorySql());
    const t0 = 10_000;
    expect(w.admit([check(3, 2)], t0)).toEqual({ ok: true });
    expect(w.admit([check(3, 2)], t0 + 500)).toEqual({ ok: true });
    expect(w.admit([check(3, 2)], t0 + 900)).toEqual({ ok: true });
    const refused = w.admit([check(3, 2)], t0 + 1_000);
    expect(refused).toEqual({ ok: false, ruleIndex: 0, limit: 3, windowSeconds: 2, retryAfterSeconds: 1 });
    // Exactly at t0 + 2000 the first call has left (the window is (now - 2 s, now]).
    expect(w.admit([check(3, 2)], t0 + 1_999).ok).toBe(false);
    expect(w.admit([check(3, 2)], t0 + 2_000)).toEqual({ ok: true });
    // Full again: the oldest counted call is now the one at t0 + 500.
    expect(w.admit([check(3, 2)], t0 + 2_100)).toMatchObject({ ok: false, retryAfterSeconds: 1 });
  });

  it('does not count refused calls', () => {
    const w = new RateWindows(memorySql());
    expect(w.admit([check(1, 10)], 0).ok).toBe(true);
    for (let t = 1; t < 10_000; t += 1_000) expect(w.admit([check(1, 10)], t).ok).toBe(false);
    expect(w.count('k', 10, 9_999)).toBe(1);
    expect(w.admit([check(1, 10)], 10_000).ok).toBe(true);
  });

  it('reports Retry-After as the seconds until the oldest counted call leaves', () => {
    const w = new RateWindows(memorySql());
    w.admit([check(2, 60)], 1_000);
    w.admit([check(2, 60)], 30_000);
    expect(w.admit([check(2, 60)], 31_000)).toMatchObject({ ok: false, retryAfterSeconds: 30 });
    expect(w.admit([check(2, 60)], 60_500)).toMatchObject({ ok: false, retryAfterSeconds: 1 });
  });

  it('keeps keys apart', () => {
    const w = new RateWindows(memorySql());
    expect(w.admit([check(1, 5, 'alice')], 0).ok).toBe(true);
    expect(w.admit([check(1, 5, 'bob')], 0).ok).toBe(true);
    expect(w.admit([check(1, 5, 'alice')], 1).ok).toBe(false);
  });

  it('counts a call in every window only when all of them have room', () => {
    const w = new RateWindows(memorySql());
    expect(w.admit([check(5, 10, 'wide', 0), check(1, 10, 'narrow', 1)], 0).ok).toBe(true);
    const refused = w.admit([check(5, 10, 'wide', 0), check(1, 10, 'narrow', 1)], 1);
    expect(refused).toMatchObject({ ok: false, ruleIndex: 1 });
    // The refused call left nothing in the wide window.
    expect(w.count('wide', 10, 1)).toBe(1);
  });

  it('names the window that frees up last when several are full', () => {
    const w = new RateWindows(memorySql());
    w.admit([check(1, 2, 'short', 0), check(1, 30, 'long', 1)], 0);
    expect(w.admit([check(1, 2, 'short', 0), check(1, 30, 'long', 1)], 100)).toMatchObject({
      ok: false,
      ruleIndex: 1,
      retryAfterSeconds: 30,
    });
  });

  it('needs as many places as a batch has calls on one key', () => {
    const w = new RateWindows(memorySql());
    w.admit([check(3, 10)], 0);
    w.admit([check(3, 10)], 1_000);
    // Two more need two places; only one is free. Room comes when the call at 0 leaves.
    expect(w.admit([check(3, 10), check(3, 10)], 2_000)).toMatchObject({ ok: false, retryAfterSeconds: 8 });
    expect(w.admit([check(3, 10)], 2_000).ok).toBe(true);
    // A batch larger than the limit can never fit.
    expect(w.admit([check(1, 7, 'x'), check(1, 7, 'x')], 0)).toMatchObject({
      ok: false,
      retryAfterSeconds: 7,
    });
  });

  it('prunes rows that have left their window', () => {
    const sql = memorySql();
    const w = new RateWindows(sql);
    w.admit([check(10, 1, 'a')], 0);
    w.admit([check(10, 100, 'b')], 0);
    w.prune(1_000);
    expect(sql.exec<{ key: string }>('SELECT key FROM rate_hits').toArray()).toEqual([{ key: 'b' }]);
  });

  it('keeps its counts across a new instance on the same storage (eviction, restart)', () => {
    const sql = memorySql();
    new RateWindows(sql).admit([check(1, 60)], 0);
    expect(new RateWindows(sql).admit([check(1, 60)], 1_000).ok).toBe(false);
  });

  // Many SQLite databases: room beyond the 5 s default on a loaded machine (not a timing assertion).
  it('decides exactly as before after a restart or a prune at any point (property)', {
    timeout: 60_000,
  }, () => {
    // Counts live in memory with SQLite as the durable copy: a new instance on the same storage
    // (eviction, restart) and the alarm's prune must not change a single decision.
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(
          fc.tuple(fc.integer({ min: 0, max: 2_500 }), fc.constantFrom('admit', 'admit', 'restart', 'prune')),
          { minLength: 1, maxLength: 60 },
        ),
        (limit, windowSeconds, steps) => {
          const sql = memorySql();
          let w = new RateWindows(sql);
          const admitted: number[] = [];
          let now = 0;
          for (const [gap, op] of steps) {
            now += gap;
            if (op === 'restart') w = new RateWindows(sql);
            else if (op === 'prune') w.prune(now);
            const inWindow = admitted.filter((t) => t > now - windowSeconds * 1000);
            expect(w.count('k', windowSeconds, now)).toBe(inWindow.length);
            if (op !== 'admit') continue;
            const outcome = w.admit([check(limit, windowSeconds)], now);
            expect(outcome.ok).toBe(inWindow.length < limit);
            if (outcome.ok) admitted.push(now);
            else expect(outcome.retryAfterSeconds).toBe(retryAfterSeconds(inWindow[0]!, windowSeconds, now));
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('holds in SQLite only what a restart needs: admitted calls, until they leave their window', () => {
    const sql = memorySql();
    const w = new RateWindows(sql);
    for (let t = 0; t < 5; t++) w.admit([check(3, 10)], t * 1_000);
    // Three admitted, two refused: only the admitted ones are rows.
    expect(sql.exec<{ n: number }>('SELECT count(*) AS n FROM rate_hits').one().n).toBe(3);
    w.prune(10_000);
    expect(sql.exec<{ ts: number }>('SELECT ts FROM rate_hits ORDER BY ts').toArray()).toEqual([
      { ts: 1_000 },
      { ts: 2_000 },
    ]);
    // A restart after the prune sees the two that are left.
    expect(new RateWindows(sql).count('k', 10, 10_000)).toBe(2);
  });

  it('still counts a call stamped earlier than the last one (the clock stepped back)', () => {
    const w = new RateWindows(memorySql());
    expect(w.admit([check(2, 10)], 10_000).ok).toBe(true);
    expect(w.admit([check(2, 10)], 9_000).ok).toBe(true);
    expect(w.admit([check(2, 10)], 10_500)).toMatchObject({ ok: false, retryAfterSeconds: 9 });
    expect(w.count('k', 10, 10_500)).toBe(2);
  });

  it('never admits more than `limit` calls in any window-long span (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.integer({ min: 0, max: 3_000 }), { minLength: 1, maxLength: 60 }),
        (limit, windowSeconds, gaps) => {
          const w = new RateWindows(memorySql());
          const admitted: number[] = [];
          let now = 0;
          for (const gap of gaps) {
            now += gap;
            const outcome = w.admit([check(limit, windowSeconds)], now);
            const inWindow = admitted.filter((t) => t > now - windowSeconds * 1000).length;
            // Exact: admitted if and only if the true sliding count has room.
            expect(outcome.ok).toBe(inWindow < limit);
            if (outcome.ok) admitted.push(now);
            else {
              const oldest = admitted.filter((t) => t > now - windowSeconds * 1000)[0]!;
              expect(outcome.retryAfterSeconds).toBe(retryAfterSeconds(oldest, windowSeconds, now));
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

const tokens = (limit: number, windowSeconds: number, key = 't', ruleIndex = 0) => ({
  ruleIndex,
  key,
  limit,
  windowSeconds,
  unit: 'tokens' as const,
});

describe('RateWindows — token windows', () => {
  it('admits while the recorded tokens are under the limit, without counting the call itself', () => {
    const w = new RateWindows(memorySql());
    for (let i = 0; i < 5; i++) expect(w.admit([tokens(100, 60)], i)).toEqual({ ok: true });
    expect(w.tokens('t', 60, 10)).toBe(0);
    // Nothing lands in the request windows either.
    expect(w.count('t', 60, 10)).toBe(0);
  });

  it('refuses once the recorded tokens reach the limit, with Retry-After from the window', () => {
    const w = new RateWindows(memorySql());
    w.recordTokens('e1', [tokens(100, 60)], 60, 1_000);
    expect(w.admit([tokens(100, 60)], 2_000).ok).toBe(true);
    // The call that crosses the limit was admitted (its tokens were unknown); the next is not.
    w.recordTokens('e2', [tokens(100, 60)], 40, 5_000);
    expect(w.tokens('t', 60, 5_000)).toBe(100);
    expect(w.admit([tokens(100, 60)], 6_000)).toEqual({
      ok: false,
      ruleIndex: 0,
      limit: 100,
      windowSeconds: 60,
      retryAfterSeconds: 55, // the 60 tokens at 1 s leave at 61 s: then 40 < 100
    });
    // Refused calls leave nothing behind.
    expect(w.tokens('t', 60, 6_000)).toBe(100);
    expect(w.admit([tokens(100, 60)], 60_999).ok).toBe(false);
    expect(w.admit([tokens(100, 60)], 61_000)).toEqual({ ok: true });
  });

  it('waits for as many old calls to leave as it takes to get under the limit', () => {
    const w = new RateWindows(memorySql());
    w.recordTokens('a', [tokens(100, 10)], 30, 0);
    w.recordTokens('b', [tokens(100, 10)], 30, 2_000);
    w.recordTokens('c', [tokens(100, 10)], 90, 4_000);
    // 150 recorded: 'a' leaving leaves 120, 'b' leaving leaves 90 < 100 → room at 12 s.
    expect(w.admit([tokens(100, 10)], 5_000)).toMatchObject({ ok: false, retryAfterSeconds: 7 });
    expect(w.admit([tokens(100, 10)], 11_999).ok).toBe(false);
    expect(w.admit([tokens(100, 10)], 12_000).ok).toBe(true);
  });

  it('records a call once per window, whatever the repetition', () => {
    const w = new RateWindows(memorySql());
    const check = tokens(1_000, 60);
    w.recordTokens('e1', [check, check], 10, 0);
    w.recordTokens('e1', [check], 10, 500); // the same outcome delivered again
    w.recordTokens('e2', [check, tokens(1_000, 60, 'other')], 7, 1_000);
    expect(w.tokens('t', 60, 1_000)).toBe(17);
    expect(w.tokens('other', 60, 1_000)).toBe(7);
  });

  it('ignores request checks and counts that are not positive numbers', () => {
    const w = new RateWindows(memorySql());
    w.recordTokens('e1', [check(10, 60, 't')], 50, 0);
    for (const used of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
      w.recordTokens(`bad-${used}`, [tokens(10, 60)], used, 0);
    }
    expect(w.tokens('t', 60, 0)).toBe(0);
    w.recordTokens('e2', [tokens(10, 60)], 2.2, 0);
    expect(w.tokens('t', 60, 0)).toBe(3);
  });

  it('keeps token and request windows of one key apart', () => {
    const w = new RateWindows(memorySql());
    expect(w.admit([check(1, 60, 'k'), tokens(10, 60, 'k', 1)], 0).ok).toBe(true);
    w.recordTokens('e1', [tokens(10, 60, 'k', 1)], 10, 0);
    expect(w.count('k', 60, 1)).toBe(1);
    expect(w.tokens('k', 60, 1)).toBe(10);
  });

  it('decides request and token windows together: a full token window admits no request', () => {
    const w = new RateWindows(memorySql());
    w.recordTokens('e1', [tokens(10, 30, 'tok', 1)], 10, 0);
    const refused = w.admit([check(5, 2, 'req', 0), tokens(10, 30, 'tok', 1)], 1_000);
    expect(refused).toMatchObject({ ok: false, ruleIndex: 1, retryAfterSeconds: 29 });
    // The refused call was not counted in the request window.
    expect(w.count('req', 2, 1_000)).toBe(0);
    // When both are full, the one that frees up last is named.
    w.admit([check(1, 2, 'short', 0)], 1_000);
    expect(w.admit([check(1, 2, 'short', 0), tokens(10, 30, 'tok', 1)], 1_500)).toMatchObject({
      ok: false,
      ruleIndex: 1,
    });
    w.recordTokens('e2', [tokens(10, 1, 'brief', 2)], 10, 1_000);
    expect(w.admit([check(1, 2, 'short', 0), tokens(10, 1, 'brief', 2)], 1_500)).toMatchObject({
      ok: false,
      ruleIndex: 0,
      retryAfterSeconds: 2,
    });
  });

  it('prunes token rows that have left their window, and keeps them across instances', () => {
    const sql = memorySql();
    const w = new RateWindows(sql);
    w.recordTokens('e1', [tokens(10, 1, 'a')], 5, 0);
    w.recordTokens('e2', [tokens(10, 100, 'b')], 5, 0);
    w.prune(1_000);
    expect(sql.exec<{ key: string }>('SELECT key FROM rate_tokens').toArray()).toEqual([{ key: 'b' }]);
    w.recordTokens('e3', [tokens(10, 100, 'b')], 5, 0);
    expect(new RateWindows(sql).admit([tokens(10, 100, 'b')], 1_000).ok).toBe(false);
  });

  // Many SQLite databases: room beyond the 5 s default on a loaded machine (not a timing assertion).
  it('sums exactly as before after a restart or a prune at any point (property)', { timeout: 60_000 }, () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 2_500 }),
            fc.integer({ min: 1, max: 80 }),
            fc.constantFrom('call', 'call', 'restart', 'prune', 'repeat'),
          ),
          { minLength: 1, maxLength: 40 },
        ),
        (limit, windowSeconds, steps) => {
          const sql = memorySql();
          let w = new RateWindows(sql);
          const recorded: Array<{ ts: number; n: number }> = [];
          let last: { id: string; ts: number } | null = null;
          let now = 0;
          for (const [index, [gap, used, op]] of steps.entries()) {
            now += gap;
            if (op === 'restart') w = new RateWindows(sql);
            else if (op === 'prune') w.prune(now);
            else if (op === 'repeat' && last && last.ts > now - windowSeconds * 1000) {
              // The last call's outcome delivered again while it is in the window: counted once.
              w.recordTokens(last.id, [tokens(limit, windowSeconds)], used, now);
            }
            const live = recorded.filter((r) => r.ts > now - windowSeconds * 1000);
            const sum = live.reduce((total, r) => total + r.n, 0);
            expect(w.tokens('t', windowSeconds, now)).toBe(sum);
            if (op !== 'call') continue;
            const outcome = w.admit([tokens(limit, windowSeconds)], now);
            expect(outcome.ok).toBe(sum < limit);
            if (!outcome.ok) continue;
            w.recordTokens(`e${index}`, [tokens(limit, windowSeconds)], used, now);
            recorded.push({ ts: now, n: used });
            last = { id: `e${index}`, ts: now };
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses exactly when the sliding sum has reached the limit (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2_500 }), fc.integer({ min: 1, max: 80 })), {
          minLength: 1,
          maxLength: 40,
        }),
        (limit, windowSeconds, steps) => {
          const w = new RateWindows(memorySql());
          const recorded: Array<{ ts: number; n: number }> = [];
          let now = 0;
          for (const [index, [gap, used]] of steps.entries()) {
            now += gap;
            const live = recorded.filter((r) => r.ts > now - windowSeconds * 1000);
            const sum = live.reduce((total, r) => total + r.n, 0);
            const outcome = w.admit([tokens(limit, windowSeconds)], now);
            expect(outcome.ok).toBe(sum < limit);
            if (!outcome.ok) {
              // Waiting Retry-After is enough, and one second less is not (unless it is the minimum).
              let left = sum;
              let leaving = live[0]!.ts;
              for (const r of live) {
                left -= r.n;
                leaving = r.ts;
                if (left < limit) break;
              }
              expect(outcome.retryAfterSeconds).toBe(retryAfterSeconds(leaving, windowSeconds, now));
              continue;
            }
            w.recordTokens(`e${index}`, [tokens(limit, windowSeconds)], used, now);
            recorded.push({ ts: now, n: used });
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
