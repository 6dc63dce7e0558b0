/**
 * Budget utilisation for the Prometheus scrape (docs/observability.md#the-metrics): each budget's
 * spend, limit and spend/limit in its current period, read from its own counter
 * (durable-objects/budget-counter.do.ts) at the scrape — the counter is the one place a budget's
 * spend is kept, so a gauge read there is never stale and never summed twice. One D1 read of the
 * organization's budgets and one counter round trip per budget, per scrape (not per call).
 * A counter that cannot answer leaves its budget out of this scrape (logged).
 */
import { budgetCounterFor } from '../../durable-objects/do.client';
import type { Series } from '../../durable-objects/metrics.catalog';
import { type BudgetRow, budgetConfig } from '../budgets/budgets.service';
import { log } from '../lib/log';

export async function budgetSeries(env: Env, orgId: string): Promise<Series[]> {
  const { results } = await env.DB.prepare('SELECT * FROM budgets WHERE org_id = ? ORDER BY created_at')
    .bind(orgId)
    .all<BudgetRow>();
  const series = await Promise.all(
    results.map(async (b): Promise<Series[]> => {
      try {
        const status = await budgetCounterFor(env, b.id).status(budgetConfig(b));
        const labels = { budget: b.name, budget_id: b.id, scope: b.scope, enforcement: b.enforcement };
        return [
          { name: 'igris_budget_spent_usd', labels, value: status.spentUsd },
          { name: 'igris_budget_limit_usd', labels, value: b.limit_usd },
          {
            name: 'igris_budget_utilization_ratio',
            labels,
            value: b.limit_usd > 0 ? status.spentUsd / b.limit_usd : 0,
          },
        ];
      } catch (err) {
        log('warn', 'budget counter unavailable for the metrics scrape', { orgId, budgetId: b.id, err });
        return [];
      }
    }),
  );
  return series.flat();
}
