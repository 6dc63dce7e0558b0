/**
 * Policy evaluation: first matching rule wins, default deny.
 *
 * Semantics (product docs, "standard ABAC"):
 * - Rules are checked in order; a rule matches when its tool glob matches AND every condition holds.
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
 * Performance: globs and `in` lists are compiled once. For each tool name the indices of the
 * rules whose glob matches are computed once (via a literal/prefix index) and memoised in a
 * bounded per-policy cache, so the hot path is one Map lookup plus condition checks over
 * only the relevant rules, and it allocates nothing (decisions are pre-built and frozen).
 * Each distinct field is looked up at most once per evaluation (memoised in per-policy
 * scratch slots), so many rules conditioned on the same field stay cheap.
 */
// `.js` specifiers: unit tests type-check this file under NodeNext (tsconfig.node.json), which
// requires extensions; the bundler config, Vite and Wrangler all resolve `.js` to the `.ts` source.
import { compileGlob, type GlobMatcher, hasWildcard, literalPrefix } from '../shared/policy.glob.js';
import { normalizeName, normalizePattern } from './policy.normalize.js';
import type { Condition, Operator, Policy, RateLimit, Rule, RuleAction, Scalar } from './policy.schema.js';

export interface Decision {
  readonly action: RuleAction;
  /** false = no rule matched and the call is denied by default. */
  readonly matched: boolean;
  readonly ruleIndex: number | null;
  readonly reason: string | null;
  readonly rateLimit: Readonly<RateLimit> | null;
  readonly policyVersion: number;
}

export interface EvaluationRequest {
  /** The governed name (see governedName): a tool name, `resource:<uri>` or `prompt:<name>`. */
  readonly tool: string;
  readonly user?: string | null | undefined;
  readonly metadata?: Readonly<Record<string, unknown>> | null | undefined;
}

export interface CompiledCondition {
  /** As written in the policy, e.g. `metadata.role`. */
  readonly field: string;
  /** Keys below `metadata`; null for the `user` field. */
  readonly path: readonly string[] | null;
  /** Index of this field in the policy's FieldMemo (shared by all conditions on the field). */
  readonly slot: number;
  readonly operator: Operator;
  /** Operand of eq/neq (null for in/nin). */
  readonly value: Scalar | null;
  /** Operand of in/nin (null for eq/neq). */
  readonly values: ReadonlySet<Scalar> | null;
}

export interface CompiledRule {
  readonly index: number;
  /** As written in the policy (shown in explanations). */
  readonly glob: string;
  /** The glob's comparable form (policy.normalize.ts): what names are matched and indexed by. */
  readonly pattern: string;
  readonly matchesTool: GlobMatcher;
  readonly action: RuleAction;
  readonly conditions: readonly CompiledCondition[];
  /** Returned as-is when the rule matches: no allocation per evaluation. */
  readonly decision: Decision;
}

export interface CompiledPolicy {
  readonly version: number;
  readonly rules: readonly CompiledRule[];
  readonly defaultDecision: Decision;
  /** Rules whose glob has no wildcard, by exact tool name. */
  readonly exactIndex: ReadonlyMap<string, readonly number[]>;
  /** Wildcard rules with a non-empty literal prefix, by that prefix. */
  readonly prefixIndex: ReadonlyMap<string, readonly number[]>;
  /** Distinct keys lengths of prefixIndex, ascending. */
  readonly prefixLengths: readonly number[];
  /** Wildcard rules starting with a wildcard: candidates for every tool. */
  readonly unprefixed: readonly number[];
  /** tool name → ascending indices of rules whose glob matches it. Bounded; see CACHE_LIMIT. */
  readonly candidateCache: Map<string, Int32Array>;
  readonly fieldMemo: FieldMemo;
}

/**
 * Scratch space reused by every evaluate() call on a policy: slot i holds the value of the
 * i-th distinct field, valid while stamps[i] === generation. Safe because evaluation is
 * synchronous and single-threaded; bumping the generation invalidates all slots in O(1).
 * (Slots keep the last request's values reachable until the next call: a few KB at most.)
 */
export interface FieldMemo {
  generation: number;
  readonly stamps: Float64Array;
  readonly values: unknown[];
}

export interface TraceEntry {
  ruleIndex: number;
  matched: boolean;
  why: string;
}

export interface Explanation {
  decision: Decision;
  trace: TraceEntry[];
}

export const NO_MATCH_REASON = 'no rule matched';
/** Bounds memory when callers spray distinct tool names; FIFO eviction keeps it O(1). */
export const CANDIDATE_CACHE_LIMIT = 1024;
/** Longer names are evaluated without caching so the cache's memory stays small. */
const CACHEABLE_NAME_LENGTH = 256;
const NO_CANDIDATES = new Int32Array(0);

const MISSING: unique symbol = Symbol('missing');
type FieldValue = unknown | typeof MISSING;

// ---------------------------------------------------------------------------------------------
// Compilation
// ---------------------------------------------------------------------------------------------

export function compilePolicy(policy: Policy, version: number): CompiledPolicy {
  const slots = new Map<string, number>();
  const rules = policy.rules.map((rule, index) => compileRule(rule, index, version, slots));
  return {
    version,
    rules,
    defaultDecision: freezeDecision({
      action: 'deny',
      matched: false,
      ruleIndex: null,
      reason: NO_MATCH_REASON,
      rateLimit: null,
      policyVersion: version,
    }),
    ...buildToolIndex(rules),
    candidateCache: new Map(),
    fieldMemo: { generation: 0, stamps: new Float64Array(slots.size), values: new Array(slots.size) },
  };
}

function compileRule(rule: Rule, index: number, version: number, slots: Map<string, number>): CompiledRule {
  const conditions = Object.entries(rule.conditions ?? {}).map(([field, condition]) =>
    compileCondition(field, condition, slotOf(slots, field)),
  );
  const pattern = normalizePattern(rule.tool);
  return {
    index,
    glob: rule.tool,
    pattern,
    matchesTool: compileGlob(pattern),
    action: rule.action,
    conditions,
    decision: freezeDecision({
      action: rule.action,
      matched: true,
      ruleIndex: index,
      reason: rule.reason ?? null,
      rateLimit: rule.rateLimit ? Object.freeze({ ...rule.rateLimit }) : null,
      policyVersion: version,
    }),
  };
}

function slotOf(slots: Map<string, number>, field: string): number {
  let slot = slots.get(field);
  if (slot === undefined) {
    slot = slots.size;
    slots.set(field, slot);
  }
  return slot;
}

function compileCondition(field: string, condition: Condition, slot: number): CompiledCondition {
  const at = { field, slot, path: field === 'user' ? null : field.split('.').slice(1) };
  if (typeof condition !== 'object') return conditionOf(at, 'eq', condition, null);
  if ('eq' in condition) return conditionOf(at, 'eq', condition.eq, null);
  if ('neq' in condition) return conditionOf(at, 'neq', condition.neq, null);
  // Set membership uses SameValueZero, which equals === for the finite scalars the schema allows.
  if ('in' in condition) return conditionOf(at, 'in', null, new Set(condition.in));
  return conditionOf(at, 'nin', null, new Set(condition.nin));
}

/** One constructor site so every compiled condition shares a single object shape (monomorphic hot loop). */
function conditionOf(
  at: Pick<CompiledCondition, 'field' | 'slot' | 'path'>,
  operator: Operator,
  value: Scalar | null,
  values: ReadonlySet<Scalar> | null,
): CompiledCondition {
  return { field: at.field, path: at.path, slot: at.slot, operator, value, values };
}

function freezeDecision(decision: Decision): Decision {
  return Object.freeze(decision);
}

type ToolIndex = Pick<CompiledPolicy, 'exactIndex' | 'prefixIndex' | 'prefixLengths' | 'unprefixed'>;

function buildToolIndex(rules: readonly CompiledRule[]): ToolIndex {
  const exactIndex = new Map<string, number[]>();
  const prefixIndex = new Map<string, number[]>();
  const unprefixed: number[] = [];
  for (const rule of rules) {
    if (!hasWildcard(rule.pattern)) {
      pushTo(exactIndex, rule.pattern, rule.index);
      continue;
    }
    const prefix = literalPrefix(rule.pattern);
    if (prefix === '') unprefixed.push(rule.index);
    else pushTo(prefixIndex, prefix, rule.index);
  }
  const prefixLengths = [...new Set([...prefixIndex.keys()].map((key) => key.length))].sort((a, b) => a - b);
  return { exactIndex, prefixIndex, prefixLengths, unprefixed };
}

function pushTo(map: Map<string, number[]>, key: string, value: number): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

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
  if (tool.length <= CACHEABLE_NAME_LENGTH) remember(compiled.candidateCache, tool, candidates);
  return candidates;
}

function remember(cache: Map<string, Int32Array>, tool: string, candidates: Int32Array): void {
  if (cache.size >= CANDIDATE_CACHE_LIMIT) {
    const oldest = cache.keys().next();
    if (!oldest.done) cache.delete(oldest.value);
  }
  cache.set(tool, candidates);
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
    if (compiled.rules[index]!.matchesTool(tool)) out.push(index);
  }
}

// ---------------------------------------------------------------------------------------------
// Evaluation (hot path: keep allocation-free)
// ---------------------------------------------------------------------------------------------

export function evaluate(compiled: CompiledPolicy, request: EvaluationRequest): Decision {
  const candidates = candidateRules(compiled, request.tool);
  const rules = compiled.rules;
  const memo = compiled.fieldMemo;
  memo.generation++;
  for (let i = 0; i < candidates.length; i++) {
    const rule = rules[candidates[i]!]!;
    if (conditionsHold(rule.conditions, request, memo)) return rule.decision;
  }
  return compiled.defaultDecision;
}

function conditionsHold(
  conditions: readonly CompiledCondition[],
  request: EvaluationRequest,
  memo: FieldMemo,
): boolean {
  for (let i = 0; i < conditions.length; i++) {
    const condition = conditions[i]!;
    const value = memoisedFieldValue(condition, request, memo);
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

function fieldValue(condition: CompiledCondition, request: EvaluationRequest): FieldValue {
  const path = condition.path;
  if (path === null) return request.user ?? MISSING;
  let value: unknown = request.metadata;
  for (let i = 0; i < path.length; i++) {
    const key = path[i]!;
    // Own keys of plain objects only: never inherited properties such as "constructor".
    if (!isPlainObject(value) || !Object.hasOwn(value, key)) return MISSING;
    value = value[key];
  }
  return value === undefined ? MISSING : value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function isScalar(value: FieldValue): value is Scalar {
  const type = typeof value;
  return type === 'string' || type === 'number' || type === 'boolean';
}

function operatorHolds(condition: CompiledCondition, value: Scalar): boolean {
  switch (condition.operator) {
    case 'eq':
      return value === condition.value;
    case 'neq':
      return value !== condition.value;
    case 'in':
      return condition.values!.has(value);
    case 'nin':
      return !condition.values!.has(value);
  }
}

// ---------------------------------------------------------------------------------------------
// tools/list filtering
// ---------------------------------------------------------------------------------------------

/**
 * Whether some request could be allowed (or alerted) for `tool`: the first rule matching the
 * tool that is either allow/alert, or an unconditional deny (which shadows everything after
 * it), decides. Conditional rules of either kind may or may not apply, so a conditional deny
 * does not hide the tool and a conditional allow keeps it listed.
 */
export function couldEverAllow(compiled: CompiledPolicy, tool: string): boolean {
  const candidates = candidateRules(compiled, tool);
  for (let i = 0; i < candidates.length; i++) {
    const rule = compiled.rules[candidates[i]!]!;
    if (rule.action !== 'deny') return true;
    if (rule.conditions.length === 0) return false;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Simulator: explain
// ---------------------------------------------------------------------------------------------

/**
 * Same semantics as evaluate, computed independently by a plain linear scan (no index, no
 * cache) so the simulator also cross-checks the fast path. The trace covers every rule up to
 * and including the one that matched (or all rules when none did).
 */
export function explain(compiled: CompiledPolicy, request: EvaluationRequest): Explanation {
  const trace: TraceEntry[] = [];
  const normal = normalizeName(request.tool);
  for (const rule of compiled.rules) {
    const failure = ruleFailure(rule, request, normal);
    if (failure === null) {
      trace.push({ ruleIndex: rule.index, matched: true, why: matchedWhy(rule, request.tool) });
      return { decision: rule.decision, trace };
    }
    trace.push({ ruleIndex: rule.index, matched: false, why: failure });
  }
  return { decision: compiled.defaultDecision, trace };
}

/** Why the rule does not match, or null when it does. */
function ruleFailure(rule: CompiledRule, request: EvaluationRequest, normalTool: string): string | null {
  if (!rule.matchesTool(normalTool)) {
    return `tool ${quote(request.tool)} does not match glob ${quote(rule.glob)}`;
  }
  for (const condition of rule.conditions) {
    const failure = conditionFailure(condition, fieldValue(condition, request));
    if (failure !== null) return failure;
  }
  return null;
}

function conditionFailure(condition: CompiledCondition, value: FieldValue): string | null {
  if (value === MISSING) return `condition ${condition.field}: field missing — rule skipped`;
  if (!isScalar(value)) {
    return `condition ${condition.field}: value is ${describeNonScalar(value)}, not a string, number or boolean — rule skipped`;
  }
  if (operatorHolds(condition, value)) return null;
  return `condition ${condition.field} ${condition.operator} ${formatOperand(condition)} failed: value is ${formatScalar(value)}`;
}

function matchedWhy(rule: CompiledRule, tool: string): string {
  const count = rule.conditions.length;
  const conditions =
    count === 0 ? 'no conditions' : count === 1 ? 'its condition holds' : `all ${count} conditions hold`;
  return `tool ${quote(tool)} matches glob ${quote(rule.glob)} and ${conditions} — ${rule.action}`;
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
