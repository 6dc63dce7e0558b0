/**
 * `matches` patterns for argument conditions: a small regular-expression subset run by a
 * Thompson-NFA simulation (a Pike VM without captures), never by V8's backtracking engine.
 *
 * Why not RegExp: V8 backtracks, so `(a+)+$` or `\d+\d+\d+x` against a long argument is
 * exponential or polynomial — and arguments are attacker-controlled. Here every input character
 * advances a set of at most |program| states once: O(|input| × |program|) whatever the pattern,
 * so no pattern can "backtrack" and none needs to be refused for its shape — only for syntax
 * this engine does not have (backreferences, lookaround, named groups, word boundaries), which
 * is refused when the policy is saved.
 *
 * Supported: literals; `.` (any code unit); classes `[a-z_]`, `[^…]`; escapes `\d \D \w \W \s \S`
 * and escaped punctuation, `\n \r \t`; groups `(…)` and `(?:…)`; alternation `|`; quantifiers
 * `* + ? {n} {n,} {n,m}` (a lazy `?` suffix is accepted and means the same: there is no
 * capture). The pattern must match the WHOLE value (implicitly anchored; a leading `^` and a
 * trailing `$` are accepted and redundant). Characters are UTF-16 code units, like globs.
 *
 * Evaluation allocates nothing: the two state lists and the closure stack are preallocated per
 * compiled pattern (evaluation is synchronous and single-threaded, so reuse is safe).
 */

export const MAX_PATTERN_LENGTH = 256;
/** Bounds the program (and so the per-character cost) after `{n,m}` expansion. */
export const MAX_PROGRAM_SIZE = 2000;
const MAX_REPEAT = 100;

export type PatternMatcher = (input: string) => boolean;
export type CompilePatternResult = { ok: true; match: PatternMatcher } | { ok: false; message: string };

type Node =
  | { readonly t: 'set'; readonly ranges: readonly number[]; readonly negated: boolean }
  | { readonly t: 'cat'; readonly items: readonly Node[] }
  | { readonly t: 'alt'; readonly items: readonly Node[] }
  | { readonly t: 'rep'; readonly node: Node; readonly min: number; readonly max: number };

class PatternError extends Error {}

export function compilePattern(source: string): CompilePatternResult {
  if (source.length > MAX_PATTERN_LENGTH) {
    return { ok: false, message: `pattern must be at most ${MAX_PATTERN_LENGTH} characters` };
  }
  try {
    const node = new Parser(source).parse();
    const program = emitProgram(node);
    return { ok: true, match: pikeVm(program) };
  } catch (error) {
    if (error instanceof PatternError) return { ok: false, message: error.message };
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

const DIGIT = [48, 57];
const WORD = [48, 57, 65, 90, 95, 95, 97, 122];
const SPACE = [9, 13, 32, 32, 160, 160, 0x2028, 0x2029, 0xfeff, 0xfeff];
const ANY: Node = { t: 'set', ranges: [0, 0xffff], negated: false };

class Parser {
  #i = 0;
  // A plain field, not a parameter property: the benchmarks run this file with Node's type stripping.
  readonly src: string;
  constructor(src: string) {
    this.src = src;
  }

  parse(): Node {
    let end = this.src.length;
    if (this.src.startsWith('^')) this.#i = 1;
    if (end > this.#i && this.src.endsWith('$') && !this.#escapedAt(end - 1)) end -= 1;
    const node = this.#alternation(end);
    if (this.#i < end) throw new PatternError(`unexpected ")" at ${this.#i}`);
    return node;
  }

  #escapedAt(index: number): boolean {
    let slashes = 0;
    for (let j = index - 1; j >= 0 && this.src[j] === '\\'; j--) slashes++;
    return slashes % 2 === 1;
  }

  #alternation(end: number): Node {
    const items = [this.#sequence(end)];
    while (this.#i < end && this.src[this.#i] === '|') {
      this.#i++;
      items.push(this.#sequence(end));
    }
    return items.length === 1 ? items[0]! : { t: 'alt', items };
  }

  #sequence(end: number): Node {
    const items: Node[] = [];
    while (this.#i < end && this.src[this.#i] !== '|' && this.src[this.#i] !== ')') {
      items.push(this.#quantified(end, this.#atom(end)));
    }
    return { t: 'cat', items };
  }

  #atom(end: number): Node {
    const c = this.src[this.#i++]!;
    switch (c) {
      case '(':
        return this.#group(end);
      case '[':
        return this.#class(end);
      case '.':
        return ANY;
      case '\\':
        return this.#escape(end, false);
      case '^':
      case '$':
        throw new PatternError(`"${c}" is only allowed at the start/end (patterns match the whole value)`);
      case '*':
      case '+':
      case '?':
      case '{':
        throw new PatternError(`quantifier "${c}" at ${this.#i - 1} has nothing to repeat`);
      default:
        return literal(c.charCodeAt(0));
    }
  }

  #group(end: number): Node {
    if (this.src[this.#i] === '?') {
      if (this.src[this.#i + 1] !== ':') {
        throw new PatternError('lookaround and named groups are not supported (only "(…)" and "(?:…)")');
      }
      this.#i += 2;
    }
    const node = this.#alternation(end);
    if (this.src[this.#i] !== ')' || this.#i >= end) throw new PatternError('unclosed "("');
    this.#i++;
    return node;
  }

  #class(end: number): Node {
    const negated = this.src[this.#i] === '^';
    if (negated) this.#i++;
    const ranges: number[] = [];
    let first = true;
    while (this.#i < end && (this.src[this.#i] !== ']' || first)) {
      first = false;
      const lo = this.#classAtom(end, ranges);
      if (lo === null) continue;
      if (this.src[this.#i] === '-' && this.#i + 1 < end && this.src[this.#i + 1] !== ']') {
        this.#i++;
        const hi = this.#classAtom(end, ranges);
        if (hi === null || hi < lo) throw new PatternError('invalid range in character class');
        ranges.push(lo, hi);
      } else {
        ranges.push(lo, lo);
      }
    }
    if (this.src[this.#i] !== ']' || this.#i >= end) throw new PatternError('unclosed "["');
    this.#i++;
    return { t: 'set', ranges, negated };
  }

  /** One class member: a code unit, or null after appending a shorthand class (`\d`) to `ranges`. */
  #classAtom(end: number, ranges: number[]): number | null {
    const c = this.src[this.#i++]!;
    if (c !== '\\') return c.charCodeAt(0);
    const escaped = this.#escape(end, true);
    if (
      escaped.t === 'set' &&
      !escaped.negated &&
      escaped.ranges.length === 2 &&
      escaped.ranges[0] === escaped.ranges[1]
    ) {
      return escaped.ranges[0]!;
    }
    if (escaped.t !== 'set' || escaped.negated) {
      throw new PatternError('negated shorthand classes (\\D, \\W, \\S) are not supported inside [...]');
    }
    ranges.push(...escaped.ranges);
    return null;
  }

  #escape(end: number, inClass: boolean): Node {
    if (this.#i >= end) throw new PatternError('pattern ends with "\\"');
    const c = this.src[this.#i++]!;
    switch (c) {
      case 'd':
        return { t: 'set', ranges: DIGIT, negated: false };
      case 'D':
        return { t: 'set', ranges: DIGIT, negated: true };
      case 'w':
        return { t: 'set', ranges: WORD, negated: false };
      case 'W':
        return { t: 'set', ranges: WORD, negated: true };
      case 's':
        return { t: 'set', ranges: SPACE, negated: false };
      case 'S':
        return { t: 'set', ranges: SPACE, negated: true };
      case 'n':
        return literal(10);
      case 'r':
        return literal(13);
      case 't':
        return literal(9);
    }
    // Letters and digits are refused: \b, \1, \k<…>, \p{…}, \u… would mean something else in RegExp.
    if (/^[A-Za-z0-9]$/.test(c)) {
      throw new PatternError(`escape "\\${c}" is not supported${inClass ? ' in a character class' : ''}`);
    }
    return literal(c.charCodeAt(0));
  }

  #quantified(end: number, node: Node): Node {
    if (this.#i >= end) return node;
    const c = this.src[this.#i];
    let min: number;
    let max: number;
    if (c === '*') [min, max] = [0, -1];
    else if (c === '+') [min, max] = [1, -1];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{') {
      const match = /^\{(\d{1,3})(,(\d{0,3}))?\}/.exec(this.src.slice(this.#i, end));
      if (!match) throw new PatternError('invalid "{n,m}" quantifier');
      min = Number(match[1]);
      max = match[2] === undefined ? min : match[3] === '' ? -1 : Number(match[3]);
      if (min > MAX_REPEAT || max > MAX_REPEAT)
        throw new PatternError(`repeat counts must be at most ${MAX_REPEAT}`);
      if (max !== -1 && max < min) throw new PatternError('"{n,m}" needs n ≤ m');
      this.#i += match[0].length - 1;
    } else return node;
    this.#i++;
    if (this.src[this.#i] === '?' && this.#i < end) this.#i++; // lazy: same set of matches
    if (this.#i < end && '*+?{'.includes(this.src[this.#i]!)) {
      throw new PatternError('a quantifier cannot follow another quantifier; use a group');
    }
    return { t: 'rep', node, min, max };
  }
}

function literal(code: number): Node {
  return { t: 'set', ranges: [code, code], negated: false };
}

// ---------------------------------------------------------------------------------------------
// Program: SET (consume one code unit in a set), SPLIT (fork to x and y), JMP (to x), MATCH
// ---------------------------------------------------------------------------------------------

const SET = 0;
const SPLIT = 1;
const JMP = 2;
const MATCH = 3;

interface Program {
  readonly op: Uint8Array;
  readonly x: Int32Array;
  readonly y: Int32Array;
  readonly sets: readonly (Node & { t: 'set' })[];
}

function emitProgram(root: Node): Program {
  const op: number[] = [];
  const x: number[] = [];
  const y: number[] = [];
  const sets: (Node & { t: 'set' })[] = [];
  const push = (code: number, a = 0, b = 0, set: (Node & { t: 'set' }) | null = null): number => {
    if (op.length >= MAX_PROGRAM_SIZE) {
      throw new PatternError(`pattern is too large once expanded (at most ${MAX_PROGRAM_SIZE} steps)`);
    }
    op.push(code);
    x.push(a);
    y.push(b);
    sets.push(set ?? (ANY as Node & { t: 'set' }));
    return op.length - 1;
  };
  const emit = (node: Node): void => {
    switch (node.t) {
      case 'set':
        push(SET, 0, 0, node);
        return;
      case 'cat':
        for (const item of node.items) emit(item);
        return;
      case 'alt': {
        const jumps: number[] = [];
        for (let k = 0; k < node.items.length - 1; k++) {
          const split = push(SPLIT);
          x[split] = split + 1;
          emit(node.items[k]!);
          jumps.push(push(JMP));
          y[split] = op.length;
        }
        emit(node.items[node.items.length - 1]!);
        for (const jump of jumps) x[jump] = op.length;
        return;
      }
      case 'rep': {
        for (let k = 0; k < node.min; k++) emit(node.node);
        if (node.max === -1) {
          const split = push(SPLIT);
          x[split] = split + 1;
          emit(node.node);
          push(JMP, split);
          y[split] = op.length;
          return;
        }
        const splits: number[] = [];
        for (let k = node.min; k < node.max; k++) {
          const split = push(SPLIT);
          x[split] = split + 1;
          splits.push(split);
          emit(node.node);
        }
        for (const split of splits) y[split] = op.length;
      }
    }
  };
  emit(root);
  push(MATCH);
  return { op: Uint8Array.from(op), x: Int32Array.from(x), y: Int32Array.from(y), sets };
}

function inSet(set: Node & { t: 'set' }, code: number): boolean {
  const ranges = set.ranges;
  let found = false;
  for (let k = 0; k < ranges.length; k += 2) {
    if (code >= ranges[k]! && code <= ranges[k + 1]!) {
      found = true;
      break;
    }
  }
  return found !== set.negated;
}

/** Sparse-set state lists (O(1) clear and membership), preallocated once per pattern. */
function pikeVm(program: Program): PatternMatcher {
  const size = program.op.length;
  let current = { dense: new Int32Array(size), sparse: new Int32Array(size), n: 0 };
  let next = { dense: new Int32Array(size), sparse: new Int32Array(size), n: 0 };
  const stack = new Int32Array(size * 2 + 2);
  const { op, x, y, sets } = program;

  const has = (list: typeof current, pc: number) => {
    const at = list.sparse[pc]!;
    return at < list.n && list.dense[at] === pc;
  };
  /** Adds pc and everything reachable from it through SPLIT/JMP (the ε-closure). */
  const add = (list: typeof current, start: number) => {
    let top = 0;
    stack[top++] = start;
    while (top > 0) {
      const pc = stack[--top]!;
      if (has(list, pc)) continue;
      list.sparse[pc] = list.n;
      list.dense[list.n++] = pc;
      const code = op[pc];
      if (code === JMP) stack[top++] = x[pc]!;
      else if (code === SPLIT) {
        stack[top++] = y[pc]!;
        stack[top++] = x[pc]!;
      }
    }
  };

  return (input: string): boolean => {
    current.n = 0;
    add(current, 0);
    for (let i = 0; i < input.length && current.n > 0; i++) {
      const code = input.charCodeAt(i);
      next.n = 0;
      for (let k = 0; k < current.n; k++) {
        const pc = current.dense[k]!;
        if (op[pc] === SET && inSet(sets[pc]!, code)) add(next, pc + 1);
      }
      const swap = current;
      current = next;
      next = swap;
    }
    for (let k = 0; k < current.n; k++) if (op[current.dense[k]!] === MATCH) return true;
    return false;
  };
}
