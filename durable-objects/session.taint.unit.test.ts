import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TaintCheck } from './guard.contract.ts';
import {
  CACHED_SESSION_BYTES,
  CACHED_SESSIONS,
  CALLED_REFRESH_MS,
  MAX_CALLED_PER_SESSION,
  SessionTaint,
  SWEEP_SQL,
  TAINT_TTL_MS,
} from './session.taint.ts';
import { memorySql } from './sql.fixtures.ts';
import type { SqlLike } from './sql.types.ts';

const check = (session: string, add: string[], cleanOf: string[][] = []): TaintCheck => ({
  session,
  add,
  cleanOf,
  ruleIndex: 0,
});

describe('SessionTaint', () => {
  it('sweeps expired facts through an index on their time, never by reading every fact', () => {
    const sql = memorySql();
    new SessionTaint(sql);
    for (const statement of SWEEP_SQL) {
      const plan = sql
        .exec<{ detail: string }>(`EXPLAIN QUERY PLAN ${statement}`, 0)
        .toArray()
        .map((r) => r.detail)
        .join('; ');
      expect(plan).toMatch(
        /^SEARCH session_\w+ USING (COVERING )?INDEX session_\w+ \((added_at|called_at)<\?\)/,
      );
    }
  });

  it('refuses a cleanOf entry once the session holds every label of it, until the labels expire', () => {
    const taint = new SessionTaint(memorySql());
    const t0 = 1_000_000;
    taint.add(check('s', ['untrusted']), t0);
    expect(taint.forbidden(check('s', [], [['untrusted', 'private']]), t0)).toBeNull();
    taint.add(check('s', ['private']), t0 + 10);
    expect(taint.forbidden(check('s', [], [['untrusted', 'private']]), t0 + 10)).toEqual([
      'untrusted',
      'private',
    ]);
    expect(taint.forbidden(check('other', [], [['untrusted']]), t0 + 10)).toBeNull();
    // 'untrusted' expires TTL after it was added; 'private' 10 ms later.
    expect(taint.forbidden(check('s', [], [['untrusted']]), t0 + TAINT_TTL_MS - 1)).toEqual(['untrusted']);
    expect(taint.forbidden(check('s', [], [['untrusted']]), t0 + TAINT_TTL_MS)).toBeNull();
  });

  it('keeps a session’s labels across a new instance on the same storage (eviction, restart)', () => {
    const sql = memorySql();
    new SessionTaint(sql).add(check('s', ['untrusted']), 0);
    expect(new SessionTaint(sql).forbidden(check('s', [], [['untrusted']]), 1)).toEqual(['untrusted']);
  });

  it('holds the facts of heavy sessions within CACHED_SESSION_BYTES, not 1,000 sessions of them', () => {
    const base = memorySql();
    const reads: string[] = [];
    const sql: SqlLike = {
      exec(query, ...bindings) {
        if (query.startsWith('SELECT tool')) reads.push(String(bindings[0]));
        return base.exec(query, ...bindings);
      },
    };
    const taint = new SessionTaint(sql);
    // A governed name is up to 512 bytes: 200 of them are ~200 KB a session.
    const names = Array.from({ length: MAX_CALLED_PER_SESSION }, (_, i) => `${i}_`.padEnd(512, 'n'));
    const sessions = Array.from({ length: 60 }, (_, i) => `heavy-${i}`);
    for (const session of sessions) taint.add({ ...check(session, ['read']), called: names }, 1);
    expect(reads).toHaveLength(60);
    // The newest session is held; the first (60 ≪ 1,000 sessions) was dropped and is read again.
    taint.facts('heavy-59', 2);
    expect(reads).toHaveLength(60);
    const first = taint.facts('heavy-0', 2);
    expect(reads).toHaveLength(61);
    expect(first.called).toHaveLength(MAX_CALLED_PER_SESSION);
    expect(first.labels).toEqual(['read']);
    expect(60 * MAX_CALLED_PER_SESSION * 1024).toBeGreaterThan(CACHED_SESSION_BYTES);
  });

  // Many SQLite databases: room beyond the 5 s default on a loaded machine (not a timing assertion).
  it('reads a session pushed out of memory back from SQLite', { timeout: 60_000 }, () => {
    const taint = new SessionTaint(memorySql());
    taint.add(check('first', ['untrusted']), 0);
    for (let i = 0; i < CACHED_SESSIONS + 5; i++) taint.add(check(`s${i}`, ['x']), 1);
    expect(taint.forbidden(check('first', [], [['untrusted']]), 2)).toEqual(['untrusted']);
  });

  // Many SQLite databases: room beyond the 5 s default on a loaded machine (not a timing assertion).
  it('decides exactly like the stored rows whatever the restarts, evictions and sweeps (property)', {
    timeout: 60_000,
  }, () => {
    const labels = ['a', 'b', 'c'];
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: TAINT_TTL_MS / 2 }),
            fc.constantFrom('s1', 's2', 's3'),
            fc.subarray(labels),
            fc.constantFrom('call', 'call', 'restart'),
          ),
          { minLength: 1, maxLength: 40 },
        ),
        (steps) => {
          const sql = memorySql();
          let taint = new SessionTaint(sql);
          const model = new Map<string, Map<string, number>>();
          let now = 0;
          for (const [gap, session, add, op] of steps) {
            now += gap;
            if (op === 'restart') {
              taint = new SessionTaint(sql);
              continue;
            }
            const held = model.get(session) ?? new Map<string, number>();
            for (const label of labels) {
              const live = (held.get(label) ?? Number.NEGATIVE_INFINITY) > now - TAINT_TTL_MS;
              expect(taint.forbidden(check(session, [], [[label]]), now)).toEqual(live ? [label] : null);
            }
            taint.add(check(session, add), now);
            for (const label of add) held.set(label, now);
            model.set(session, held);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('records called names (bounded, rewritten at most every CALLED_REFRESH_MS) and decides gates on them', () => {
    const shared: Array<[string, string, unknown]> = [];
    const sql = memorySql();
    const taint = new SessionTaint(sql, (org, session, facts) => shared.push([org, session, facts]));
    const gate = { ...check('s', []), gates: [{ ruleIndex: 3, touched: null, called: ['read_*'] }] };
    expect(taint.verdict(gate, 0)).toBeNull();
    taint.add({ ...check('s', []), called: ['read_crm'], linked: true }, 1, 'org_a');
    expect(taint.verdict(gate, 2)).toEqual({ held: ['called:read_crm'], ruleIndex: 3, approve: false });
    // Survives a restart (SQLite is the durable copy).
    expect(new SessionTaint(sql).verdict(gate, 3)!.ruleIndex).toBe(3);
    // Only what is newly recorded is shared, and only for linked sessions.
    taint.add({ ...check('s', []), called: ['read_crm'], linked: true }, 4, 'org_a');
    taint.add({ ...check('t', ['x']), called: ['y'] }, 5, 'org_a');
    expect(shared).toEqual([['org_a', 's', { labels: [], called: ['read_crm'] }]]);
    taint.add({ ...check('s', []), called: ['read_crm'], linked: true }, 1 + CALLED_REFRESH_MS, 'org_a');
    expect(shared).toHaveLength(2);
    // Bounded distinct names: past the cap, new names are not recorded.
    const many = Array.from({ length: MAX_CALLED_PER_SESSION + 5 }, (_, i) => `t${i}`);
    taint.add({ ...check('m', []), called: many }, 10);
    expect(taint.facts('m', 11).called).toHaveLength(MAX_CALLED_PER_SESSION);
    // Facts expire TAINT_TTL_MS after they were recorded.
    expect(taint.facts('m', 10 + TAINT_TTL_MS).called).toEqual([]);
  });

  it('merges the facts other connections shared (the gateway sends them) into the check', () => {
    const taint = new SessionTaint(memorySql());
    const c = {
      ...check('s', [], [['untrusted_input']]),
      shared: { labels: ['untrusted_input'], called: [] },
    };
    expect(taint.verdict(c, 0)).toEqual({ held: ['untrusted_input'], ruleIndex: 0, approve: false });
    expect(taint.verdict({ ...c, shared: { labels: [], called: [] } }, 0)).toBeNull();
  });
});
