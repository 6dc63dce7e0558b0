/**
 * Which events raise an alert (the alert inbox, docs/observability.md). Pure: a guard feeds it the
 * rows and anomalies it sees; what comes out travels to the organization's MetricsHub with the
 * metric deltas, which writes it to D1 deduplicated by fingerprint (one active alert per
 * fingerprint; a repeat adds to its `count`).
 *
 *   kill_switch  calls refused by a kill switch         fingerprint per kill switch
 *   detection    a finding of severity high/critical    per connection, stage and kind
 *   drift        a tool definition changed              per connection, kind and tool
 *   anomaly      rate_spike / destructive_pattern       per connection, anomaly and tool
 *   deny_spike   DENY_SPIKE denials within a minute     per connection
 *   budget       a budget's warning threshold or limit  per budget, period and kind (its counter
 *                crossed in a period                    says each crossing once per period)
 *   policy       a call matched by an `alert` rule      per connection, rule and governed name
 *                (forwarded, and raised here)
 */
import type { AuditEventInsert } from '../workers/db/schema';
import type { Finding } from './guard.contract';

export type AlertSeverity = 'critical' | 'high' | 'medium' | 'low' | 'info';

export interface AlertCandidate {
  fingerprint: string;
  type: 'kill_switch' | 'detection' | 'drift' | 'anomaly' | 'deny_spike' | 'budget' | 'policy';
  severity: AlertSeverity;
  title: string;
  connectionId: string | null;
  /** How many occurrences this candidate stands for. */
  count: number;
  details: Record<string, unknown>;
}

/** Denials of one connection within DENY_WINDOW_MS that raise a deny_spike alert. */
export const DENY_SPIKE = 20;
export const DENY_WINDOW_MS = 60_000;

const name = (row: AuditEventInsert) => row.connectionSlug ?? row.connectionId ?? 'unknown connection';

/** The alerts a final row (refusal, or a call with its outcome) raises by itself. */
export function rowAlerts(row: AuditEventInsert, findings: readonly Finding[]): AlertCandidate[] {
  const out: AlertCandidate[] = [];
  const connectionId = row.connectionId ?? null;
  const details = (row.details ?? {}) as Record<string, unknown>;
  if (row.action === 'alert') {
    // An `alert` rule forwards the call and asks for a human to look (docs/policies.md).
    const rule = row.ruleIndex ?? null;
    out.push({
      fingerprint: `policy:${connectionId}:${rule ?? ''}:${row.tool ?? ''}`,
      type: 'policy',
      severity: 'medium',
      title: `Alert rule matched on ${name(row)}${row.tool ? `: ${row.tool}` : ''}`,
      connectionId,
      count: 1,
      details: {
        ruleIndex: rule,
        policyVersion: row.policyVersion ?? null,
        tool: row.tool ?? null,
        eventId: row.id,
        traceId: row.traceId ?? null,
      },
    });
  }
  if (row.action === 'killed') {
    const killSwitchId = typeof details.killSwitchId === 'string' ? details.killSwitchId : 'unknown';
    out.push({
      fingerprint: `kill_switch:${killSwitchId}`,
      type: 'kill_switch',
      severity: 'high',
      title: `Calls refused by a kill switch on ${name(row)}`,
      connectionId,
      count: 1,
      details: { killSwitchId, scope: details.scope ?? null, eventId: row.id, traceId: row.traceId ?? null },
    });
  }
  for (const f of findings) {
    const drift = f.stage === 'tool_integrity' || f.kind.includes('drift');
    if (drift) {
      const tool = typeof f.detail?.name === 'string' ? f.detail.name : (row.tool ?? '');
      out.push({
        fingerprint: `drift:${connectionId}:${f.kind}:${tool}`,
        type: 'drift',
        severity: f.severity ?? 'medium',
        title: `Tool definition changed on ${name(row)}${tool ? `: ${tool}` : ''}`,
        connectionId,
        count: 1,
        details: { kind: f.kind, tool, eventId: row.id, traceId: row.traceId ?? null },
      });
    } else if (f.severity === 'high' || f.severity === 'critical') {
      out.push({
        fingerprint: `detection:${connectionId}:${f.stage}:${f.kind}`,
        type: 'detection',
        severity: f.severity,
        title: `${f.kind} detected on ${name(row)}`,
        connectionId,
        count: 1,
        details: { stage: f.stage, kind: f.kind, eventId: row.id, traceId: row.traceId ?? null },
      });
    }
  }
  return out;
}

export function anomalyAlert(
  row: AuditEventInsert,
  anomalyType: string,
  tool: string | null,
): AlertCandidate {
  return {
    fingerprint: `anomaly:${row.connectionId}:${anomalyType}:${tool ?? ''}`,
    type: 'anomaly',
    severity: anomalyType === 'destructive_pattern' ? 'high' : 'medium',
    title: `Anomaly ${anomalyType} on ${name(row)}${tool ? `: ${tool}` : ''}`,
    connectionId: row.connectionId ?? null,
    count: 1,
    details: { anomalyType, tool, eventId: row.id, traceId: row.traceId ?? null },
  };
}

/** Counts a connection's denials per minute; raises one deny_spike when a minute reaches DENY_SPIKE. */
export class DenySpikes {
  #times: number[] = [];
  #raisedAt = Number.NEGATIVE_INFINITY;

  observe(row: AuditEventInsert, now: number): AlertCandidate | null {
    if (row.action !== 'deny') return null;
    this.#times.push(now);
    while (this.#times.length > 0 && this.#times[0]! <= now - DENY_WINDOW_MS) this.#times.shift();
    if (this.#times.length < DENY_SPIKE || now - this.#raisedAt < DENY_WINDOW_MS) return null;
    this.#raisedAt = now;
    return {
      fingerprint: `deny_spike:${row.connectionId}`,
      type: 'deny_spike',
      severity: 'medium',
      title: `${this.#times.length} denied calls within a minute on ${name(row)}`,
      connectionId: row.connectionId ?? null,
      count: 1,
      details: { denials: this.#times.length, windowSeconds: DENY_WINDOW_MS / 1000 },
    };
  }
}

/** What a budget alert says about its budget (workers/budgets/budget.alerts.ts fills it). */
export interface BudgetCrossing {
  budgetId: string;
  name: string;
  scope: string;
  limitUsd: number;
  warnAtPercent: number;
  spentUsd: number;
  percent: number;
  periodStart: number;
  periodEnd: number;
  connectionId: string | null;
}

/** A budget's warning threshold (`warning`) or its limit (`limit`) reached in a period. */
export function budgetAlert(b: BudgetCrossing, kind: 'warning' | 'limit'): AlertCandidate {
  const label = b.name || b.budgetId;
  return {
    fingerprint: `budget:${b.budgetId}:${b.periodStart}:${kind}`,
    type: 'budget',
    severity: kind === 'limit' ? 'high' : 'medium',
    title:
      kind === 'limit'
        ? `Budget ${label} reached its limit of $${b.limitUsd}`
        : `Budget ${label} passed ${b.warnAtPercent}% of $${b.limitUsd}`,
    connectionId: b.connectionId,
    count: 1,
    details: {
      kind,
      budgetId: b.budgetId,
      scope: b.scope,
      limitUsd: b.limitUsd,
      spentUsd: b.spentUsd,
      percent: b.percent,
      periodStart: new Date(b.periodStart).toISOString(),
      periodEnd: new Date(b.periodEnd).toISOString(),
    },
  };
}
