/**
 * Which A2A tasks a request addresses (docs/a2a.md#who-may-address-a-task). Pure.
 *
 * The gateway forwards every caller of a connection to the agent with the one stored credential,
 * so the agent cannot tell callers apart: any task id it is sent, it answers for. The gateway
 * therefore admits a task-addressed request only when every task id it names was created through
 * this connection by this caller (checked by the connection's guard in the admit round trip,
 * durable-objects/task.owners.ts). This module says which ids those are.
 *
 * Fail closed: every place an agent may read a task id from is read (not only the first one
 * found, which is what the audit row shows — a request naming its own task in `taskId` and
 * another caller's in `id` must not pass), in both spellings protobuf JSON parsers accept (the
 * JSON name `taskId` and the proto field name `task_id`: the official SDK reads either), and a
 * task-addressed method whose task id is missing, not a string, or longer than the ids the
 * gateway records is given an id that matches no task.
 */
import { isRecord } from '../lib/values';

/** Longest task id recorded (a2a.stages.ts `taskReport` caps reported ids at this length). */
export const MAX_TASK_ID = 200;
/** Task ids one request may name (a follow-up's `referenceTaskIds`); more is refused. */
export const MAX_ADDRESSED = 50;
/** Stands for a task id that cannot be owned (missing, not a string, too long): always refused. */
export const NO_TASK = '';

/** Methods that address one existing task (by their A2A v1.0 names). */
const TASK_METHODS = new Set([
  'GetTask',
  'CancelTask',
  'SubscribeToTask',
  'CreateTaskPushNotificationConfig',
  'GetTaskPushNotificationConfig',
  'ListTaskPushNotificationConfigs',
  'DeleteTaskPushNotificationConfig',
]);

/** v1.0 push-config methods name the *config* in `id`; their v0.3 spellings name the task there. */
const V1_CONFIG_ID = new Set([
  'CreateTaskPushNotificationConfig',
  'GetTaskPushNotificationConfig',
  'ListTaskPushNotificationConfigs',
  'DeleteTaskPushNotificationConfig',
]);

/** `tasks/<id>` and `tasks/<id>/pushNotificationConfigs/<config>` (v1.0 resource names). */
function resourceTask(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const match = /^tasks\/([^/]*)/.exec(value);
  return match ? match[1] : NO_TASK;
}

function asTaskId(value: unknown): string {
  return typeof value === 'string' && value !== '' && value.length <= MAX_TASK_ID ? value : NO_TASK;
}

/**
 * The task ids a request addresses, or null when it addresses none (a send that starts a new
 * task, ListTasks, a method the gateway does not forward). `method` as sent, `canonical` its
 * v1.0 name (a2a.stages.ts a2aMethod).
 */
export function addressedTasks(method: string, canonical: string | null, params: unknown): string[] | null {
  if (canonical === null) return null;
  const p = isRecord(params) ? params : {};
  const message = isRecord(p.message) ? p.message : {};
  const found: unknown[] = [];
  const take = (value: unknown) => {
    if (value !== undefined && value !== null) found.push(value);
  };
  if (canonical === 'SendMessage' || canonical === 'SendStreamingMessage') {
    // A follow-up message continues a task, or points the agent at earlier ones.
    take(message.taskId);
    take(message.task_id);
    take(p.taskId);
    take(p.task_id);
    for (const refs of [message.referenceTaskIds, message.reference_task_ids]) {
      if (Array.isArray(refs)) refs.forEach(take);
      else take(refs);
    }
    if (found.length === 0) return null;
  } else if (TASK_METHODS.has(canonical)) {
    take(p.taskId);
    take(p.task_id);
    if (!(method === canonical && V1_CONFIG_ID.has(canonical))) take(p.id);
    if (p.name !== undefined) take(resourceTask(p.name));
    if (p.parent !== undefined) take(resourceTask(p.parent));
    take(message.taskId);
    take(message.task_id);
    if (found.length === 0) return [NO_TASK];
  } else {
    return null;
  }
  if (found.length > MAX_ADDRESSED) return [NO_TASK];
  return [...new Set(found.map(asTaskId))];
}
