/**
 * The policy simulator: the decision for a hypothetical call, and why each rule up to the deciding
 * one did or did not match (POST /api/v1/connections/:slug/policy/simulate).
 *
 * Same semantics as evaluate (policy.evaluate.ts), computed independently by a plain linear scan
 * (no index, no cache) so the simulator also cross-checks the fast path. Pure, no I/O.
 */
import {
  type CompiledCondition,
  type CompiledPolicy,
  type CompiledRule,
  type Decision,
  type EvaluationRequest,
  type FieldValue,
  fieldValue,
  isScalar,
  MISSING,
  operatorHolds,
  ruleAt,
  teamHolds,
} from './policy.evaluate.js';
import { normalizeName } from './policy.normalize.js';
import type { Scalar } from './policy.schema.js';

export interface TraceEntry {
  ruleIndex: number;
  matched: boolean;
  why: string;
}

export interface Explanation {
  decision: Decision;
  trace: TraceEntry[];
}

/** The request's names in their comparable form, computed once per explanation. */
interface NormalNames {
  tool: string;
  model: string | null;
}

/** The trace covers every rule up to and including the one that matched (or all rules when none did). */
export function explain(compiled: CompiledPolicy, request: EvaluationRequest): Explanation {
  const trace: TraceEntry[] = [];
  const model = request.model ?? null;
  const normal: NormalNames = {
    tool: normalizeName(request.tool),
    model: model === null ? null : normalizeName(model),
  };
  for (let index = 0; index < compiled.ruleCount; index++) {
    const rule = ruleAt(compiled, index);
    const failure = ruleFailure(compiled, rule, request, normal);
    if (failure === null && rule.session !== null) {
      // Session facts live in the guard (policy.session.ts): a simulation has none, so the rule
      // is shown as a candidate the guard would check, and evaluation goes on as it does live.
      trace.push({ ruleIndex: rule.index, matched: false, why: sessionWhy(rule.session) });
      continue;
    }
    if (failure === null) {
      trace.push({ ruleIndex: rule.index, matched: true, why: matchedWhy(rule, request) });
      return { decision: rule.decision, trace };
    }
    trace.push({ ruleIndex: rule.index, matched: false, why: failure });
  }
  return { decision: compiled.defaultDecision, trace };
}

function sessionWhy(gate: NonNullable<CompiledRule['session']>): string {
  const parts: string[] = [];
  if (gate.touched) parts.push(`session.touched any of ${gate.touched.map(quote).join(', ')}`);
  if (gate.called) parts.push(`session.called any of ${gate.called.map(quote).join(', ')}`);
  return `its other conditions hold; the guard applies it at the call if ${parts.join(' and ')} — without session facts, evaluation continues`;
}

/** Why the rule does not match, or null when it does. */
function ruleFailure(
  compiled: CompiledPolicy,
  rule: CompiledRule,
  request: EvaluationRequest,
  normal: NormalNames,
): string | null {
  if (rule.glob !== null && !rule.matchesTool(normal.tool)) {
    return `tool ${quote(request.tool)} does not match glob ${quote(rule.glob)}`;
  }
  const target = targetFailure(compiled, rule, request, normal);
  if (target !== null) return target;
  for (const condition of rule.conditions) {
    if (condition.team) {
      if (teamHolds(condition, request.teams)) continue;
      return `condition team ${condition.operator} ${formatOperand(condition)} failed: the call's teams are ${JSON.stringify(request.teams ?? [])}`;
    }
    const failure = conditionFailure(condition, fieldValue(condition, request));
    if (failure !== null) return failure;
  }
  return null;
}

function conditionFailure(condition: CompiledCondition, value: FieldValue): string | null {
  if (condition.test !== null) {
    if (condition.test(value === MISSING ? undefined : value)) return null;
    const shown =
      value === MISSING ? 'missing' : isScalar(value) ? formatScalar(value) : describeNonScalar(value);
    return `condition ${condition.field} ${condition.operator} ${formatOperand(condition)} failed: value is ${shown} — rule skipped`;
  }
  if (value === MISSING) return `condition ${condition.field}: field missing — rule skipped`;
  if (!isScalar(value)) {
    return `condition ${condition.field}: value is ${describeNonScalar(value)}, not a string, number or boolean — rule skipped`;
  }
  if (operatorHolds(condition, value)) return null;
  return `condition ${condition.field} ${condition.operator} ${formatOperand(condition)} failed: value is ${formatScalar(value)}`;
}

/** Why the rule's model glob or endpoints (LLM rules) do not match, or null when they do. */
function targetFailure(
  compiled: CompiledPolicy,
  rule: CompiledRule,
  request: EvaluationRequest,
  normal: NormalNames,
): string | null {
  const { model, modelSlot, endpoints } = rule.target;
  if (model !== null) {
    if (normal.model === null) return 'no model in the request (not an LLM call) — rule skipped';
    if (!compiled.models.matchers[modelSlot]!(normal.model)) {
      return `model ${quote(request.model ?? '')} does not match glob ${quote(model)}`;
    }
  }
  if (endpoints !== null) {
    const endpoint = request.endpoint ?? null;
    if (endpoint === null) return 'no endpoint in the request (not an LLM call) — rule skipped';
    if (!endpoints.includes(endpoint))
      return `endpoint ${quote(endpoint)} is not ${formatEndpoints(endpoints)}`;
  }
  return null;
}

function matchedWhy(rule: CompiledRule, request: EvaluationRequest): string {
  const count = rule.conditions.length;
  const conditions =
    count === 0 ? 'no conditions' : count === 1 ? 'its condition holds' : `all ${count} conditions hold`;
  const parts: string[] = [];
  if (rule.glob !== null) parts.push(`tool ${quote(request.tool)} matches glob ${quote(rule.glob)}`);
  if (rule.target.model !== null) {
    parts.push(`model ${quote(request.model ?? '')} matches glob ${quote(rule.target.model)}`);
  }
  if (rule.target.endpoints !== null) {
    parts.push(`endpoint ${quote(request.endpoint ?? '')} is ${formatEndpoints(rule.target.endpoints)}`);
  }
  return `${parts.join(', ')} and ${conditions} — ${rule.action}`;
}

function formatEndpoints(endpoints: readonly string[]): string {
  return endpoints.length === 1 ? quote(endpoints[0]!) : `one of [${endpoints.map(quote).join(', ')}]`;
}

function describeNonScalar(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

const MAX_SHOWN_VALUES = 10;
const MAX_SHOWN_CHARS = 80;

function formatOperand(condition: CompiledCondition): string {
  if (condition.values === null) return formatScalar(condition.value ?? '');
  const all = [...condition.values];
  const shown = all.slice(0, MAX_SHOWN_VALUES).map(formatScalar);
  if (all.length > MAX_SHOWN_VALUES) shown.push(`… ${all.length - MAX_SHOWN_VALUES} more`);
  return `[${shown.join(', ')}]`;
}

function formatScalar(value: Scalar): string {
  return typeof value === 'string' ? quote(value) : String(value);
}

/** Single-quoted and truncated: traces are shown to humans and values may be long. */
function quote(text: string): string {
  const short = text.length > MAX_SHOWN_CHARS ? `${text.slice(0, MAX_SHOWN_CHARS)}…` : text;
  return `'${short.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}
