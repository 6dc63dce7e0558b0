/**
 * A durable audit buffer inside a SQLite-backed Durable Object.
 *
 * Why: `waitUntil(db.insert(...))` from the Worker can be cut off when the isolate goes, and
 * then an acknowledged call has no audit row. Instead the gateway hands the row to a Durable
 * Object *before* it answers; the DO's output gate holds its reply until the row is on disk.
 * An alarm then copies rows to D1 in batches with an idempotent upsert keyed by event id, so a
 * flush that is retried (after a crash, a D1 error, a restart) never duplicates a row.
 *
 * Rows have two phases: the decision (written before forwarding) and the outcome (upstream
 * status and latency, patched in afterwards). A row whose outcome never arrives is flushed
 * after OUTCOME_GRACE_MS with `error_code = 'outcome_unknown'` — it is never dropped.
 */
import type { AuditEventInsert } from '../workers/db/schema';
import { log } from '../workers/lib/log';

export const FLUSH_DELAY_MS = 250;
export const OUTCOME_GRACE_MS = 120_000;
/** Flushed rows stay this long so a late outcome can still patch them (and be re-flushed). */
export const KEEP_FLUSHED_MS = 15 * 60_000;
const FLUSH_BATCH = 50;

export type AuditOutcome = Partial<
  Pick<AuditEventInsert, 'upstreamStatus' | 'latencyMs' | 'errorCode' | 'action' | 'details'>
>;

type SpoolRow = {
  id: string;
  row: string;
  complete: number;
  dirty: number;
  created_at: number;
  flushed_at: number | null;
};

const COLUMNS = [
  ['id', 'id'],
  ['org_id', 'orgId'],
  ['type', 'type'],
  ['connection_id', 'connectionId'],
  ['connection_slug', 'connectionSlug'],
  ['session_id', 'sessionId'],
  ['mcp_session_id', 'mcpSessionId'],
  ['api_key_id', 'apiKeyId'],
  ['actor', 'actor'],
  ['user', 'user'],
  ['trace_id', 'traceId'],
  ['metadata', 'metadata'],
  ['metadata_error', 'metadataError'],
  ['method', 'method'],
  ['tool', 'tool'],
  ['action', 'action'],
  ['rule_index', 'ruleIndex'],
  ['policy_version', 'policyVersion'],
  ['upstream_status', 'upstreamStatus'],
  ['latency_ms', 'latencyMs'],
  ['error_code', 'errorCode'],
  ['details', 'details'],
  ['created_at', 'createdAt'],
] as const satisfies ReadonlyArray<readonly [string, keyof AuditEventInsert]>;

const JSON_COLUMNS = new Set<keyof AuditEventInsert>(['metadata', 'details']);

const UPSERT_SQL = `INSERT INTO audit_events (${COLUMNS.map(([c]) => `"${c}"`).join(', ')})
VALUES (${COLUMNS.map(() => '?').join(', ')})
ON CONFLICT(id) DO UPDATE SET ${['action', 'upstream_status', 'latency_ms', 'error_code', 'details']
  .map((c) => `"${c}" = excluded."${c}"`)
  .join(', ')}`;

function bindValues(row: AuditEventInsert): unknown[] {
  return COLUMNS.map(([, key]) => {
    const value = row[key];
    if (value === undefined || value === null) return null;
    if (JSON_COLUMNS.has(key)) return JSON.stringify(value);
    if (typeof value === 'boolean') return value ? 1 : 0;
    return value;
  });
}

export class Spool {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS spool (
      id TEXT PRIMARY KEY,
      row TEXT NOT NULL,
      complete INTEGER NOT NULL,
      dirty INTEGER NOT NULL DEFAULT 1,
      created_at INTEGER NOT NULL,
      flushed_at INTEGER
    )`);
    this.#sql.exec('CREATE INDEX IF NOT EXISTS spool_dirty ON spool (dirty, complete, created_at)');
  }

  /** Idempotent: the same event id written twice keeps one row (the later content). */
  put(row: AuditEventInsert, complete: boolean): void {
    this.#sql.exec(
      `INSERT INTO spool (id, row, complete, dirty, created_at) VALUES (?, ?, ?, 1, ?)
       ON CONFLICT(id) DO UPDATE SET row = excluded.row, complete = excluded.complete, dirty = 1`,
      row.id,
      JSON.stringify(row),
      complete ? 1 : 0,
      Date.now(),
    );
  }

  /** Adds the outcome to a row. Returns the completed row, or null when the id is unknown. */
  complete(id: string, outcome: AuditOutcome): AuditEventInsert | null {
    const existing = this.#sql
      .exec<Pick<SpoolRow, 'row'>>('SELECT row FROM spool WHERE id = ?', id)
      .toArray()[0];
    if (!existing) return null;
    const merged: AuditEventInsert = { ...(JSON.parse(existing.row) as AuditEventInsert) };
    for (const [key, value] of Object.entries(outcome)) {
      if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
    }
    this.#sql.exec(
      'UPDATE spool SET row = ?, complete = 1, dirty = 1 WHERE id = ?',
      JSON.stringify(merged),
      id,
    );
    return merged;
  }

  pendingCount(): number {
    return this.#sql.exec<{ n: number }>('SELECT count(*) AS n FROM spool WHERE dirty = 1').one().n;
  }

  /**
   * Copies flushable rows to D1. Returns true when dirty rows remain (the caller re-arms the alarm).
   * A D1 failure leaves every row dirty: the next alarm retries, and the upsert makes that safe.
   */
  async flush(db: D1Database, now = Date.now()): Promise<boolean> {
    const due = this.#sql
      .exec<SpoolRow>(
        `SELECT id, row, complete FROM spool WHERE dirty = 1 AND (complete = 1 OR created_at <= ?)
         ORDER BY created_at LIMIT ?`,
        now - OUTCOME_GRACE_MS,
        FLUSH_BATCH * 4,
      )
      .toArray();
    for (let i = 0; i < due.length; i += FLUSH_BATCH) {
      const chunk = due.slice(i, i + FLUSH_BATCH);
      const statements = chunk.map((r) => {
        const row = JSON.parse(r.row) as AuditEventInsert;
        if (!r.complete && !row.errorCode) row.errorCode = 'outcome_unknown';
        return db.prepare(UPSERT_SQL).bind(...bindValues(row));
      });
      await db.batch(statements);
      for (const r of chunk) {
        this.#sql.exec(
          'UPDATE spool SET dirty = 0, flushed_at = ? WHERE id = ? AND row = ?',
          now,
          r.id,
          r.row,
        );
      }
    }
    this.#sql.exec('DELETE FROM spool WHERE dirty = 0 AND flushed_at < ?', now - KEEP_FLUSHED_MS);
    return this.pendingCount() > 0;
  }

  /** When the next flush should run, or null if nothing is waiting. */
  nextFlushAt(now = Date.now()): number | null {
    const row = this.#sql
      .exec<{ complete_dirty: number; oldest_pending: number | null }>(
        `SELECT
           (SELECT count(*) FROM spool WHERE dirty = 1 AND complete = 1) AS complete_dirty,
           (SELECT min(created_at) FROM spool WHERE dirty = 1 AND complete = 0) AS oldest_pending`,
      )
      .one();
    if (row.complete_dirty > 0) return now + FLUSH_DELAY_MS;
    if (row.oldest_pending !== null)
      return Math.max(now + FLUSH_DELAY_MS, row.oldest_pending + OUTCOME_GRACE_MS);
    return null;
  }
}

/**
 * Owns a spool and its alarm for one Durable Object. Both objects that spool audit rows use it,
 * so the flush/retry schedule is written once.
 */
export class SpoolScheduler {
  readonly spool: Spool;
  readonly #storage: DurableObjectStorage;
  readonly #db: D1Database;
  readonly #name: string;
  #alarmAt: number | null = null;

  constructor(storage: DurableObjectStorage, db: D1Database, name: string) {
    this.spool = new Spool(storage.sql);
    this.#storage = storage;
    this.#db = db;
    this.#name = name;
  }

  /** Call after writing to the spool: makes sure an alarm will flush it. */
  async arm(): Promise<void> {
    const next = this.spool.nextFlushAt();
    if (next === null) return;
    if (this.#alarmAt !== null && this.#alarmAt <= next) return;
    this.#alarmAt = next;
    await this.#storage.setAlarm(next);
  }

  /** The object's alarm handler delegates here. A failed flush is retried in 5 s, rows intact. */
  async onAlarm(): Promise<void> {
    this.#alarmAt = null;
    try {
      await this.spool.flush(this.#db);
    } catch (err) {
      log('error', 'audit flush failed; will retry', { object: this.#name, err });
      this.#alarmAt = Date.now() + 5_000;
      await this.#storage.setAlarm(this.#alarmAt);
      return;
    }
    await this.arm();
  }
}
