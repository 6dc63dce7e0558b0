/**
 * Refusal bursts: refusals made before authentication (no key, not a Bearer key, unknown or revoked
 * key) are counted per source address per minute instead of written one audit row each.
 *
 * Why: anyone can send those requests, and each used to become a row in the shared D1 — a flood of
 * them was a cheap way to grow every organization's database and slow its writes. Now a burst (one
 * source, one clock minute) is ONE audit row: the first refusal's row (its trace id, slug, method,
 * time) with `details.count`, `details.source`, `details.firstAt` / `lastAt`. The row is spooled
 * with the count so far on every refusal; the spool upserts it by id, and its alarm coalesces the
 * writes, so D1 sees at most a few writes of that one row per second (FLUSH_DELAY_MS), not one per
 * request, and the row is visible within a second of the first refusal.
 *
 * Durable and exact: the counter lives in the AuditSpool object's SQLite (one object per source
 * shard, see workers/gateway/gateway.audit.ts), written in the same output-gated turn as the
 * spooled row.
 */
import type { AuditEventInsert } from '../workers/db/schema.js';
import { withDetails } from '../workers/shared/audit.row';

export const BURST_WINDOW_MS = 60_000;
/** Counters are forgotten this long after their minute; the row itself lives on in the spool/D1. */
const KEEP_MS = 5 * 60_000;
/** Forgets the counters of minutes before its one parameter. */
export const SWEEP_BURSTS_SQL = 'DELETE FROM refusal_bursts WHERE window_start < ?';

type StoredBurst = {
  row: string;
  count: number;
  first_at: number;
  last_at: number;
};

export interface Burst {
  /** The burst's one audit row, carrying the count so far. */
  row: AuditEventInsert;
  count: number;
}

export class RefusalBursts {
  readonly #sql: SqlStorage;
  #sweptAt = 0;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS refusal_bursts (
      source TEXT NOT NULL,
      window_start INTEGER NOT NULL,
      row TEXT NOT NULL,
      count INTEGER NOT NULL,
      first_at INTEGER NOT NULL,
      last_at INTEGER NOT NULL,
      PRIMARY KEY (source, window_start)
    )`);
    // The sweep deletes by minute: it reads only the counters it deletes, however many sources.
    this.#sql.exec('CREATE INDEX IF NOT EXISTS refusal_bursts_window ON refusal_bursts (window_start)');
  }

  /** Counts one refusal from `source`; the first of a minute's burst provides the row. */
  count(row: AuditEventInsert, source: string, now = Date.now()): Burst {
    const windowStart = now - (now % BURST_WINDOW_MS);
    const stored = this.#sql
      .exec<StoredBurst>(
        `INSERT INTO refusal_bursts (source, window_start, row, count, first_at, last_at)
         VALUES (?, ?, ?, 1, ?, ?)
         ON CONFLICT (source, window_start) DO UPDATE SET count = count + 1, last_at = excluded.last_at
         RETURNING row, count, first_at, last_at`,
        source,
        windowStart,
        JSON.stringify(row),
        now,
        now,
      )
      .one();
    this.#sweep(now);
    return { row: burstRow(JSON.parse(stored.row) as AuditEventInsert, source, stored), count: stored.count };
  }

  #sweep(now: number): void {
    if (now - this.#sweptAt < BURST_WINDOW_MS) return;
    this.#sweptAt = now;
    this.#sql.exec(SWEEP_BURSTS_SQL, now - KEEP_MS);
  }
}

/** The first refusal's row with the burst's count, source and time span in its details. */
export function burstRow(
  first: AuditEventInsert,
  source: string,
  burst: Pick<StoredBurst, 'count' | 'first_at' | 'last_at'>,
): AuditEventInsert {
  return withDetails(first, {
    count: burst.count,
    source,
    windowSeconds: BURST_WINDOW_MS / 1000,
    firstAt: new Date(burst.first_at).toISOString(),
    lastAt: new Date(burst.last_at).toISOString(),
  });
}
