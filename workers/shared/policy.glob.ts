/**
 * Tool-name globs: `*` = any run of characters (including none), `?` = exactly one character,
 * everything else literal. Anchored and case-sensitive. There is no escape syntax.
 *
 * "Character" means a UTF-16 code unit (JS string index), so `?` matches half of an astral
 * code point. MCP tool names are ASCII in practice; keeping code units makes matching O(1)
 * per step and identical to the reference used in tests.
 *
 * No regular expressions: globs are attacker-adjacent (policy authors) and inputs are
 * attacker-controlled (tool names, and names in upstream list answers), so matching must never
 * backtrack. The glob is split on `*` into segments; the first is anchored at the start, the
 * last at the end, and the middle ones are found greedily left to right — leftmost placement is
 * always optimal, so no backtracking is needed. Each search starts where the previous segment
 * ended, so the input is scanned once overall:
 * - a segment without `?` is found with native `indexOf` (linear);
 * - a segment with `?` is found with a bit-parallel Shift-And automaton (one pass over the
 *   input, ⌈segment/32⌉ word operations per character), never by re-comparing the segment at
 *   every start position — that O(|input| × |segment|) scan took 11.6 s for a `?`-rich glob
 *   against a 1 MB name.
 * Cost is O(|input| × ⌈|glob|/32⌉), i.e. linear in the input for the 256-char glob limit.
 */

export type GlobMatcher = (input: string) => boolean;

const STAR = '*';
const QUESTION = 63; // '?'

export function hasWildcard(glob: string): boolean {
  return glob.includes(STAR) || glob.includes('?');
}

/** The literal characters before the first wildcard: every match starts with it. */
export function literalPrefix(glob: string): string {
  const star = glob.indexOf(STAR);
  const question = glob.indexOf('?');
  const end = Math.min(star < 0 ? glob.length : star, question < 0 ? glob.length : question);
  return glob.slice(0, end);
}

export function compileGlob(glob: string): GlobMatcher {
  return fastPath(glob) ?? segmentMatcher(glob);
}

const matchAll: GlobMatcher = () => true;

/** Shapes that cover nearly all real policies, each reduced to one native string call. */
function fastPath(glob: string): GlobMatcher | null {
  if (!glob.includes('?')) {
    const parts = glob.split(STAR);
    if (parts.length === 1) return (input) => input === glob;
    if (parts.every((part) => part === '')) return matchAll;
    if (parts.length === 2) return twoPartMatcher(parts[0] ?? '', parts[1] ?? '');
    if (parts.length === 3 && parts[0] === '' && parts[2] === '') {
      const middle = parts[1] ?? '';
      return (input) => input.includes(middle);
    }
  }
  return null;
}

function twoPartMatcher(head: string, tail: string): GlobMatcher {
  if (tail === '') return (input) => input.startsWith(head);
  if (head === '') return (input) => input.endsWith(tail);
  const minLength = head.length + tail.length;
  return (input) => input.length >= minLength && input.startsWith(head) && input.endsWith(tail);
}

interface Segment {
  readonly text: string;
  readonly hasQuestion: boolean;
  /** Shift-And tables for a segment with `?` (null otherwise), built once per glob. */
  readonly automaton: ShiftAnd | null;
}

function toSegment(text: string): Segment {
  const hasQuestion = text.includes('?');
  return { text, hasQuestion, automaton: hasQuestion && text.length > 0 ? shiftAnd(text) : null };
}

function segmentMatcher(glob: string): GlobMatcher {
  const parts = glob.split(STAR);
  const head = toSegment(parts[0] ?? '');
  if (parts.length === 1) {
    return (input) => input.length === head.text.length && segmentAt(input, 0, head);
  }
  const tail = toSegment(parts[parts.length - 1] ?? '');
  // Consecutive stars produce empty middle segments, which constrain nothing.
  const middles = parts
    .slice(1, -1)
    .filter((part) => part !== '')
    .map(toSegment);
  const minLength = middles.reduce((sum, seg) => sum + seg.text.length, head.text.length + tail.text.length);
  return (input) => {
    if (input.length < minLength) return false;
    const end = input.length - tail.text.length;
    if (!segmentAt(input, 0, head) || !segmentAt(input, end, tail)) return false;
    let position = head.text.length;
    for (const segment of middles) {
      const found = findSegment(input, segment, position, end);
      if (found < 0) return false;
      position = found + segment.text.length;
    }
    return true;
  };
}

/** Whether `segment` occurs at exactly `position` (caller guarantees it fits). */
function segmentAt(input: string, position: number, segment: Segment): boolean {
  if (!segment.hasQuestion) return input.startsWith(segment.text, position);
  const text = segment.text;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code !== QUESTION && code !== input.charCodeAt(position + i)) return false;
  }
  return true;
}

/** Leftmost start ≥ `from` at which `segment` fits entirely before `end`, or -1. */
function findSegment(input: string, segment: Segment, from: number, end: number): number {
  const last = end - segment.text.length;
  if (!segment.hasQuestion) {
    const found = input.indexOf(segment.text, from);
    return found >= 0 && found <= last ? found : -1;
  }
  if (segment.automaton === null) return from <= last ? from : -1;
  return shiftAndFind(segment.automaton, input, from, end);
}

/**
 * Shift-And (Baeza-Yates–Gonnet) for a segment whose `?` matches any code unit. Bit i of the
 * state is set when the segment's first i+1 units match the input ending at the current
 * position; one character costs a shift, an OR and an AND per 32-bit word.
 */
interface ShiftAnd {
  readonly length: number;
  readonly words: number;
  /** Masks of ASCII code units: `ascii[code * words + w]`. */
  readonly ascii: Uint32Array;
  /** Masks of the non-ASCII code units that occur in the segment. */
  readonly other: Map<number, Uint32Array>;
  /** Mask of a code unit the segment does not name: only its `?` positions. */
  readonly wildcard: Uint32Array;
}

const ASCII = 128;

function shiftAnd(text: string): ShiftAnd {
  const words = Math.ceil(text.length / 32);
  const wildcard = new Uint32Array(words);
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) === QUESTION) wildcard[i >>> 5]! |= 1 << (i & 31);
  }
  const ascii = new Uint32Array(ASCII * words);
  for (let code = 0; code < ASCII; code++) ascii.set(wildcard, code * words);
  const other = new Map<number, Uint32Array>();
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === QUESTION) continue;
    const bit = 1 << (i & 31);
    if (code < ASCII) {
      ascii[code * words + (i >>> 5)]! |= bit;
    } else {
      let mask = other.get(code);
      if (!mask) {
        mask = wildcard.slice();
        other.set(code, mask);
      }
      mask[i >>> 5]! |= bit;
    }
  }
  return { length: text.length, words, ascii, other, wildcard };
}

/** Leftmost start ≥ `from` of a match that ends at or before `end`, or -1. One pass, no backtracking. */
function shiftAndFind(automaton: ShiftAnd, input: string, from: number, end: number): number {
  const { length, words, ascii, other, wildcard } = automaton;
  const lastWord = (length - 1) >>> 5;
  const lastBit = 1 << ((length - 1) & 31);
  const state = new Uint32Array(words);
  for (let j = from; j < end; j++) {
    const code = input.charCodeAt(j);
    let mask: Uint32Array = wildcard;
    let base = 0;
    if (code < ASCII) {
      mask = ascii;
      base = code * words;
    } else {
      mask = other.get(code) ?? wildcard;
    }
    // state = ((state << 1) | 1) & mask, carrying the top bit of each word into the next.
    let carry = 1;
    for (let w = 0; w < words; w++) {
      const value = state[w]!;
      state[w] = ((value << 1) | carry) & mask[base + w]!;
      carry = value >>> 31;
    }
    if ((state[lastWord]! & lastBit) !== 0) return j - length + 1;
  }
  return -1;
}
