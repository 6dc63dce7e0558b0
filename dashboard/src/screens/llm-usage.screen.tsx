/**
 * LLM usage: requests, tokens and cost of LLM calls over a time range — per day (over time) and
 * broken down by model, connection, API key or end user — from GET /api/v1/llm/usage. Calls without
 * a price (unknown model, no usage reported, refused) are counted as unpriced, never guessed.
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { v1 } from '../api/api.client';
import type { LlmUsage, LlmUsageGroupBy } from '../api/api.types';
import { Link, navigate, useLocation, withQuery } from '../lib/router';
import { SelectField } from '../ui/field';
import { formatTokens, formatUsd } from '../ui/llm.figures';
import { PageHeader } from '../ui/page';
import { Empty, ErrorState, Loading } from '../ui/states';

const RANGES = {
  '1': 'Last 24 hours',
  '7': 'Last 7 days',
  '30': 'Last 30 days',
  '90': 'Last 90 days',
} as const;
type Range = keyof typeof RANGES;
const GROUPS: Array<[Exclude<LlmUsageGroupBy, 'day' | undefined>, string]> = [
  ['model', 'Model'],
  ['connection', 'Connection'],
  ['apiKey', 'API key'],
  ['user', 'User'],
];

function useUsage(days: Range, groupBy: LlmUsageGroupBy) {
  // The range ends at the next whole minute, so the key (and the cache) is stable for a minute.
  const to = Math.ceil(Date.now() / 60_000) * 60_000;
  const from = to - Number(days) * 86_400_000;
  return useQuery({
    queryKey: ['llm', 'usage', days, groupBy, to],
    queryFn: ({ signal }) =>
      v1('get', '/llm/usage', { query: { from: String(from), to: String(to), groupBy }, signal }),
    placeholderData: keepPreviousData,
    refetchInterval: 30_000,
  });
}

function Totals({ usage }: { usage: LlmUsage }) {
  const t = usage.totals;
  const stats: Array<[string, string, string]> = [
    ['requests', formatTokens(t.requests), 'llm-requests'],
    ['input tokens', formatTokens(t.inputTokens), 'llm-input'],
    ['output tokens', formatTokens(t.outputTokens), 'llm-output'],
    ['cost (USD)', formatUsd(t.costUsd), 'llm-cost'],
    ['unpriced calls', formatTokens(t.unpriced), 'llm-unpriced'],
  ];
  return (
    <div className="stat-row">
      {stats.map(([label, value, id]) => (
        <div className="stat" key={id}>
          <span className="stat-value" data-testid={id}>
            {value}
          </span>
          <span className="stat-label">{label}</span>
        </div>
      ))}
    </div>
  );
}

function UsageTable({ usage, keyLabel, bar }: { usage: LlmUsage; keyLabel: string; bar?: boolean }) {
  const max = Math.max(...usage.groups.map((g) => g.costUsd || 0), 0);
  return (
    <div className="table-wrap">
      <table className="table" aria-label={`LLM usage by ${keyLabel.toLowerCase()}`}>
        <thead>
          <tr>
            <th scope="col">{keyLabel}</th>
            <th scope="col" className="num">
              Requests
            </th>
            <th scope="col" className="num">
              Input tokens
            </th>
            <th scope="col" className="num">
              Cached
            </th>
            <th scope="col" className="num">
              Output tokens
            </th>
            <th scope="col" className="num">
              Cost
            </th>
            <th scope="col" className="num">
              Unpriced
            </th>
          </tr>
        </thead>
        <tbody>
          {usage.groups.map((g) => (
            <tr key={g.key ?? '(none)'} data-testid="llm-usage-row">
              <td className="mono">
                {usage.groupBy === 'model' && g.key ? (
                  <Link to={withQuery('/audit', { model: g.key })}>{g.key}</Link>
                ) : (
                  (g.label ?? <span className="muted">(none)</span>)
                )}
                {bar && max > 0 ? (
                  <span
                    className="usage-bar"
                    style={{ width: `${Math.round(((g.costUsd || 0) / max) * 100)}%` }}
                  />
                ) : null}
              </td>
              <td className="num">{formatTokens(g.requests)}</td>
              <td className="num">{formatTokens(g.inputTokens)}</td>
              <td className="num">{formatTokens(g.cachedInputTokens)}</td>
              <td className="num">{formatTokens(g.outputTokens)}</td>
              <td className="num">{formatUsd(g.costUsd)}</td>
              <td className="num">{g.unpriced ? formatTokens(g.unpriced) : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function LlmUsageScreen(_props: { params: Record<string, string> }) {
  const { query } = useLocation();
  const days = (query.get('range') ?? '7') in RANGES ? ((query.get('range') ?? '7') as Range) : '7';
  const groupBy = GROUPS.find(([g]) => g === query.get('groupBy'))?.[0] ?? 'model';
  const byDay = useUsage(days, 'day');
  const byGroup = useUsage(days, groupBy);
  const set = (name: 'range' | 'groupBy', value: string) =>
    navigate(withQuery('/llm-usage', { range: days, groupBy, [name]: value }), { replace: true });

  return (
    <>
      <PageHeader
        title="LLM usage"
        subtitle="Requests, tokens and cost of calls through LLM connections (costs from the price table and your overrides)."
      />
      <section className="card filter-form" aria-label="Usage range">
        <SelectField label="Range" value={days} onChange={(e) => set('range', e.target.value)}>
          {Object.entries(RANGES).map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </SelectField>
        <SelectField label="Break down by" value={groupBy} onChange={(e) => set('groupBy', e.target.value)}>
          {GROUPS.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </SelectField>
      </section>
      {byDay.isPending ? <Loading /> : null}
      {byDay.isError ? <ErrorState error={byDay.error} retry={() => void byDay.refetch()} /> : null}
      {byDay.data && byDay.data.totals.requests === 0 ? (
        <Empty title="No LLM calls in this range">
          Create an LLM connection under <Link to="/connections/new?type=llm">Connections</Link> and point the
          OpenAI or Anthropic SDK at its base URL.
        </Empty>
      ) : null}
      {byDay.data && byDay.data.totals.requests > 0 ? (
        <>
          <Totals usage={byDay.data} />
          <section className="card" aria-labelledby="usage-over-time">
            <h2 id="usage-over-time">Over time (UTC days)</h2>
            <UsageTable usage={byDay.data} keyLabel="Day" bar />
          </section>
          <section className="card" aria-labelledby="usage-breakdown">
            <h2 id="usage-breakdown">By {GROUPS.find(([g]) => g === groupBy)?.[1].toLowerCase()}</h2>
            {byGroup.isError ? (
              <ErrorState error={byGroup.error} retry={() => void byGroup.refetch()} />
            ) : null}
            {byGroup.data ? (
              <UsageTable usage={byGroup.data} keyLabel={GROUPS.find(([g]) => g === groupBy)?.[1] ?? ''} />
            ) : (
              <Loading />
            )}
            {byGroup.data?.truncated ? (
              <p className="muted small">Only the largest groups are shown.</p>
            ) : null}
          </section>
        </>
      ) : null}
    </>
  );
}
