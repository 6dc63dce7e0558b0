/**
 * How a call's decision and its outcome are shown everywhere (Observe stream, Audit list, a
 * connection's recent activity): the decision badge is green only when the call also succeeded.
 * An upstream that was unreachable, timed out or answered 5xx is red; a 4xx or an outcome that
 * never arrived is amber. `pass` carries its meaning in a tooltip.
 */
import type { Connection } from '../api/api.types';
import { formatTime, timeAgo } from '../lib/format';

export type OutcomeName =
  | 'ok'
  | 'upstream_rejected'
  | 'upstream_error'
  | 'timeout'
  | 'outcome_unknown'
  | 'refused';

interface CallFields {
  action: string;
  outcome?: OutcomeName | null | undefined;
  upstreamStatus?: number | null | undefined;
  errorCode?: string | null | undefined;
}

export const ACTION_HINTS: Record<string, string> = {
  allow: 'allow = a policy rule allowed it; forwarded',
  pass: 'pass = not governed by the policy (protocol traffic), forwarded',
  alert: 'alert = allowed and forwarded, flagged by its rule',
  deny: 'deny = refused by the policy; not forwarded',
  killed: 'killed = refused by a kill switch; not forwarded',
  rate_limited: 'rate_limited = refused by a rate limit; not forwarded',
  error: 'error = refused by the gateway (bad request, disabled connection…); not forwarded',
};

const BAD_OUTCOMES = new Set<OutcomeName>(['upstream_error', 'timeout']);
const WARN_OUTCOMES = new Set<OutcomeName>(['upstream_rejected', 'outcome_unknown']);
const DECISION_TONES: Record<string, string> = {
  allow: 'ok',
  pass: 'ok',
  alert: 'warn',
};

/** Short words for what went wrong: "upstream 502", "unreachable", "timed out"… (null when fine). */
export function outcomeLabel(call: CallFields): string | null {
  switch (call.outcome) {
    case 'upstream_error':
      return call.upstreamStatus ? `upstream ${call.upstreamStatus}` : 'upstream unreachable';
    case 'timeout':
      return 'upstream timed out';
    case 'upstream_rejected':
      return `upstream ${call.upstreamStatus ?? '4xx'}`;
    case 'outcome_unknown':
      return 'outcome unknown';
    default:
      return null;
  }
}

export function outcomeTone(outcome: OutcomeName | null | undefined): 'bad' | 'warn' | null {
  if (outcome && BAD_OUTCOMES.has(outcome)) return 'bad';
  if (outcome && WARN_OUTCOMES.has(outcome)) return 'warn';
  return null;
}

/** The decision (allow, deny, pass…) coloured by what happened, with the outcome beside it. */
export function DecisionBadge({ call }: { call: CallFields }) {
  const failed = outcomeTone(call.outcome);
  const tone = failed ?? DECISION_TONES[call.action] ?? 'bad';
  const label = outcomeLabel(call);
  return (
    <span className="decision" data-testid="decision" data-outcome={call.outcome ?? ''}>
      <span className={`badge badge-${tone}`} title={ACTION_HINTS[call.action]}>
        {call.action}
      </span>
      {label ? (
        <span
          className={`badge badge-${failed} outcome-badge`}
          title={call.errorCode ? `${call.outcome}: ${call.errorCode}` : (call.outcome ?? undefined)}
        >
          {label}
        </span>
      ) : null}
    </span>
  );
}

/** What the decision words mean (shown under the Audit list). */
export function DecisionLegend() {
  return (
    <p className="muted small decision-legend" data-testid="decision-legend">
      <strong>allow</strong> = allowed by a rule · <strong>pass</strong> = not governed by the policy
      (protocol traffic), forwarded · <strong>deny</strong>, <strong>killed</strong>,{' '}
      <strong>rate_limited</strong>, <strong>error</strong> = refused, not forwarded. A red badge beside a
      decision means the upstream failed (unreachable, timed out or 5xx); amber, that it refused (4xx).
    </p>
  );
}

type Health = NonNullable<Connection['health']>;

const HEALTH_TONES: Record<Health['status'], string> = {
  idle: 'muted',
  ok: 'ok',
  degraded: 'warn',
  failing: 'bad',
};

function percent(rate: number): string {
  const p = rate * 100;
  return `${p < 10 && p > 0 ? p.toFixed(1) : Math.round(p)}%`;
}

/** The upstream's health over the last hour: a badge, and the last error when there was one. */
export function HealthBadge({
  health,
  detailed = false,
}: {
  health: Health | undefined;
  detailed?: boolean;
}) {
  if (!health) return <span className="muted">—</span>;
  const last = health.lastError;
  const lastText = last
    ? `${last.upstreamStatus ? `HTTP ${last.upstreamStatus}` : (last.errorCode ?? last.outcome)}`
    : null;
  const label =
    health.status === 'idle'
      ? 'no traffic'
      : health.status === 'ok'
        ? 'healthy'
        : `${percent(health.errorRate)} errors`;
  const title = `Last hour: ${health.calls} forwarded call${health.calls === 1 ? '' : 's'}, ${health.errors} upstream failure${health.errors === 1 ? '' : 's'}${last ? `; last error ${lastText} at ${formatTime(last.at)}` : ''}`;
  return (
    <span className="health" data-testid="connection-health" data-status={health.status} title={title}>
      <span className={`badge badge-${HEALTH_TONES[health.status]}`}>{label}</span>
      {last ? (
        <span className="small health-last">
          last error {lastText} {timeAgo(last.at)}
        </span>
      ) : null}
      {detailed ? (
        <span className="muted small">
          {' '}
          · {health.errors}/{health.calls} failed in the last hour
        </span>
      ) : null}
    </span>
  );
}
