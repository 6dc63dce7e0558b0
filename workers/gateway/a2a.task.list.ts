/**
 * ListTasks through the gateway (docs/a2a.md#who-may-address-a-task). Pure response stage.
 *
 * The agent sees one caller — the connection's stored credential — so its ListTasks answer holds
 * the tasks of every caller of the agent, in every organization that registered it. The gateway
 * keeps only the tasks this caller created through this connection (the ids its guard returned
 * with the admit, durable-objects/task.owners.ts). Fail closed: an answer whose task list cannot
 * be read is replaced by an empty list.
 */
import { isRecord } from '../lib/values';
import type { ResponseStage } from './gateway.stages';

function mineOnly(tasks: unknown[], mine: ReadonlySet<string>): unknown[] {
  return tasks.filter((t) => isRecord(t) && typeof t.id === 'string' && mine.has(t.id));
}

/** Filters a ListTasks answer (v1.0 `{tasks, nextPageToken, totalSize}`, or a bare array) to `owned`. */
export function listedTasksStage(owned: readonly string[]): ResponseStage {
  const mine = new Set(owned);
  return {
    name: 'a2a_task_list',
    onMessage(message) {
      if (!isRecord(message) || !('result' in message)) return undefined;
      const result = message.result;
      if (Array.isArray(result)) {
        const tasks = mineOnly(result, mine);
        return tasks.length === result.length ? undefined : { ...message, result: tasks };
      }
      if (!isRecord(result) || !Array.isArray(result.tasks)) return { ...message, result: { tasks: [] } };
      const tasks = mineOnly(result.tasks, mine);
      if (tasks.length === result.tasks.length) return undefined;
      // The agent's total counts other callers' tasks too: the caller learns this page's count only.
      const totalSize = typeof result.totalSize === 'number' ? { totalSize: tasks.length } : {};
      return { ...message, result: { ...result, tasks, ...totalSize } };
    },
  };
}
