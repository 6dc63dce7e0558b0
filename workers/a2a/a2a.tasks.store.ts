/**
 * A2A task tracking, the storage half (docs/a2a.md#tasks, docs/storage-schema.md): what one call
 * saw of its tasks (a2a.tasks.ts) written in one D1 batch once the answer has ended (waitUntil),
 * and the reads of the management API.
 *
 * Once per change: a state event is inserted only when the task's stored state differs (the
 * INSERT … WHERE NOT EXISTS in the same batch as the upsert that moves it), and an `a2a_task`
 * live event is published only for the state events that were inserted — so a caller polling
 * GetTask on a finished task writes no new event and publishes nothing. Messages and artifacts
 * have ids derived from the agent's own (message id, artifact id): one row however often reported.
 */
import { eventHubFor } from '../../durable-objects/do.client';
import type { A2A_TASK_EVENT_KINDS } from '../db/schema';
import { randomId } from '../lib/ids';
import { log } from '../lib/log';
import { iso, parseStoredJson } from '../lib/values';
import type { A2aTaskEvent } from '../shared/events.types';
import type { TaskReport } from './a2a.tasks';

type StoreEnv = Pick<Env, 'DB' | 'EVENT_HUB'>;

function itemId(report: TaskReport, item: TaskReport['items'][number]): string {
  const own = item.kind === 'artifact' ? item.detail.artifactId : item.detail.messageId;
  return own ? `${report.connectionId}:${item.taskId}:${item.kind}:${own}` : randomId('a2e');
}

/** The deferred work of one call's report (gateway.stages.ts DeferredWork). */
export function writeTaskReport(report: TaskReport) {
  return async (env: object): Promise<void> => {
    try {
      await storeReport(env as StoreEnv, report);
    } catch (err) {
      // Tracking is a record beside the audit trail (whose row has the states as findings): a
      // failed write is logged, never retried into the answer.
      log('error', 'a2a task tracking write failed', { err, connectionId: report.connectionId });
    }
  };
}

/**
 * Only a send creates a task row (with its caller: key and user). Any other method's answer only
 * updates a task this organization's connection already holds — so what an answer reports can
 * never list a task here that was not created through this connection (the guard refuses
 * task-addressed calls for tasks the caller did not create: this is the second line).
 */
const KNOWN_TASK = 'EXISTS (SELECT 1 FROM a2a_tasks WHERE org_id = ? AND connection_id = ? AND task_id = ?)';

function createsTasks(report: TaskReport): boolean {
  return report.method === 'SendMessage' || report.method === 'SendStreamingMessage';
}

/** The task's row: created or moved by a send, only moved by anything else. */
function taskUpsert(db: D1Database, report: TaskReport, s: TaskReport['states'][number]) {
  if (!createsTasks(report)) {
    return db
      .prepare(
        `UPDATE a2a_tasks SET state = ?, context_id = COALESCE(context_id, ?), last_trace_id = ?, updated_at = ?
         WHERE org_id = ? AND connection_id = ? AND task_id = ?`,
      )
      .bind(s.state, s.contextId, report.traceId, s.at, report.orgId, report.connectionId, s.taskId);
  }
  return db
    .prepare(
      `INSERT INTO a2a_tasks (org_id, connection_id, task_id, context_id, state, skill, api_key_id, user,
         first_trace_id, last_trace_id, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (connection_id, task_id) DO UPDATE SET state = excluded.state,
         context_id = COALESCE(a2a_tasks.context_id, excluded.context_id),
         skill = COALESCE(a2a_tasks.skill, excluded.skill),
         last_trace_id = excluded.last_trace_id, updated_at = excluded.updated_at
       WHERE a2a_tasks.org_id = excluded.org_id`,
    )
    .bind(
      report.orgId,
      report.connectionId,
      s.taskId,
      s.contextId,
      s.state,
      report.skill,
      report.apiKeyId,
      report.user,
      report.traceId,
      report.traceId,
      s.at,
      s.at,
    );
}

async function storeReport(env: StoreEnv, report: TaskReport): Promise<void> {
  const db = env.DB;
  const statements: D1PreparedStatement[] = [];
  // Events of a call that is not a send are kept only for a task this connection already holds.
  const known = createsTasks(report) ? '' : ` AND ${KNOWN_TASK}`;
  const knownBinds = (taskId: string) =>
    createsTasks(report) ? [] : [report.orgId, report.connectionId, taskId];
  /** Index in `statements` of each state's conditional event insert. */
  const stateAt: number[] = [];
  for (const s of report.states) {
    stateAt.push(statements.length);
    statements.push(
      db
        .prepare(
          `INSERT INTO a2a_task_events (id, org_id, connection_id, task_id, kind, state, trace_id, method, detail, created_at)
           SELECT ?, ?, ?, ?, 'state', ?, ?, ?, NULL, ?
           WHERE NOT EXISTS (SELECT 1 FROM a2a_tasks WHERE connection_id = ? AND task_id = ? AND state = ?)${known}`,
        )
        .bind(
          randomId('a2e'),
          report.orgId,
          report.connectionId,
          s.taskId,
          s.state,
          report.traceId,
          report.method,
          s.at,
          report.connectionId,
          s.taskId,
          s.state,
          ...knownBinds(s.taskId),
        ),
    );
    statements.push(taskUpsert(db, report, s));
  }
  for (const item of report.items) {
    statements.push(
      db
        .prepare(
          `INSERT OR IGNORE INTO a2a_task_events (id, org_id, connection_id, task_id, kind, state, trace_id, method, detail, created_at)
           SELECT ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?${known ? ` WHERE ${KNOWN_TASK}` : ''}`,
        )
        .bind(
          itemId(report, item),
          report.orgId,
          report.connectionId,
          item.taskId,
          item.kind,
          report.traceId,
          report.method,
          JSON.stringify(item.detail),
          item.at,
          ...knownBinds(item.taskId),
        ),
    );
  }
  if (statements.length === 0) return;
  const results = await db.batch(statements);
  const changed = report.states.filter((_, i) => (results[stateAt[i]!]?.meta.changes ?? 0) > 0);
  if (changed.length === 0) return;
  const events: A2aTaskEvent[] = changed.map((s) => ({
    type: 'a2a_task',
    serverId: report.connectionId,
    slug: report.slug,
    taskId: s.taskId,
    contextId: s.contextId,
    state: s.state,
    skill: report.skill,
    method: report.method,
    user: report.user,
    traceId: report.traceId,
    timestamp: new Date(s.at).toISOString(),
  }));
  try {
    await eventHubFor(env, report.orgId).publish(events);
  } catch (err) {
    log('warn', 'event publish failed', { err, type: 'a2a_task' });
  }
}

export interface TaskSummary {
  taskId: string;
  contextId: string | null;
  state: string;
  skill: string | null;
  user: string | null;
  firstTraceId: string | null;
  lastTraceId: string | null;
  createdAt: string;
  updatedAt: string;
}

interface TaskDbRow {
  task_id: string;
  context_id: string | null;
  state: string;
  skill: string | null;
  user: string | null;
  first_trace_id: string | null;
  last_trace_id: string | null;
  created_at: number;
  updated_at: number;
}

const TASK_COLUMNS =
  'task_id, context_id, state, skill, user, first_trace_id, last_trace_id, created_at, updated_at';

function summary(row: TaskDbRow): TaskSummary {
  return {
    taskId: row.task_id,
    contextId: row.context_id,
    state: row.state,
    skill: row.skill,
    user: row.user,
    firstTraceId: row.first_trace_id,
    lastTraceId: row.last_trace_id,
    createdAt: iso(row.created_at)!,
    updatedAt: iso(row.updated_at)!,
  };
}

/** A connection's tasks, most recently updated first; `before` (ms) pages on. */
export async function listTasks(
  db: D1Database,
  orgId: string,
  connectionId: string,
  query: { state?: string; limit: number; before?: number },
): Promise<TaskSummary[]> {
  const where = ['org_id = ?', 'connection_id = ?'];
  const binds: unknown[] = [orgId, connectionId];
  if (query.state) {
    where.push('state = ?');
    binds.push(query.state);
  }
  if (query.before !== undefined) {
    where.push('updated_at < ?');
    binds.push(query.before);
  }
  const { results } = await db
    .prepare(
      `SELECT ${TASK_COLUMNS} FROM a2a_tasks WHERE ${where.join(' AND ')} ORDER BY updated_at DESC LIMIT ?`,
    )
    .bind(...binds, query.limit)
    .all<TaskDbRow>();
  return results.map(summary);
}

export interface TaskEvent {
  kind: (typeof A2A_TASK_EVENT_KINDS)[number];
  state: string | null;
  traceId: string | null;
  method: string | null;
  detail: unknown;
  at: string;
}

/** One task of a connection with its events in order, or null (another organization's: null). */
export async function getTask(
  db: D1Database,
  orgId: string,
  connectionId: string,
  taskId: string,
): Promise<(TaskSummary & { events: TaskEvent[] }) | null> {
  const [task, events] = await db.batch([
    db
      .prepare(`SELECT ${TASK_COLUMNS} FROM a2a_tasks WHERE org_id = ? AND connection_id = ? AND task_id = ?`)
      .bind(orgId, connectionId, taskId),
    db
      .prepare(
        `SELECT kind, state, trace_id, method, detail, created_at FROM a2a_task_events
         WHERE org_id = ? AND connection_id = ? AND task_id = ? ORDER BY created_at, id LIMIT 500`,
      )
      .bind(orgId, connectionId, taskId),
  ]);
  const row = (task?.results as TaskDbRow[] | undefined)?.[0];
  if (!row) return null;
  const rows = (events?.results ?? []) as {
    kind: TaskEvent['kind'];
    state: string | null;
    trace_id: string | null;
    method: string | null;
    detail: string | null;
    created_at: number;
  }[];
  return {
    ...summary(row),
    events: rows.map((e) => ({
      kind: e.kind,
      state: e.state,
      traceId: e.trace_id,
      method: e.method,
      detail: e.detail === null ? null : parseStoredJson(e.detail),
      at: iso(e.created_at)!,
    })),
  };
}
