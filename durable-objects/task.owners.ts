/**
 * Who created each task of one connection — A2A tasks (docs/a2a.md#who-may-address-a-task) and
 * MCP tasks (docs/policies.md#mcp-tasks): the record the connection's guard checks a
 * task-addressed call against (A2A GetTask, CancelTask, SubscribeToTask, the push-config methods,
 * a follow-up message; MCP tasks/get, tasks/result, tasks/cancel, tasks/update…), inside its one
 * admit.
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
 * first claim wins: a later send whose answer names the same id claims nothing. An MCP task is
 * claimed the same way from the answer to the request that created it (`mcp_task` /
 * `task_created` findings, workers/gateway/mcp.task.access.ts); claims are keyed by protocol
 * (taskKey), so an MCP and an A2A task with the same id are two records.
 * The caller is its API key (none for an OAuth token) and its user (X-Igris-User; for an OAuth
 * token, the consenting member's email): exactly the fields every audit row and admit carries.
 *
 * A task this guard never recorded — another caller's, another connection's or organization's,
 * an unknown id, or one created before ownership was recorded — is refused: fail closed, one
 * answer for all of them. Kept OWNER_TTL_MS after its last use; pruned through an index on time.
 * The records are the object's SQLite storage: they survive eviction and restarts of the guard.
 *
 * Bounded: at most MAX_OWNED_TASKS records per connection. A claim beyond that (after pruning
 * what has expired) is not recorded and is logged: its task is then refused to everyone, its
 * creator included — fail closed, never an unrecorded task anyone may address.
 *
 * The table, its TTL (OWNER_TTL_MS, refreshed at most every TOUCH_MS: a polling GetTask writes
 * nothing), pruning and cap are owner.store.ts, shared with context owners (policy `refuse`).
 */
import type { AuditEventInsert } from '../workers/db/schema';
import type { AdmitRequest, Finding, TaskProtocol } from './guard.contract';
import { OwnerStore } from './owner.store';
import type { SqlLike } from './sql.types';

export { OWNER_TTL_MS, TOUCH_MS } from './owner.store';

/** Task ids a ListTasks answer is filtered to: the caller's most recently used. */
export const MAX_LISTED = 1_000;

/** Task records one connection keeps; a claim beyond them is dropped (see the file comment). */
export const MAX_OWNED_TASKS = 100_000;

const SEND_METHODS = new Set(['SendMessage', 'SendStreamingMessage']);

/** Starts every key that is not a plain A2A id (printable: SQLite text is cut at a NUL by some bindings). */
const MARK = '~';

/**
 * The record key of a task: A2A ids as they are (the records written before MCP tasks keep
 * working), other protocols' ids behind `~<protocol>:`. An A2A id that itself starts with `~` is
 * put behind `~a2a:`, so no two (protocol, id) pairs share a key.
 */
export function taskKey(protocol: TaskProtocol, id: string): string {
  if (protocol === 'a2a' && !id.startsWith(MARK)) return id;
  return `${MARK}${protocol}:${id}`;
}

/** The task id of a key of `protocol`, or null when the key is another protocol's. */
function idOfKey(protocol: TaskProtocol, key: string): string | null {
  const prefix = `${MARK}${protocol}:`;
  if (key.startsWith(prefix)) return key.slice(prefix.length);
  return protocol === 'a2a' && !key.startsWith(MARK) ? key : null;
}

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

/** The tasks a completed row's findings claim for its caller, by protocol; null for none. */
export function taskClaims(
  row: AuditEventInsert,
  findings: readonly Finding[] | undefined,
): { protocol: TaskProtocol; ids: string[] } | null {
  const a2a = claimedTasks(row, findings);
  if (a2a.length > 0) return { protocol: 'a2a', ids: a2a };
  // MCP: the answer to a request of the caller (never a tasks/* one) that created a task; or the
  // caller's response to a server request that made a task the client hosts (mcp.client-tasks.ts).
  if ((row.type !== 'tool_call' && row.type !== 'request') || !findings?.length) return null;
  if (typeof row.method !== 'string' || row.method.startsWith('tasks/')) return null;
  const hosted = row.method === 'response';
  const kind = hosted ? 'client_task_created' : 'task_created';
  const ids = new Set<string>();
  for (const f of findings) {
    const taskId = f.stage === 'mcp_task' && f.kind === kind ? f.detail?.taskId : undefined;
    if (typeof taskId === 'string' && taskId !== '') ids.add(taskId);
  }
  return ids.size > 0 ? { protocol: hosted ? 'mcp-client' : 'mcp', ids: [...ids] } : null;
}

export class TaskOwners {
  readonly #store: OwnerStore;

  /** `cap`: MAX_OWNED_TASKS, smaller only in unit tests. */
  constructor(sql: SqlLike, cap = MAX_OWNED_TASKS) {
    this.#store = new OwnerStore(sql, {
      table: 'task_owners',
      key: 'task_id',
      cap,
      atCap: 'refuse',
      byOwner: true,
      noun: 'task',
    });
  }

  /**
   * Records the tasks as created by `owner`; a task already recorded keeps its owner. At
   * MAX_OWNED_TASKS (after pruning the expired), a new task is not recorded: refused to all.
   */
  claim(taskIds: readonly string[], owner: string, now: number, protocol: TaskProtocol = 'a2a'): void {
    this.#store.claim(
      taskIds.map((id) => taskKey(protocol, id)),
      owner,
      now,
    );
  }

  /** True when every id (at least one) is a task `owner` created; refreshes their last use. */
  ownsAll(taskIds: readonly string[], owner: string, now: number, protocol: TaskProtocol = 'a2a'): boolean {
    if (taskIds.length === 0) return false;
    const keys = taskIds.map((id) => taskKey(protocol, id));
    const rows = this.#store.rows(keys);
    if (!rows.every((row) => this.#store.live(row, now) && row.owner === owner)) return false;
    this.#store.touch(keys, rows, now);
    return true;
  }

  /**
   * True when the request names tasks (`tasks.ids`) not all created here by its caller. Only
   * task calls encode their caller as an owner: no other admit pays for it.
   */
  refuses(request: Pick<AdmitRequest, 'tasks' | 'caller'>, now: number): boolean {
    const ids = request.tasks?.ids;
    const hosted = request.tasks?.hosted;
    if (ids === undefined && hosted === undefined) return false;
    const owner = taskOwner(request.caller);
    if (ids !== undefined && !this.ownsAll(ids, owner, now, request.tasks?.protocol)) return true;
    // A client's status notification: about a task it hosts, or (as before) one it created upstream.
    const mine = (id: string) =>
      this.ownsAll([id], owner, now, 'mcp-client') || this.ownsAll([id], owner, now, 'mcp');
    return hosted !== undefined && !hosted.every(mine);
  }

  /** The request's caller's tasks of the request's protocol (`tasks.list`). */
  ownedBy(request: Pick<AdmitRequest, 'tasks' | 'caller'>, now: number): string[] {
    return this.owned(taskOwner(request.caller), now, request.tasks?.protocol);
  }

  /** The caller's tasks, most recently used first (a ListTasks answer is filtered to them). */
  owned(owner: string, now: number, protocol: TaskProtocol = 'a2a'): string[] {
    return this.#store
      .keysOf(owner, now, MAX_LISTED)
      .map((key) => idOfKey(protocol, key))
      .filter((id) => id !== null);
  }

  /** Deletes expired records, oldest first, through the index on time (reads only what it deletes). */
  prune(now: number): void {
    this.#store.prune(now);
  }
}
