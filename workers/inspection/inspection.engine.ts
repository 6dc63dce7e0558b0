/**
 * The detection engine: `compileRules(rules, packs, overrides)` → `engine.scan(text, where)`.
 *
 * A scan, all of it linear in the input:
 *   1. normalise (inspection.normalize.ts) — invisible characters and homoglyphs become signals;
 *   2. run the literal automaton of the rules that apply to `where` once over the normalised
 *      text; each hit opens a window of `before`/`after` characters around it for the rules
 *      that own the literal; overlapping
 *      windows of one rule are merged, so a rule reads each character at most once (plus its
 *      window margins), whatever the number of hits;
 *   3. in each window run the rule's bounded pattern (inspection.regex.ts) and its validators;
 *      rules without literals run their pattern once over the whole text;
 *   4. decode suspicious spans (inspection.decode.ts) and scan the decoded text the same way,
 *      to a depth of 2 and within a budget of decoded characters (the input's length, at
 *      least 4 KB): total work stays within a constant multiple of the input.
 *
 * Offsets: findings carry [start, end) in the ORIGINAL text (mapped back through the normaliser).
 * A finding inside decoded content cannot point inside the encoding (one encoded character is
 * not one decoded character), so it gets the whole encoded span it came from, and `encoding`
 * names the chain of decodings (`['url', 'base64']`). The redactor masks that whole span.
 *
 * Findings never hold the matched text: rule id, category, severity, action and offsets only.
 */
import {
  type CompiledRule,
  type CompiledRules,
  compileRuleSet,
  DEFAULT_WINDOW,
  whereBit,
} from './inspection.compile.js';
import {
  DEFAULT_LIMITS,
  type Engine,
  type Finding,
  MIN_REACH,
  type ScanLimits,
} from './inspection.contract.js';
import { ENCODING_SIGNAL, type EncodedSpan, findEncodedSpans } from './inspection.decode.js';
import { GlueRuns } from './inspection.glue.js';
import { scanJsonValue } from './inspection.json.js';
import { normalize, originalSpan } from './inspection.normalize.js';
import { PlainIndex } from './inspection.plain-index.js';
import type { Overrides, Pack, Rule, Signal, Where } from './inspection.schema.js';
import { MAX_LITERAL_LENGTH, SEVERITY_RANK } from './inspection.schema.js';
import { InterestList } from './inspection.tokens.js';
import { passes } from './inspection.validators.js';
import { Windows } from './inspection.windows.js';

export {
  DEFAULT_LIMITS,
  type Engine,
  type Finding,
  MIN_REACH,
  type ScanLimits,
} from './inspection.contract.js';

interface ScanState {
  where: number;
  budget: number;
  /** Findings so far per rule (by rule index), across decoding levels: capped at maxFindingsPerRule. */
  counts: Int32Array;
  /** redactSpans: `redact` rules (but signal ones) are not capped. */
  uncapped: boolean;
}

class Scanner implements Engine {
  /** The literal windows of a scan, reused across scans. */
  private readonly windows: Windows;
  /** Findings per rule of the scan under way (ScanState.counts). */
  private readonly counts: Int32Array;
  /** What the automaton notes for the decoder (findEncodedSpans), reused across scans. */
  private readonly interest = new InterestList();
  /** The glued runs of the text under way (inspection.glue.ts), reused across scans. */
  private readonly glued: GlueRuns;

  private readonly set: CompiledRules;
  private readonly limits: ScanLimits;
  private readonly byId: Map<string, CompiledRule>;

  readonly reach: number;

  constructor(set: CompiledRules, limits: ScanLimits) {
    this.set = set;
    this.limits = limits;
    let reach = MIN_REACH;
    for (const rule of set.rules) reach = Math.max(reach, rule.before + rule.after + MAX_LITERAL_LENGTH);
    this.reach = reach;
    this.windows = new Windows(set.rules.length);
    this.counts = new Int32Array(set.rules.length);
    this.glued = new GlueRuns(set.rules.length);
    this.byId = new Map(set.rules.map((r) => [r.id, r]));
  }

  approxBytes(): number {
    // Measured (Node, every pack, all four automata built): the heap beside the tables about
    // equals them, and a rule (its patterns, windows, ids) about 8 KB.
    return 2 * this.set.automataBytes() + this.set.rules.length * 8_192;
  }

  get ruleCount() {
    return this.set.rules.length;
  }

  scan(text: string, where: Where): Finding[] {
    const state = this.newState(where, text.length);
    return this.markCapped(dedupe(this.scanText(text, state, 0)), state);
  }

  redactSpans(text: string, where: Where): Finding[] {
    const state = this.newState(where, text.length);
    state.uncapped = true;
    const found = dedupe(this.scanText(text, state, 0)).filter((f) => f.action === 'redact');
    return this.markCapped(found, state);
  }

  scanJson(value: unknown, where: Where): Finding[] {
    const state = this.newState(where, 0);
    return scanJsonValue(value, this.limits, {
      text: (s) => {
        state.budget = Math.max(4096, s.length);
        state.counts.fill(0);
        return this.markCapped(dedupe(this.scanText(s, state, 0)), state);
      },
      limit: () => this.signalFindings('scan_limit', 0, 0, state),
    });
  }

  private newState(where: Where, length: number): ScanState {
    return {
      where: whereBit(where),
      budget: Math.max(4096, length),
      // One array per engine, emptied per scan: scans are synchronous and never nested.
      counts: this.counts.fill(0),
      uncapped: false,
    };
  }

  /** Whether `rule` is capped in this scan (every rule but, in redactSpans, the `redact` ones). */
  private capped(rule: CompiledRule, state: ScanState): boolean {
    return !(state.uncapped && rule.action === 'redact' && !rule.signal);
  }

  /** Counts a finding of `rule`; false once the rule has reached its cap for this scan. */
  private room(rule: CompiledRule, state: ScanState): boolean {
    return state.counts[rule.index]!++ < this.limits.maxFindingsPerRule || !this.capped(rule, state);
  }

  /** Marks `more` on the findings of the rules that reached their cap in this scan (of one text). */
  private markCapped(found: Finding[], state: ScanState): Finding[] {
    for (const f of found) {
      const rule = this.byId.get(f.ruleId)!;
      if (state.counts[rule.index]! >= this.limits.maxFindingsPerRule && this.capped(rule, state))
        f.more = true;
    }
    return found;
  }

  /** Findings for a signal at [start, end) of the original text. */
  private signalFindings(signal: Signal, start: number, end: number, state: ScanState): Finding[] {
    const out: Finding[] = [];
    for (const rule of this.set.bySignal.get(signal) ?? [])
      if (rule.whereMask & state.where && this.room(rule, state)) out.push(finding(rule, start, end));
    return out;
  }

  private scanText(text: string, state: ScanState, depth: number): Finding[] {
    const norm = normalize(text);
    const found: Finding[] = [];
    for (const hit of norm.signals) found.push(...this.signalFindings(hit.signal, hit.start, hit.end, state));
    const inNorm: Finding[] = [];
    this.glued.begin();
    const noted = this.matchLiterals(norm.text, state, inNorm);
    const { unanchored } = this.set;
    for (let u = 0; u < unanchored.length; u++) {
      const rule = unanchored[u]!;
      if (rule.whereMask & state.where) this.confirm(rule, norm.text, 0, norm.text.length, state, inNorm);
    }
    // Indexed loops in this per-text path: for…of left iterator objects behind on every scan.
    for (let k = 0; k < inNorm.length; k++) {
      const f = inNorm[k]!;
      const span = originalSpan(norm, f.start, f.end);
      f.start = span.start;
      f.end = span.end;
      found.push(f);
    }
    // One tokenising pass finds both the spans to decode and the long base64 blobs.
    const blobs: Array<{ start: number; end: number }> = [];
    const spans = findEncodedSpans(norm.text, blobs, noted ? this.interest : undefined);
    for (const blob of blobs) {
      const { start, end } = originalSpan(norm, blob.start, blob.end);
      found.push(...this.signalFindings('base64_blob', start, end, state));
    }
    if (depth < this.limits.maxDecodeDepth) this.scanEncoded(norm, spans, state, depth, found);
    else if (depth > 0 && spans.length)
      // Still encoded after the deepest decoding: what is inside was not inspected.
      found.push(...this.signalFindings('scan_limit', 0, text.length, state));
    return found;
  }

  /**
   * Step 2: literal hits open windows per rule, merged while they overlap. The windows are
   * confirmed after the automaton pass, rule by rule (each rule's windows in order), not as they
   * close: interleaving a hundred rules' regular expressions with the automaton evicted both from
   * the CPU caches, and grouping them cut the confirmation cost by a fifth (docs/detections.md).
   * Findings are the same: a rule's windows and its per-scan cap do not depend on other rules.
   */
  private matchLiterals(text: string, state: ScanState, out: Finding[]): boolean {
    const { where } = state;
    const { rules } = this.set;
    const { literalRules, automaton } = this.set.literalsFor(where);
    const { windows } = this;
    windows.begin();
    automaton.scan(
      text,
      (literal, end) => {
        const owners = literalRules[literal]!;
        for (let k = 0; k < owners.length; k += 2) {
          const rule = rules[owners[k]!]!;
          const length = owners[k + 1]!;
          if (!(rule.whereMask & where)) continue;
          if (!rule.re) {
            if (this.room(rule, state)) out.push(finding(rule, end - length, end));
            continue;
          }
          const ws = Math.max(0, end - length - rule.before);
          windows.add(rule.index, ws, Math.min(text.length, end + rule.after));
        }
      },
      this.interest,
    );
    windows.finish();
    // (The automaton also noted the decoder's positions in this.interest: read before any inner scan.)
    for (let t = 0; t < windows.rules; t++) {
      const rule = rules[windows.rule(t)]!;
      for (let k = windows.first(rule.index); k >= 0; k = windows.next(k))
        this.confirm(rule, text, windows.start(k), windows.end(k), state, out);
    }
    return automaton.notesInterest;
  }

  /** Step 3: the rule's pattern and validators over text[from, to). */
  private confirm(
    rule: CompiledRule,
    text: string,
    from: number,
    to: number,
    state: ScanState,
    out: Finding[],
  ): void {
    if (state.counts[rule.index]! >= this.limits.maxFindingsPerRule && this.capped(rule, state)) return;
    if (rule.glueHoldsMatches) {
      from = Math.max(from, this.glued.resumeAt(rule.index));
      if (from >= to) return;
    }
    const re = rule.re!;
    // One character of context on each side, so `\b`, lookbehinds and lookaheads at the window's
    // edges see the real neighbours (a literal found inside "protein" must not look like a word
    // start); a match may not start on the left context character.
    const lo = from > 0 ? from - 1 : 0;
    const hi = Math.min(text.length, to + 1);
    const slice = lo === 0 && hi === text.length ? text : text.slice(lo, hi);
    re.lastIndex = from - lo;
    for (let m = re.exec(slice); m; m = re.exec(slice)) {
      if (m[0].length === 0) re.lastIndex++;
      const group = rule.hasValueGroup ? m.indices?.groups?.v : undefined;
      const [s, e] = group ?? [m.index, m.index + m[0].length];
      const value = slice.slice(s, e);
      if (!rule.validators.every((v) => passes(v, value))) continue;
      if (!rule.glue) {
        if (!this.room(rule, state)) return;
        out.push(finding(rule, lo + s, lo + e));
        continue;
      }
      // A glued value: the whole run it sits in, or part of the previous finding's run.
      const span = this.glued.widen(rule.index, rule.glue, text, lo + s, lo + e);
      if (span) {
        if (!this.room(rule, state)) return;
        const f = finding(rule, span.start, span.end);
        this.glued.keep(rule.index, f);
        out.push(f);
      }
      if (rule.glueHoldsMatches) re.lastIndex = Math.max(re.lastIndex, this.glued.resumeAt(rule.index) - lo);
    }
  }

  /** Step 4: decoded spans scanned again; what is found inside maps to the whole encoded span. */
  private scanEncoded(
    norm: ReturnType<typeof normalize>,
    spans: readonly EncodedSpan[],
    state: ScanState,
    depth: number,
    found: Finding[],
  ): void {
    // The plain findings so far, by rule, to ask whether one overlaps a decoded span: an index, as
    // redactSpans' uncapped findings could be as many as the spans (a linear search each: quadratic).
    if (spans.length === 0) return;
    const plain = new PlainIndex(found);
    for (const span of spans) {
      const { start, end } = originalSpan(norm, span.start, span.end);
      if (span.decoded.length > state.budget) {
        found.push(...this.signalFindings('scan_limit', start, end, state));
        return;
      }
      state.budget -= span.decoded.length;
      const inner = this.scanText(span.decoded, state, depth + 1);
      let hidesAttack = false;
      // Every inner finding becomes this whole span: one per rule (the first, as dedupe keeps).
      const rulesHere = new Set<string>();
      for (const f of inner) {
        if (rulesHere.has(f.ruleId)) continue;
        rulesHere.add(f.ruleId);
        // Decoded spans keep their plain context: what the plain text already showed is not hidden.
        if (plain.overlaps(f.ruleId, start, end)) continue;
        found.push({ ...f, start, end, encoding: [span.kind, ...(f.encoding ?? [])] });
        if (f.category !== 'obfuscation' && SEVERITY_RANK[f.severity] >= SEVERITY_RANK.medium)
          hidesAttack = true;
      }
      if (hidesAttack) {
        const signals = this.signalFindings(ENCODING_SIGNAL[span.kind], start, end, state);
        for (const s of signals) plain.add(s);
        found.push(...signals);
      }
    }
  }
}

function finding(rule: CompiledRule, start: number, end: number): Finding {
  return {
    ruleId: rule.id,
    category: rule.category,
    severity: rule.severity,
    action: rule.action,
    start,
    end,
    placeholder: rule.placeholder,
  };
}

/** One finding per rule and span, ordered by position. */
function dedupe(findings: Finding[]): Finding[] {
  if (findings.length < 2) return findings.slice(); // most texts: nothing to compare
  const seen = new Set<string>();
  const out: Finding[] = [];
  for (const f of findings) {
    const key = `${f.ruleId}:${f.start}:${f.end}:${f.location ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(f);
  }
  return out.sort((a, b) => a.start - b.start || a.end - b.end || (a.ruleId < b.ruleId ? -1 : 1));
}

/**
 * Compiles an engine. `rules` are every rule known (built-in and custom, already validated);
 * `packs` choose which are on ('all' for every rule); `overrides` change actions or turn rules off.
 * Throws RuleCompileError when a pattern is refused (validate custom rules first:
 * validateCustomRule in inspection.custom.ts).
 */
export function compileRules(
  rules: readonly Rule[],
  packs: readonly Pack[] | 'all',
  overrides?: Overrides,
  limits: Partial<ScanLimits> = {},
): Engine {
  return new Scanner(compileRuleSet(rules, packs, overrides), { ...DEFAULT_LIMITS, ...limits });
}

export { DEFAULT_WINDOW };
