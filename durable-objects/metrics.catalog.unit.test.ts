/**
 * The exposition format, judged by Prometheus's own `promtool check metrics` (Debian's
 * `prometheus` package; .ci/run installs it): every family, histograms, escaped label values.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { AuditEventInsert } from '../workers/db/schema';
import { exposition, parseSeriesKey, type Series } from './metrics.catalog';
import { MetricsRecorder } from './metrics.contract';

function promtool(text: string): { status: number | null; output: string } {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (run.error) throw new Error(`promtool is required (apt-get install prometheus): ${run.error.message}`);
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

function seriesOf(recorder: MetricsRecorder): Series[] {
  return Object.entries(recorder.take()).map(([key, value]) => ({ ...parseSeriesKey(key), value }));
}

const mcpRow: AuditEventInsert = {
  id: 'evt_1',
  orgId: 'org_1',
  type: 'tool_call',
  connectionId: 'con_1',
  connectionSlug: 'weird "slug"\\with\nnewline',
  method: 'tools/call',
  action: 'allow',
  upstreamStatus: 200,
  latencyMs: 42,
  createdAt: 0,
};

describe('prometheus exposition', () => {
  it('is accepted by promtool, with every family and escaped labels', () => {
    const r = new MetricsRecorder();
    r.call(mcpRow, 3);
    r.call({ ...mcpRow, id: 'evt_2', action: 'rate_limited', upstreamStatus: null, latencyMs: null });
    r.call({ ...mcpRow, id: 'evt_3', action: 'killed', upstreamStatus: null, latencyMs: null });
    r.call(
      {
        ...mcpRow,
        id: 'evt_4',
        type: 'llm_call',
        method: 'chat.completions',
        model: 'gpt-4o-mini',
        inputTokens: 120,
        cachedInputTokens: 20,
        outputTokens: 30,
        reasoningTokens: 0,
        costUsd: 0.000123,
      },
      5,
    );
    r.findings(mcpRow, [
      { stage: 'inspection', kind: 'pii.email', severity: 'medium' },
      { stage: 'tool_integrity', kind: 'tool_changed', severity: 'high' },
    ]);
    r.anomaly(mcpRow, 'call_spike');
    const series = seriesOf(r);
    series.push({ name: 'igris_spool_backlog_rows', labels: { connection_id: 'con_1' }, value: 3 });
    series.push({
      name: 'igris_spool_oldest_unflushed_seconds',
      labels: { connection_id: 'con_1' },
      value: 1.5,
    });
    series.push({ name: 'igris_metrics_batches_total', labels: {}, value: 7 });
    const budget = { budget: 'team "a"', budget_id: 'bdg_1', scope: 'org', enforcement: 'warn' };
    series.push({ name: 'igris_budget_spent_usd', labels: budget, value: 2.5 });
    series.push({ name: 'igris_budget_limit_usd', labels: budget, value: 10 });
    series.push({ name: 'igris_budget_utilization_ratio', labels: budget, value: 0.25 });
    const text = exposition(series);

    const check = promtool(text);
    expect(check.output).toBe('');
    expect(check.status).toBe(0);
    expect(text).toContain('connection="weird \\"slug\\"\\\\with\\nnewline"');
    expect(text).toContain('igris_llm_tokens_total{connection=');
    expect(text).toMatch(/igris_upstream_latency_seconds_bucket\{[^}]*le="0\.05"\} 1/);
    // Buckets below the observation are shown, as 0 (every histogram carries every bound).
    expect(text).toMatch(/igris_upstream_latency_seconds_bucket\{[^}]*le="0\.025"\} 0\n/);
    expect(text).toMatch(/igris_gateway_latency_seconds_bucket\{[^}]*type="mcp",le="0\.005"\} 1\n/);
  });

  it('is accepted by promtool when nothing has been recorded yet', () => {
    const check = promtool(exposition([]));
    expect(check.output).toBe('');
    expect(check.status).toBe(0);
  });

  it('rejects what promtool rejects: the check is able to fail', () => {
    const check = promtool('# TYPE x counter\nx{a="unterminated} 1\n');
    expect(check.status).not.toBe(0);
  });
});
