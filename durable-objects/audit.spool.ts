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
 * status and latency, patched in afterwards). A row whose outcome never arrives is flushed after
 * the grace period (OUTCOME_GRACE_MS, or AUDIT_OUTCOME_GRACE_SECONDS: outcomeGraceMs) with
 * `error_code = 'outcome_unknown'` — it is never dropped. An outcome
 * that arrives later still patches the spooled row, which is flushed again (the upsert updates
 * the outcome columns of the D1 row).
 *
 * Loss and duplication windows, and why each is closed:
 * - Crash between the spool write and the alarm: the row and the alarm are written in the same
 *   output-gated turn (SQLite-backed storage commits them together); a restarted object's alarm
 *   still fires and finds the row dirty.
 * - Crash between the D1 write and marking the rows clean: they stay dirty, are written again,
 *   and the upsert by event id makes the second write a no-op.
 * - D1 batch failure: a batch is one transaction, so nothing of it was written. The chunk is
 *   retried row by row, so one row D1 rejects (a "poison" row) cannot hold back every row behind
 *   it: that row backs off exponentially (RETRY_MAX_MS at most, and never dropped) while the rest
 *   go through. If every row fails, D1 itself is failing: the alarm retries the lot in 5 s.
 * - A row patched while its flush is in flight: it is marked clean only if its content is still
 *   what was written, so the patch is flushed on the next alarm.
 * - Outcome later than KEEP_FLUSHED_MS (well past the longest upstream timeout, 5 min): the D1
 *   row keeps `outcome_unknown`. The decision is never lost, only that late status.
 * - Runtime killed after the gateway answered but before the outcome reached the object (the
 *   gateway sends it from waitUntil, off the hot path): the acknowledged call keeps its row,
 *   flushed after the grace period as `outcome_unknown`.
 *
 * Proven by test/workerd/audit.durability.test.ts (each window above) and
 * test/e2e/audit-durability.e2e.test.ts (SIGKILL of wrangler/workerd mid-burst, restart).
 *
 * What a row looks like in D1 (every column of the drizzle table, the upsert) is in audit.rows.ts.
 */
import type { AuditEventInsert } from '../workers/db/schema.js';
import { WeightedMap } from '../workers/lib/bounded.map.js';
import { log } from '../workers/lib/log.js';
import { type ChainHead, ChainHeadStore, INSERT_LINK_SQL, linkValues, nextLink } from './audit.chain.js';
import { withFindings } from './audit.findings.js';
import {
  jsonRowStatements,
  OUTCOME_GRACE_MS,
  OUTCOME_KEYS,
  retryDelay,
  rowForD1,
  UPSERT_SQL,
  valuesJson,
} from './audit.rows.js';
import type { CallOutcome } from './guard.contract.js';

export { type AuditOutcome, OUTCOME_GRACE_MS, RETRY_DELAY_MS, RETRY_MAX_MS } from './audit.rows.js';

/**
 * How long written rows wait before the alarm copies them to D1. A flush holds the object (and,
 * locally, D1 on the same thread) for one D1 transaction, so every flush is a stall some call meets.
 * Why 1 s (BENCHMARKS.md, session 23): in the floor suite (one call at a time) the gateway's p99 was
 * 11.3 / 10.6 ms at 1 s against 12.6–15.2 at 250 ms — as with no flush at all; 20-row transactions
 * were worse (20.3–22.6). It was reverted once because Observe's reload back-fill read D1 up to the
 * moment the page opened, and calls of the last flush interval were neither in D1 yet nor on the
 * live stream. That gap is closed: the back-fill now reads D1 only up to 10 s before the page opened,
 * and the stream replays the hub's held events from that instant on (`GET /api/v1/events?since=`,
 * dashboard/src/observe/live.context.tsx). What remains: D1 (exports, the audit views) has a row up to
 * ~1 s after the call's outcome; the row is durable in the guard from the admit either way.
 */
export const FLUSH_DELAY_MS = 1000;
/** Flushed rows stay this long so a late outcome can still patch them (and be re-flushed). */
export const KEEP_FLUSHED_MS = 15 * 60_000;
/** Rows per D1 batch (one transaction) and per alarm; a larger backlog re-arms at once. */
export const FLUSH_BATCH = 100;
export const FLUSH_MAX_ROWS = 1_000;
/**
 * Each flush deletes as many rows past KEEP_FLUSHED_MS as it wrote (so deleting keeps pace with
 * writing) plus this many (so it catches up after a burst), oldest first.
 */
const DELETE_FLUSHED_MIN = 100;
/** Deletes up to `?2` clean rows flushed before `?1`, oldest first (see Spool#deleteFlushed). */
export const DELETE_FLUSHED_SQL = `DELETE FROM spool WHERE rowid IN (
  SELECT rowid FROM spool INDEXED BY spool_flushed
  WHERE dirty = 0 AND flushed_at < ?1 ORDER BY flushed_at LIMIT ?2)`;
/** Rows whose latest content the spool keeps in memory for their outcome (see Spool#recent). */
const RECENT_ROWS = 2_000;
/**
 * And at most this many bytes of them (a row's JSON at two bytes a character, weighed when it is
 * written): a row may carry 8,192 characters of arguments, 4 KB of metadata and 50 findings with
 * their locations — over 100 KB — so 2,000 rows waiting for their outcome (one caller's calls in
 * flight over the grace period) could be hundreds of MB in one object.
 */
export const RECENT_ROW_BYTES = 8 * 1024 * 1024;
/** Row-by-row fallback gives up after this many failures in a row with no success (D1 is down). */
const FALLBACK_FAILURE_STREAK = 3;

type SpoolRow = {
  id: string;
  row: string;
  complete: number;
  dirty: number;
  created_at: number;
  flushed_at: number | null;
  attempts: number;
  retry_at: number;
};

export class Spool {
  readonly #sql: SqlStorage;
  /** The spool's hash chain (audit.chain.ts): its name and head; null writes rows without links. */
  readonly #chain: { name: string; head: ChainHeadStore } | null;
  /** Earliest flush time of what was written since the last `takeDue()` (see SpoolScheduler.arm). */
  #due: number | null = null;
  /**
   * The content of rows that wait for their outcome, so `complete()` patches them without reading
   * and parsing the spooled JSON; dropped when the outcome is in. Bounded (oldest out first); a
   * miss, or an entry old enough that its row may have been deleted (KEEP_FLUSHED_MS), reads SQLite.
   * Only this object writes its spool rows, so an entry is never older than its row.
   */
  readonly #recent = new WeightedMap<string, { row: AuditEventInsert; at: number }>(
    RECENT_ROWS,
    RECENT_ROW_BYTES,
  );
  /**
   * Ids written (put, complete) while a flush is in flight: their rows may no longer be what the
   * flush wrote, so only they are checked row by row when the flush marks its rows clean.
   */
  #patched: Set<string> | null = null;
  /** How long a decision waits for its outcome (OUTCOME_GRACE_MS unless configured: outcomeGraceMs). */
  readonly #graceMs: number;

  constructor(sql: SqlStorage, chain: string | null = null, graceMs = OUTCOME_GRACE_MS) {
    this.#sql = sql;
    this.#graceMs = graceMs;
    this.#chain = chain === null ? null : { name: chain, head: new ChainHeadStore(sql) };
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS spool (
      id TEXT PRIMARY KEY,
      row TEXT NOT NULL,
      complete INTEGER NOT NULL,
      dirty INTEGER NOT NULL DEFAULT 1,
      created_at INTEGER NOT NULL,
      flushed_at INTEGER,
      attempts INTEGER NOT NULL DEFAULT 0,
      retry_at INTEGER NOT NULL DEFAULT 0
    )`);
    // Spools created before attempts/retry_at existed get the columns added in place.
    const columns = this.#sql.exec('SELECT * FROM spool LIMIT 0').columnNames;
    if (!columns.includes('attempts'))
      this.#sql.exec('ALTER TABLE spool ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0');
    if (!columns.includes('retry_at'))
      this.#sql.exec('ALTER TABLE spool ADD COLUMN retry_at INTEGER NOT NULL DEFAULT 0');
    this.#sql.exec('CREATE INDEX IF NOT EXISTS spool_dirty ON spool (dirty, complete, created_at)');
    // The clean rows by flush time, for deleting the oldest few at each flush (#deleteFlushed).
    this.#sql.exec('CREATE INDEX IF NOT EXISTS spool_flushed ON spool (flushed_at) WHERE dirty = 0');
  }

  /** Idempotent: the same event id written twice keeps one row (the later content). */
  put(row: AuditEventInsert, complete: boolean, now = Date.now()): void {
    const json = JSON.stringify(row);
    this.#sql.exec(
      `INSERT INTO spool (id, row, complete, dirty, created_at) VALUES (?, ?, ?, 1, ?)
       ON CONFLICT(id) DO UPDATE SET row = excluded.row, complete = excluded.complete, dirty = 1`,
      row.id,
      json,
      complete ? 1 : 0,
      now,
    );
    this.#patched?.add(row.id);
    // Final rows get no outcome: only a decision waiting for one is worth remembering.
    if (complete) this.#recent.delete(row.id);
    else this.#remember(row.id, { ...row }, now, 256 + 2 * json.length);
    this.#noteDue(complete ? now + FLUSH_DELAY_MS : now + this.#graceMs);
  }

  /** Adds the outcome to a row. Returns the completed row, or null when the id is unknown. */
  complete(id: string, outcome: CallOutcome, now = Date.now()): AuditEventInsert | null {
    const current = this.#current(id, now);
    if (!current) return null;
    this.#patched?.add(id);
    const merged: AuditEventInsert = { ...current };
    for (const key of OUTCOME_KEYS) {
      const value = outcome[key];
      if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
    }
    // Findings are appended to what the row holds (request-side findings, earlier late ones).
    if (outcome.findings?.length) merged.details = withFindings(merged.details, outcome.findings);
    this.#sql.exec(
      'UPDATE spool SET row = ?, complete = 1, dirty = 1 WHERE id = ?',
      JSON.stringify(merged),
      id,
    );
    // Forgotten once complete: only a streamed answer's late findings (rare) patch the row again,
    // and they read it back from SQLite. Kept, every completed row stayed in memory for the next
    // 2,000 calls — long enough for the young-generation GC to promote each one, so that only a
    // full (mark-compact) collection, a pause of the whole isolate, could free it.
    this.#recent.delete(id);
    this.#noteDue(now + FLUSH_DELAY_MS);
    return merged;
  }

  /** The row's latest content: from memory when it is known to be current, else from SQLite. */
  #current(id: string, now: number): AuditEventInsert | null {
    const recent = this.#recent.get(id);
    if (recent && now - recent.at < KEEP_FLUSHED_MS) return recent.row;
    const existing = this.#sql
      .exec<Pick<SpoolRow, 'row'>>('SELECT row FROM spool WHERE id = ?', id)
      .toArray()[0];
    return existing ? (JSON.parse(existing.row) as AuditEventInsert) : null;
  }

  #remember(id: string, row: AuditEventInsert, now: number, weight: number): void {
    // A rewritten id moves to the newest end (WeightedMap.set).
    this.#recent.set(id, { row, at: now }, weight);
  }

  pendingCount(): number {
    return this.#sql.exec<{ n: number }>('SELECT count(*) AS n FROM spool WHERE dirty = 1').one().n;
  }

  /** Rows not yet written to D1 and the age of the oldest of them (spool health, for metrics). */
  backlog(now = Date.now()): { rows: number; oldestMs: number } {
    const { n, oldest } = this.#sql
      .exec<{ n: number; oldest: number | null }>(
        'SELECT count(*) AS n, min(created_at) AS oldest FROM spool WHERE dirty = 1',
      )
      .one();
    return { rows: n, oldestMs: oldest === null ? 0 : Math.max(0, now - oldest) };
  }

  /** Returns and forgets the earliest flush time of rows written since the last call. */
  takeDue(): number | null {
    const due = this.#due;
    this.#due = null;
    return due;
  }

  /**
   * Copies flushable rows to D1. Returns true when due rows remain (the caller re-arms at once).
   * Throws when D1 is failing as a whole; the rows stay dirty and the upsert makes a retry safe.
   */
  async flush(db: D1Database, now = Date.now()): Promise<boolean> {
    this.#patched = new Set();
    try {
      return await this.#flushDue(db, now);
    } finally {
      this.#patched = null;
    }
  }

  async #flushDue(db: D1Database, now: number): Promise<boolean> {
    const due = this.#sql
      .exec<Pick<SpoolRow, 'id' | 'row' | 'complete' | 'attempts'>>(
        `SELECT id, row, complete, attempts FROM spool
         WHERE dirty = 1 AND retry_at <= ? AND (complete = 1 OR created_at <= ?)
         ORDER BY created_at LIMIT ?`,
        now,
        now - this.#graceMs,
        FLUSH_MAX_ROWS,
      )
      .toArray();
    for (let i = 0; i < due.length; i += FLUSH_BATCH) {
      const chunk = due.slice(i, i + FLUSH_BATCH);
      try {
        await this.#write(db, chunk, now);
        this.#markFlushed(chunk, now);
      } catch (err) {
        await this.#flushOneByOne(db, chunk, now, err);
      }
    }
    this.#deleteFlushed(now, due.length + DELETE_FLUSHED_MIN);
    return due.length === FLUSH_MAX_ROWS;
  }

  /**
   * Deletes up to `limit` rows flushed more than KEEP_FLUSHED_MS ago, oldest first, through the
   * partial index of clean rows: the work is the rows deleted, a few per flush. (It used to be one
   * unbounded DELETE a minute that read every clean row: at 400 calls/s, 15 minutes of rows, a
   * ~180 ms stall of the object — and locally of every call — once a minute.) INDEXED BY: without
   * statistics SQLite prefers spool_dirty's `dirty = ?` and reads every clean row again.
   */
  #deleteFlushed(now: number, limit: number): void {
    this.#sql.exec(DELETE_FLUSHED_SQL, now - KEEP_FLUSHED_MS, limit);
  }

  /** When the next flush should run, or null if nothing is waiting. */
  nextFlushAt(now = Date.now()): number | null {
    const { due } = this.#sql
      .exec<{ due: number | null }>(
        `SELECT min(max(retry_at, CASE WHEN complete = 1 THEN 0 ELSE created_at + ? END)) AS due
         FROM spool WHERE dirty = 1`,
        this.#graceMs,
      )
      .one();
    return due === null ? null : Math.max(now + FLUSH_DELAY_MS, due);
  }

  #noteDue(at: number): void {
    if (this.#due === null || at < this.#due) this.#due = at;
  }

  /**
   * Writes rows to D1 in one batch (one transaction), each with the next link of the spool's hash
   * chain. The chain head moves only once D1 has taken the batch, so a failed batch is rebuilt
   * from the same head.
   */
  async #write(db: D1Database, rows: Array<Pick<SpoolRow, 'row' | 'complete'>>, now: number): Promise<void> {
    const upserts: string[] = [];
    const links: string[] = [];
    let head: ChainHead | null = this.#chain?.head.get() ?? null;
    for (const r of rows) {
      const row = rowForD1(JSON.parse(r.row) as AuditEventInsert, r.complete === 1);
      const values = valuesJson(row);
      upserts.push(values);
      if (this.#chain && head) {
        const link = await nextLink(this.#chain.name, head, row, values, now);
        links.push(JSON.stringify(linkValues(link)));
        head = { seq: link.seq, hash: link.hash };
      }
    }
    // A few statements for the whole batch, not one per row and link (audit.rows.ts).
    await db.batch([
      ...jsonRowStatements(db, UPSERT_SQL, upserts),
      ...jsonRowStatements(db, INSERT_LINK_SQL, links),
    ]);
    if (this.#chain && head) this.#chain.head.set(head);
  }

  /**
   * Marks rows clean — unless a patch changed them while the write was in flight. Rows nobody wrote
   * meanwhile are marked in one statement; a row that was written is marked only if its content is
   * still what was flushed.
   */
  #markFlushed(rows: Array<Pick<SpoolRow, 'id' | 'row'>>, now: number): void {
    const untouched = rows.filter((r) => !this.#patched?.has(r.id)).map((r) => r.id);
    if (untouched.length > 0) {
      this.#sql.exec(
        `UPDATE spool SET dirty = 0, flushed_at = ?, attempts = 0, retry_at = 0
         WHERE id IN (SELECT value FROM json_each(?))`,
        now,
        JSON.stringify(untouched),
      );
    }
    for (const r of rows) {
      if (!this.#patched?.has(r.id)) continue;
      this.#sql.exec(
        'UPDATE spool SET dirty = 0, flushed_at = ?, attempts = 0, retry_at = 0 WHERE id = ? AND row = ?',
        now,
        r.id,
        r.row,
      );
    }
  }

  /**
   * After a failed batch: a batch is one transaction, so none of it was written. Writing rows one
   * at a time finds the row(s) D1 rejects; those back off, the others are written. A streak of
   * failures with no success means D1 is down: stop and let the alarm retry everything.
   */
  async #flushOneByOne(
    db: D1Database,
    chunk: Array<Pick<SpoolRow, 'id' | 'row' | 'complete' | 'attempts'>>,
    now: number,
    batchError: unknown,
  ): Promise<void> {
    let streak = 0;
    let written = 0;
    for (const r of chunk) {
      try {
        await this.#write(db, [r], now);
        this.#markFlushed([r], now);
        written++;
        streak = 0;
      } catch (err) {
        const attempts = r.attempts + 1;
        this.#sql.exec(
          'UPDATE spool SET attempts = ?, retry_at = ? WHERE id = ?',
          attempts,
          now + retryDelay(attempts),
          r.id,
        );
        log('error', 'audit row rejected by D1; kept in the spool and retried with backoff', {
          eventId: r.id,
          attempts,
          err,
        });
        if (++streak >= FALLBACK_FAILURE_STREAK && written === 0) throw batchError;
      }
    }
  }
}
