/**
 * LLM usage totals (`GET /api/v1/llm/usage`): audit rows that carry a `model` (LLM calls),
 * aggregated by one dimension over a time range, in one D1 statement bounded by the
 * (org_id, created_at) index. Scoped like the audit trail: a Developer sees only calls of
 * connections their user created.
 *
 * Cost is summed over priced rows only; rows whose cost is null (unknown model, no usage reported,
 * refused before forwarding) are counted as `unpriced` instead of being guessed.
 */
import type { Principal } from '../app.types';
import { ownClause, type Where } from '../audit/audit.service';
import { requirePermission } from '../auth/permissions';

export const USAGE_GROUPS = ['model', 'connection', 'apiKey', 'user', 'day'] as const;
export type UsageGroupBy = (typeof USAGE_GROUPS)[number];

/** Most groups one answer carries (a day grouping over a year is 366). */
export const MAX_USAGE_GROUPS = 1000;
export const DEFAULT_USAGE_DAYS = 30;

export interface UsageFigures {
  requests: number;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  /** USD over priced calls; 0 when none was priced. */
  costUsd: number;
  /** Calls without a cost (counted in `requests`, not in `costUsd`). */
  unpriced: number;
}

export interface UsageGroup extends UsageFigures {
  /** The model, connection id, API key id, end user or UTC day (`YYYY-MM-DD`); null when absent. */
  key: string | null;
  /** A readable name: the connection's slug or the API key's name; else the key. */
  label: string | null;
}

export interface UsageReport {
  from: string;
  to: string;
  groupBy: UsageGroupBy;
  totals: UsageFigures;
  groups: UsageGroup[];
  /** True when there were more than MAX_USAGE_GROUPS groups (the largest by cost are returned). */
  truncated: boolean;
}

/** The GROUP BY expression and label of each dimension (fixed SQL: never built from input). */
const DIMENSIONS: Record<UsageGroupBy, { key: string; label: string; order: string }> = {
  model: { key: 'a.model', label: 'a.model', order: 'cost_usd DESC, requests DESC, key' },
  connection: {
    key: 'a.connection_id',
    label: 'MAX(a.connection_slug)',
    order: 'cost_usd DESC, requests DESC, key',
  },
  apiKey: {
    key: 'a.api_key_id',
    label: '(SELECT k.name FROM api_keys k WHERE k.id = a.api_key_id AND k.org_id = a.org_id)',
    order: 'cost_usd DESC, requests DESC, key',
  },
  user: { key: 'a."user"', label: 'a."user"', order: 'cost_usd DESC, requests DESC, key' },
  day: {
    key: "strftime('%Y-%m-%d', a.created_at / 1000, 'unixepoch')",
    label: "strftime('%Y-%m-%d', a.created_at / 1000, 'unixepoch')",
    order: 'key',
  },
};

const FIGURES = `COUNT(*) AS requests,
  COALESCE(SUM(a.input_tokens), 0) AS input_tokens,
  COALESCE(SUM(a.cached_input_tokens), 0) AS cached_input_tokens,
  COALESCE(SUM(a.output_tokens), 0) AS output_tokens,
  COALESCE(SUM(a.reasoning_tokens), 0) AS reasoning_tokens,
  COALESCE(SUM(a.cost_usd), 0) AS cost_usd,
  SUM(CASE WHEN a.cost_usd IS NULL THEN 1 ELSE 0 END) AS unpriced`;

interface FiguresRow {
  requests: number;
  input_tokens: number;
  cached_input_tokens: number;
  output_tokens: number;
  reasoning_tokens: number;
  cost_usd: number;
  unpriced: number | null;
}

function figures(row: FiguresRow | null): UsageFigures {
  return {
    requests: row?.requests ?? 0,
    inputTokens: row?.input_tokens ?? 0,
    cachedInputTokens: row?.cached_input_tokens ?? 0,
    outputTokens: row?.output_tokens ?? 0,
    reasoningTokens: row?.reasoning_tokens ?? 0,
    // Sums of rounded costs: round again so 0.1 + 0.2 reads 0.3 (to 1e-10 USD, as priceCall does).
    costUsd: Math.round((row?.cost_usd ?? 0) * 1e10) / 1e10,
    unpriced: row?.unpriced ?? 0,
  };
}

export interface UsageQuery {
  from?: number;
  to?: number;
  groupBy: UsageGroupBy;
}

export async function llmUsage(
  db: D1Database,
  principal: Principal,
  query: UsageQuery,
  now = Date.now(),
): Promise<UsageReport> {
  requirePermission(principal, 'audit:read');
  const to = query.to ?? now;
  const from = query.from ?? to - DEFAULT_USAGE_DAYS * 86_400_000;
  // ownClause writes unqualified column names: they are unambiguous (api_keys is only in a subquery).
  const where: Where = {
    sql: ' WHERE a.org_id = ? AND a.model IS NOT NULL AND a.created_at >= ? AND a.created_at < ?',
    binds: [principal.orgId, from, to],
  };
  ownClause(principal, where);
  const dim = DIMENSIONS[query.groupBy];
  const [totals, groups] = await db.batch<FiguresRow & { key: string | null; label: string | null }>([
    db.prepare(`SELECT ${FIGURES} FROM audit_events a${where.sql}`).bind(...where.binds),
    db
      .prepare(
        `SELECT ${dim.key} AS key, ${dim.label} AS label, ${FIGURES} FROM audit_events a${where.sql}
         GROUP BY 1 ORDER BY ${dim.order} LIMIT ?`,
      )
      .bind(...where.binds, MAX_USAGE_GROUPS + 1),
  ]);
  const rows = groups?.results ?? [];
  return {
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    groupBy: query.groupBy,
    totals: figures(totals?.results[0] ?? null),
    groups: rows.slice(0, MAX_USAGE_GROUPS).map((row) => ({
      key: row.key,
      label: row.label ?? row.key,
      ...figures(row),
    })),
    truncated: rows.length > MAX_USAGE_GROUPS,
  };
}
