/**
 * Expiry in the Durable Objects' SQLite reads only what it deletes: each time-based delete goes
 * through an index on time, never a scan of the table (a scan's cost grows with what is KEPT —
 * an hour of batch ids, minutes of refusal sources an attacker chooses, abandoned reservations —
 * and stalls the object, and locally every call, each time it runs). The audit spool's bounded
 * delete is checked with its behaviour in audit.durability.test.ts, session facts' in
 * session.taint.unit.test.ts.
 */
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { EXPIRE_RESERVATIONS_SQL } from '../../durable-objects/budget-counter.do';
import { auditSpoolFor, budgetCounterFor, metricsHubFor } from '../../durable-objects/do.client';
import { PRUNE_BATCHES_SQL } from '../../durable-objects/metrics-hub.do';
import { SWEEP_BURSTS_SQL } from '../../durable-objects/refusal.bursts';

const RUN = Date.now();

/** The query plan of `sql` (one numeric parameter) in the object's own SQLite. */
async function plan(stub: DurableObjectStub, sql: string): Promise<string> {
  return runInDurableObject(stub, async (_instance, state) =>
    state.storage.sql
      .exec<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, 0)
      .toArray()
      .map((r) => r.detail)
      .join('; '),
  );
}

describe('expiry in Durable Object storage', () => {
  it('the MetricsHub forgets remembered batch ids by the index on their time', async () => {
    expect(await plan(metricsHubFor(env, `expiry-${RUN}`), PRUNE_BATCHES_SQL)).toMatch(
      /^SEARCH batches USING (COVERING )?INDEX batches_at \(at<\?\)$/,
    );
  });

  it('an AuditSpool forgets refusal-burst counters by the index on their minute', async () => {
    expect(await plan(auditSpoolFor(env, `expiry-${RUN}`), SWEEP_BURSTS_SQL)).toMatch(
      /^SEARCH refusal_bursts USING (COVERING )?INDEX refusal_bursts_window \(window_start<\?\)$/,
    );
  });

  it('a BudgetCounter drops expired reservations by the index on their expiry', async () => {
    expect(await plan(budgetCounterFor(env, `expiry-${RUN}`), EXPIRE_RESERVATIONS_SQL)).toMatch(
      /^SEARCH reservations USING (COVERING )?INDEX reservations_expires \(expires_at<\?\)$/,
    );
  });
});
