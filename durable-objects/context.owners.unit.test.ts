import type { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import type { AuditEventInsert } from '../workers/db/schema.ts';
import { ContextOwners, claimedContexts } from './context.owners.ts';
import type { AdmitRequest, Finding } from './guard.contract.ts';
import { memorySql } from './sql.fixtures.ts';
import { OWNER_TTL_MS, TOUCH_MS, taskOwner } from './task.owners.ts';

const ALICE = { apiKeyId: 'key_1', user: 'alice' };
const BOB = { apiKeyId: 'key_1', user: 'bob' };
const alice = taskOwner(ALICE);
const bob = taskOwner(BOB);
const T0 = 1_700_000_000_000;

function ids(sql: { db: DatabaseSync }): string[] {
  const rows = sql.db.prepare('SELECT context_id FROM context_owners ORDER BY context_id').all();
  return (rows as { context_id: string }[]).map((r) => r.context_id);
}

describe('ContextOwners', () => {
  it('the first claim wins; another caller’s context is refused, an unrecorded one is not', () => {
    const owners = new ContextOwners(memorySql());
    owners.claim(['c1', 'c2'], alice, T0);
    owners.claim(['c1', 'c3'], bob, T0);
    expect(owners.mayUse(['c1', 'c2'], alice, T0)).toBe(true);
    expect(owners.mayUse(['c1'], bob, T0)).toBe(false);
    expect(owners.mayUse(['c3'], bob, T0)).toBe(true);
    expect(owners.mayUse(['c3'], alice, T0)).toBe(false);
    // Every named id is checked, not the first: one of alice's beside one of bob's is refused.
    expect(owners.mayUse(['c2', 'c3'], alice, T0)).toBe(false);
    expect(owners.mayUse(['minted-by-a-client'], bob, T0)).toBe(true);
    expect(owners.mayUse([], bob, T0)).toBe(true);
  });

  it('refuses only a send that names another caller’s context, and only when not already refused', () => {
    const owners = new ContextOwners(memorySql());
    owners.claim(['c1'], alice, T0);
    // The caller rides the admit (AdmitRequest.caller); the owner is encoded from it (taskOwner).
    const callers = { [alice]: ALICE, [bob]: BOB };
    const admit = (contexts: string[] | undefined, who: string, final = false) =>
      ({ final, caller: callers[who], ...(contexts ? { tasks: { contexts } } : {}) }) as AdmitRequest;
    expect(owners.refuses(admit(['c1'], bob), T0)).toBe(true);
    expect(owners.refuses(admit(['c1'], alice), T0)).toBe(false);
    expect(owners.refuses(admit(undefined, bob), T0)).toBe(false);
    expect(owners.refuses(admit(['c1'], bob, true), T0)).toBe(false);
  });

  it('a record lapses OWNER_TTL_MS after its last use (which a use refreshes); its next user owns it', () => {
    const sql = memorySql();
    const owners = new ContextOwners(sql);
    owners.claim(['c1', 'c2'], alice, T0);
    const later = T0 + OWNER_TTL_MS - 1;
    expect(owners.mayUse(['c1'], alice, later)).toBe(true); // refreshes c1
    expect(owners.mayUse(['c2'], bob, T0 + OWNER_TTL_MS)).toBe(true); // c2 lapsed
    owners.claim(['c2'], bob, T0 + OWNER_TTL_MS);
    expect(owners.mayUse(['c2'], alice, T0 + OWNER_TTL_MS)).toBe(false);
    expect(owners.mayUse(['c1'], bob, later + OWNER_TTL_MS - 1)).toBe(false);
    owners.prune(later + OWNER_TTL_MS);
    expect(ids(sql)).toEqual(['c2']);
  });

  it('a use or a claim within TOUCH_MS writes nothing', () => {
    const sql = memorySql();
    const owners = new ContextOwners(sql);
    owners.claim(['c1'], alice, T0);
    owners.mayUse(['c1'], alice, T0 + TOUCH_MS - 1);
    owners.claim(['c1'], alice, T0 + TOUCH_MS - 1);
    const row = sql.db.prepare('SELECT used_at FROM context_owners').get() as { used_at: number };
    expect(row.used_at).toBe(T0);
    owners.claim(['c1'], alice, T0 + TOUCH_MS);
    expect((sql.db.prepare('SELECT used_at FROM context_owners').get() as { used_at: number }).used_at).toBe(
      T0 + TOUCH_MS,
    );
  });

  it('holds at most its cap: the least recently used record is evicted', () => {
    const sql = memorySql();
    const owners = new ContextOwners(sql, 3);
    owners.claim(['c1'], alice, T0);
    owners.claim(['c2'], alice, T0 + 1);
    owners.claim(['c3'], bob, T0 + 2);
    owners.mayUse(['c1'], alice, T0 + TOUCH_MS); // c1 used again: c2 is now the oldest
    owners.claim(['c4', 'c5'], bob, T0 + TOUCH_MS + 1);
    expect(ids(sql)).toEqual(['c1', 'c4', 'c5']);
    // The count survives a restart of the object (it is read back once).
    const again = new ContextOwners(sql, 3);
    again.claim(['c6'], alice, T0 + TOUCH_MS + 2);
    expect(ids(sql)).toEqual(['c4', 'c5', 'c6']);
  });

  it('prunes and evicts through the index on time', () => {
    const sql = memorySql();
    new ContextOwners(sql);
    const plan = sql.db
      .prepare(
        'EXPLAIN QUERY PLAN SELECT context_id FROM context_owners WHERE used_at <= ? ORDER BY used_at LIMIT ?',
      )
      .all(T0, 10) as { detail: string }[];
    expect(plan.map((p) => p.detail).join(' ')).toContain('context_owners_used');
  });
});

describe('claimedContexts', () => {
  const row = (a2aMethod: string, type: AuditEventInsert['type'] = 'a2a_call') =>
    ({ id: 'e1', type, action: 'allow', details: { a2aMethod } }) as AuditEventInsert;
  const context = (contextId: string): Finding => ({
    stage: 'a2a_context',
    kind: 'context_id',
    detail: { contextId },
  });

  it('a send’s reported contexts, once each; nothing from other methods, rows or findings', () => {
    const findings = [
      context('c1'),
      context('c1'),
      context('c2'),
      { stage: 'a2a_task', kind: 'task_state', detail: { taskId: 't1', contextId: 'x' } },
    ];
    expect(claimedContexts(row('SendMessage'), findings)).toEqual(['c1', 'c2']);
    expect(claimedContexts(row('SendStreamingMessage'), [context('c3')])).toEqual(['c3']);
    expect(claimedContexts(row('GetTask'), findings)).toEqual([]);
    expect(claimedContexts(row('SendMessage', 'tool_call'), findings)).toEqual([]);
    expect(claimedContexts(row('SendMessage'), undefined)).toEqual([]);
  });
});
