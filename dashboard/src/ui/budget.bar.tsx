/**
 * One budget's period as a bar: spent (solid), reserved by calls in flight (hatched) and the
 * warning threshold (a vertical line), against the limit (the full width). The numbers are
 * also written out, so the bar is never the only carrier of the information.
 */
import type { Budget } from '../api/api.types';
import { formatUsd } from './llm.figures';

const clampPercent = (value: number) => Math.max(0, Math.min(100, value));

export function BudgetBar({ budget }: { budget: Budget }) {
  const status = budget.status;
  const limit = budget.limitUsd;
  const spent = status?.spentUsd ?? 0;
  const reserved = status?.reservedUsd ?? 0;
  const spentPct = limit > 0 ? clampPercent((spent / limit) * 100) : spent > 0 ? 100 : 0;
  const reservedPct = limit > 0 ? clampPercent((reserved / limit) * 100) : 0;
  const over = status !== null && status.percent >= 100;
  const warned = status !== null && status.percent >= budget.warnAtPercent;
  const tone = over ? 'bad' : warned ? 'warn' : 'ok';
  const label = `${formatUsd(spent)} spent, ${formatUsd(reserved)} reserved of ${formatUsd(limit)}; warning at ${budget.warnAtPercent}%`;
  return (
    <div className="budget-figure">
      <div className={`budget-bar budget-${tone}`} role="img" aria-label={`${budget.name}: ${label}`}>
        <span className="budget-spent" style={{ width: `${spentPct}%` }} />
        <span
          className="budget-reserved"
          style={{ width: `${Math.min(reservedPct, 100 - spentPct)}%` }}
          aria-hidden="true"
        />
        <span
          className="budget-warn-line"
          style={{ left: `${clampPercent(budget.warnAtPercent)}%` }}
          title={`Warning at ${budget.warnAtPercent}%`}
          aria-hidden="true"
        />
      </div>
      <dl className="budget-legend small">
        <div>
          <dt>Spent</dt>
          <dd data-testid="budget-spent">{formatUsd(spent)}</dd>
        </div>
        <div>
          <dt>Reserved</dt>
          <dd>
            {formatUsd(reserved)}
            {status && status.inFlight > 0 ? ` (${status.inFlight} in flight)` : ''}
          </dd>
        </div>
        <div>
          <dt>Remaining</dt>
          <dd>{formatUsd(status?.remainingUsd ?? limit)}</dd>
        </div>
        <div>
          <dt>Limit</dt>
          <dd>
            {formatUsd(limit)} · warn at {budget.warnAtPercent}%
          </dd>
        </div>
        <div>
          <dt>Used</dt>
          <dd className={over ? 'text-bad' : warned ? 'text-warn' : undefined}>
            {Math.round(status?.percent ?? 0)}%
          </dd>
        </div>
      </dl>
    </div>
  );
}
