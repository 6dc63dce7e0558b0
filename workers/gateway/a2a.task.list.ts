/**
 * ListTasks through the gateway (docs/a2a.md#who-may-address-a-task), and MCP's `tasks/list`
 * (mcp.task.access.ts) with the same filter. Pure response stage.
 *
 * The agent sees one caller — the connection's stored credential — so its ListTasks answer holds
 * the tasks of every caller of the agent, in every organization that registered it. The gateway
 * keeps only the tasks this caller created through this connection (the ids its guard returned
 * with the admit, durable-objects/task.owners.ts). Fail closed: an answer whose task list cannot
 * be read is replaced by an empty list.
 */
import { isRecord } from '../lib/values';
import type { ResponseStage } from './gateway.stages';

/**
 * Which answers a stage filters and how a listed task names itself. A2A (the default): the one
 * answer of its one request, tasks by `id`. MCP (mcp.task.access.ts): the answers to its
 * `tasks/list` requests, tasks by `taskId`, under `{tasks, nextCursor}`.
 */
export interface TaskListShape {
  name: string;
  idField: 'id' | 'taskId';
  /** Whether this message is a task list answer; absent = every answer with a result. */
  answers?(message: Record<string, unknown>): boolean;
}

const A2A_LIST: TaskListShape = { name: 'a2a_task_list', idField: 'id' };

function mineOnly(tasks: unknown[], mine: ReadonlySet<string>, idField: TaskListShape['idField']): unknown[] {
  return tasks.filter((t) => isRecord(t) && typeof t[idField] === 'string' && mine.has(t[idField]));
}

/** Filters a ListTasks answer (v1.0 `{tasks, nextPageToken, totalSize}`, or a bare array) to `owned`. */
export function listedTasksStage(owned: readonly string[], shape: TaskListShape = A2A_LIST): ResponseStage {
  const mine = new Set(owned);
  const keep = (tasks: unknown[]) => mineOnly(tasks, mine, shape.idField);
  return {
    name: shape.name,
    onMessage(message) {
      if (!isRecord(message) || !('result' in message)) return undefined;
      if (shape.answers && !shape.answers(message)) return undefined;
      const result = message.result;
      if (Array.isArray(result)) {
        const tasks = keep(result);
        return tasks.length === result.length ? undefined : { ...message, result: tasks };
      }
      if (!isRecord(result) || !Array.isArray(result.tasks)) return { ...message, result: { tasks: [] } };
      const tasks = keep(result.tasks);
      if (tasks.length === result.tasks.length) return undefined;
      // The agent's total counts other callers' tasks too: the caller learns this page's count only.
      const totalSize = typeof result.totalSize === 'number' ? { totalSize: tasks.length } : {};
      return { ...message, result: { ...result, tasks, ...totalSize } };
    },
  };
}
