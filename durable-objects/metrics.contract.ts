/**
 * The ConnectionGuard ↔ MetricsHub contract, and the pure recorder that turns audit rows into
 * metric deltas. A guard folds every call it sees (admit: refusals; complete: outcomes) into a
 * MetricsBatch and sends the batch to its organization's hub off the hot path (metrics.outbox.ts).
 *
 * Deltas, not totals: the hub adds them to what it holds, so many guards (in many isolates and
 * colos) add up, and a counter can only grow. A batch carries an id so a resent batch is applied
 * once. Fields are added as optional only (old and new guards run side by side during a deploy).
 */
import type { AuditEventInsert } from '../workers/db/schema';
import { boundedSet } from '../workers/lib/bounded.map';
import type { AlertCandidate } from './alert.rules';
import type { Finding } from './guard.contract';
import { LATENCY_BUCKETS, type Labels, seriesKey } from './metrics.catalog';

/** The latest health figures of one guard's spool (gauges: replaced, not added). */
export interface SpoolHealth {
  /** Who reports: the guard's connection id. */
  source: string;
  backlog: number;
  oldestUnflushedSeconds: number;
}

export interface MetricsBatch {
  /** Unique per batch: the hub applies a batch id at most once. */
  id: string;
  /** seriesKey → amount to add. */
  counters: Record<string, number>;
  health?: SpoolHealth;
  /** Alerts raised since the last batch (alert.rules.ts), merged by fingerprint. */
  alerts?: AlertCandidate[];
}

/** The name of an organization's MetricsHub (the only place it is spelled). */
export function metricsHubName(orgId: string): string {
  return `metrics:${orgId}`;
}

/** What kind of call a row is, for the `type` label. */
export function callType(row: AuditEventInsert): 'mcp' | 'llm' | 'a2a' {
  return row.type === 'llm_call' ? 'llm' : row.type === 'a2a_call' ? 'a2a' : 'mcp';
}

function connectionLabels(row: AuditEventInsert): Labels {
  return { connection: row.connectionSlug ?? row.connectionId ?? '', connection_id: row.connectionId ?? '' };
}

/** Accumulates deltas until the outbox sends them; `take()` empties it. */
interface HistogramKeys {
  buckets: string[];
  inf: string;
  sum: string;
  count: string;
}

const MAX_HISTOGRAM_KEYS = 1_000;

/**
 * Longest label value a series carries (characters). Some values come from callers (an MCP method
 * name, an LLM model); the hub refuses a whole batch whose series key is over 2,000 characters, so
 * one long value would otherwise drop every other count and alert of its guard's batch.
 */
export const MAX_LABEL_CHARS = 128;

/**
 * Longest alert fingerprint and title (characters), under the hub's limits (500 each). Both may
 * hold a caller's tool name (up to 512 bytes): over the limit, the hub refuses the whole batch —
 * every alert and count of the guard's batch, a kill switch's alert among them, would be lost.
 * A fingerprint cut short may merge two alerts of very long names; it never loses one.
 */
export const MAX_FINGERPRINT_CHARS = 400;
export const MAX_TITLE_CHARS = 300;

function cut(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}

function boundedAlert(alert: AlertCandidate): AlertCandidate {
  if (alert.fingerprint.length <= MAX_FINGERPRINT_CHARS && alert.title.length <= MAX_TITLE_CHARS)
    return alert;
  return {
    ...alert,
    fingerprint: cut(alert.fingerprint, MAX_FINGERPRINT_CHARS),
    title: cut(alert.title, MAX_TITLE_CHARS),
  };
}

/** Label values cut to MAX_LABEL_CHARS. */
function boundedLabels(labels: Labels): Labels {
  let out: Labels | null = null;
  for (const [k, v] of Object.entries(labels)) {
    if (v.length <= MAX_LABEL_CHARS) continue;
    out ??= { ...labels };
    out[k] = `${v.slice(0, MAX_LABEL_CHARS - 1)}…`;
  }
  return out ?? labels;
}

/**
 * The `method` label of a row: a method the gateway refused as unknown is `unknown`, whatever the
 * caller spelled — each distinct spelling would otherwise be a new series, without bound.
 */
function methodLabel(row: AuditEventInsert): string {
  return row.errorCode === 'method_not_found' ? 'unknown' : (row.method ?? '');
}

export class MetricsRecorder {
  #counters = new Map<string, number>();
  readonly #histograms = new Map<string, HistogramKeys>();
  #alerts = new Map<string, AlertCandidate>();

  get size(): number {
    return this.#counters.size + this.#alerts.size;
  }

  /** An alert to raise; repeats of a fingerprint before the next batch add to its count. */
  raise(candidate: AlertCandidate): void {
    const alert = boundedAlert(candidate);
    const seen = this.#alerts.get(alert.fingerprint);
    if (seen) seen.count += alert.count;
    else this.#alerts.set(alert.fingerprint, { ...alert });
  }

  takeAlerts(): AlertCandidate[] {
    const out = [...this.#alerts.values()];
    this.#alerts = new Map();
    return out;
  }

  add(name: string, labels: Labels, amount = 1): void {
    if (!Number.isFinite(amount) || amount <= 0) return;
    const key = seriesKey(name, boundedLabels(labels));
    this.#counters.set(key, (this.#counters.get(key) ?? 0) + amount);
  }

  /** A histogram observation: the buckets it falls in, the sum and the count. */
  observe(name: string, labels: Labels, seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) return;
    const keys = this.#histogramKeys(name, boundedLabels(labels));
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
      if (seconds <= LATENCY_BUCKETS[i]!) this.#bump(keys.buckets[i]!, 1);
    }
    this.#bump(keys.inf, 1);
    this.#bump(keys.sum, seconds);
    this.#bump(keys.count, 1);
  }

  #bump(key: string, amount: number): void {
    this.#counters.set(key, (this.#counters.get(key) ?? 0) + amount);
  }

  /**
   * A histogram's series keys for one label set, made once: each observation would otherwise sort
   * and serialise its labels once per bucket (about 17 times per histogram, twice per call).
   */
  #histogramKeys(name: string, labels: Labels): HistogramKeys {
    const id = seriesKey(name, labels);
    let keys = this.#histograms.get(id);
    if (!keys) {
      keys = {
        buckets: LATENCY_BUCKETS.map((bound) =>
          seriesKey(`${name}_bucket`, { ...labels, le: String(bound) }),
        ),
        inf: seriesKey(`${name}_bucket`, { ...labels, le: '+Inf' }),
        sum: seriesKey(`${name}_sum`, labels),
        count: seriesKey(`${name}_count`, labels),
      };
      // Bounded like any memo: label sets come from connections, methods and actions.
      boundedSet(this.#histograms, id, keys, MAX_HISTOGRAM_KEYS);
    }
    return keys;
  }

  /**
   * A call whose decision is final (a refusal at admit) or whose outcome just arrived (complete):
   * counted once per audit row. `gatewayMs` is what the gateway added to a forwarded call.
   */
  call(row: AuditEventInsert, gatewayMs?: number): void {
    const base = connectionLabels(row);
    const type = callType(row);
    this.add('igris_requests_total', { ...base, type, method: methodLabel(row), action: row.action });
    if (row.action === 'rate_limited') this.add('igris_rate_limited_total', { ...base, type });
    if (row.action === 'killed') this.add('igris_killswitch_refusals_total', { ...base, type });
    if (
      typeof row.latencyMs === 'number' &&
      row.upstreamStatus !== undefined &&
      row.upstreamStatus !== null
    ) {
      this.observe('igris_upstream_latency_seconds', { ...base, type }, row.latencyMs / 1000);
    }
    if (gatewayMs !== undefined)
      this.observe('igris_gateway_latency_seconds', { ...base, type }, gatewayMs / 1000);
    if (type === 'llm') this.#usage(row);
  }

  findings(row: AuditEventInsert, findings: readonly Finding[]): void {
    const base = connectionLabels(row);
    for (const f of findings) {
      // A task's lifecycle (A2A `task_state`), a send's context and a stored LLM response are records, not detections.
      if (f.stage === 'a2a_task' || f.stage === 'a2a_context' || f.stage === 'llm_response') continue;
      const category = typeof f.detail?.category === 'string' ? f.detail.category : f.kind.split('.')[0]!;
      this.add('igris_detections_total', {
        ...base,
        stage: f.stage,
        category,
        severity: f.severity ?? 'info',
      });
      if (f.stage === 'tool_integrity' || f.kind.includes('drift')) {
        this.add('igris_drift_events_total', { ...base, kind: f.kind });
      }
    }
  }

  anomaly(row: AuditEventInsert, anomalyType: string): void {
    this.add('igris_anomalies_total', { ...connectionLabels(row), anomaly_type: anomalyType });
  }

  take(): Record<string, number> {
    const out = Object.fromEntries(this.#counters);
    this.#counters = new Map();
    return out;
  }

  #usage(row: AuditEventInsert): void {
    const model: Labels = { model: row.model ?? 'unknown', connection: connectionLabels(row).connection! };
    const tokens: Array<[string, number | null | undefined]> = [
      ['input', row.inputTokens],
      ['cached_input', row.cachedInputTokens],
      ['output', row.outputTokens],
      ['reasoning', row.reasoningTokens],
    ];
    for (const [kind, n] of tokens)
      if (typeof n === 'number') this.add('igris_llm_tokens_total', { ...model, kind }, n);
    if (typeof row.costUsd === 'number') this.add('igris_llm_cost_usd_total', model, row.costUsd);
  }
}

/** The findings stored on a row (details.findings). */
export function rowFindings(row: AuditEventInsert): Finding[] {
  const details = row.details as { findings?: unknown } | null | undefined;
  return Array.isArray(details?.findings) ? (details.findings as Finding[]) : [];
}
