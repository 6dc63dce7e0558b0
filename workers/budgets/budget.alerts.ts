/**
 * Budget alerts (docs/observability.md#alert-inbox): a budget's counter says once per period when a
 * settle first took its spend to the warning threshold, and when the period first reached its
 * limit (a `warn` budget spending past it, or a `block` budget's first refusal). Each becomes an
 * alert through the organization's MetricsHub — deduplicated like every alert, and a newly opened
 * one goes to the notification channels. Off the call's path (waitUntil); best effort: a lost
 * alert is logged, the budget's own audit row and live event do not depend on it.
 */
import { budgetAlert } from '../../durable-objects/alert.rules';
import type { BudgetSnapshot } from '../../durable-objects/budget.contract';
import { metricsHubFor } from '../../durable-objects/do.client';
import type { GovernedBudget } from '../governance/governance.types';
import { randomId } from '../lib/ids';
import { log } from '../lib/log';

export function raiseBudgetAlert(
  env: Pick<Env, 'METRICS_HUB'>,
  ctx: Pick<ExecutionContext, 'waitUntil'>,
  budget: GovernedBudget,
  snapshot: BudgetSnapshot,
  kind: 'warning' | 'limit',
  connectionId: string,
): void {
  const alert = budgetAlert(
    {
      budgetId: budget.budgetId,
      name: budget.name,
      scope: budget.scope,
      limitUsd: budget.limitUsd,
      warnAtPercent: budget.warnAtPercent,
      spentUsd: snapshot.spentUsd,
      percent: snapshot.percent,
      periodStart: snapshot.periodStart,
      periodEnd: snapshot.periodEnd,
      connectionId,
    },
    kind,
  );
  ctx.waitUntil(
    metricsHubFor(env, budget.orgId)
      .record({ id: randomId('bga'), counters: {}, alerts: [alert] })
      .catch((err: unknown) => log('warn', 'budget alert lost', { budgetId: budget.budgetId, kind, err })),
  );
}
