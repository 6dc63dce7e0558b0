/**
 * The contract of the BudgetCounter Durable Object (budget-counter.do.ts): one object per budget
 * (`budget:<budgetId>`), holding the period's spent total and the reservations in flight. Callers
 * reach it only through do.client.ts `budgetCounterFor`.
 *
 * Concurrency: every method runs to completion inside the object (synchronous SQLite, no await),
 * so reserve checks and books in one step — N concurrent calls at a budget's edge can overspend
 * only by what their actual costs exceed their reservations.
 */

/** What the object needs to know about its budget; sent with every call, so edits apply at once. */
export interface BudgetConfig {
  budgetId: string;
  orgId: string;
  limitUsd: number;
  warnAtPercent: number;
  enforcement: 'block' | 'warn';
  resetDay: number;
  timezone: string;
}

export interface BudgetSnapshot {
  budgetId: string;
  limitUsd: number;
  spentUsd: number;
  reservedUsd: number;
  /** Reservations not yet settled. */
  inFlight: number;
  remainingUsd: number;
  /** spent / limit × 100, rounded to 0.01. */
  percent: number;
  periodStart: number;
  periodEnd: number;
  /** True once this period's `budget_warning` was raised. */
  warned: boolean;
}

export interface ReserveRequest {
  config: BudgetConfig;
  reservationId: string;
  amountUsd: number;
}

/**
 * `admitted: false` only for `block` budgets whose spent + reserved + this estimate would pass
 * the limit; a `warn` budget admits and says `overLimit`.
 */
export interface ReserveResult {
  admitted: boolean;
  overLimit: boolean;
  snapshot: BudgetSnapshot;
  /** True exactly once per period: the first refusal of a `block` budget (its limit event). */
  exceeded?: boolean;
}

export interface SettleRequest {
  config: BudgetConfig;
  reservationId: string;
  actualUsd: number;
}

export interface SettleResult {
  snapshot: BudgetSnapshot;
  /** True exactly once per period: the settle that first took spent to warnAtPercent. */
  warn: boolean;
  /** True exactly once per period: the settle that first took spent to the limit. */
  exceeded: boolean;
}

export interface PeriodRecord {
  periodStart: number;
  periodEnd: number;
  spentUsd: number;
  /** `period_end` (alarm) or `manual` (POST /budgets/:id/reset). */
  closedBy: 'period_end' | 'manual';
}

/** How long an unsettled reservation holds budget before the object's alarm drops it. */
export const RESERVATION_TTL_MS = 60 * 60 * 1000;

export function budgetObjectName(budgetId: string): string {
  return `budget:${budgetId}`;
}
