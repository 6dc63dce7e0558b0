/**
 * Budgets on the gateway's hot path: reserve an estimate against every budget a call falls under
 * before it is forwarded, and settle each reservation with the actual cost when the answer ends.
 *
 * Fail mode: the connection's `failMode`, the same knob as its guard (docs/security-model.md).
 * `closed` (the default): a budget whose counter cannot be reached refuses the call with 503
 * `guard_unavailable` — a spending limit that silently stops counting is no limit. `open`: the call
 * passes unbudgeted for that budget, flagged with a `budget_unavailable` finding and logged.
 *
 * Warnings: the counter says when a settle first took a period's spend to `warnAtPercent`; that
 * settle (and only it) publishes the `budget_warning` live event and writes its audit row. The
 * warning and the period's first reach of the limit each raise an alert (budget.alerts.ts).
 */

import type { BudgetSnapshot } from '../../durable-objects/budget.contract';
import { budgetCounterFor } from '../../durable-objects/do.client';
import type { Finding } from '../../durable-objects/guard.contract';
import { directRowStatement } from '../audit/audit.admin';
import { publishEvent } from '../events/events.publish';
import type { GovernedBudget } from '../governance/governance.types';
import { AppError } from '../lib/errors';
import { randomId } from '../lib/ids';
import { log } from '../lib/log';
import { iso } from '../lib/values';
import { directRow } from '../shared/audit.row';
import { raiseBudgetAlert } from './budget.alerts';

type BudgetEnv = Pick<Env, 'BUDGETS' | 'DB' | 'EVENT_HUB' | 'METRICS_HUB'>;

export interface BudgetHold {
  /** The budgets reserved against (for the audit row). */
  readonly budgetIds: readonly string[];
  /**
   * Replaces the reservations with the actual cost. `actualUsd` null (no usage reported): a broken
   * answer is charged its reservation (the provider probably billed it), a complete one nothing.
   */
  settle(actualUsd: number | null, broken: boolean): void;
  /** Drops the reservations (the call was refused after reserving: kill switch, rate limit). */
  release(): void;
}

export interface BudgetGateResult {
  hold: BudgetHold | null;
  refusal: AppError | null;
  findings: Finding[];
}

interface GateInput {
  env: BudgetEnv;
  ctx: Pick<ExecutionContext, 'waitUntil'>;
  budgets: readonly GovernedBudget[];
  /** The call's estimated cost; null when it cannot be counted (an unpriced model or passthrough: see reserveBudgets). */
  amountUsd: number | null;
  failOpen: boolean;
  /** For the warning's audit row and event. */
  connection: { id: string; slug: string };
}

export async function reserveBudgets(input: GateInput): Promise<BudgetGateResult> {
  const { env, budgets } = input;
  if (budgets.length === 0) return { hold: null, refusal: null, findings: [] };
  // A model without a price (or a passthrough call that may create billable work) would reserve $0
  // and settle $0: under a `block` budget any number of its calls would pass, whatever they cost. Refused before anything is booked;
  // a `warn` budget only watches, so it lets the call through at $0 (flagged `unpriced_model`).
  const blocking = input.amountUsd === null ? budgets.find((b) => b.enforcement === 'block') : undefined;
  if (blocking) return { hold: null, refusal: unpricedUnderBudget(blocking), findings: [] };
  const amountUsd = input.amountUsd ?? 0;
  const reservationId = randomId('rsv');
  const settled = await Promise.allSettled(
    budgets.map((b) => budgetCounterFor(env, b.budgetId).reserve({ config: b, reservationId, amountUsd })),
  );
  const findings: Finding[] = [];
  const held: GovernedBudget[] = [];
  let refusal: AppError | null = null;
  settled.forEach((result, i) => {
    const budget = budgets[i]!;
    if (result.status === 'rejected') {
      log('warn', 'budget counter unreachable', { budgetId: budget.budgetId, err: result.reason });
      if (input.failOpen) {
        findings.push({
          stage: 'budget',
          kind: 'budget_unavailable',
          severity: 'medium',
          detail: { budgetId: budget.budgetId },
        });
      } else {
        refusal ??= new AppError('guard_unavailable', { details: { budgetId: budget.budgetId } });
      }
      return;
    }
    const { admitted, overLimit, snapshot, exceeded } = result.value;
    if (exceeded) raiseBudgetAlert(env, input.ctx, budget, snapshot, 'limit', input.connection.id);
    if (!admitted) {
      refusal ??= budgetExceeded(budget, snapshot);
      return;
    }
    held.push(budget);
    if (overLimit) {
      findings.push({
        stage: 'budget',
        kind: 'budget_over_limit',
        severity: 'medium',
        detail: {
          budgetId: budget.budgetId,
          name: budget.name,
          limitUsd: budget.limitUsd,
          spentUsd: snapshot.spentUsd,
        },
      });
    }
  });
  const hold = makeHold(input, held, reservationId);
  if (refusal) {
    hold.release();
    return { hold: null, refusal, findings };
  }
  return { hold, refusal: null, findings };
}

/** 402 like a spent budget, so the SDKs raise the same error; the message says how to fix it. */
function unpricedUnderBudget(budget: GovernedBudget): AppError {
  return new AppError('budget_exceeded', {
    message: `Budget ${JSON.stringify(budget.name || budget.budgetId)} (${budget.scope}) cannot count this call's cost: its model has no price, or it is a passthrough call the gateway does not price; an admin can price a model (PUT /api/v1/llm/prices)`,
    details: { budgetId: budget.budgetId, name: budget.name, scope: budget.scope, reason: 'unpriced' },
  });
}

function budgetExceeded(budget: GovernedBudget, snapshot: BudgetSnapshot): AppError {
  const resetsAt = iso(snapshot.periodEnd);
  return new AppError('budget_exceeded', {
    message: `Budget ${JSON.stringify(budget.name || budget.budgetId)} (${budget.scope}) is exhausted for this period; it resets at ${resetsAt}`,
    details: {
      budgetId: budget.budgetId,
      name: budget.name,
      scope: budget.scope,
      limitUsd: budget.limitUsd,
      spentUsd: snapshot.spentUsd,
      reservedUsd: snapshot.reservedUsd,
      resetsAt,
    },
  });
}

function makeHold(input: GateInput, held: GovernedBudget[], reservationId: string): BudgetHold {
  const { env, ctx } = input;
  let done = false;
  return {
    budgetIds: held.map((b) => b.budgetId),
    settle(actualUsd, broken) {
      if (done) return;
      done = true;
      const amount = actualUsd ?? (broken ? (input.amountUsd ?? 0) : 0);
      for (const budget of held) {
        ctx.waitUntil(
          budgetCounterFor(env, budget.budgetId)
            .settle({ config: budget, reservationId, actualUsd: amount })
            .then(async ({ warn, exceeded, snapshot }) => {
              if (warn) raiseBudgetAlert(env, ctx, budget, snapshot, 'warning', input.connection.id);
              if (exceeded) raiseBudgetAlert(env, ctx, budget, snapshot, 'limit', input.connection.id);
              if (warn) await warnBudget(env, ctx, input.connection, budget, snapshot);
            })
            .catch((err: unknown) => log('warn', 'budget settle failed; the reservation expires', { err })),
        );
      }
    },
    release() {
      if (done) return;
      done = true;
      for (const budget of held) {
        ctx.waitUntil(
          budgetCounterFor(env, budget.budgetId)
            .release(budget, reservationId)
            .catch((err: unknown) => log('warn', 'budget release failed; the reservation expires', { err })),
        );
      }
    },
  };
}

/** The one `budget_warning` of a budget's period: an audit row and a live event. */
async function warnBudget(
  env: BudgetEnv,
  ctx: Pick<ExecutionContext, 'waitUntil'>,
  connection: { id: string; slug: string },
  budget: GovernedBudget,
  snapshot: BudgetSnapshot,
): Promise<void> {
  const detail = {
    budgetId: budget.budgetId,
    name: budget.name,
    scope: budget.scope,
    scopeRef: budget.scopeRef,
    limitUsd: budget.limitUsd,
    warnAtPercent: budget.warnAtPercent,
    spentUsd: snapshot.spentUsd,
    percent: snapshot.percent,
    periodStart: iso(snapshot.periodStart),
    periodEnd: iso(snapshot.periodEnd),
  };
  await directRowStatement(
    env.DB,
    directRow({
      orgId: budget.orgId,
      type: 'admin',
      connectionId: connection.id,
      connectionSlug: connection.slug,
      sessionId: null,
      apiKeyId: null,
      actor: 'system:budgets',
      user: null,
      action: 'budget_warning',
      details: detail,
    }),
  ).run();
  publishEvent(env, ctx, budget.orgId, {
    type: 'budget_warning',
    serverId: connection.id,
    ...detail,
    timestamp: new Date().toISOString(),
  });
}
