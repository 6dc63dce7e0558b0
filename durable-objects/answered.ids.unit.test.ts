import { describe, expect, it } from 'vitest';
import { AnsweredIds } from './answered.ids.ts';
import type { AdmitRequest } from './guard.contract.ts';
import { memorySql } from './sql.fixtures.ts';

const T0 = 1_800_000_000_000;
const HOUR = 3_600_000;
const admit = (keys: string[], final = false): Pick<AdmitRequest, 'tasks' | 'final'> => ({
  final,
  tasks: { protocol: 'mcp', answers: keys.map((key) => ({ key, expiresAt: T0 + HOUR })) },
});

describe('AnsweredIds', () => {
  it('an id is answered once: refused after it was recorded, and when a body names it twice', () => {
    const ids = new AnsweredIds(memorySql());
    expect(ids.refusal(admit(['a']), T0)).toBeNull();
    ids.record(admit(['a']));
    expect(ids.refusal(admit(['a']), T0)).toBe('answered');
    expect(ids.refusal(admit(['b', 'a']), T0)).toBe('answered');
    expect(ids.refusal(admit(['b', 'b']), T0)).toBe('answered');
    expect(ids.refusal(admit(['b']), T0)).toBeNull();
  });

  it('a call with no answers, or already refused, is not looked at and records nothing', () => {
    const sql = memorySql();
    const ids = new AnsweredIds(sql);
    expect(ids.refusal({ final: false }, T0)).toBeNull();
    expect(ids.refusal({ final: false, tasks: { ids: ['t'] } }, T0)).toBeNull();
    ids.record(admit(['a'], true));
    expect(ids.refusal(admit(['a']), T0)).toBeNull();
  });

  it('keeps a record until its id expired (plus clock skew), then prunes it through the index', () => {
    const sql = memorySql();
    const ids = new AnsweredIds(sql);
    ids.record(admit(['a']));
    ids.prune(T0 + HOUR);
    expect(ids.refusal(admit(['a']), T0 + HOUR)).toBe('answered'); // still within the skew
    ids.prune(T0 + HOUR + 60_000);
    expect(sql.db.prepare('SELECT COUNT(*) AS n FROM answered_ids').get()).toEqual({ n: 0 });
    const plan = sql.db
      .prepare(
        'EXPLAIN QUERY PLAN SELECT id_key FROM answered_ids WHERE expires_at <= ? ORDER BY expires_at LIMIT ?',
      )
      .all(T0, 10) as { detail: string }[];
    expect(plan.map((p) => p.detail).join(' ')).toContain('answered_ids_expiry');
  });

  it('at the cap (after pruning the expired) refuses new answers: fail closed, counted across restarts', () => {
    const sql = memorySql();
    const ids = new AnsweredIds(sql, 2);
    ids.record(admit(['a', 'b']));
    expect(ids.refusal(admit(['c']), T0)).toBe('full');
    const restarted = new AnsweredIds(sql, 2);
    expect(restarted.refusal(admit(['c']), T0)).toBe('full');
    // Once a and b expired, the refusal prunes them and the answer passes.
    expect(restarted.refusal(admit(['c']), T0 + HOUR + 60_000)).toBeNull();
  });

  it('counts a record once, whether or not anything counted the table before it', () => {
    const sql = memorySql();
    // A restarted guard whose first call of the kind records (its refusal had no answers to check).
    const first = new AnsweredIds(sql, 2);
    first.record(admit(['a']));
    expect(first.refusal(admit(['b']), T0)).toBeNull(); // one of two held: room for b
    first.record(admit(['b', 'a'])); // a again adds nothing
    expect(first.refusal(admit(['c']), T0)).toBe('full');
    // Counted first, then recorded: the same count.
    const counted = new AnsweredIds(memorySql(), 2);
    expect(counted.refusal(admit(['a']), T0)).toBeNull();
    counted.record(admit(['a']));
    expect(counted.refusal(admit(['b']), T0)).toBeNull();
    counted.record(admit(['b']));
    expect(counted.refusal(admit(['c']), T0)).toBe('full');
  });
});
