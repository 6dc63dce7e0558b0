/**
 * MCP tasks through the gateway (docs/policies.md#mcp-tasks). Pure: which tasks a request
 * addresses or lists, and the two response stages that record a created task and filter a
 * `tasks/list` answer.
 *
 * Why: since 2025-11-25 a task-augmented request (`tools/call` with `params.task`) is answered
 * with a task handle (`result.task.taskId`; SEP-2663's flattened `resultType: "task"`, `taskId`),
 * and the result is fetched later with `tasks/get`, `tasks/result`, `tasks/cancel`,
 * `tasks/update` by that id alone. Every caller of a connection reaches the upstream with the one
 * stored credential, so the upstream cannot tell them apart: whoever learns an id could read or
 * cancel another caller's task, and `tasks/list` lists everyone's. The gateway therefore keeps
 * who created each task (the connection's guard, durable-objects/task.owners.ts — the record A2A
 * tasks use, keyed by protocol) and admits a task-addressed request only for its creator, in the
 * same admit round trip as every other check; everyone else gets the answer an unknown id gets.
 *
 * Fail closed: every place a task id may be read from is read — `params.taskId` of the task
 * methods and, on any request or notification, the related-task metadata
 * (`_meta["io.modelcontextprotocol/related-task"].taskId`: the SDK's server then queues its answer
 * into that task) — and one that is missing, not a string, or longer than MAX_TASK_ID stands for
 * no task (refused). A body naming more than MAX_ADDRESSED ids is refused whole.
 */
import type { AdmitRequest } from '../../durable-objects/guard.contract';
import { mayHaveKey } from '../lib/json.keys';
import { isRecord } from '../lib/values';
import { MAX_ADDRESSED, MAX_TASK_ID, NO_TASK } from './a2a.task.access';
import { listedTasksStage } from './a2a.task.list';
import type { JsonRpcMessage } from './gateway.jsonrpc';
import type { ResponseStage, StageCall } from './gateway.stages';

/** Methods that name one task in `params.taskId` (client → server; tasks/update from SEP-2663). */
const TASK_METHODS = new Set([
  'tasks/get',
  'tasks/result',
  'tasks/cancel',
  'tasks/update',
  'notifications/tasks/status',
]);

export const RELATED_TASK_META = 'io.modelcontextprotocol/related-task';

function asTaskId(value: unknown): string {
  return typeof value === 'string' && value !== '' && value.length <= MAX_TASK_ID ? value : NO_TASK;
}

/** The task ids one message addresses (none for a response or a method that names no task). */
export function messageTasks(message: JsonRpcMessage): string[] {
  if (message.method === undefined) return [];
  const params = isRecord(message.params) ? message.params : {};
  const found: string[] = [];
  if (TASK_METHODS.has(message.method)) found.push(asTaskId(params.taskId));
  const meta = isRecord(params._meta) ? params._meta : {};
  if (Object.hasOwn(meta, RELATED_TASK_META)) {
    const related = meta[RELATED_TASK_META];
    found.push(asTaskId(isRecord(related) ? related.taskId : undefined));
  }
  return found;
}

/**
 * What the guard checks for an MCP body (AdmitRequest.tasks): the task ids its messages address
 * (every one must be the caller's; a status notification's in `hosted`) and whether it lists tasks. A GET stream (no body) asks for
 * the caller's tasks too: a resumed stream may replay a `tasks/list` answer, filtered by shape.
 */
export function mcpTaskAccess(units: readonly JsonRpcMessage[] | null): AdmitRequest['tasks'] {
  if (units === null) return { protocol: 'mcp', list: true };
  const ids = new Set<string>();
  const hosted = new Set<string>();
  let list = false;
  for (const unit of units) {
    const found = messageTasks(unit);
    // A client's status notification is about a task it hosts (or, as before, one of its own
    // upstream): checked in both record spaces (mcp.client-tasks.ts). Its related-task _meta is not.
    if (unit.method === 'notifications/tasks/status') hosted.add(found.shift()!);
    for (const id of found) ids.add(id);
    if (unit.method === 'tasks/list' && unit.id !== undefined && unit.id !== null) list = true;
  }
  if (ids.size === 0 && hosted.size === 0 && !list) return undefined;
  // Over the bound, the body names no task that can be owned: refused whole.
  const tooMany = ids.size + hosted.size > MAX_ADDRESSED;
  return {
    protocol: 'mcp',
    ...(tooMany ? { ids: [NO_TASK] } : ids.size > 0 ? { ids: [...ids] } : {}),
    ...(!tooMany && hosted.size > 0 ? { hosted: [...hosted] } : {}),
    ...(list ? { list } : {}),
  };
}

/** The id of the task an answer created (2025-11-25 `result.task.taskId`, SEP-2663 flattened). */
export function createdTask(result: unknown): string | null {
  if (!isRecord(result)) return null;
  const id = isRecord(result.task)
    ? result.task.taskId
    : result.resultType === 'task'
      ? result.taskId
      : undefined;
  return typeof id === 'string' && id !== '' && id.length <= MAX_TASK_ID ? id : null;
}

/** The tasks extension's identifier (SEP-2663), as a request declares it in its per-request `_meta`. */
const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';

/**
 * True when a request may be answered with a task: it is task-augmented (2025-11-25
 * `params.task`) or declares the tasks extension in its `_meta` (SEP-2663: then the server
 * decides). Only such a body's answer is read for a created task: any other answer stays
 * untouched (no response stage reads it, so it is streamed as it comes). A server that makes a
 * task of a request that asked for none leaves it unrecorded: refused to everyone (fail closed).
 */
export function mayCreateTask(unit: JsonRpcMessage): boolean {
  if (
    unit.method === undefined ||
    unit.method.startsWith('tasks/') ||
    unit.id === undefined ||
    unit.id === null
  )
    return false;
  const params = isRecord(unit.params) ? unit.params : {};
  if (params.task !== undefined) return true;
  return isRecord(params._meta) && JSON.stringify(params._meta).includes(TASKS_EXTENSION);
}

/**
 * Response stage: a task created by the answer to one of the body's requests that may create one
 * (mayCreateTask) becomes a finding on that request's row (`mcp_task` / `task_created`), which the
 * guard turns into the caller's claim when the outcome reaches it. Changes nothing. A task id
 * longer than MAX_TASK_ID is not claimed, so no one may address it (fail closed).
 */
export function taskClaimStage(call: StageCall, units: readonly JsonRpcMessage[]): ResponseStage | null {
  if (!units.some(mayCreateTask)) return null;
  // One task per request: a request creates one task, and an upstream that answers one request
  // again and again (SSE events) cannot fill the connection's records with claims.
  const claimed = new Set<number>();
  return {
    name: 'mcp_task',
    wants: (raw) => mayHaveKey(raw, 'taskId'),
    onMessage(message) {
      if (!isRecord(message) || !('result' in message) || message.id === undefined) return undefined;
      const unit = units.findIndex((u) => u.method !== undefined && u.id === message.id);
      const taskId = createdTask(message.result);
      if (unit < 0 || claimed.has(unit) || !mayCreateTask(units[unit]!) || !taskId) return undefined;
      claimed.add(unit);
      call.findings.push({
        stage: 'mcp_task',
        kind: 'task_created',
        severity: 'info',
        unit,
        detail: { taskId },
      });
      return undefined;
    },
  };
}

/**
 * Response stage: a `tasks/list` answer keeps only the caller's own tasks (the ids the guard
 * returned with the admit). On a POST only the answers to its `tasks/list` requests (by id); on a
 * GET stream, whose requests the gateway does not know, any answer shaped like one.
 */
export function taskListStage(
  call: StageCall,
  units: readonly JsonRpcMessage[] | null,
): ResponseStage | null {
  const ids: unknown[] | undefined = units
    ?.filter((u) => u.method === 'tasks/list' && u.id !== undefined && u.id !== null)
    .map((u) => u.id);
  if (ids?.length === 0) return null;
  const stage = listedTasksStage(call.ownedTasks ?? [], {
    name: 'mcp_task_list',
    idField: 'taskId',
    answers: ids
      ? (message) => ids.includes(message.id)
      : (message) => isRecord(message.result) && Array.isArray(message.result.tasks),
  });
  // An SSE event that cannot hold a task list is not parsed for this stage.
  return { ...stage, wants: (raw) => mayHaveKey(raw, 'tasks') };
}
