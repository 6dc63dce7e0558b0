/**
 * Policy compilation, lazy per rule (issue 20: load 10,000 rules in ≤ 15 ms).
 *
 * A load does only what every call needs before it can pick candidate rules: each rule's tool glob
 * in its comparable form (policy.normalize.ts) placed in the tool index (exact names, literal
 * prefixes, the rest), and the model globs of LLM rules (the per-model match cache is sized by
 * them, policy.target.ts). Everything else of a rule — its source parsed when it was published as
 * JSON text (policy.published.ts), its glob matcher, its conditions (sets, argument predicates,
 * patterns) and its frozen decision — is compiled the first time an evaluation reaches it
 * (`ruleAt`, `matcherAt`) and kept. First-match order cannot change: evaluation walks the same
 * ascending candidate indices, it only finds some of them not yet compiled. A call therefore pays
 * at most for the rules it actually examines, once per policy and isolate.
 *
 * Pure, no I/O; compiling a rule is linear in its size.
 */
import { WeightedMap } from '../lib/bounded.map.js';
import { compileGlob, type GlobMatcher, hasWildcard, literalPrefix } from '../shared/policy.glob.js';
import { type ArgCondition, type ArgTest, compileArgTest } from './policy.args.js';
import { normalizePattern } from './policy.normalize.js';
import type {
  Condition,
  Operator,
  Policy,
  RateLimit,
  Rule,
  RuleAction,
  Scalar,
  TaintAction,
  TokenGuard,
  TokenLimit,
} from './policy.schema.js';
import { compileSessionGate, isSessionField, type SessionGate } from './policy.session.js';
import {
  type CompiledTarget,
  compileTarget,
  isTargeted,
  type ModelIndex,
  newModelIndex,
} from './policy.target.js';

export interface Decision {
  readonly action: RuleAction;
  /** false = no rule matched and the call is denied by default. */
  readonly matched: boolean;
  readonly ruleIndex: number | null;
  readonly reason: string | null;
  readonly rateLimit: Readonly<RateLimit> | null;
  /** Tokens per window (LLM calls): counted from actual usage, checked at admit. */
  readonly tokenLimit: Readonly<TokenLimit> | null;
  /** Per-request token bounds (LLM calls). */
  readonly tokenGuard: Readonly<TokenGuard> | null;
  /** Session taint: labels the call adds to its session once admitted (null: none). */
  readonly labels: readonly string[] | null;
  /** Session taint: the call is refused when its session holds every label of one entry. */
  readonly cleanOf: readonly (readonly string[])[] | null;
  /** Session taint: `approve` holds a tainted call for an approver instead of refusing it (absent/null: deny). */
  readonly onTaint?: TaintAction | null;
  /**
   * Session conditions (policy.session.ts): the gates of the rules before this one that the call
   * matches if the session's facts say so — decided by the guard at admit. Absent/null: none.
   */
  readonly sessionGates?: readonly SessionGate[] | null;
  readonly policyVersion: number;
}

export interface CompiledCondition {
  /** As written in the policy, e.g. `metadata.role`. */
  readonly field: string;
  /** Keys below `metadata` or `args`; null for the `user` and `team` fields. */
  readonly path: readonly string[] | null;
  /** True for `args.*` fields (path is below request.args, not request.metadata). */
  readonly args: boolean;
  /** True for `annotations.*` fields (path is below request.annotations). */
  readonly annotations: boolean;
  /** The compiled predicate of a value operator beyond eq/neq/in/nin (policy.args.ts); else null. */
  readonly test: ArgTest | null;
  /** True for the `team` field: set membership over the call's teams (teamHolds). */
  readonly team: boolean;
  /** Index of this field in the policy's FieldMemo (shared by all conditions on the field). */
  readonly slot: number;
  readonly operator: Operator;
  /** Operand of eq/neq (null for the others). */
  readonly value: Scalar | null;
  /** Operand of in/nin (null for eq/neq). */
  readonly values: ReadonlySet<Scalar> | null;
}

export interface CompiledRule {
  readonly index: number;
  /** As written in the policy (shown in explanations); null when the rule has no tool glob. */
  readonly glob: string | null;
  /** The glob's comparable form (policy.normalize.ts): what names are matched and indexed by. */
  readonly pattern: string | null;
  readonly matchesTool: GlobMatcher;
  /** The rule's model glob and endpoints (policy.target.ts). */
  readonly target: CompiledTarget;
  /** True when `target` names a model or endpoints: checked before the conditions. */
  readonly targeted: boolean;
  readonly action: RuleAction;
  readonly conditions: readonly CompiledCondition[];
  /** Its `session.*` conditions (not in `conditions`: the guard decides them), or null. */
  readonly session: SessionGate | null;
  /** Returned as-is when the rule matches: no allocation per evaluation. */
  readonly decision: Decision;
}

export interface CompiledPolicy {
  readonly version: number;
  readonly ruleCount: number;
  /** Rule i as validated at publish: the object, or its JSON text (parsed on first use). */
  readonly sources: readonly (Rule | string)[];
  /** Rule i compiled, filled on first use (ruleAt). */
  readonly compiledRules: (CompiledRule | undefined)[];
  /** Rule i's tool glob in comparable form; null when it has none. */
  readonly patterns: readonly (string | null)[];
  /** Rule i's tool matcher, filled on first use (matcherAt). */
  readonly matchers: (GlobMatcher | undefined)[];
  /** Rule i's model/endpoint target, compiled at load for the rules that have one (sparse). */
  readonly targets: readonly (CompiledTarget | undefined)[];
  readonly defaultDecision: Decision;
  /** Rules whose glob has no wildcard, by exact tool name. */
  readonly exactIndex: ReadonlyMap<string, readonly number[]>;
  /** Wildcard rules with a non-empty literal prefix, by that prefix. */
  readonly prefixIndex: ReadonlyMap<string, readonly number[]>;
  /** Distinct keys lengths of prefixIndex, ascending. */
  readonly prefixLengths: readonly number[];
  /** Rules starting with a wildcard, or without a tool glob: candidates for every tool. */
  readonly unprefixed: readonly number[];
  /**
   * tool name → ascending indices of rules whose glob matches it. Bounded by CANDIDATE_CACHE_LIMIT
   * names and by two thirds of `memoBytes` (the model cache takes the rest).
   */
  readonly candidateCache: WeightedMap<string, Int32Array>;
  /** The model globs of the rules, and which of them each model name matches (policy.target.ts). */
  readonly models: ModelIndex;
  /** Condition field → its FieldMemo slot; grows as rules are compiled. */
  readonly slots: Map<string, number>;
  readonly fieldMemo: FieldMemo;
  /** The most the name caches above may hold (policyMemoBytes): the policy cache weighs it in. */
  readonly memoBytes: number;
}

/** Bounds the names cached when callers spray distinct tool names; FIFO eviction keeps it O(1). */
export const CANDIDATE_CACHE_LIMIT = 1024;

/**
 * The bytes a compiled policy's per-name caches (candidate rules, model matches) may hold: they
 * fill with caller-chosen names, each with an array as long as the rules it matches, so 1,024
 * names of a 10,000-rule policy were 40 MB, and the policy cache (policy.store.ts) weighed only
 * the text. Proportional to the rules (a small policy's candidates are cheap to compute again),
 * between 8 KB and 256 KB; the policy cache adds it to the policy's weight.
 */
export function policyMemoBytes(ruleCount: number): number {
  return Math.min(256 * 1024, Math.max(8 * 1024, ruleCount * 256));
}

/**
 * Scratch space reused by every evaluate() call on a policy: slot i holds the value of the
 * i-th distinct field, valid while stamps[i] === generation. Safe because evaluation is
 * synchronous and single-threaded; bumping the generation invalidates all slots in O(1).
 * `stamps` is replaced by a larger copy when a lazily compiled rule adds a field (growSlots).
 */
export interface FieldMemo {
  generation: number;
  stamps: Float64Array;
  readonly values: unknown[];
}

export const NO_MATCH_REASON = 'no rule matched';

/** What a load knows of a rule before compiling it. */
export interface RuleHeads {
  /** Rule i's tool glob as written (null: none). */
  readonly tools: readonly (string | null)[];
  /** Indices of the rules with a `model` or `endpoint` (their targets are compiled at load). */
  readonly targeted: readonly number[];
}

// ---------------------------------------------------------------------------------------------
// Load: the tool index and the model globs only
// ---------------------------------------------------------------------------------------------

/**
 * Compiles a validated policy the caller may go on to change: each rule is kept as its JSON text
 * (compiled on first use), so a later change to `policy` cannot reach the compiled form. A load
 * of a published policy gets the texts from storage (policy.published.ts) and skips this copy.
 */
export function compilePolicy(policy: Policy, version: number): CompiledPolicy {
  const texts = policy.rules.map((rule) => JSON.stringify(rule));
  return compileSources(texts, headsOf(policy.rules), version);
}

/** The heads of parsed rules (a published policy stores them beside its rule texts). */
export function headsOf(rules: readonly Rule[]): RuleHeads {
  const tools: (string | null)[] = new Array(rules.length);
  const targeted: number[] = [];
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    tools[i] = rule.tool ?? null;
    if (rule.model !== undefined || rule.endpoint !== undefined) targeted.push(i);
  }
  return { tools, targeted };
}

/** `sources[i]` is rule i (object or JSON text); `heads` must describe the same rules. */
export function compileSources(
  sources: readonly (Rule | string)[],
  heads: RuleHeads,
  version: number,
): CompiledPolicy {
  const count = sources.length;
  const patterns: (string | null)[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const tool = heads.tools[i];
    patterns[i] = tool === null || tool === undefined ? null : normalizePattern(tool);
  }
  // Model globs are registered now, in rule order: the per-model match cache is sized by them.
  const memoBytes = policyMemoBytes(count);
  const models = newModelIndex(Math.floor(memoBytes / 3));
  const targets: (CompiledTarget | undefined)[] = new Array(count);
  for (const index of heads.targeted) targets[index] = compileTarget(sourceRule(sources[index]!), models);
  return {
    version,
    ruleCount: count,
    sources,
    compiledRules: new Array(count),
    patterns,
    matchers: new Array(count),
    targets,
    defaultDecision: freezeDecision({
      action: 'deny',
      matched: false,
      ruleIndex: null,
      reason: NO_MATCH_REASON,
      rateLimit: null,
      tokenLimit: null,
      tokenGuard: null,
      labels: null,
      cleanOf: null,
      policyVersion: version,
    }),
    ...buildToolIndex(patterns),
    candidateCache: new WeightedMap(CANDIDATE_CACHE_LIMIT, memoBytes - Math.floor(memoBytes / 3)),
    models,
    slots: new Map(),
    fieldMemo: { generation: 0, stamps: new Float64Array(8), values: [] },
    memoBytes,
  };
}

type ToolIndex = Pick<CompiledPolicy, 'exactIndex' | 'prefixIndex' | 'prefixLengths' | 'unprefixed'>;

function buildToolIndex(patterns: readonly (string | null)[]): ToolIndex {
  const exactIndex = new Map<string, number[]>();
  const prefixIndex = new Map<string, number[]>();
  const unprefixed: number[] = [];
  for (let index = 0; index < patterns.length; index++) {
    const pattern = patterns[index]!;
    if (pattern === null) {
      unprefixed.push(index);
      continue;
    }
    if (!hasWildcard(pattern)) {
      pushTo(exactIndex, pattern, index);
      continue;
    }
    const prefix = literalPrefix(pattern);
    if (prefix === '') unprefixed.push(index);
    else pushTo(prefixIndex, prefix, index);
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
// On first use: a rule's matcher, the whole rule
// ---------------------------------------------------------------------------------------------

/** A rule without a tool glob (it targets a model or endpoints) matches any name. */
const matchAnyTool: GlobMatcher = () => true;

/** Rule `index`'s tool matcher (compiled on first use). */
export function matcherAt(compiled: CompiledPolicy, index: number): GlobMatcher {
  const known = compiled.matchers[index];
  if (known !== undefined) return known;
  const pattern = compiled.patterns[index]!;
  const matcher = pattern === null ? matchAnyTool : compileGlob(pattern);
  compiled.matchers[index] = matcher;
  return matcher;
}

/** Rule `index` compiled (on first use). */
export function ruleAt(compiled: CompiledPolicy, index: number): CompiledRule {
  return compiled.compiledRules[index] ?? compileRuleAt(compiled, index);
}

/** Every rule compiled, in order (the simulator walks them all). */
export function allRules(compiled: CompiledPolicy): CompiledRule[] {
  const rules: CompiledRule[] = new Array(compiled.ruleCount);
  for (let i = 0; i < compiled.ruleCount; i++) rules[i] = ruleAt(compiled, i);
  return rules;
}

function sourceRule(source: Rule | string): Rule {
  // JSON text written by encodePublished from a validated rule (policy.published.ts).
  return typeof source === 'string' ? (JSON.parse(source) as Rule) : source;
}

const NO_TARGET: CompiledTarget = Object.freeze({
  model: null,
  modelSlot: -1,
  endpoints: null,
  endpointMask: 0,
});

function compileRuleAt(compiled: CompiledPolicy, index: number): CompiledRule {
  const rule = sourceRule(compiled.sources[index]!);
  const conditions = Object.entries(rule.conditions ?? {})
    .filter(([field]) => !isSessionField(field))
    .map(([field, condition]) => compileCondition(field, condition, slotOf(compiled, field)));
  const target = compiled.targets[index] ?? NO_TARGET;
  const version = compiled.version;
  const result: CompiledRule = {
    index,
    glob: rule.tool ?? null,
    pattern: compiled.patterns[index]!,
    matchesTool: matcherAt(compiled, index),
    target,
    targeted: isTargeted(target),
    action: rule.action,
    conditions,
    session: compileSessionGate(index, rule.action, rule.conditions),
    decision: freezeDecision({
      action: rule.action,
      matched: true,
      ruleIndex: index,
      reason: rule.reason ?? null,
      rateLimit: frozenCopy(rule.rateLimit),
      tokenLimit: frozenCopy(rule.tokenLimit),
      tokenGuard: frozenCopy(rule.tokenGuard),
      labels: rule.labels ? Object.freeze([...rule.labels]) : null,
      cleanOf: rule.cleanOf ? Object.freeze(rule.cleanOf.map((entry) => Object.freeze([...entry]))) : null,
      onTaint: rule.onTaint ?? null,
      policyVersion: version,
    }),
  };
  compiled.compiledRules[index] = result;
  return result;
}

/** A copy, so a caller can neither change the rule through its decision nor the decision through the rule. */
function frozenCopy<T extends object>(value: T | undefined): Readonly<T> | null {
  return value === undefined ? null : Object.freeze({ ...value });
}

function slotOf(compiled: CompiledPolicy, field: string): number {
  let slot = compiled.slots.get(field);
  if (slot === undefined) {
    slot = compiled.slots.size;
    compiled.slots.set(field, slot);
    growSlots(compiled.fieldMemo, slot + 1);
  }
  return slot;
}

/** Room for `size` slots; the copy keeps the stamps of the evaluation in progress valid. */
function growSlots(memo: FieldMemo, size: number): void {
  if (memo.stamps.length >= size) return;
  const stamps = new Float64Array(Math.max(size, memo.stamps.length * 2));
  stamps.set(memo.stamps);
  memo.stamps = stamps;
}

function compileCondition(field: string, condition: Condition, slot: number): CompiledCondition {
  const named = field === 'user' || field === 'team';
  const at = {
    field,
    slot,
    path: named ? null : field.split('.').slice(1),
    team: field === 'team',
    args: field.startsWith('args.'),
    annotations: field.startsWith('annotations.'),
  };
  if (typeof condition !== 'object') return conditionOf(at, 'eq', condition, null);
  if ('eq' in condition) return conditionOf(at, 'eq', condition.eq, null);
  if ('neq' in condition) return conditionOf(at, 'neq', condition.neq, null);
  // Set membership uses SameValueZero, which equals === for the finite scalars the schema allows.
  if ('in' in condition) return conditionOf(at, 'in', null, new Set(condition.in));
  if ('nin' in condition) return conditionOf(at, 'nin', null, new Set(condition.nin));
  // The operand is kept in value/values for explanations only; `test` is what decides.
  const op = Object.keys(condition)[0] as Operator;
  const operand = Object.values(condition)[0] as Scalar | string[];
  const shown = Array.isArray(operand) ? ([null, new Set(operand)] as const) : ([operand, null] as const);
  return conditionOf(at, op, shown[0], shown[1], compileArgTest(condition as ArgCondition));
}

/** One constructor site so every compiled condition shares a single object shape (monomorphic hot loop). */
function conditionOf(
  at: Pick<CompiledCondition, 'field' | 'slot' | 'path' | 'team' | 'args' | 'annotations'>,
  operator: Operator,
  value: Scalar | null,
  values: ReadonlySet<Scalar> | null,
  test: ArgTest | null = null,
): CompiledCondition {
  return {
    field: at.field,
    path: at.path,
    args: at.args,
    annotations: at.annotations,
    team: at.team,
    slot: at.slot,
    operator,
    value,
    values,
    test,
  };
}

function freezeDecision(decision: Decision): Decision {
  return Object.freeze(decision);
}
