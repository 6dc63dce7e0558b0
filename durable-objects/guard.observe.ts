/**
 * What the rows a ConnectionGuard decides raise besides themselves (connection-guard.do.ts): each
 * call's metrics and the alerts its findings raise (metrics.contract.ts, alert.rules.ts), deny
 * spikes, and the anomaly detectors (anomaly.detect.ts), whose findings become audit rows, metrics,
 * alerts and live events of their own. Everything here is only recorded: metrics leave with the
 * next metrics batch (metrics.outbox.ts), events with the events outbox (guard.events.ts), and
 * anomaly rows with the spool's flush — all off the call's path. An anomaly is never a refusal.
 */
import type { AuditEventInsert } from '../workers/db/schema';
import { anomalyRow } from '../workers/shared/audit.row';
import { anomalyAlert, DenySpikes, rowAlerts } from './alert.rules';
import type { AnomalyDetector, AnomalyFinding, AnomalySettings } from './anomaly.detect';
import type { Spool } from './audit.spool';
import type { Finding } from './guard.contract';
import type { GuardEvents } from './guard.events';
import type { MetricsOutbox } from './metrics.outbox';

export class GuardObserver {
  /** The connection's `settings.anomaly`, replaced by the guard at each read from D1. */
  anomalySettings: AnomalySettings = {};
  readonly #denySpikes = new DenySpikes();
  readonly #anomalies: AnomalyDetector;
  readonly #spool: Spool;
  readonly #metrics: MetricsOutbox;
  readonly #events: GuardEvents;

  constructor(anomalies: AnomalyDetector, spool: Spool, metrics: MetricsOutbox, events: GuardEvents) {
    this.#anomalies = anomalies;
    this.#spool = spool;
    this.#metrics = metrics;
    this.#events = events;
  }

  /**
   * Metrics and alerts of a row: its call counted once (a refusal at admit, an admitted call at its
   * outcome; `call: false` for a streamed answer's late findings), its findings, the alerts they
   * raise, and (when `now` is given) the deny-spike count.
   */
  observe(
    row: AuditEventInsert,
    findings: readonly Finding[],
    how: { call: boolean; gatewayMs?: number; now?: number },
  ): void {
    const recorder = this.#metrics.recorder;
    if (how.call) recorder.call(row, how.gatewayMs);
    recorder.findings(row, findings);
    for (const alert of rowAlerts(how.call ? row : { ...row, action: 'finding' }, findings))
      recorder.raise(alert);
    const spike = how.now === undefined ? null : this.#denySpikes.observe(row, how.now);
    if (spike) recorder.raise(spike);
  }

  /** Feeds one admit's rows to the anomaly detectors; each finding is reported in the first row's name. */
  detectAnomalies(rows: AuditEventInsert[], now: number): void {
    const template = rows[0];
    if (!template) return;
    const tools = rows.filter((r) => r.type === 'tool_call' && r.tool).map((r) => r.tool!);
    const findings = this.#anomalies.observe(
      { calls: rows.length, tools, tool: template.tool ?? null },
      now,
      this.anomalySettings,
    );
    for (const finding of findings) this.#reportAnomaly(finding, template, now);
  }

  /** An anomaly is an audit row (through the same durable spool) and a live event. Never a refusal. */
  #reportAnomaly(finding: AnomalyFinding, template: AuditEventInsert, now: number): void {
    const row = anomalyRow(
      template,
      {
        anomalyType: finding.anomalyType,
        method: finding.anomalyType === 'destructive_pattern' ? 'tools/call' : (template.method ?? null),
        tool: finding.toolName,
        details: finding.details,
      },
      now,
    );
    this.#spool.put(row, true);
    this.#metrics.recorder.anomaly(row, finding.anomalyType);
    this.#metrics.recorder.raise(anomalyAlert(row, finding.anomalyType, finding.toolName));
    this.#events.anomaly(row, finding, now);
  }
}
