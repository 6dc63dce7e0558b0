import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import type { AuditEventInsert } from '../workers/db/schema.ts';
import type { Finding } from './guard.contract.ts';
import type { SqlLike, SqlValue } from './sql.types.ts';
import { claimedTasks, OWNER_TTL_MS, TaskOwners, TOUCH_MS, taskOwner } from './task.owners.ts';

/** The real SQL on node:sqlite, shaped like a Durable Object's `ctx.storage.sql`. */
function memorySql(): SqlLike & { db: DatabaseSync } {
  const db = new DatabaseSync(':memory:');
  return {
    db,
    exec<T extends Record<string, SqlValue>>(query: string, ...bindings: unknown[]) {
      const stmt = db.prepare(query);
      const args = bindings as Array<string | number | null>;
      let rows: T[] = [];
      if (stmt.columns().length > 0) rows = stmt.all(...args) as T[];
      else stmt.run(...args);
      return { toArray: () => rows, one: () => rows[0]! };
    },
  };
}

const alice = taskOwner({ apiKeyId: 'key_1', user: 'alice' });
const T0 = 1_700_000_000_000;

describe('taskOwner', () => {
  it('tells apart keys, users, and a key from an OAuth caller of the same user', () => {
    const owners = [
      taskOwner({ apiKeyId: 'key_1', user: null }),
      taskOwner({ apiKeyId: 'key_1', user: 'alice' }),
      taskOwner({ apiKeyId: 'key_2', user: 'alice' }),
      taskOwner({ apiKeyId: null, user: 'alice' }),
      taskOwner({ apiKeyId: null, user: null }),
      taskOwner({ apiKeyId: 'key_1","alice', user: null }),
    ];
    expect(new Set(owners).size).toBe(owners.length);
    expect(taskOwner({ apiKeyId: 'key_1', user: undefined })).toBe(
      taskOwner({ apiKeyId: 'key_1', user: null }),
    );
  });
});

describe('TaskOwners', () => {
  it('the first claim wins; every addressed id must be the caller’s', () => {
    const owners = new TaskOwners(memorySql());
    const bob = taskOwner({ apiKeyId: 'key_1', user: 'bob' });
    owners.claim(['t1', 't2'], alice, T0);
    owners.claim(['t1', 't3'], bob, T0);
    expect(owners.ownsAll(['t1', 't2'], alice, T0)).toBe(true);
    expect(owners.ownsAll(['t1'], bob, T0)).toBe(false);
    expect(owners.ownsAll(['t3'], bob, T0)).toBe(true);
    expect(owners.ownsAll(['t1', 't3'], alice, T0)).toBe(false);
    expect(owners.ownsAll(['unknown'], alice, T0)).toBe(false);
    expect(owners.ownsAll([''], alice, T0)).toBe(false);
    expect(owners.ownsAll([], alice, T0)).toBe(false);
  });

  it('a task stays addressable OWNER_TTL_MS after its last use, which a use refreshes', () => {
    const sql = memorySql();
    const owners = new TaskOwners(sql);
    owners.claim(['t1', 't2'], alice, T0);
    const later = T0 + OWNER_TTL_MS - 1;
    expect(owners.ownsAll(['t1'], alice, later)).toBe(true); // refreshed (older than TOUCH_MS)
    expect(owners.ownsAll(['t2'], alice, T0 + OWNER_TTL_MS)).toBe(false);
    expect(owners.ownsAll(['t1'], alice, later + OWNER_TTL_MS - 1)).toBe(true);
    expect(owners.owned(alice, later + 1)).toEqual(['t1']);
    owners.prune(later + 1);
    const left = sql.db.prepare('SELECT task_id FROM task_owners').all() as { task_id: string }[];
    expect(left.map((r) => r.task_id)).toEqual(['t1']);
  });

  it('a use within TOUCH_MS writes nothing', () => {
    const sql = memorySql();
    const owners = new TaskOwners(sql);
    owners.claim(['t1'], alice, T0);
    owners.ownsAll(['t1'], alice, T0 + TOUCH_MS - 1);
    const row = sql.db.prepare('SELECT used_at FROM task_owners').get() as { used_at: number };
    expect(row.used_at).toBe(T0);
  });

  it('prunes through the index on time', () => {
    const sql = memorySql();
    new TaskOwners(sql);
    const plan = sql.db
      .prepare(
        `EXPLAIN QUERY PLAN SELECT task_id FROM task_owners WHERE used_at <= ? ORDER BY used_at LIMIT ?`,
      )
      .all(T0, 10) as { detail: string }[];
    expect(plan.map((p) => p.detail).join(' ')).toContain('task_owners_used');
  });
});

describe('claimedTasks', () => {
  const row = (a2aMethod: string, type: AuditEventInsert['type'] = 'a2a_call') =>
    ({ id: 'e1', type, action: 'allow', details: { a2aMethod } }) as AuditEventInsert;
  const state = (taskId: string): Finding => ({
    stage: 'a2a_task',
    kind: 'task_state',
    detail: { taskId, state: 'working' },
  });

  it('a send’s reported tasks, once each; nothing from other methods, rows or findings', () => {
    const findings = [
      state('t1'),
      state('t1'),
      state('t2'),
      { stage: 'inspection', kind: 'pii', detail: { taskId: 'x' } },
    ];
    expect(claimedTasks(row('SendMessage'), findings)).toEqual(['t1', 't2']);
    expect(claimedTasks(row('SendStreamingMessage'), [state('t3')])).toEqual(['t3']);
    expect(claimedTasks(row('GetTask'), findings)).toEqual([]);
    expect(claimedTasks(row('SendMessage', 'tool_call'), findings)).toEqual([]);
    expect(claimedTasks(row('SendMessage'), undefined)).toEqual([]);
  });
});
