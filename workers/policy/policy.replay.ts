/**
 * What-if replay (issue 22): a draft policy evaluated against recorded calls (audit rows), and
 * what would change. Pure: the caller reads the rows (policy.service.ts `replayPolicy`).
 *
 * A row is replayed with what it recorded: governed name, user and metadata (and the model of an
 * LLM call), and — on an MCP connection that logs content (`settings.logContent`) — the call's
 * arguments (audit `details.args`), so `args.*` conditions are evaluated on them. Teams are not in
 * audit rows (nor are arguments elsewhere), so those conditions see a missing field (the rule is
 * skipped) — the result says how many rows met such a rule. Rules with session conditions are
 * skipped too (a replay does not rebuild sessions; policy.session.ts).
 */
import { type CompiledPolicy, candidateRules, evaluate, ruleAt } from './policy.evaluate.js';

export interface ReplayRow {
  id: string;
  tool: string;
  user: string | null;
  apiKeyId: string | null;
  metadata: Record<string, unknown> | null;
  model: string | null;
  /** The call's arguments when its connection logs content (audit `details.args`), else null. */
  args?: Record<string, unknown> | null;
  /** The decision recorded: allow, deny, alert or approve (`approval_required`: a held call, read as approve). */
  action: string;
  ruleIndex: number | null;
  createdAt: number;
  /**
   * True when session taint decided the row (refused, or held for an approval under onTaint), not
   * the policy's first match: the recorded action says nothing the draft could be compared with.
   */
  taint?: boolean;
}

export interface ReplayChange {
  id: string;
  tool: string;
  caller: string;
  createdAt: string;
  before: { action: string; ruleIndex: number | null };
  after: { action: string; ruleIndex: number | null; reason: string | null };
}

export interface ReplayResult {
  evaluated: number;
  changed: number;
  /** Changed decisions by the draft rule that now decides them (`default` = no rule matched). */
  byRule: Record<string, number>;
  /** Changed decisions by caller (user, else API key id). */
  byCaller: Record<string, number>;
  /** Rows whose candidate rules condition on fields audit rows do not keep (args.*, team). */
  unknownFields: number;
  /**
   * Rows decided by session taint (the session's history, which a replay does not rebuild): not
   * compared, so a draft is never reported to "change" them.
   */
  sessionTaint: number;
  examples: ReplayChange[];
}

export const MAX_REPLAY_EXAMPLES = 20;

export function replay(compiled: CompiledPolicy, rows: readonly ReplayRow[]): ReplayResult {
  const result: ReplayResult = {
    evaluated: 0,
    changed: 0,
    byRule: {},
    byCaller: {},
    unknownFields: 0,
    sessionTaint: 0,
    examples: [],
  };
  for (const row of rows) {
    if (row.taint) {
      result.sessionTaint++;
      continue;
    }
    result.evaluated++;
    if (readsUnrecordedFields(compiled, row.tool, row.args != null)) result.unknownFields++;
    const decision = evaluate(compiled, {
      tool: row.tool,
      user: row.user,
      metadata: row.metadata,
      model: row.model,
      args: row.args ?? null,
    });
    // A held call (`approval_required`) and a consumed approval (`approve`) were both the policy's `approve`.
    const before = row.action === 'approval_required' ? 'approve' : row.action;
    if (decision.action === before) continue;
    result.changed++;
    const rule = decision.ruleIndex === null ? 'default' : String(decision.ruleIndex);
    const caller = row.user ?? row.apiKeyId ?? 'anonymous';
    result.byRule[rule] = (result.byRule[rule] ?? 0) + 1;
    result.byCaller[caller] = (result.byCaller[caller] ?? 0) + 1;
    if (result.examples.length < MAX_REPLAY_EXAMPLES) {
      result.examples.push({
        id: row.id,
        tool: row.tool,
        caller,
        createdAt: new Date(row.createdAt).toISOString(),
        before: { action: before, ruleIndex: row.ruleIndex },
        after: { action: decision.action, ruleIndex: decision.ruleIndex, reason: decision.reason },
      });
    }
  }
  return result;
}

function readsUnrecordedFields(compiled: CompiledPolicy, tool: string, hasArgs: boolean): boolean {
  const candidates = candidateRules(compiled, tool);
  for (let i = 0; i < candidates.length; i++) {
    const rule = ruleAt(compiled, candidates[i]!);
    if (rule.session !== null) return true;
    if (rule.conditions.some((c) => (c.args && !hasArgs) || c.team || c.annotations)) return true;
  }
  return false;
}
