/**
 * The tokeniser under findEncodedSpans (inspection.decode.ts): whitespace-separated tokens, cut
 * into pieces of at most MAX_TOKEN characters, and a way to skip the tokens that cannot matter.
 *
 * A token matters to the decoder only when it holds one of `%` `&` `\` (URL, HTML and escape
 * encodings) or a run of at least 16 base64 characters (hex runs are 16 hex digits, base64 runs
 * 20, blobs 256 — hex digits are base64 characters). Ordinary text is almost all other tokens,
 * and tokenising it character by character was the larger part of the decoder's cost. So while
 * no multi-token span is open, `nextInteresting` finds the next position that could matter —
 * marks by a regular expression (native code), long runs by probing every 16th character (a run
 * of 16 holds exactly one probe) — and the decoder jumps to the piece holding it, learning the
 * starts of the two tokens before it (the context of a span) by reading backwards. Every
 * character is still read a bounded number of times: linear.
 */

export const MAX_TOKEN = 4096;

/** What `\s` matches in a JavaScript regular expression. */
export function isSpace(c: number): boolean {
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13);
  if (c < 160) return false;
  return (
    c === 160 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/** Per ASCII character: 1 a base64 character (standard or URL-safe), 2 a hex digit. */
const RUN_CLASS = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-')
  RUN_CLASS[c.charCodeAt(0)] = 1;
for (const c of '0123456789abcdefABCDEF') RUN_CLASS[c.charCodeAt(0)] = 3;
const isBase64Char = (c: number) => c < 128 && RUN_CLASS[c] !== 0;

/** longRuns: text[s, e) holds 16 hex digits in a row (a hex run match is possible). */
export const HEX_RUN = 1;
/** longRuns: text[s, e) holds 20 base64 characters in a row (a base64 run match is possible). */
export const BASE64_RUN = 2;

/**
 * Which of HEX_RUN and BASE64_RUN text[s, e) holds (0: neither): the decoder searches a token for
 * hex or base64 runs only when it holds one. Counted without a branch that depends on each
 * character (a run's length goes up by one or back to 0 by a mask), as the tokens read here are
 * paths, URLs and identifiers whose runs end every few characters; stops once both are found.
 */
export function longRuns(text: string, s: number, e: number): number {
  let b64 = 0;
  let hex = 0;
  let longestB64 = 0;
  let longestHex = 0;
  for (let i = s; i < e; i++) {
    const c = text.charCodeAt(i);
    const k = c < 128 ? RUN_CLASS[c]! : 0;
    b64 = (b64 + 1) & -(k & 1);
    hex = (hex + 1) & -((k >> 1) & 1);
    longestB64 = Math.max(longestB64, b64);
    longestHex = Math.max(longestHex, hex);
    // Both known: stop (a token that is one long run, such as `aaaa…`, is read 20 characters in).
    if (longestB64 >= 20 && longestHex >= 16) break;
  }
  return (longestHex >= 16 ? HEX_RUN : 0) | (longestB64 >= 20 ? BASE64_RUN : 0);
}

const RUN_PROBE = 16;
const MARK = /[%&\\]/g;

/**
 * Finds, left to right, the positions where tokens could matter. One per findEncodedSpans call:
 * it remembers the next mark, so that marks far ahead are searched for once, not once per call.
 */
export class InterestScanner {
  private readonly text: string;
  private nextMark = -1;
  constructor(text: string) {
    this.text = text;
  }

  /** The first position ≥ from holding a mark or starting a run of 16 base64 characters; text.length if none. */
  next(from: number): number {
    const { text } = this;
    if (this.nextMark < from) {
      MARK.lastIndex = from;
      this.nextMark = MARK.exec(text)?.index ?? text.length;
    }
    const limit = this.nextMark;
    // A run of 16 in [from, limit) holds exactly one probe; a run read here that holds two is
    // long enough and ends the search, so each character is read at most twice.
    for (let j = from + RUN_PROBE - 1; j < limit; j += RUN_PROBE) {
      if (!isBase64Char(text.charCodeAt(j))) continue;
      let l = j;
      while (l > from && isBase64Char(text.charCodeAt(l - 1))) l--;
      let r = j + 1;
      while (r < limit && r - l < RUN_PROBE && isBase64Char(text.charCodeAt(r))) r++;
      if (r - l >= RUN_PROBE) return l;
    }
    return limit;
  }
}

/**
 * The start of the piece holding position p, reading back no further than `from` (a token or
 * piece start, or whitespace): pieces of a token start every MAX_TOKEN characters from its start.
 */
export function pieceStart(text: string, from: number, p: number): number {
  let start = p;
  while (start > from && !isSpace(text.charCodeAt(start - 1))) start--;
  return start + Math.floor((p - start) / MAX_TOKEN) * MAX_TOKEN;
}

/**
 * The starts of the last two pieces in [from, to), latest first, read backwards; -1 where there
 * are fewer. `from` is a token or piece start, or whitespace, so a token cut there starts there.
 */
export function lastTwoStarts(text: string, from: number, to: number): [number, number] {
  const found: [number, number] = [-1, -1];
  let count = 0;
  let q = to;
  while (count < 2) {
    let end = q;
    while (end > from && isSpace(text.charCodeAt(end - 1))) end--;
    if (end === from) break;
    let a = end - 1;
    while (a > from && !isSpace(text.charCodeAt(a - 1))) a--;
    for (let s = a + Math.floor((end - 1 - a) / MAX_TOKEN) * MAX_TOKEN; s >= a && count < 2; s -= MAX_TOKEN)
      found[count++] = s;
    q = a;
  }
  return found;
}

/** What findEncodedSpans asks of the positions that could matter (InterestScanner, InterestList). */
export interface Interest {
  /** The first position ≥ from holding a mark or starting a run of 16 base64 characters; text.length if none. */
  next(from: number): number;
}

/** Per ASCII character, for a pass that notes InterestList positions: 1 base64 character, 2 mark. */
export const INTEREST_KIND = new Uint8Array(128);
for (let c = 0; c < 128; c++)
  INTEREST_KIND[c] = (RUN_CLASS[c] ? 1 : 0) | (c === 37 || c === 38 || c === 92 ? 2 : 0);

/**
 * The positions InterestScanner finds, noted by a pass that reads every character anyway (the
 * literal automaton, inspection.aho.ts) instead of a pass of their own: the marks, and the start of
 * every run of 16 base64 characters (where its 16th character is read). `next` answers as
 * InterestScanner does, for calls whose `from` never decreases (findEncodedSpans's): a run that
 * started before `from` counts from `from` when 16 of it remain, read on demand.
 */
export class InterestList implements Interest {
  readonly marks: number[] = [];
  readonly runs: number[] = [];
  private text = '';
  private mark = 0;
  private run = 0;
  /** How far runs[run] is known to go (-1: not read yet); read on only as far as a question needs. */
  private known = -1;

  /** Empties the list for a pass over `text`. */
  reset(text: string): void {
    this.text = text;
    this.marks.length = 0;
    this.runs.length = 0;
    this.mark = 0;
    this.run = 0;
    this.known = -1;
  }

  next(from: number): number {
    const { marks, runs, text } = this;
    while (this.mark < marks.length && marks[this.mark]! < from) this.mark++;
    const mark = this.mark < marks.length ? marks[this.mark]! : text.length;
    while (this.run < runs.length) {
      const start = runs[this.run]!;
      if (start >= from) return Math.min(mark, start);
      // `from` is inside the run or past it: it counts from `from` when its 16 characters from
      // there are base64 too. Read no further than that (a text that is one long run is not read
      // to its end at every question), and never twice.
      if (this.known < 0) this.known = start + RUN_PROBE;
      const need = from + RUN_PROBE;
      while (this.known < need && this.known < text.length && isBase64Char(text.charCodeAt(this.known)))
        this.known++;
      if (this.known >= need) return Math.min(mark, from);
      this.run++;
      this.known = -1;
    }
    return mark;
  }
}
