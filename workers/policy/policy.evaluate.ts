/**
 * Policy evaluation: first matching rule wins, default deny.
 *
 * Semantics (product docs, "standard ABAC"):
 * - Rules are checked in order; a rule matches when its tool glob matches (a rule without one
 *   matches any name), its `model` glob and `endpoint` names (LLM rules, policy.target.ts) match,
 *   AND every condition holds. A rule with a model or endpoint never matches a request without one.
 * - Names are matched in their comparable form (policy.normalize.ts: invisible characters removed,
 *   NFKC, confusables folded, lower case) against globs normalised the same way when compiled, so
 *   `Delete_all` and `d\u0435lete_all` hit `delete_*`. The original name is what is forwarded.
 * - A condition on a field absent from the request makes the rule NOT match (it is skipped,
 *   it is not a deny); evaluation continues with the next rule.
 * - A field whose value is not a scalar (object, array, null) is treated like a missing field
 *   for every operator, including neq/nin. Rationale: "role neq 'admin'" must not become true
 *   just because a caller sent `{"role": {"admin": true}}` — skipping is the only choice that
 *   can never widen access through an unexpected shape.
 * - Comparison is strict equality of scalars: "1" ≠ 1, true ≠ "true".
 * - No rule matches → deny with matched=false and reason 'no rule matched'.
 *
 * Performance: a rule's glob, `in` lists and predicates are compiled once, the first time an
 * evaluation reaches it (policy.compile.ts: a load only builds the tool index). For each tool name the indices of the
 * rules whose glob matches are computed once (via a literal/prefix index) and memoised in a
 * bounded per-policy cache, so the hot path is one Map lookup plus condition checks over
 * only the relevant rules, and it allocates nothing (decisions are pre-built and frozen).
 * Each distinct field is looked up at most once per evaluation (memoised in per-policy
 * scratch slots), so many rules conditioned on the same field stay cheap.
 */
// `.js` specifiers: unit tests type-check this file under NodeNext (tsconfig.node.json), which
// requires extensions; the bundler config, Vite and Wrangler all resolve `.js` to the `.ts` source.
import { stringWeight } from '../lib/bounded.map.js';
import {
  type CompiledCondition,
  type CompiledPolicy,
  type Decision,
  type FieldMemo,
  matcherAt,
  ruleAt,
} from './policy.compile.js';
import { normalizeName } from './policy.normalize.js';
import type { Scalar } from './policy.schema.js';
import type { SessionGate } from './policy.session.js';
import { endpointBit, MEMO_ENTRY_BYTES, modelMatches, targetHolds } from './policy.target.js';

// Compilation lives in policy.compile.ts (lazy per rule); these names stay importable from here.
export {
  allRules,
  CANDIDATE_CACHE_LIMIT,
  type CompiledCondition,
  type CompiledPolicy,
  type CompiledRule,
  compilePolicy,
  type Decision,
  type FieldMemo,
  NO_MATCH_REASON,
  ruleAt,
} from './policy.compile.js';

export interface EvaluationRequest {
  /** The governed name (see governedName): a tool name, `resource:<uri>` or `prompt:<name>`. */
  readonly tool: string;
  /** LLM calls: the requested model (rules with a `model` glob match only requests that have one). */
  readonly model?: string | null | undefined;
  /** LLM calls: the endpoint name (workers/llm/llm.endpoints.ts, or `passthrough`). */
  readonly endpoint?: string | null | undefined;
  readonly user?: string | null | undefined;
  /** The call's teams, by id and by name (`team` conditions match either); absent: none. */
  readonly teams?: readonly string[] | null | undefined;
  readonly metadata?: Readonly<Record<string, unknown>> | null | undefined;
  /**
   * What `args.<path>` conditions read: an MCP call's `params.arguments`, an LLM request's body
   * fields, an A2A message's metadata. Absent: every `args.*` field is missing.
   */
  readonly args?: Readonly<Record<string, unknown>> | null | undefined;
  /**
   * What `annotations.*` conditions read: the MCP tool's annotations as pinned in its approved
   * baseline (integrity state, docs/tool-integrity.md) — never the live, unverified answer.
   * Absent: every `annotations.*` field is missing.
   */
  readonly annotations?: Readonly<Record<string, unknown>> | null | undefined;
}

/** Longer names are evaluated without caching so the cache's memory stays small. */
const CACHEABLE_NAME_LENGTH = 256;
const NO_CANDIDATES = new Int32Array(0);

/** A field absent from the request (exported for the simulator, policy.explain.ts). */
export const MISSING: unique symbol = Symbol('missing');
export type FieldValue = unknown | typeof MISSING;

// ---------------------------------------------------------------------------------------------
// Candidate rules per tool name
// ---------------------------------------------------------------------------------------------

/**
 * Ascending indices of the rules whose glob matches `tool` (first-match order preserved). The
 * name is normalised here, once per call and only on a cache miss (the cache is keyed by the
 * name as sent); rule globs were normalised when the policy was compiled.
 */
export function candidateRules(compiled: CompiledPolicy, tool: string): Int32Array {
  const cached = compiled.candidateCache.get(tool);
  if (cached) return cached;
  const candidates = computeCandidates(compiled, normalizeName(tool));
  if (tool.length <= CACHEABLE_NAME_LENGTH) {
    compiled.candidateCache.set(
      tool,
      candidates,
      MEMO_ENTRY_BYTES + stringWeight(tool) + candidates.byteLength,
    );
  }
  return candidates;
}

function computeCandidates(compiled: CompiledPolicy, tool: string): Int32Array {
  const found: number[] = [...(compiled.exactIndex.get(tool) ?? [])];
  for (const length of compiled.prefixLengths) {
    if (length > tool.length) break;
    const sharingPrefix = compiled.prefixIndex.get(tool.slice(0, length));
    if (sharingPrefix) collectMatching(compiled, sharingPrefix, tool, found);
  }
  collectMatching(compiled, compiled.unprefixed, tool, found);
  if (found.length === 0) return NO_CANDIDATES;
  // Typed-array sort is numeric; the buckets above interleave, so order must be restored.
  return Int32Array.from(found).sort();
}

function collectMatching(compiled: CompiledPolicy, indices: readonly number[], tool: string, out: number[]) {
  for (const index of indices) {
    if (matcherAt(compiled, index)(tool)) out.push(index);
  }
}

// ---------------------------------------------------------------------------------------------
// Evaluation (hot path: keep allocation-free)
// ---------------------------------------------------------------------------------------------

export function evaluate(compiled: CompiledPolicy, request: EvaluationRequest): Decision {
  const candidates = candidateRules(compiled, request.tool);
  const memo = compiled.fieldMemo;
  memo.generation++;
  // Both looked up once per call (a cached array and an integer): no allocation on the hot path.
  const models = modelMatches(compiled.models, request.model);
  const endpoint = endpointBit(request.endpoint);
  // Rules with session conditions whose other conditions hold (policy.session.ts): allocated only
  // when a policy has such a rule and the call reaches it.
  let gates: SessionGate[] | null = null;
  for (let i = 0; i < candidates.length; i++) {
    const rule = ruleAt(compiled, candidates[i]!);
    if (rule.targeted && !targetHolds(rule.target, models, endpoint)) continue;
    if (!conditionsHold(rule.conditions, request, memo)) continue;
    if (rule.session === null) return gates === null ? rule.decision : gated(rule.decision, gates);
    if (gates === null) gates = [];
    gates.push(rule.session);
  }
  return gates === null ? compiled.defaultDecision : gated(compiled.defaultDecision, gates);
}

/** The fallback decision, carrying the session gates the guard checks first. */
function gated(decision: Decision, gates: SessionGate[]): Decision {
  return Object.freeze({ ...decision, sessionGates: Object.freeze(gates) });
}

function conditionsHold(
  conditions: readonly CompiledCondition[],
  request: EvaluationRequest,
  memo: FieldMemo,
): boolean {
  for (let i = 0; i < conditions.length; i++) {
    const condition = conditions[i]!;
    if (condition.team) {
      if (!teamHolds(condition, request.teams)) return false;
      continue;
    }
    const value = memoisedFieldValue(condition, request, memo);
    if (condition.test !== null) {
      // Value operators take any value; only `exists: false` holds for a missing field.
      if (!condition.test(value === MISSING ? undefined : value)) return false;
      continue;
    }
    if (!isScalar(value) || !operatorHolds(condition, value)) return false;
  }
  return true;
}

function memoisedFieldValue(
  condition: CompiledCondition,
  request: EvaluationRequest,
  memo: FieldMemo,
): FieldValue {
  const slot = condition.slot;
  if (memo.stamps[slot] === memo.generation) return memo.values[slot];
  const value = fieldValue(condition, request);
  memo.values[slot] = value;
  memo.stamps[slot] = memo.generation;
  return value;
}

export function fieldValue(condition: CompiledCondition, request: EvaluationRequest): FieldValue {
  const path = condition.path;
  if (path === null) return request.user ?? MISSING;
  let value: unknown = condition.args
    ? request.args
    : condition.annotations
      ? request.annotations
      : request.metadata;
  for (let i = 0; i < path.length; i++) {
    const key = path[i]!;
    if (condition.args && Array.isArray(value)) {
      // Arguments hold arrays: a key of digits indexes one (`args.recipients.0`). Metadata
      // (a header the caller writes) keeps its objects-only rule.
      const index = arrayIndex(key);
      if (index < 0 || index >= value.length) return MISSING;
      value = value[index];
      continue;
    }
    // Own keys of plain objects only: never inherited properties such as "constructor".
    if (!isPlainObject(value) || !Object.hasOwn(value, key)) return MISSING;
    value = value[key];
  }
  return value === undefined ? MISSING : value;
}

/** A canonical non-negative integer key ("0", "12"; not "01", "-1", "1e2"), else -1. */
function arrayIndex(key: string): number {
  if (key.length === 0 || key.length > 9) return -1;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 48 || c > 57 || (i === 0 && c === 48 && key.length > 1)) return -1;
  }
  return Number(key);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * A `team` condition over the call's teams (ids and names): eq — a member of the team; neq — not;
 * in — a member of at least one; nin — of none. Linear in the call's teams.
 */
export function teamHolds(
  condition: CompiledCondition,
  teams: readonly string[] | null | undefined,
): boolean {
  const list = teams ?? [];
  switch (condition.operator) {
    case 'eq':
      return list.includes(condition.value as string);
    case 'neq':
      return !list.includes(condition.value as string);
    case 'in':
      return list.some((t) => condition.values!.has(t));
    case 'nin':
      return !list.some((t) => condition.values!.has(t));
    default:
      // The schema refuses other operators on `team`.
      return false;
  }
}

export function isScalar(value: FieldValue): value is Scalar {
  const type = typeof value;
  return type === 'string' || type === 'number' || type === 'boolean';
}

export function operatorHolds(condition: CompiledCondition, value: Scalar): boolean {
  switch (condition.operator) {
    case 'eq':
      return value === condition.value;
    case 'neq':
      return value !== condition.value;
    case 'in':
      return condition.values!.has(value);
    case 'nin':
      return !condition.values!.has(value);
    default:
      return condition.test?.(value) ?? false;
  }
}

// ---------------------------------------------------------------------------------------------
// tools/list filtering
// ---------------------------------------------------------------------------------------------

/**
 * Whether this caller could be allowed (or alerted) to call `request.tool` with SOME arguments:
 * a list answer carries no arguments, so `args.*` conditions are unknown. A rule with argument
 * conditions may apply: an allow/alert one keeps the tool listed, a deny one does not shadow
 * the rules after it. Every other condition is evaluated for the caller as usual.
 */
export function couldAllowCaller(compiled: CompiledPolicy, request: EvaluationRequest): boolean {
  const candidates = candidateRules(compiled, request.tool);
  const models = modelMatches(compiled.models, request.model);
  const endpoint = endpointBit(request.endpoint);
  const memo = compiled.fieldMemo;
  memo.generation++;
  for (let i = 0; i < candidates.length; i++) {
    const rule = ruleAt(compiled, candidates[i]!);
    if (rule.targeted && !targetHolds(rule.target, models, endpoint)) continue;
    // A session-conditioned rule (deny/approve only) may or may not apply: it shadows nothing.
    if (rule.session !== null) continue;
    const byArgs = rule.conditions.some((c) => c.args);
    const others = byArgs ? rule.conditions.filter((c) => !c.args) : rule.conditions;
    if (!conditionsHold(others, request, memo)) continue;
    if (rule.action !== 'deny') return true;
    if (!byArgs) return false;
  }
  return false;
}

/**
 * Whether some request could be allowed (or alerted) for `tool`: the first rule matching the
 * tool that is either allow/alert, or an unconditional deny (which shadows everything after
 * it), decides. Conditional rules of either kind may or may not apply, so a conditional deny
 * does not hide the tool and a conditional allow keeps it listed.
 *
 * `llm` describes an LLM call (its model, and its endpoint when known); without it the call is an
 * MCP one, which rules with a model or endpoint never match. A rule listing endpoints is
 * conditional when the endpoint is not given (a list of models asks about every endpoint).
 */
export function couldEverAllow(
  compiled: CompiledPolicy,
  tool: string,
  llm?: { readonly model?: string | null | undefined; readonly endpoint?: string | null | undefined },
): boolean {
  const candidates = candidateRules(compiled, tool);
  const models = modelMatches(compiled.models, llm?.model);
  const endpoint = endpointBit(llm?.endpoint);
  for (let i = 0; i < candidates.length; i++) {
    const rule = ruleAt(compiled, candidates[i]!);
    let certain = true;
    if (rule.targeted) {
      if (!llm) continue;
      const endpointUnknown = endpoint === 0 && rule.target.endpointMask !== 0;
      // With the endpoint unknown, check the model alone (every endpoint bit set).
      if (!targetHolds(rule.target, models, endpointUnknown ? -1 : endpoint)) continue;
      certain = !endpointUnknown;
    }
    if (rule.action !== 'deny') return true;
    if (certain && rule.conditions.length === 0 && rule.session === null) return false;
  }
  return false;
}
