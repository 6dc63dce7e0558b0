import { describe, expect, it } from 'vitest';
import { addressedTasks, MAX_ADDRESSED, NO_TASK } from './a2a.task.access.ts';
import { listedTasksStage } from './a2a.task.list.ts';

describe('addressedTasks: every task id an agent may read from the request', () => {
  it('a send that starts a task addresses none; a follow-up its task and the tasks it references', () => {
    expect(addressedTasks('SendMessage', 'SendMessage', { message: { parts: [] } })).toBeNull();
    expect(
      addressedTasks('message/send', 'SendMessage', {
        message: { taskId: 't1', referenceTaskIds: ['t2', 't1'] },
      }),
    ).toEqual(['t1', 't2']);
    expect(
      addressedTasks('SendStreamingMessage', 'SendStreamingMessage', { message: { referenceTaskIds: [] } }),
    ).toBeNull();
  });

  it('task methods: id, taskId, resource names — all of them, not the first found', () => {
    expect(addressedTasks('GetTask', 'GetTask', { id: 'mine', taskId: 'theirs' })).toEqual([
      'theirs',
      'mine',
    ]);
    expect(addressedTasks('tasks/cancel', 'CancelTask', { id: 't1' })).toEqual(['t1']);
    expect(addressedTasks('GetTask', 'GetTask', { name: 'tasks/t1' })).toEqual(['t1']);
    expect(
      addressedTasks('GetTaskPushNotificationConfig', 'GetTaskPushNotificationConfig', {
        name: 'tasks/t1/pushNotificationConfigs/c1',
      }),
    ).toEqual(['t1']);
  });

  it('v1.0 push-config methods name the config in `id`; their v0.3 spellings name the task there', () => {
    const v1 = 'GetTaskPushNotificationConfig';
    expect(addressedTasks(v1, v1, { taskId: 't1', id: 'cfg' })).toEqual(['t1']);
    expect(addressedTasks('tasks/pushNotificationConfig/get', v1, { id: 't1' })).toEqual(['t1']);
  });

  it('fails closed: a task method with no id, a non-string or overlong id, too many ids', () => {
    expect(addressedTasks('GetTask', 'GetTask', {})).toEqual([NO_TASK]);
    expect(addressedTasks('GetTask', 'GetTask', null)).toEqual([NO_TASK]);
    expect(addressedTasks('GetTask', 'GetTask', { id: 42 })).toEqual([NO_TASK]);
    expect(addressedTasks('GetTask', 'GetTask', { id: 'x'.repeat(201) })).toEqual([NO_TASK]);
    expect(addressedTasks('GetTask', 'GetTask', { name: 'other/t1' })).toEqual([NO_TASK]);
    const many = Array.from({ length: MAX_ADDRESSED + 1 }, (_, i) => `t${i}`);
    expect(addressedTasks('SendMessage', 'SendMessage', { message: { referenceTaskIds: many } })).toEqual([
      NO_TASK,
    ]);
  });

  it('ListTasks and methods the gateway does not forward address no task', () => {
    expect(addressedTasks('ListTasks', 'ListTasks', { id: 't1' })).toBeNull();
    expect(addressedTasks('GetExtendedAgentCard', null, { id: 't1' })).toBeNull();
  });
});

describe('listedTasksStage: a ListTasks answer filtered to the caller’s tasks', () => {
  const answer = (result: unknown) => ({ jsonrpc: '2.0', id: 1, result });

  it('keeps only owned tasks, and the total of what it keeps', () => {
    const stage = listedTasksStage(['a']);
    const out = stage.onMessage(
      answer({ tasks: [{ id: 'a' }, { id: 'b' }, 'junk'], nextPageToken: 'n', totalSize: 3 }),
    );
    expect(out).toEqual(answer({ tasks: [{ id: 'a' }], nextPageToken: 'n', totalSize: 1 }));
    expect(stage.onMessage(answer([{ id: 'b' }, { id: 'a' }]))).toEqual(answer([{ id: 'a' }]));
  });

  it('leaves an answer of owned tasks and an error unchanged; an unreadable result lists nothing', () => {
    const stage = listedTasksStage(['a']);
    expect(stage.onMessage(answer({ tasks: [{ id: 'a' }] }))).toBeUndefined();
    expect(stage.onMessage({ jsonrpc: '2.0', id: 1, error: { code: -1, message: 'x' } })).toBeUndefined();
    expect(stage.onMessage(answer({ items: [{ id: 'b' }] }))).toEqual(answer({ tasks: [] }));
  });
});

describe('addressedTasks: the proto field names protobuf JSON parsers accept too', () => {
  it('task_id and reference_task_ids of a follow-up, task_id of a task method, all checked', () => {
    expect(addressedTasks('SendMessage', 'SendMessage', { message: { task_id: 't1' } })).toEqual(['t1']);
    expect(
      addressedTasks('message/send', 'SendMessage', {
        message: { reference_task_ids: ['t2'], taskId: 't1' },
      }),
    ).toEqual(['t1', 't2']);
    expect(
      addressedTasks('SendMessage', 'SendMessage', { message: { taskId: 'mine', task_id: 'theirs' } }),
    ).toEqual(['mine', 'theirs']);
    const v1 = 'GetTaskPushNotificationConfig';
    expect(
      addressedTasks(v1, v1, { name: 'tasks/mine/pushNotificationConfigs/c', task_id: 'theirs' }),
    ).toEqual(['theirs', 'mine']);
    expect(addressedTasks(v1, v1, { task_id: 't1', id: 'cfg' })).toEqual(['t1']);
  });
});
