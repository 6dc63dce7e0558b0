/**
 * The compiled form of a policy, as policy.compile.ts builds it and policy.evaluate.ts walks it:
 * the types only (no code), so the compiler and its readers share one definition.
 */
import type { WeightedMap } from '../lib/bounded.map.js';
import type { GlobMatcher } from '../shared/policy.glob.js';
import type { ArgTest } from './policy.args.js';
import type {
  Operator,
  RateLimit,
  Rule,
  RuleAction,
  Scalar,
  TaintAction,
  TokenGuard,
  TokenLimit,
} from './policy.schema.js';
import type { SessionGate } from './policy.session.js';
import type { CompiledTarget, ModelIndex } from './policy.target.js';

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

/** What a load knows of a rule before compiling it. */
export interface RuleHeads {
  /** Rule i's tool glob as written (null: none). */
  readonly tools: readonly (string | null)[];
  /** Indices of the rules with a `model` or `endpoint` (their targets are compiled at load). */
  readonly targeted: readonly number[];
}
