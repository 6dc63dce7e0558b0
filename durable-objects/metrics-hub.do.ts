/**
 * MetricsHub — one per organization (`metricsHubFor(env, orgId)`, do.client.ts): the running totals
 * behind `GET /api/v1/metrics/prometheus`. Connection guards send it batches of deltas
 * (metrics.contract.ts) off the hot path; a scrape reads the totals from here, so every isolate's
 * and every guard's counts add up in one place and a counter never goes backwards between scrapes.
 *
 * Why one object per organization (not per connection, the hot-path rule): it is never on a call's
 * path. Guards batch (metrics.outbox.ts: at most one RPC in flight per guard, deltas merged while
 * it is), so the hub sees a few RPCs per second per busy connection, not one per call.
 *
 * It also writes the alerts the guards raise (alert.rules.ts) to D1's `alerts` table, deduplicated
 * by fingerprint: the hub is the one place per organization where they meet. Each newly opened
 * alert is handed to the notification queue (workers/notify/, best effort).
 *
 * State (SQLite, survives eviction): `series` (counter totals), `gauges` (latest spool health per
 * guard), `batches` (ids applied in the last BATCH_MEMORY_MS, so a resent batch counts once).
 *
 * Failure mode: fail-open and lossy by design — metrics never hold up or fail a call. A guard that
 * cannot reach its hub keeps the deltas and retries them with the next batch; deltas held by a guard
 * that is evicted before it sends them are lost (the counters undercount, never go backwards).
 */
import { DurableObject } from 'cloudflare:workers';
import { z } from 'zod';
import { randomId } from '../workers/lib/ids';
import { log } from '../workers/lib/log';
import { type NotifyEvent, sendNotifyEvents } from '../workers/shared/notify.message';
import { exposition, parseSeriesKey, type Series } from './metrics.catalog';
import type { MetricsBatch } from './metrics.contract';

/** How long applied batch ids are remembered (a guard retries well within this). */
export const BATCH_MEMORY_MS = 60 * 60_000;
/** Forgets the batch ids remembered before its one parameter. */
export const PRUNE_BATCHES_SQL = 'DELETE FROM batches WHERE at < ?';
/**
 * Most series one organization's hub keeps. Label values partly come from callers (a model name, a
 * connection slug…); past this many, a delta for a series not yet kept is not stored but counted in
 * `igris_metrics_series_dropped_total` — the series already kept go on counting, the hub's storage
 * and the scrape stay bounded (docs/observability.md#cardinality).
 */
export const MAX_SERIES = 10_000;
const DROPPED_KEY = JSON.stringify(['igris_metrics_series_dropped_total', []]);
const BATCHES_KEY = JSON.stringify(['igris_metrics_batches_total', []]);
/** A guard that has not reported its spool health for this long drops out of the gauges. */
export const HEALTH_STALE_MS = 10 * 60_000;

const batchSchema = z.object({
  id: z.string().min(1).max(100),
  counters: z.record(z.string().max(2000), z.number().finite().nonnegative()),
  health: z
    .object({
      source: z.string().min(1).max(200),
      backlog: z.number().int().nonnegative(),
      oldestUnflushedSeconds: z.number().nonnegative(),
    })
    .optional(),
  alerts: z
    .array(
      z.object({
        fingerprint: z.string().min(1).max(500),
        type: z.enum(['kill_switch', 'detection', 'drift', 'anomaly', 'deny_spike', 'budget', 'policy']),
        severity: z.enum(['critical', 'high', 'medium', 'low', 'info']),
        title: z.string().min(1).max(500),
        connectionId: z.string().max(100).nullable(),
        count: z.number().int().positive(),
        details: z.record(z.string(), z.unknown()),
      }),
    )
    .max(1000)
    .optional(),
});

/**
 * One active alert per (organization, fingerprint): a repeat while it is open or acknowledged adds
 * to its count; once resolved or dismissed, the next occurrence opens a new alert.
 */
const UPSERT_ALERT_SQL = `INSERT INTO alerts
  (id, org_id, fingerprint, type, severity, title, status, connection_id, count, details, first_seen_at, last_seen_at, updated_at)
  VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?)
  ON CONFLICT (org_id, fingerprint) WHERE status IN ('open', 'acknowledged')
  DO UPDATE SET count = count + excluded.count, last_seen_at = excluded.last_seen_at,
    updated_at = excluded.updated_at, details = excluded.details
  RETURNING id`;

/** What the notification channels receive about a newly opened alert. */
function alertEvent(id: string, a: NonNullable<MetricsBatch['alerts']>[number], now: number): NotifyEvent {
  return {
    id,
    type: a.type,
    severity: a.severity,
    title: a.title,
    alertId: id,
    connectionId: a.connectionId,
    fingerprint: a.fingerprint,
    details: a.details,
    occurredAt: new Date(now).toISOString(),
  };
}

export class MetricsHub extends DurableObject<Env> {
  /** How many series are stored (read once, then kept in step with the inserts). */
  #seriesCount: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    sql.exec('CREATE TABLE IF NOT EXISTS series (key TEXT PRIMARY KEY, value REAL NOT NULL)');
    sql.exec(`CREATE TABLE IF NOT EXISTS gauges (
      source TEXT PRIMARY KEY, backlog INTEGER NOT NULL, oldest REAL NOT NULL, at INTEGER NOT NULL)`);
    sql.exec('CREATE TABLE IF NOT EXISTS batches (id TEXT PRIMARY KEY, at INTEGER NOT NULL)');
    // Every batch prunes the ids older than BATCH_MEMORY_MS: by this index it reads only those,
    // not the hour of ids (≈ 14,000 at 400 calls/s, a batch per 100 calls) on every batch.
    sql.exec('CREATE INDEX IF NOT EXISTS batches_at ON batches (at)');
  }

  /** Adds a batch of deltas and alerts (once per batch id); a batch whose alerts D1 refuses is not applied. */
  async record(input: MetricsBatch): Promise<void> {
    const batch = batchSchema.parse(input);
    const sql = this.ctx.storage.sql;
    const now = Date.now();
    if (sql.exec('SELECT 1 FROM batches WHERE id = ?', batch.id).toArray().length > 0) return;
    // The id is taken before the D1 write (a concurrent resend is then a no-op) and given back if
    // the alerts cannot be written: the batch then fails whole and the guard resends it.
    sql.exec('INSERT INTO batches (id, at) VALUES (?, ?)', batch.id, now);
    if (batch.alerts?.length) {
      try {
        await this.#writeAlerts(batch.alerts, now);
      } catch (err) {
        sql.exec('DELETE FROM batches WHERE id = ?', batch.id);
        throw err;
      }
    }
    let dropped = 0;
    for (const [key, delta] of Object.entries(batch.counters)) {
      if (!this.#addToSeries(key, delta)) dropped++;
    }
    this.#addToSeries(BATCHES_KEY, 1, true);
    if (dropped > 0) this.#addToSeries(DROPPED_KEY, dropped, true);
    if (batch.health) {
      const h = batch.health;
      sql.exec(
        `INSERT INTO gauges (source, backlog, oldest, at) VALUES (?, ?, ?, ?)
         ON CONFLICT(source) DO UPDATE SET backlog = excluded.backlog, oldest = excluded.oldest, at = excluded.at`,
        h.source,
        h.backlog,
        h.oldestUnflushedSeconds,
        now,
      );
    }
    sql.exec(PRUNE_BATCHES_SQL, now - BATCH_MEMORY_MS);
  }

  /** Adds `delta` to a kept series, or starts one while under MAX_SERIES (`always`: the hub's own). */
  #addToSeries(key: string, delta: number, always = false): boolean {
    const sql = this.ctx.storage.sql;
    const updated = sql.exec('UPDATE series SET value = value + ? WHERE key = ?', delta, key);
    if (updated.rowsWritten > 0) return true;
    this.#seriesCount ??= sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM series').one().n;
    if (!always && this.#seriesCount >= MAX_SERIES) return false;
    sql.exec('INSERT INTO series (key, value) VALUES (?, ?)', key, delta);
    this.#seriesCount++;
    return true;
  }

  async #writeAlerts(candidates: NonNullable<MetricsBatch['alerts']>, now: number): Promise<void> {
    const orgId = this.ctx.id.name?.startsWith('metrics:') ? this.ctx.id.name.slice('metrics:'.length) : null;
    if (!orgId) throw new Error('metrics hub reached without its organization name');
    const db = this.env.DB;
    const ids = candidates.map(() => randomId('alt'));
    const results = await db.batch<{ id: string }>(
      candidates.map((a, i) =>
        db
          .prepare(UPSERT_ALERT_SQL)
          .bind(
            ids[i],
            orgId,
            a.fingerprint,
            a.type,
            a.severity,
            a.title,
            a.connectionId,
            a.count,
            JSON.stringify(a.details),
            now,
            now,
            now,
          ),
      ),
    );
    // A new alert (its id is the one made here, not an active one's) goes to the notification
    // channels; a repeat of an active alert only adds to its count, it does not notify again.
    const opened = candidates.flatMap((a, i) =>
      results[i]?.results[0]?.id === ids[i] ? [alertEvent(ids[i]!, a, now)] : [],
    );
    try {
      await sendNotifyEvents(this.env.NOTIFY_QUEUE, orgId, opened);
    } catch (err) {
      // Best effort: the alert is in the inbox either way (docs/observability.md).
      log('error', 'alert notifications could not be queued', { orgId, count: opened.length, err });
    }
  }

  /**
   * The organization's metrics in the Prometheus text format. `current`: gauges the caller read
   * now from their own source (budget spend from each budget's counter), shown as given.
   */
  async exposition(current: Series[] = []): Promise<string> {
    const sql = this.ctx.storage.sql;
    const series: Series[] = sql
      .exec<{ key: string; value: number }>('SELECT key, value FROM series')
      .toArray()
      .map(({ key, value }) => ({ ...parseSeriesKey(key), value }));
    const fresh = sql
      .exec<{ source: string; backlog: number; oldest: number }>(
        'SELECT source, backlog, oldest FROM gauges WHERE at >= ?',
        Date.now() - HEALTH_STALE_MS,
      )
      .toArray();
    for (const g of fresh) {
      series.push({
        name: 'igris_spool_backlog_rows',
        labels: { connection_id: g.source },
        value: g.backlog,
      });
      series.push({
        name: 'igris_spool_oldest_unflushed_seconds',
        labels: { connection_id: g.source },
        value: g.oldest,
      });
    }
    return exposition([...series, ...current]);
  }
}
