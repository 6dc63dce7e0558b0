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
import type {
  CompiledCondition,
  CompiledPolicy,
  CompiledRule,
  Decision,
  FieldMemo,
  RuleHeads,
} from './policy.compiled.js';
import { normalizePattern } from './policy.normalize.js';
import type { Condition, Operator, Policy, Rule, Scalar } from './policy.schema.js';
import { compileSessionGate, isSessionField } from './policy.session.js';
import { type CompiledTarget, compileTarget, isTargeted, newModelIndex } from './policy.target.js';

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

export type {
  CompiledCondition,
  CompiledPolicy,
  CompiledRule,
  Decision,
  FieldMemo,
  RuleHeads,
} from './policy.compiled.js';

export const NO_MATCH_REASON = 'no rule matched';

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
