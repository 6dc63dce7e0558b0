/**
 * Tool-name globs: `*` = any run of characters (including none), `?` = exactly one character,
 * everything else literal. Anchored and case-sensitive. There is no escape syntax.
 *
 * "Character" means a UTF-16 code unit (JS string index), so `?` matches half of an astral
 * code point. MCP tool names are ASCII in practice; keeping code units makes matching O(1)
 * per step and identical to the reference used in tests.
 *
 * No regular expressions: globs are attacker-adjacent (policy authors) and inputs are
 * attacker-controlled (tool names), so matching must never backtrack exponentially. The
 * glob is split on `*` into literal segments; the first is anchored at the start, the last at
 * the end, and the middle ones are found greedily left to right — leftmost placement is always
 * optimal, so no backtracking is needed. Cost is O(|input| × longest segment), and segments
 * are bounded by the 256-char glob limit.
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
}

function toSegment(text: string): Segment {
  return { text, hasQuestion: text.includes('?') };
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
  for (let start = from; start <= last; start++) {
    if (segmentAt(input, start, segment)) return start;
  }
  return -1;
}
