/**
 * Who created each A2A task of one connection (docs/a2a.md#who-may-address-a-task): the record
 * the connection's guard checks a task-addressed call against (GetTask, CancelTask,
 * SubscribeToTask, the push-config methods, a follow-up message), inside its one admit.
 *
 * Why the guard, and not D1 or the task tracking tables: every admitted call reaches its guard
 * once anyway, so the check costs no round trip (a D1 lookup would be one more, to the primary,
 * on every task-addressed call), and claims arrive with the outcomes the guard applies — from this
 * isolate *before* the next admit is decided, so a caller's GetTask right after its SendMessage
 * finds its task. The tracking tables are written after the answer under waitUntil and never
 * read per call; they stay the management API's view.
 *
 * Claims: a task id an agent reports in its answer to a send (`SendMessage`,
 * `SendStreamingMessage`) becomes the caller's when that call's outcome — its `a2a_task`
 * findings (gateway/a2a.stages.ts taskStage), JSON or each SSE event — reaches the guard. The
 * first claim wins: a later send whose answer names the same id claims nothing.
 * The caller is its API key (none for an OAuth token) and its user (X-Igris-User; for an OAuth
 * token, the consenting member's email): exactly the fields every audit row and admit carries.
 *
 * A task this guard never recorded — another caller's, another connection's or organization's,
 * an unknown id, or one created before ownership was recorded — is refused: fail closed, one
 * answer for all of them. Kept OWNER_TTL_MS after its last use; pruned through an index on time.
 */
import type { AuditEventInsert } from '../workers/db/schema';
import type { Finding } from './guard.contract';
import type { SqlLike } from './sql.types';

/** How long a task stays addressable after its last use through the gateway. */
export const OWNER_TTL_MS = 30 * 24 * 3_600_000;
/** A task's last use is rewritten at most this often (a polling GetTask writes nothing). */
export const TOUCH_MS = 3_600_000;
/** Rows deleted per prune (each alarm), oldest first. */
const PRUNE_BATCH = 500;
/** Task ids a ListTasks answer is filtered to: the caller's most recently used. */
export const MAX_LISTED = 1_000;

const SEND_METHODS = new Set(['SendMessage', 'SendStreamingMessage']);

export interface TaskCaller {
  apiKeyId?: string | null;
  user?: string | null;
}

/** The caller as ownership compares it (an unambiguous encoding of key and user). */
export function taskOwner(caller: TaskCaller): string {
  return JSON.stringify([caller.apiKeyId ?? null, caller.user ?? null]);
}

/** The task ids a send's findings report (its caller claims them); none for any other row. */
export function claimedTasks(row: AuditEventInsert, findings: readonly Finding[] | undefined): string[] {
  if (row.type !== 'a2a_call' || !findings?.length) return [];
  const details = row.details as Record<string, unknown> | null | undefined;
  if (!SEND_METHODS.has(String(details?.a2aMethod))) return [];
  const ids = new Set<string>();
  for (const f of findings) {
    const taskId = f.stage === 'a2a_task' && f.kind === 'task_state' ? f.detail?.taskId : undefined;
    if (typeof taskId === 'string' && taskId !== '') ids.add(taskId);
  }
  return [...ids];
}

export class TaskOwners {
  readonly #sql: SqlLike;

  constructor(sql: SqlLike) {
    this.#sql = sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS task_owners (
      task_id TEXT PRIMARY KEY,
      owner TEXT NOT NULL,
      used_at INTEGER NOT NULL
    )`);
    sql.exec('CREATE INDEX IF NOT EXISTS task_owners_used ON task_owners (used_at)');
    sql.exec('CREATE INDEX IF NOT EXISTS task_owners_owner ON task_owners (owner, used_at)');
  }

  /** Records the tasks as created by `owner`; a task already recorded keeps its owner. */
  claim(taskIds: readonly string[], owner: string, now: number): void {
    for (const id of taskIds) {
      this.#sql.exec(
        'INSERT INTO task_owners (task_id, owner, used_at) VALUES (?, ?, ?) ON CONFLICT (task_id) DO NOTHING',
        id,
        owner,
        now,
      );
    }
  }

  /** True when every id (at least one) is a task `owner` created; refreshes their last use. */
  ownsAll(taskIds: readonly string[], owner: string, now: number): boolean {
    if (taskIds.length === 0) return false;
    const rows = taskIds.map(
      (id) =>
        this.#sql
          .exec<{ owner: string; used_at: number }>(
            'SELECT owner, used_at FROM task_owners WHERE task_id = ?',
            id,
          )
          .toArray()[0],
    );
    if (!rows.every((row) => row?.owner === owner && now - row.used_at < OWNER_TTL_MS)) return false;
    taskIds.forEach((id, i) => {
      if (now - rows[i]!.used_at >= TOUCH_MS)
        this.#sql.exec('UPDATE task_owners SET used_at = ? WHERE task_id = ?', now, id);
    });
    return true;
  }

  /** The caller's tasks, most recently used first (a ListTasks answer is filtered to them). */
  owned(owner: string, now: number): string[] {
    return this.#sql
      .exec<{ task_id: string }>(
        'SELECT task_id FROM task_owners WHERE owner = ? AND used_at > ? ORDER BY used_at DESC LIMIT ?',
        owner,
        now - OWNER_TTL_MS,
        MAX_LISTED,
      )
      .toArray()
      .map((row) => row.task_id);
  }

  /** Deletes expired records, oldest first, through the index on time (reads only what it deletes). */
  prune(now: number): void {
    this.#sql.exec(
      `DELETE FROM task_owners WHERE task_id IN
         (SELECT task_id FROM task_owners WHERE used_at <= ? ORDER BY used_at LIMIT ?)`,
      now - OWNER_TTL_MS,
      PRUNE_BATCH,
    );
  }
}
