/**
 * From rules, packs and per-connection overrides to what the scanner runs: the enabled rules with
 * their effective action, checked and bounded patterns, and one literal automaton.
 */
import { type Automaton, buildAutomaton } from './inspection.aho.js';
import { builtinPacks, builtinRules } from './inspection.builtin.js';
import { glueTable } from './inspection.glue.js';
import { checkPattern, consumedChars, type PatternError } from './inspection.regex.js';
import {
  type Action,
  type Category,
  type Overrides,
  type Pack,
  placeholderType,
  type Rule,
  SEVERITY_RANK,
  type Severity,
  type Signal,
  type Validator,
  WHERES,
  type Where,
} from './inspection.schema.js';

export const DEFAULT_WINDOW = 128;

export interface CompiledRule {
  index: number;
  id: string;
  category: Category;
  severity: Severity;
  action: Action;
  placeholder: string;
  /** Bit i set when the rule applies to WHERES[i]. */
  whereMask: number;
  /** Global regex (with indices when the pattern has a `v` group); null for literal-only rules. */
  re: RegExp | null;
  hasValueGroup: boolean;
  before: number;
  after: number;
  validators: readonly Validator[];
  signal: Signal | null;
  anchored: boolean;
  /** Which ASCII characters the rule's values glue to (inspection.glue.ts); null: none. */
  glue: Uint8Array | null;
  /**
   * Every character the pattern can consume is glue: a match starting inside a finding's glued run
   * ends inside it, so the scan goes on from the run's end (inspection.glue.ts `resumeAt`).
   */
  glueHoldsMatches: boolean;
}

/**
 * One literal automaton, and for each of its literals the rules that own it: rule index and literal
 * length, in pairs, flat (a scan walks these for every hit: no pair arrays to unpack).
 */
export interface LiteralIndex {
  automaton: Automaton;
  literalRules: Int32Array[];
}

export interface CompiledRules {
  rules: CompiledRule[];
  /**
   * The literal automaton of the rules that apply where the text is (a where bit): built on first
   * use, one per `where`. A prompt is then not searched for the literals of rules that look only
   * at tool arguments — fewer hits, and a smaller table, which is the floor of every scan's cost.
   */
  literalsFor(whereMask: number): LiteralIndex;
  /** What the automata built so far hold in memory, in bytes (they are built as scans need them). */
  automataBytes(): number;
  /** Rules with a pattern and no literals: their pattern runs over the whole text. */
  unanchored: CompiledRule[];
  bySignal: Map<Signal, CompiledRule[]>;
}

export class RuleCompileError extends Error {
  readonly ruleId: string;
  readonly errors: PatternError[];
  // Plain fields, not parameter properties: Node's type stripping (bench, eval) cannot run those.
  constructor(ruleId: string, errors: PatternError[]) {
    super(`rule ${ruleId}: ${errors.map((e) => `${e.code} at ${e.at}: ${e.message}`).join('; ')}`);
    this.ruleId = ruleId;
    this.errors = errors;
  }
}

export const whereBit = (where: Where) => 1 << WHERES.indexOf(where);

/**
 * The ids a set of packs enables ('all' for every rule). A built-in pack's categories select
 * built-in rules only: an organization's custom rule applies where one of its own packs names it
 * (or names its category), never silently through a built-in pack every connection may use.
 */
export function selectRules(rules: readonly Rule[], packs: readonly Pack[] | 'all'): Rule[] {
  if (packs === 'all') return [...rules];
  const builtinPack = builtinPacks();
  const builtinRule = builtinRuleIds();
  const ids = new Set<string>();
  for (const pack of packs) {
    for (const id of pack.rules) ids.add(id);
    const min = pack.minSeverity ? SEVERITY_RANK[pack.minSeverity] : 0;
    const builtinOnly = builtinPack.get(pack.name) === pack;
    for (const rule of rules) {
      if (builtinOnly && !builtinRule.has(rule.id)) continue;
      if (pack.categories.includes(rule.category) && SEVERITY_RANK[rule.severity] >= min) ids.add(rule.id);
    }
  }
  return rules.filter((r) => ids.has(r.id));
}

/** The packs that select any of `rules` (the selection above): who a custom rule reaches. */
export function packsSelecting(rules: readonly Rule[], packs: readonly Pack[]): string[] {
  return packs.filter((pack) => selectRules(rules, [pack]).length > 0).map((pack) => pack.name);
}

let builtinIds: ReadonlySet<string> | null = null;
function builtinRuleIds(): ReadonlySet<string> {
  builtinIds ??= new Set(builtinRules().map((r) => r.id));
  return builtinIds;
}

export function effectiveAction(rule: Rule, overrides?: Overrides): Action | 'off' {
  return overrides?.rules?.[rule.id] ?? overrides?.categories?.[rule.category] ?? rule.action;
}

function compileOne(rule: Rule, index: number, action: Action): CompiledRule {
  const d = rule.detection;
  let re: RegExp | null = null;
  let hasValueGroup = false;
  const glue = d.glue !== undefined ? glueTable(d.glue) : null;
  let glueHoldsMatches = false;
  if (d.pattern !== undefined) {
    const checked = checkPattern(d.pattern, !d.caseSensitive);
    if (!checked.ok) throw new RuleCompileError(rule.id, checked.errors);
    hasValueGroup = checked.source.includes('(?<v>');
    re = new RegExp(checked.source, `g${d.caseSensitive ? '' : 'i'}${hasValueGroup ? 'd' : ''}`);
    glueHoldsMatches = glue !== null && holds(glue, consumedChars(d.pattern, !d.caseSensitive));
  }
  return {
    index,
    id: rule.id,
    category: rule.category,
    severity: rule.severity,
    action,
    placeholder: placeholderType(rule),
    whereMask: rule.where.reduce((m, w) => m | whereBit(w), 0),
    re,
    hasValueGroup,
    before: d.window?.before ?? DEFAULT_WINDOW,
    after: d.window?.after ?? DEFAULT_WINDOW,
    validators: d.validators ?? [],
    signal: d.signal ?? null,
    anchored: d.literals !== undefined,
    glue,
    glueHoldsMatches,
  };
}

/** Whether every character of `chars` is in the glue table. */
function holds(glue: Uint8Array, chars: { ascii: Uint32Array; nonAscii: boolean }): boolean {
  if (chars.nonAscii) return false;
  for (let c = 0; c < 128; c++) if ((chars.ascii[c >> 5]! >>> (c & 31)) & 1 && !glue[c]) return false;
  return true;
}

export function compileRuleSet(
  allRules: readonly Rule[],
  packs: readonly Pack[] | 'all',
  overrides?: Overrides,
): CompiledRules {
  const rules: CompiledRule[] = [];
  for (const rule of selectRules(allRules, packs)) {
    const action = effectiveAction(rule, overrides);
    if (action !== 'off') rules.push(compileOne(rule, rules.length, action));
  }
  const unanchored: CompiledRule[] = [];
  const bySignal = new Map<Signal, CompiledRule[]>();
  const source = new Map(allRules.map((r) => [r.id, r]));
  const anchored: Array<[CompiledRule, readonly string[]]> = [];
  for (const compiled of rules) {
    if (compiled.signal) {
      bySignal.set(compiled.signal, [...(bySignal.get(compiled.signal) ?? []), compiled]);
      continue;
    }
    const literals = source.get(compiled.id)!.detection.literals;
    if (literals) anchored.push([compiled, literals]);
    else unanchored.push(compiled);
  }
  const byWhere = new Map<number, LiteralIndex>();
  const literalsFor = (whereMask: number): LiteralIndex => {
    let index = byWhere.get(whereMask);
    if (!index) {
      index = literalIndex(anchored.filter(([rule]) => rule.whereMask & whereMask));
      byWhere.set(whereMask, index);
    }
    return index;
  };
  const automataBytes = () => {
    let bytes = 0;
    for (const index of byWhere.values()) bytes += index.automaton.bytes;
    return bytes;
  };
  return { rules, literalsFor, automataBytes, unanchored, bySignal };
}

function literalIndex(anchored: ReadonlyArray<[CompiledRule, readonly string[]]>): LiteralIndex {
  const at = new Map<string, number>();
  const owners: number[][] = [];
  for (const [rule, literals] of anchored)
    for (const literal of literals) {
      const key = literal.replace(/[A-Z]/g, (c) => c.toLowerCase()); // the automaton folds ASCII only
      let k = at.get(key);
      if (k === undefined) {
        k = owners.length;
        at.set(key, k);
        owners.push([]);
      }
      owners[k]!.push(rule.index, literal.length);
    }
  return { automaton: buildAutomaton([...at.keys()]), literalRules: owners.map((o) => Int32Array.from(o)) };
}
