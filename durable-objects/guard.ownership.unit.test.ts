import type { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { AnsweredIds } from './answered.ids.ts';
import type { AdmitRequest } from './guard.contract.ts';
import { GuardOwnership, PRUNE_EVERY_MS } from './guard.ownership.ts';
import { memorySql } from './sql.fixtures.ts';
import { OWNER_TTL_MS, TaskOwners, taskOwner } from './task.owners.ts';

const T0 = 1_700_000_000_000;
const alice = { apiKeyId: 'key_1', user: 'alice', mcpSessionId: null };
const count = (sql: { db: DatabaseSync }, table: string) =>
  (sql.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;

/** A call naming MCP task `id`, as the gateway sends it. */
const naming = (id: string) =>
  ({ tasks: { protocol: 'mcp', ids: [id] }, caller: alice, final: false }) as unknown as AdmitRequest;

describe('the guard prunes expired ownership records at most every PRUNE_EVERY_MS', () => {
  it('an alarm within PRUNE_EVERY_MS of the last prune deletes nothing; the next one due does', () => {
    const sql = memorySql();
    const ownership = new GuardOwnership(sql);
    const tasks = new TaskOwners(sql); // the same table, to write records directly
    const owner = taskOwner(alice);
    tasks.claim(['t1'], owner, T0, 'mcp');
    const first = T0 + OWNER_TTL_MS; // t1 has expired
    ownership.prune(first);
    expect(count(sql, 'task_owners')).toBe(0);
    tasks.claim(['t2'], owner, T0, 'mcp'); // also expired at `first`
    ownership.prune(first + PRUNE_EVERY_MS - 1);
    expect(count(sql, 'task_owners')).toBe(1);
    ownership.prune(first + PRUNE_EVERY_MS);
    expect(count(sql, 'task_owners')).toBe(0);
  });

  it('an expired record not yet pruned decides exactly as a pruned one (and a live one as before)', () => {
    const sql = memorySql();
    const ownership = new GuardOwnership(sql);
    const tasks = new TaskOwners(sql);
    const owner = taskOwner(alice);
    ownership.prune(T0); // the last prune: the next is not due before T0 + PRUNE_EVERY_MS
    tasks.claim(['old'], owner, T0 - OWNER_TTL_MS, 'mcp'); // expires at T0
    tasks.claim(['live'], owner, T0, 'mcp');
    const now = T0 + 1;
    ownership.prune(now); // not due: the expired record stays
    expect(count(sql, 'task_owners')).toBe(2);
    const unpruned = [ownership.refusal(naming('old'), now), ownership.refusal(naming('live'), now)];
    ownership.prune(T0 + PRUNE_EVERY_MS);
    expect(count(sql, 'task_owners')).toBe(1);
    const pruned = [ownership.refusal(naming('old'), now), ownership.refusal(naming('live'), now)];
    expect(unpruned).toEqual([{ verdict: 'task_unknown' }, null]);
    expect(pruned).toEqual(unpruned);
  });

  it('a store at its cap still prunes itself before refusing, whatever the alarm last did', () => {
    const sql = memorySql();
    const ownership = new GuardOwnership(sql);
    ownership.prune(T0);
    const answered = new AnsweredIds(sql, 1);
    const answer = (key: string, expiresAt: number) =>
      ({ tasks: { answers: [{ key, expiresAt }] }, final: false }) as unknown as AdmitRequest;
    // As the guard does: checked, then recorded once admitted.
    expect(answered.refusal(answer('a', T0 - 120_000), T0 - 200_000)).toBeNull();
    answered.record(answer('a', T0 - 120_000)); // expired (with the skew) by T0
    ownership.prune(T0 + 1); // not due
    expect(count(sql, 'answered_ids')).toBe(1);
    expect(answered.refusal(answer('b', T0 + 3_600_000), T0 + 1)).toBeNull(); // room made by its own prune
    expect(count(sql, 'answered_ids')).toBe(0);
  });
});
