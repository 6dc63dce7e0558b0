/**
 * Confirmation patterns that cannot backtrack catastrophically, checked at load and save time.
 *
 * V8's regular expressions backtrack. A pattern is accepted only when a small parser of the
 * JavaScript regex syntax finds none of the shapes that make backtracking blow up:
 *   - a quantifier that can repeat (max > 1) over something that itself holds a variable,
 *     repeating quantifier — `(a+)+`, `(\w+\.){3}` (nested quantifiers);
 *   - a repeating quantifier over an alternation whose branches can start with the same
 *     character — `(a|ab)*`, `(\d|1)+` (checked conservatively on first characters);
 *   - a repeating quantifier over something that can match the empty string — `(a?)*`;
 *   - backreferences (`\1`, `\k<name>`), which make matching NP-hard in general;
 *   - a quantifier inside or on a lookaround;
 *   - a pattern that can match the empty string (it would "find" something everywhere).
 * Then every unbounded quantifier (`*`, `+`, `{n,}`) is rewritten to a bounded one
 * (`{0,256}`, `{1,256}`, `{n,256}`), so each match attempt reads a bounded number of
 * characters and a scan over a bounded window costs time linear in the window.
 */

import {
  add,
  addRange,
  type CharSet,
  classEscape,
  complement,
  emptySet,
  foldCase,
  fullSet,
  intersects,
  union,
} from './inspection.charset.js';

export const MAX_REPEAT = 256;

export type PatternErrorCode =
  | 'syntax'
  | 'nested_quantifier'
  | 'overlapping_alternation'
  | 'nullable_repeat'
  | 'backreference'
  | 'lookaround_quantifier'
  | 'empty_match';

export interface PatternError {
  code: PatternErrorCode;
  /** Character offset in the pattern where the problem is. */
  at: number;
  message: string;
}

interface Info {
  nullable: boolean;
  /** Holds a quantifier whose count varies and can exceed 1. */
  varRepeat: boolean;
  /** Holds any quantifier at all (for lookarounds). */
  quantified: boolean;
  /** Holds an alternation whose branches can start with the same character. */
  ambiguous: boolean;
  first: CharSet;
  /** Every character the pattern can consume (lookarounds and assertions consume none). */
  chars: CharSet;
}

const EMPTY_INFO = (): Info => ({
  nullable: false,
  varRepeat: false,
  quantified: false,
  ambiguous: false,
  first: emptySet(),
  chars: emptySet(),
});

class Parser {
  i = 0;
  readonly errors: PatternError[] = [];
  /** [offset, length, replacement] of unbounded quantifiers to rewrite. */
  readonly rewrites: Array<[number, number, string]> = [];
  readonly src: string;
  readonly ignoreCase: boolean;
  constructor(src: string, ignoreCase: boolean) {
    this.src = src;
    this.ignoreCase = ignoreCase;
  }

  fail(code: PatternErrorCode, at: number, message: string): void {
    this.errors.push({ code, at, message });
  }

  alternation(): Info {
    const branches: Info[] = [this.sequence()];
    while (this.src[this.i] === '|') {
      this.i++;
      branches.push(this.sequence());
    }
    if (branches.length === 1) return branches[0]!;
    let first = emptySet();
    let chars = emptySet();
    let ambiguous = false;
    for (let a = 0; a < branches.length; a++) {
      first = union(first, branches[a]!.first);
      chars = union(chars, branches[a]!.chars);
      ambiguous ||= branches[a]!.ambiguous;
      for (let b = a + 1; b < branches.length; b++)
        ambiguous ||= intersects(branches[a]!.first, branches[b]!.first);
    }
    return {
      nullable: branches.some((b) => b.nullable),
      varRepeat: branches.some((b) => b.varRepeat),
      quantified: branches.some((b) => b.quantified),
      ambiguous,
      first,
      chars,
    };
  }

  sequence(): Info {
    const out: Info = { ...EMPTY_INFO(), nullable: true };
    while (this.i < this.src.length && this.src[this.i] !== '|' && this.src[this.i] !== ')') {
      const term = this.term();
      if (out.nullable) out.first = union(out.first, term.first);
      out.chars = union(out.chars, term.chars);
      out.nullable &&= term.nullable;
      out.varRepeat ||= term.varRepeat;
      out.quantified ||= term.quantified;
      out.ambiguous ||= term.ambiguous;
    }
    return out;
  }

  term(): Info {
    const start = this.i;
    const { info, lookaround } = this.atom();
    const q = this.quantifier();
    if (!q) return info;
    if (lookaround) this.fail('lookaround_quantifier', start, 'a lookaround cannot be quantified');
    const repeats = q.max > 1;
    if (repeats && info.varRepeat)
      this.fail(
        'nested_quantifier',
        start,
        'a repeated group holds a variable repetition (nested quantifiers)',
      );
    if (repeats && info.nullable)
      this.fail('nullable_repeat', start, 'a repeated group can match the empty string');
    if (repeats && info.ambiguous)
      this.fail(
        'overlapping_alternation',
        start,
        'a repeated group holds an alternation whose branches can start with the same character',
      );
    return {
      nullable: info.nullable || q.min === 0,
      varRepeat: info.varRepeat || (q.min !== q.max && repeats),
      quantified: true,
      ambiguous: info.ambiguous,
      first: info.first,
      chars: info.chars,
    };
  }

  quantifier(): { min: number; max: number } | null {
    const at = this.i;
    const c = this.src[at];
    let q: { min: number; max: number } | null = null;
    if (c === '*' || c === '+') {
      q = { min: c === '*' ? 0 : 1, max: MAX_REPEAT };
      this.rewrites.push([at, 1, `{${q.min},${MAX_REPEAT}}`]);
      this.i++;
    } else if (c === '?') {
      q = { min: 0, max: 1 };
      this.i++;
    } else if (c === '{') {
      const m = /^\{(\d{1,4})(,(\d{0,4}))?\}/.exec(this.src.slice(at, at + 12));
      if (!m) return null; // a literal `{`, as V8 reads it without the u flag
      const min = Number(m[1]);
      const max = m[2] === undefined ? min : m[3] === '' ? Math.max(min, MAX_REPEAT) : Number(m[3]);
      if (m[2] !== undefined && m[3] === '') this.rewrites.push([at, m[0].length, `{${min},${max}}`]);
      q = { min, max };
      this.i += m[0].length;
    }
    if (q && this.src[this.i] === '?') this.i++; // lazy
    return q;
  }

  atom(): { info: Info; lookaround: boolean } {
    const at = this.i;
    const c = this.src[this.i++]!;
    const one = (set: CharSet): Info => {
      const folded = this.ignoreCase ? foldCase(set) : set;
      return { ...EMPTY_INFO(), first: folded, chars: folded };
    };
    const assertion: Info = { ...EMPTY_INFO(), nullable: true };
    switch (c) {
      case '(':
        return this.group(at);
      case '[':
        return { info: one(this.charClass()), lookaround: false };
      case '.':
        return { info: one(fullSet()), lookaround: false };
      case '^':
      case '$':
        return { info: assertion, lookaround: false };
      case '\\':
        return this.escape(at, one, assertion);
      case '*':
      case '+':
      case '?':
        this.fail('syntax', at, 'nothing to repeat');
        return { info: assertion, lookaround: false };
      default: {
        const set = emptySet();
        add(set, c.charCodeAt(0));
        return { info: one(set), lookaround: false };
      }
    }
  }

  group(at: number): { info: Info; lookaround: boolean } {
    let lookaround = false;
    if (this.src[this.i] === '?') {
      const head = this.src.slice(this.i, this.i + 3);
      if (head.startsWith('?:')) this.i += 2;
      else if (head.startsWith('?=') || head.startsWith('?!')) {
        lookaround = true;
        this.i += 2;
      } else if (head === '?<=' || head === '?<!') {
        lookaround = true;
        this.i += 3;
      } else if (head.startsWith('?<')) {
        const close = this.src.indexOf('>', this.i);
        if (close < 0) this.fail('syntax', at, 'unterminated group name');
        this.i = close < 0 ? this.src.length : close + 1;
      } else this.fail('syntax', at, 'unsupported group syntax');
    }
    const body = this.alternation();
    if (this.src[this.i] !== ')') this.fail('syntax', at, 'unterminated group');
    else this.i++;
    if (lookaround) {
      if (body.quantified) this.fail('lookaround_quantifier', at, 'a lookaround holds a quantifier');
      return { info: { ...EMPTY_INFO(), nullable: true }, lookaround: true };
    }
    return { info: body, lookaround: false };
  }

  escape(at: number, one: (s: CharSet) => Info, assertion: Info): { info: Info; lookaround: boolean } {
    const e = this.src[this.i++];
    if (e === undefined) {
      this.fail('syntax', at, 'trailing backslash');
      return { info: assertion, lookaround: false };
    }
    if (/[1-9]/.test(e) || e === 'k') {
      this.fail('backreference', at, 'backreferences are not allowed');
      return { info: one(fullSet()), lookaround: false };
    }
    if (e === 'b' || e === 'B') return { info: assertion, lookaround: false };
    const cls = classEscape(e);
    if (cls) return { info: one(cls), lookaround: false };
    if (e === 'p' || e === 'P') {
      const close = this.src.indexOf('}', this.i);
      this.i = close < 0 ? this.src.length : close + 1;
      return { info: one(fullSet()), lookaround: false };
    }
    return { info: one(this.escapedChar(e)), lookaround: false };
  }

  /** The set of one escaped character (`\x41`, `\u0041`, `\n`, `\.`). */
  escapedChar(e: string): CharSet {
    const set = emptySet();
    const hex = e === 'x' ? 2 : e === 'u' ? 4 : 0;
    if (hex && /^[0-9a-fA-F]+$/.test(this.src.slice(this.i, this.i + hex))) {
      add(set, Number.parseInt(this.src.slice(this.i, this.i + hex), 16));
      this.i += hex;
      return set;
    }
    const controls: Record<string, number> = { n: 10, r: 13, t: 9, f: 12, v: 11, '0': 0 };
    add(set, controls[e] ?? e.charCodeAt(0));
    return set;
  }

  charClass(): CharSet {
    let negate = false;
    if (this.src[this.i] === '^') {
      negate = true;
      this.i++;
    }
    let set = emptySet();
    let first = true;
    while (this.i < this.src.length && (this.src[this.i] !== ']' || first)) {
      first = false;
      const lo = this.classChar(set);
      if (lo === null) continue;
      if (this.src[this.i] === '-' && this.src[this.i + 1] !== ']' && this.i + 1 < this.src.length) {
        this.i++;
        const hi = this.classChar(set);
        if (hi === null || hi < lo) this.fail('syntax', this.i, 'bad character class range');
        else addRange(set, lo, hi);
      } else add(set, lo);
    }
    if (this.src[this.i] !== ']') this.fail('syntax', this.i, 'unterminated character class');
    else this.i++;
    if (negate) set = complement(set);
    return set;
  }

  /** One class member: its code, or null when it was a class escape already added to `set`. */
  classChar(set: CharSet): number | null {
    const c = this.src[this.i++]!;
    if (c !== '\\') return c.charCodeAt(0);
    const e = this.src[this.i++] ?? '';
    const cls = classEscape(e);
    if (cls) {
      Object.assign(set, union(set, cls));
      return null;
    }
    if (e === 'b') return 8;
    const one = this.escapedChar(e);
    for (let code = 0; code < 128; code++) if ((one.bits[code >> 5]! >> (code & 31)) & 1) return code;
    return 0x80;
  }
}

export type CheckedPattern = { ok: true; source: string } | { ok: false; errors: PatternError[] };

/**
 * Checks a confirmation pattern and returns it with unbounded quantifiers bounded, or the reasons
 * it is refused. `ignoreCase` matters for the alternation-overlap check.
 */
export function checkPattern(pattern: string, ignoreCase: boolean): CheckedPattern {
  try {
    new RegExp(pattern, ignoreCase ? 'i' : '');
  } catch (err) {
    return { ok: false, errors: [{ code: 'syntax', at: 0, message: (err as Error).message }] };
  }
  const p = new Parser(pattern, ignoreCase);
  const root = p.alternation();
  if (p.i < pattern.length) p.fail('syntax', p.i, 'unbalanced parenthesis');
  if (root.nullable) p.fail('empty_match', 0, 'the pattern can match the empty string');
  if (p.errors.length) return { ok: false, errors: p.errors };
  let source = pattern;
  for (const [at, len, text] of [...p.rewrites].sort((a, b) => b[0] - a[0]))
    source = source.slice(0, at) + text + source.slice(at + len);
  return { ok: true, source };
}

/**
 * Which ASCII characters (codes 0..127, one bit each) a match of a checked pattern can consume —
 * `nonAscii` when it can consume others too (`.`, `\s`, a negated class). Lookarounds and
 * assertions consume none. Used to know when a rule's glue holds its every match (inspection.glue.ts).
 */
export function consumedChars(
  pattern: string,
  ignoreCase: boolean,
): { ascii: Uint32Array; nonAscii: boolean } {
  const root = new Parser(pattern, ignoreCase).alternation();
  return { ascii: root.chars.bits, nonAscii: root.chars.other };
}
