import { describe, expect, it } from 'vitest';
import { MAX_ADDRESSED, MAX_TASK_ID, NO_TASK } from './a2a.task.access.ts';
import type { JsonRpcMessage } from './gateway.jsonrpc.ts';
import type { StageCall } from './gateway.stages.ts';
import {
  createdTask,
  mcpTaskAccess,
  messageTasks,
  RELATED_TASK_META,
  taskClaimStage,
  taskListStage,
} from './mcp.task.access.ts';

const req = (id: number | string | undefined, method: string, params: unknown = {}): JsonRpcMessage =>
  ({ jsonrpc: '2.0', ...(id === undefined ? {} : { id }), method, params }) as JsonRpcMessage;
const related = (taskId: unknown) => ({ _meta: { [RELATED_TASK_META]: { taskId } } });

function stageCall(ownedTasks?: string[]): StageCall {
  return { findings: [], ...(ownedTasks ? { ownedTasks } : {}) } as unknown as StageCall;
}

describe('messageTasks: every task id the upstream may act on', () => {
  it('the task methods name params.taskId; requests and notifications alike', () => {
    for (const method of ['tasks/get', 'tasks/result', 'tasks/cancel', 'tasks/update']) {
      expect(messageTasks(req(1, method, { taskId: 't1' }))).toEqual(['t1']);
    }
    expect(messageTasks(req(undefined, 'notifications/tasks/status', { taskId: 't1' }))).toEqual(['t1']);
  });

  it('a missing, empty, non-string or too long id stands for no task (refused)', () => {
    expect(messageTasks(req(1, 'tasks/get', {}))).toEqual([NO_TASK]);
    expect(messageTasks(req(1, 'tasks/get', { taskId: '' }))).toEqual([NO_TASK]);
    expect(messageTasks(req(1, 'tasks/get', { taskId: 7 }))).toEqual([NO_TASK]);
    expect(messageTasks(req(1, 'tasks/get', null))).toEqual([NO_TASK]);
    expect(messageTasks(req(1, 'tasks/get', { taskId: 'x'.repeat(MAX_TASK_ID + 1) }))).toEqual([NO_TASK]);
    expect(messageTasks(req(1, 'tasks/get', { taskId: 'x'.repeat(MAX_TASK_ID) }))).toEqual([
      'x'.repeat(MAX_TASK_ID),
    ]);
  });

  it('related-task metadata names a task on any method; a malformed one is refused', () => {
    expect(messageTasks(req(1, 'ping', related('t2')))).toEqual(['t2']);
    expect(messageTasks(req(1, 'tools/call', { name: 'x', ...related('t2') }))).toEqual(['t2']);
    expect(messageTasks(req(1, 'tasks/get', { taskId: 't1', ...related('t2') }))).toEqual(['t1', 't2']);
    expect(messageTasks(req(1, 'ping', related(5)))).toEqual([NO_TASK]);
    expect(messageTasks(req(1, 'ping', { _meta: { [RELATED_TASK_META]: 'x' } }))).toEqual([NO_TASK]);
  });

  it('other methods and responses name none; tasks/list names none', () => {
    expect(messageTasks(req(1, 'tools/call', { name: 'x', task: { ttl: 1 } }))).toEqual([]);
    expect(messageTasks(req(1, 'tasks/list', { taskId: 'x' }))).toEqual([]);
    expect(messageTasks({ jsonrpc: '2.0', id: 1, result: related('t1') } as JsonRpcMessage)).toEqual([]);
  });
});

describe('mcpTaskAccess: what the guard checks for a body', () => {
  it('a body addressing no task and listing none asks nothing', () => {
    expect(mcpTaskAccess([req(1, 'tools/call', { name: 'x' })])).toBeUndefined();
    // A tasks/list notification gets no answer to filter.
    expect(mcpTaskAccess([req(undefined, 'tasks/list')])).toBeUndefined();
  });

  it('every item of a batch, each id once; a listing; a GET stream lists', () => {
    expect(
      mcpTaskAccess([
        req(1, 'tasks/get', { taskId: 'a' }),
        req(2, 'tasks/cancel', { taskId: 'b' }),
        req(3, 'tasks/result', { taskId: 'a' }),
      ]),
    ).toEqual({ protocol: 'mcp', ids: ['a', 'b'] });
    expect(mcpTaskAccess([req(1, 'tasks/list'), req(2, 'tasks/get', { taskId: 'a' })])).toEqual({
      protocol: 'mcp',
      ids: ['a'],
      list: true,
    });
    expect(mcpTaskAccess(null)).toEqual({ protocol: 'mcp', list: true });
  });

  it('more than MAX_ADDRESSED ids is refused whole', () => {
    const many = Array.from({ length: MAX_ADDRESSED + 1 }, (_, i) =>
      req(i + 1, 'tasks/get', { taskId: `t${i}` }),
    );
    expect(mcpTaskAccess(many)).toEqual({ protocol: 'mcp', ids: [NO_TASK] });
    expect(mcpTaskAccess(many.slice(0, MAX_ADDRESSED))?.ids).toHaveLength(MAX_ADDRESSED);
    const statuses = many.map((m) => ({ ...m, id: undefined, method: 'notifications/tasks/status' }));
    expect(mcpTaskAccess(statuses)).toEqual({ protocol: 'mcp', ids: [NO_TASK] });
  });

  it("a client's status notification names a task it hosts (or its own upstream): `hosted`, not `ids`", () => {
    const related = { _meta: { 'io.modelcontextprotocol/related-task': { taskId: 'r' } } };
    expect(
      mcpTaskAccess([req(undefined, 'notifications/tasks/status', { taskId: 'c1', ...related })]),
    ).toEqual({ protocol: 'mcp', ids: ['r'], hosted: ['c1'] });
    expect(mcpTaskAccess([req(undefined, 'notifications/tasks/status', {})])).toEqual({
      protocol: 'mcp',
      hosted: [NO_TASK],
    });
  });
});

describe('createdTask', () => {
  it('reads 2025-11-25 and SEP-2663 task handles only', () => {
    expect(createdTask({ task: { taskId: 't1', status: 'working' } })).toBe('t1');
    expect(createdTask({ resultType: 'task', taskId: 't2', status: 'working' })).toBe('t2');
    expect(createdTask({ taskId: 't3', status: 'working' })).toBeNull(); // a tasks/get answer
    expect(createdTask({ content: [{ type: 'text', text: '{"task":{"taskId":"x"}}' }] })).toBeNull();
    expect(createdTask({ task: { taskId: 'x'.repeat(MAX_TASK_ID + 1) } })).toBeNull();
    expect(createdTask({ task: { taskId: '' } })).toBeNull();
    expect(createdTask(null)).toBeNull();
  });
});

describe('taskClaimStage', () => {
  it('a created task becomes a finding on its request’s unit; nothing else does, nothing changes', () => {
    const call = stageCall();
    const units = [req(1, 'tasks/get', { taskId: 'a' }), req(2, 'tools/call', { name: 'x', task: {} })];
    const stage = taskClaimStage(call, units)!;
    const created = { jsonrpc: '2.0', id: 2, result: { task: { taskId: 'new', status: 'working' } } };
    expect(stage.onMessage(created)).toBeUndefined();
    expect(stage.onMessage(created)).toBeUndefined();
    // The answer to the tasks/get (shaped like a handle) and an unknown id claim nothing.
    expect(stage.onMessage({ jsonrpc: '2.0', id: 1, result: { task: { taskId: 'other' } } })).toBeUndefined();
    expect(stage.onMessage({ jsonrpc: '2.0', id: 9, result: { task: { taskId: 'other' } } })).toBeUndefined();
    // A server notification carrying a task is not an answer.
    expect(
      stage.onMessage({ jsonrpc: '2.0', method: 'x', params: { task: { taskId: 'other' } } }),
    ).toBeUndefined();
    expect(call.findings).toEqual([
      { stage: 'mcp_task', kind: 'task_created', severity: 'info', unit: 1, detail: { taskId: 'new' } },
    ]);
  });

  it('is built only for a body with a request that may create a task (the others stream untouched)', () => {
    expect(taskClaimStage(stageCall(), [req(1, 'tasks/get', { taskId: 'a' })])).toBeNull();
    expect(taskClaimStage(stageCall(), [req(undefined, 'notifications/initialized')])).toBeNull();
    expect(taskClaimStage(stageCall(), [req(1, 'tools/call', { name: 'x' })])).toBeNull();
    expect(taskClaimStage(stageCall(), [req(undefined, 'tools/call', { name: 'x', task: {} })])).toBeNull();
    const declared = {
      name: 'x',
      _meta: { capabilities: { extensions: { 'io.modelcontextprotocol/tasks': {} } } },
    };
    expect(taskClaimStage(stageCall(), [req(1, 'tools/call', declared)])).not.toBeNull();
  });

  it('one claim per request: an upstream answering it again and again claims nothing more', () => {
    const call = stageCall();
    const stage = taskClaimStage(call, [req(1, 'tools/call', { name: 'x', task: {} })])!;
    for (let i = 0; i < 5; i++)
      stage.onMessage({ jsonrpc: '2.0', id: 1, result: { task: { taskId: `t${i}` } } });
    expect(call.findings.map((f) => f.detail?.taskId)).toEqual(['t0']);
  });

  it('a task in the answer to a request that asked for none is not claimed', () => {
    const call = stageCall();
    const stage = taskClaimStage(call, [
      req(1, 'tools/call', { name: 'x', task: {} }),
      req(2, 'tools/call', {}),
    ])!;
    stage.onMessage({ jsonrpc: '2.0', id: 2, result: { task: { taskId: 'unasked' } } });
    expect(call.findings).toEqual([]);
  });
});

describe('taskListStage', () => {
  const list = (ids: string[], extra: Record<string, unknown> = {}) => ({
    jsonrpc: '2.0',
    id: 1,
    result: { tasks: ids.map((taskId) => ({ taskId, status: 'working' })), nextCursor: 'c', ...extra },
  });

  it('a tasks/list answer keeps the caller’s tasks only; other answers pass', () => {
    const stage = taskListStage(stageCall(['mine']), [req(1, 'tasks/list'), req(2, 'tools/list')])!;
    expect(stage.onMessage(list(['mine', 'theirs']))).toEqual(list(['mine']));
    expect(stage.onMessage(list(['mine']))).toBeUndefined();
    expect(stage.onMessage({ ...list(['theirs']), id: 2 })).toBeUndefined();
    expect(stage.onMessage({ jsonrpc: '2.0', id: 1, error: { code: 1, message: 'x' } })).toBeUndefined();
    // An answer whose list cannot be read lists nothing (fail closed).
    expect(stage.onMessage({ jsonrpc: '2.0', id: 1, result: { tasks: 'x' } })).toEqual({
      jsonrpc: '2.0',
      id: 1,
      result: { tasks: [] },
    });
  });

  it('without owned tasks (a fail-open admit) nothing is listed', () => {
    expect(taskListStage(stageCall(), [req(1, 'tasks/list')])!.onMessage(list(['a']))).toEqual(list([]));
  });

  it('on a GET stream any answer shaped like a task list is filtered', () => {
    const stage = taskListStage(stageCall(['mine']), null)!;
    expect(stage.onMessage({ ...list(['theirs', 'mine']), id: 'x' })).toEqual({ ...list(['mine']), id: 'x' });
    expect(stage.onMessage({ jsonrpc: '2.0', id: 'y', result: { tools: [] } })).toBeUndefined();
  });

  it('is not built for a body without tasks/list', () => {
    expect(taskListStage(stageCall(), [req(1, 'tasks/get', { taskId: 'a' })])).toBeNull();
  });
});
