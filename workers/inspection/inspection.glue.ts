/**
 * Glued values (docs/detections.md#glued-values): a rule's pattern finds a value between
 * boundaries — a lookbehind, `\b` — and those boundaries cannot tell the end of one value from
 * the start of the next. `jane.doe@example.comops+alerts@corp.example.net` is two addresses; the
 * e-mail pattern takes `jane.doe@example.comops` (a top-level domain may be that long), and its
 * lookbehind then refuses `alerts@corp.example.net` (preceded by `+`, a local-part character): the
 * second address went out as `+alerts@corp.example.net`. No boundary rule can split such a run
 * right, so a rule with `glue` (a class of characters its values are made of) masks the whole run
 * of those characters around each match instead: the run is one value as far as masking goes.
 *
 * The widened span is the match plus the glue characters on either side, trimmed back to a letter
 * or digit at each widened end (the full stop ending a sentence after an address is not part of
 * it). A match that starts inside the run of the rule's previous finding is merged into it (the
 * finding's end moves, no new finding). Linear: each walk starts where the rule's previous run
 * ended (a non-glue character or the text's end stops it), so every character is walked at most
 * once per rule and scan, however many matches a run holds. Pure.
 */
import type { Finding } from './inspection.contract.js';

/** Which ASCII characters a glue class holds (non-ASCII characters never glue). */
export function glueTable(glue: string): Uint8Array {
  const re = new RegExp(`^${glue}$`);
  const table = new Uint8Array(128);
  for (let c = 0; c < 128; c++) table[c] = re.test(String.fromCharCode(c)) ? 1 : 0;
  return table;
}

const ALNUM = glueTable('[A-Za-z0-9]');

const inClass = (table: Uint8Array, text: string, i: number): boolean => {
  const c = text.charCodeAt(i);
  return c < 128 && table[c] === 1;
};

/** The glued runs of one scan, per rule: the rule's last finding and where its run ended. */
export class GlueRuns {
  private readonly last: Array<Finding | undefined>;
  private readonly runEnd: Int32Array;
  private readonly touched: Int32Array;
  private touchedCount = 0;

  constructor(rules: number) {
    this.last = new Array(rules).fill(undefined);
    this.runEnd = new Int32Array(rules);
    this.touched = new Int32Array(rules);
  }

  /** Forgets the runs of the last text: only the rules it touched are reset. */
  begin(): void {
    for (let t = 0; t < this.touchedCount; t++) this.last[this.touched[t]!] = undefined;
    this.touchedCount = 0;
  }

  /**
   * A match [start, end) of rule `rule`: merged into the rule's previous finding when it starts
   * inside that finding's run (returns null), else the widened span of a new finding (give the
   * finding to `keep`).
   */
  widen(
    rule: number,
    table: Uint8Array,
    text: string,
    start: number,
    end: number,
  ): { start: number; end: number } | null {
    const prev = this.last[rule];
    if (prev && start < this.runEnd[rule]!) {
      // A match may end on a character the trim took off the finding (a key ending in `-`).
      const to = end > this.runEnd[rule]! ? this.walkRight(rule, table, text, end) : end;
      prev.end = Math.max(prev.end, to);
      return null;
    }
    // Never back into the previous run: it is masked already, and walking it again is quadratic.
    const floor = prev ? this.runEnd[rule]! : 0;
    let from = start;
    while (from > floor && inClass(table, text, from - 1)) from--;
    while (from < start && !inClass(ALNUM, text, from)) from++;
    return { start: from, end: this.walkRight(rule, table, text, end) };
  }

  /**
   * Where the scan for `rule` can go on from: the end of its last finding's run (0 when it has
   * none in this text). For a rule whose every match is glue (`glueHoldsMatches`), a match starting
   * before it would end inside the run and merge into the finding without changing it: glued
   * values by the thousand cost one walk, not one pattern match each.
   */
  resumeAt(rule: number): number {
    return this.last[rule] ? this.runEnd[rule]! : 0;
  }

  /** The finding made of the span `widen` gave last for `rule`. */
  keep(rule: number, f: Finding): void {
    if (!this.last[rule]) this.touched[this.touchedCount++] = rule;
    this.last[rule] = f;
  }

  /** Walks the run right of `end`, notes where it stops, and gives the widened end (trimmed). */
  private walkRight(rule: number, table: Uint8Array, text: string, end: number): number {
    let to = end;
    while (to < text.length && inClass(table, text, to)) to++;
    this.runEnd[rule] = to;
    while (to > end && !inClass(ALNUM, text, to - 1)) to--;
    return to;
  }
}
