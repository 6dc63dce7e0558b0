import { describe, expect, it } from 'vitest';
import type { AuditEventInsert } from '../workers/db/schema.ts';
import type { Finding } from './guard.contract.ts';
import { memorySql } from './sql.fixtures.ts';
import {
  claimedTasks,
  OWNER_TTL_MS,
  TaskOwners,
  TOUCH_MS,
  taskClaims,
  taskKey,
  taskOwner,
} from './task.owners.ts';

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

describe('tasks of two protocols', () => {
  it('keys never collide: an MCP and an A2A task with the same id are two records', () => {
    const ids = ['t1', 'mcp:t1', '~mcp:t1', '~a2a:t1', '~', '~a2a:~mcp:t1'];
    const keys = ids.flatMap((id) => [taskKey('a2a', id), taskKey('mcp', id)]);
    expect(new Set(keys).size).toBe(keys.length);
    // A2A keys are the ids themselves: records written before MCP tasks still match.
    expect(taskKey('a2a', 't1')).toBe('t1');
  });

  it('an MCP claim is the caller’s for MCP calls only, and listed for MCP only', () => {
    const owners = new TaskOwners(memorySql());
    const bob = taskOwner({ apiKeyId: 'key_2', user: 'bob' });
    owners.claim(['t1'], alice, T0, 'mcp');
    owners.claim(['t1'], bob, T0, 'a2a');
    expect(owners.ownsAll(['t1'], alice, T0, 'mcp')).toBe(true);
    expect(owners.ownsAll(['t1'], alice, T0, 'a2a')).toBe(false);
    expect(owners.ownsAll(['t1'], bob, T0, 'mcp')).toBe(false);
    expect(owners.ownsAll(['t1'], bob, T0)).toBe(true);
    expect(owners.owned(alice, T0, 'mcp')).toEqual(['t1']);
    expect(owners.owned(alice, T0, 'a2a')).toEqual([]);
    expect(owners.owned(bob, T0, 'mcp')).toEqual([]);
  });

  it('refuses and ownedBy read the admit request: its caller, its ids, its protocol', () => {
    const owners = new TaskOwners(memorySql());
    owners.claim(['m1'], alice, T0, 'mcp');
    const caller = { apiKeyId: 'key_1', user: 'alice', mcpSessionId: null };
    const other = { apiKeyId: 'key_1', user: 'bob', mcpSessionId: null };
    expect(owners.refuses({ caller, tasks: { protocol: 'mcp', ids: ['m1'] } }, T0)).toBe(false);
    expect(owners.refuses({ caller: other, tasks: { protocol: 'mcp', ids: ['m1'] } }, T0)).toBe(true);
    expect(owners.refuses({ caller, tasks: { ids: ['m1'] } }, T0)).toBe(true); // absent = A2A
    expect(owners.refuses({ caller, tasks: { protocol: 'mcp', list: true } }, T0)).toBe(false);
    expect(owners.refuses({ caller }, T0)).toBe(false);
    expect(owners.ownedBy({ caller, tasks: { protocol: 'mcp', list: true } }, T0)).toEqual(['m1']);
    expect(owners.ownedBy({ caller: other, tasks: { protocol: 'mcp', list: true } }, T0)).toEqual([]);
  });

  it('hosted ids (a client status notification) pass for a client-hosted or MCP task of the caller only', () => {
    const owners = new TaskOwners(memorySql());
    const caller = { apiKeyId: 'key_1', user: 'alice', mcpSessionId: null };
    const other = { ...caller, user: 'bob' };
    const me = taskOwner(caller);
    owners.claim(['c1'], me, T0, 'mcp-client');
    owners.claim(['m1'], me, T0, 'mcp');
    owners.claim(['a1'], me, T0, 'a2a');
    const hosted = (ids: string[]) => ({ protocol: 'mcp' as const, hosted: ids });
    expect(owners.refuses({ caller, tasks: hosted(['c1', 'm1']) }, T0)).toBe(false);
    expect(owners.refuses({ caller: other, tasks: hosted(['c1']) }, T0)).toBe(true);
    expect(owners.refuses({ caller, tasks: hosted(['a1']) }, T0)).toBe(true);
    expect(owners.refuses({ caller, tasks: hosted(['nope']) }, T0)).toBe(true);
    // A client-hosted claim is not an MCP task of its caller: `ids` (tasks/get…) stay refused.
    expect(owners.refuses({ caller, tasks: { protocol: 'mcp', ids: ['c1'] } }, T0)).toBe(true);
    expect(owners.refuses({ caller, tasks: { protocol: 'mcp', ids: ['m1'], hosted: ['c1'] } }, T0)).toBe(
      false,
    );
  });

  it('at the cap a new task is not recorded (refused to all) until expired records are pruned', () => {
    const sql = memorySql();
    const owners = new TaskOwners(sql, 3);
    owners.claim(['a', 'b'], alice, T0, 'mcp');
    owners.claim(['c', 'd'], alice, T0 + TOUCH_MS, 'mcp');
    expect(owners.ownsAll(['c'], alice, T0 + TOUCH_MS, 'mcp')).toBe(true);
    expect(owners.ownsAll(['d'], alice, T0 + TOUCH_MS, 'mcp')).toBe(false);
    owners.claim(['a'], alice, T0 + TOUCH_MS, 'mcp'); // already held: no new record, no harm
    expect(owners.ownsAll(['a'], alice, T0, 'mcp')).toBe(true);
    // Once a and b expire (c is younger), a claim at the cap prunes them and is recorded.
    const later = T0 + OWNER_TTL_MS + 1;
    owners.claim(['e'], alice, later, 'mcp');
    expect(owners.ownsAll(['e'], alice, later, 'mcp')).toBe(true);
    const left = sql.db.prepare('SELECT COUNT(*) AS n FROM task_owners').get() as { n: number };
    expect(left.n).toBe(2);
  });

  it('the cap counts records already on disk (a restarted guard)', () => {
    const sql = memorySql();
    new TaskOwners(sql, 2).claim(['a', 'b'], alice, T0, 'mcp');
    const restarted = new TaskOwners(sql, 2);
    expect(restarted.ownsAll(['a', 'b'], alice, T0, 'mcp')).toBe(true);
    restarted.claim(['c'], alice, T0, 'mcp');
    expect(restarted.ownsAll(['c'], alice, T0, 'mcp')).toBe(false);
  });
});

describe('taskClaims', () => {
  const created = (taskId: string, unit = 0): Finding => ({
    stage: 'mcp_task',
    kind: 'task_created',
    unit,
    detail: { taskId },
  });
  const mcpRow = (method: string, type: AuditEventInsert['type'] = 'tool_call') =>
    ({ id: 'e1', type, action: 'allow', method }) as AuditEventInsert;

  it('a client response’s client-hosted tasks are mcp-client claims, and nothing else is', () => {
    const hosted = (taskId: string): Finding => ({
      stage: 'mcp_task',
      kind: 'client_task_created',
      detail: { taskId },
    });
    expect(taskClaims(mcpRow('response', 'request'), [hosted('c1')])).toEqual({
      protocol: 'mcp-client',
      ids: ['c1'],
    });
    // A response cannot make a server-hosted claim, nor a request a client-hosted one.
    expect(taskClaims(mcpRow('response', 'request'), [created('m1')])).toBeNull();
    expect(taskClaims(mcpRow('tools/call'), [hosted('c1')])).toBeNull();
  });

  it('an MCP request’s created tasks are MCP claims; a tasks/* answer claims nothing', () => {
    expect(taskClaims(mcpRow('tools/call'), [created('m1'), created('m1')])).toEqual({
      protocol: 'mcp',
      ids: ['m1'],
    });
    expect(taskClaims(mcpRow('sampling/x', 'request'), [created('m2')])).toEqual({
      protocol: 'mcp',
      ids: ['m2'],
    });
    expect(taskClaims(mcpRow('tasks/get', 'request'), [created('m1')])).toBeNull();
    expect(taskClaims(mcpRow('tasks/result', 'request'), [created('m1')])).toBeNull();
    expect(
      taskClaims(mcpRow('tools/call'), [{ stage: 'inspection', kind: 'x', detail: { taskId: 'm' } }]),
    ).toBeNull();
    expect(taskClaims(mcpRow('tools/call', 'a2a_call'), [created('m1')])).toBeNull();
    expect(taskClaims(mcpRow('tools/call'), undefined)).toBeNull();
  });

  it('an A2A send’s reported tasks are A2A claims, as claimedTasks reads them', () => {
    const row = { id: 'e1', type: 'a2a_call', action: 'allow', details: { a2aMethod: 'SendMessage' } };
    const state: Finding = {
      stage: 'a2a_task',
      kind: 'task_state',
      detail: { taskId: 't1', state: 'working' },
    };
    expect(taskClaims(row as AuditEventInsert, [state])).toEqual({ protocol: 'a2a', ids: ['t1'] });
  });
});
