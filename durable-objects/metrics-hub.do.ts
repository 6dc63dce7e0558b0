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
 * State (SQLite, survives eviction): `series` (counter totals), `gauges` (latest spool health per
 * guard), `batches` (ids applied in the last BATCH_MEMORY_MS, so a resent batch counts once).
 *
 * Failure mode: fail-open and lossy by design — metrics never hold up or fail a call. A guard that
 * cannot reach its hub keeps the deltas and retries them with the next batch; deltas held by a guard
 * that is evicted before it sends them are lost (the counters undercount, never go backwards).
 */
import { DurableObject } from 'cloudflare:workers';
import { z } from 'zod';
import { exposition, parseSeriesKey, type Series } from './metrics.catalog';
import type { MetricsBatch } from './metrics.contract';

/** How long applied batch ids are remembered (a guard retries well within this). */
export const BATCH_MEMORY_MS = 60 * 60_000;
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
});

export class MetricsHub extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    sql.exec('CREATE TABLE IF NOT EXISTS series (key TEXT PRIMARY KEY, value REAL NOT NULL)');
    sql.exec(`CREATE TABLE IF NOT EXISTS gauges (
      source TEXT PRIMARY KEY, backlog INTEGER NOT NULL, oldest REAL NOT NULL, at INTEGER NOT NULL)`);
    sql.exec('CREATE TABLE IF NOT EXISTS batches (id TEXT PRIMARY KEY, at INTEGER NOT NULL)');
  }

  /** Adds a batch of deltas (once per batch id). Synchronous inside: applied whole or not at all. */
  async record(input: MetricsBatch): Promise<void> {
    const batch = batchSchema.parse(input);
    const sql = this.ctx.storage.sql;
    const now = Date.now();
    if (sql.exec('SELECT 1 FROM batches WHERE id = ?', batch.id).toArray().length > 0) return;
    sql.exec('INSERT INTO batches (id, at) VALUES (?, ?)', batch.id, now);
    for (const [key, delta] of Object.entries(batch.counters)) {
      sql.exec(
        'INSERT INTO series (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = value + excluded.value',
        key,
        delta,
      );
    }
    sql.exec(
      `INSERT INTO series (key, value) VALUES (?, 1) ON CONFLICT(key) DO UPDATE SET value = value + 1`,
      JSON.stringify(['igris_metrics_batches_total', []]),
    );
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
    sql.exec('DELETE FROM batches WHERE at < ?', now - BATCH_MEMORY_MS);
  }

  /** The organization's metrics in the Prometheus text format. */
  async exposition(): Promise<string> {
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
    return exposition(series);
  }
}
