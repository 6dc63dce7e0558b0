/**
 * `POST /api/v1/connections/:slug/policy/replay`: a draft evaluated against the connection's
 * recorded decisions (the newest `limit` audit rows in [from, to]), without saving anything.
 */
import type { Principal } from '../app.types';
import { type ConnectionEnv, getConnectionRow } from '../connections/connections.read';
import { parseStoredJson } from '../lib/values';
import { compilePolicy } from './policy.evaluate';
import { type ReplayResult, type ReplayRow, replay } from './policy.replay';
import { validatePolicy } from './policy.service';

export const DEFAULT_REPLAY_ROWS = 500;
export const MAX_REPLAY_ROWS = 5000;

export interface ReplayInput {
  rules: unknown[];
  limit?: number | undefined;
  /** ISO 8601 bounds of the window (inclusive); default: everything retained. */
  from?: string | undefined;
  to?: string | undefined;
}

interface AuditDbRow {
  id: string;
  tool: string;
  user: string | null;
  api_key_id: string | null;
  metadata: string | null;
  model: string | null;
  action: string;
  rule_index: number | null;
  created_at: number;
  taint: number;
  args: string | null;
}

/** The arguments a logContent connection recorded (`details.args`, JSON text from json_extract), else null. */
function recordedArgs(text: string | null): Record<string, unknown> | null {
  if (text === null) return null;
  const value = parseStoredJson(text);
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

export async function replayPolicy(
  env: ConnectionEnv,
  principal: Principal,
  slug: string,
  input: ReplayInput,
): Promise<ReplayResult & { window: { from: string | null; to: string | null; rows: number } }> {
  const connection = await getConnectionRow(env, principal, slug, 'policies:read');
  const compiled = compilePolicy(validatePolicy({ rules: input.rules }), 0);
  const from = input.from ? Date.parse(input.from) : 0;
  const to = input.to ? Date.parse(input.to) : Number.MAX_SAFE_INTEGER;
  const limit = input.limit ?? DEFAULT_REPLAY_ROWS;
  // Only decisions the policy made (allow/deny/alert on a governed name): kill switch, rate-limit
  // and error rows were not the policy's answer, so a draft cannot "change" them.
  const { results } = await env.DB.prepare(
    // `taint`: refused by session taint (details.taint) or held for it (a finding's detail.taint).
    `SELECT id, tool, user, api_key_id, metadata, model, action, rule_index, created_at,
       (action IN ('deny', 'approval_required') AND details LIKE '%"taint":[%') AS taint,
       CASE WHEN json_valid(details) THEN json_extract(details, '$.args') END AS args FROM audit_events
     WHERE org_id = ? AND connection_id = ? AND tool IS NOT NULL AND action IN ('allow', 'deny', 'alert', 'approve', 'approval_required')
       AND created_at >= ? AND created_at <= ?
     ORDER BY created_at DESC, id DESC LIMIT ?`,
  )
    .bind(principal.orgId, connection.id, from, to, limit)
    .all<AuditDbRow>();
  const rows: ReplayRow[] = results.map((r) => {
    const metadata = r.metadata === null ? null : parseStoredJson(r.metadata);
    return {
      id: r.id,
      tool: r.tool,
      user: r.user,
      apiKeyId: r.api_key_id,
      metadata:
        metadata && typeof metadata === 'object' && !Array.isArray(metadata)
          ? (metadata as Record<string, unknown>)
          : null,
      model: r.model,
      action: r.action,
      ruleIndex: r.rule_index,
      createdAt: r.created_at,
      taint: r.taint === 1,
      args: recordedArgs(r.args),
    };
  });
  return {
    ...replay(compiled, rows),
    window: { from: input.from ?? null, to: input.to ?? null, rows: rows.length },
  };
}
