/**
 * The Prometheus metrics of an organization: what each family means, and how the stored series
 * become the text exposition format (https://prometheus.io/docs/instrumenting/exposition_formats/).
 * Pure, so the format is unit-tested and judged by `promtool check metrics` in plain Node.
 *
 * Every series is stored as one number keyed by (name, labels). Counters and histogram parts
 * (`_bucket`, `_sum`, `_count`) only ever grow — the MetricsHub adds deltas, never sets them — so
 * two scrapes in a row never go backwards. Gauges are replaced by their latest report.
 */

export type MetricType = 'counter' | 'histogram' | 'gauge';

export interface Family {
  type: MetricType;
  help: string;
}

/** Upper bounds (seconds) of the latency histograms: p50/p95/p99 are derived with histogram_quantile. */
export const LATENCY_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120,
] as const;

export const FAMILIES = {
  igris_requests_total: {
    type: 'counter',
    help: 'Governed calls by connection, type (mcp/llm/a2a), method or endpoint, and decision (action).',
  },
  igris_gateway_latency_seconds: {
    type: 'histogram',
    help: 'Time the gateway added to a forwarded call (everything but the upstream).',
  },
  igris_upstream_latency_seconds: {
    type: 'histogram',
    help: 'Time the upstream took to answer (to its response headers).',
  },
  igris_rate_limited_total: { type: 'counter', help: 'Calls refused by a rate or token window.' },
  igris_killswitch_refusals_total: { type: 'counter', help: 'Calls refused by a kill switch.' },
  igris_anomalies_total: { type: 'counter', help: 'Anomalies detected, by connection and kind.' },
  igris_detections_total: {
    type: 'counter',
    help: 'Findings of the inspection stages, by stage, category and severity.',
  },
  igris_drift_events_total: {
    type: 'counter',
    help: 'Tool definition changes (drift) seen on a connection.',
  },
  igris_llm_tokens_total: { type: 'counter', help: 'LLM tokens reported by providers, by model and kind.' },
  igris_llm_cost_usd_total: { type: 'counter', help: 'LLM cost priced by the gateway (USD), by model.' },
  igris_spool_backlog_rows: {
    type: 'gauge',
    help: 'Audit rows waiting in a connection guard spool for D1 (latest report of each guard).',
  },
  igris_spool_oldest_unflushed_seconds: {
    type: 'gauge',
    help: 'Age of the oldest audit row not yet written to D1, per connection guard.',
  },
  igris_budget_spent_usd: {
    type: 'gauge',
    help: "A budget's spend in its current period (USD), read from its counter at the scrape.",
  },
  igris_budget_limit_usd: { type: 'gauge', help: "A budget's limit per period (USD)." },
  igris_budget_utilization_ratio: {
    type: 'gauge',
    help: "A budget's spend over its limit in the current period (1 = at the limit).",
  },
  igris_metrics_batches_total: { type: 'counter', help: 'Metric batches the organization hub has applied.' },
  igris_metrics_series_dropped_total: {
    type: 'counter',
    help: 'Deltas for new series the organization hub did not keep: it was at its series limit.',
  },
} as const satisfies Record<string, Family>;

export type FamilyName = keyof typeof FAMILIES;

export type Labels = Record<string, string>;

/** One stored series: `name` may carry a histogram suffix (`_bucket`, `_sum`, `_count`). */
export interface Series {
  name: string;
  labels: Labels;
  value: number;
}

/** A stable key for (name, labels): labels sorted, so the same series always meets itself. */
export function seriesKey(name: string, labels: Labels): string {
  const sorted = Object.keys(labels)
    .sort()
    .map((k) => [k, labels[k]!]);
  return JSON.stringify([name, sorted]);
}

export function parseSeriesKey(key: string): { name: string; labels: Labels } {
  const [name, pairs] = JSON.parse(key) as [string, Array<[string, string]>];
  return { name, labels: Object.fromEntries(pairs) };
}

/** Label values escaped as the text format requires: backslash, double quote, newline. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatLabels(labels: Labels): string {
  const keys = Object.keys(labels).sort((a, b) => (a === 'le' ? 1 : b === 'le' ? -1 : a.localeCompare(b)));
  if (keys.length === 0) return '';
  return `{${keys.map((k) => `${k}="${escapeLabel(labels[k]!)}"`).join(',')}}`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

/** The family a stored series belongs to (histogram parts carry a suffix). */
export function familyOf(name: string): FamilyName | null {
  if (name in FAMILIES) return name as FamilyName;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return base in FAMILIES && FAMILIES[base as FamilyName].type === 'histogram' ? (base as FamilyName) : null;
}

/** Sort order inside a histogram: by labels without `le`, buckets by bound, then _sum and _count. */
function histogramOrder(a: Series, b: Series): number {
  const withoutLe = (s: Series) => {
    const { le: _, ...rest } = s.labels;
    return formatLabels(rest);
  };
  const group = withoutLe(a).localeCompare(withoutLe(b));
  if (group !== 0) return group;
  const rank = (s: Series) => (s.name.endsWith('_bucket') ? 0 : s.name.endsWith('_sum') ? 1 : 2);
  if (rank(a) !== rank(b)) return rank(a) - rank(b);
  const bound = (s: Series) => (s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le ?? 0));
  return bound(a) - bound(b);
}

/**
 * Bucket series that were never incremented, as 0: buckets are cumulative (an observation adds to
 * every bucket at or above it), so a bucket never touched has seen nothing at or below its bound.
 * Every histogram then shows the same bounds, which histogram_quantile needs.
 */
function missingBuckets(name: string, members: Series[]): Series[] {
  const seen = new Set<string>();
  const groups = new Map<string, Labels>();
  for (const s of members) {
    const { le, ...rest } = s.labels;
    const group = formatLabels(rest);
    groups.set(group, rest);
    if (le !== undefined) seen.add(`${group}|${le}`);
  }
  const out: Series[] = [];
  for (const [group, labels] of groups) {
    for (const bound of [...LATENCY_BUCKETS.map(String), '+Inf']) {
      if (!seen.has(`${group}|${bound}`))
        out.push({ name: `${name}_bucket`, labels: { ...labels, le: bound }, value: 0 });
    }
  }
  return out;
}

/** The text exposition of the series: every family with HELP and TYPE, series grouped under it. */
export function exposition(series: Series[]): string {
  const byFamily = new Map<FamilyName, Series[]>();
  for (const s of series) {
    const family = familyOf(s.name);
    if (!family) continue;
    const members = byFamily.get(family);
    if (members) members.push(s);
    else byFamily.set(family, [s]);
  }
  const lines: string[] = [];
  for (const name of Object.keys(FAMILIES) as FamilyName[]) {
    const family = FAMILIES[name];
    lines.push(`# HELP ${name} ${family.help}`, `# TYPE ${name} ${family.type}`);
    const members = byFamily.get(name) ?? [];
    if (family.type === 'histogram') members.push(...missingBuckets(name, members));
    members.sort(
      family.type === 'histogram'
        ? histogramOrder
        : (a, b) => formatLabels(a.labels).localeCompare(formatLabels(b.labels)),
    );
    for (const s of members) lines.push(`${s.name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
  }
  return `${lines.join('\n')}\n`;
}
