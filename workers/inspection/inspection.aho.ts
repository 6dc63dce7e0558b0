/**
 * Aho-Corasick over every rule's literals: one pass over the text finds every occurrence of
 * every literal, in time linear in the text (plus the hits). ASCII letters are matched without
 * case; other characters exactly.
 *
 * The automaton is a full DFA over an alphabet of character classes: each character that occurs
 * in some literal gets a class, every other character shares class 0. The transition table is
 * then states × classes (about 1 MB for the 600 literals of every pack: 32-bit entries), and the
 * scan loop is one table lookup per character with no failure-link walking.
 */

export interface Automaton {
  /**
   * Calls `onHit(literalIndex, endExclusive)` for every occurrence, in order of end position. With
   * `interest`, also notes there the positions the decoder's tokeniser looks for (marks and runs of
   * 16 base64 characters, inspection.tokens.ts InterestList): the loop waits on its table lookup
   * per character, and this counting fits in that wait, so the decoder needs no pass of its own.
   */
  scan(text: string, onHit: (literal: number, end: number) => void, interest?: InterestList): void;
  readonly literals: readonly string[];
  /** False when the literals hold too many distinct characters to spare the bits: `interest` is ignored. */
  readonly notesInterest: boolean;
  /** The bytes of its tables (the transition table, the class map, the outputs): what it holds in memory. */
  readonly bytes: number;
}

/** classOf bits above the class: the character is a base64 character / a mark (INTEREST_KIND). */
const BASE64_BIT = 14;
const MARK_BIT = 0x8000;
const CLASS_MASK = 0x3fff;

import { INTEREST_KIND, type InterestList } from './inspection.tokens.js';

const fold = (c: number) => (c >= 65 && c <= 90 ? c + 32 : c);

export function buildAutomaton(literals: readonly string[]): Automaton {
  // Alphabet classes: 0 for "no literal has this character".
  const classOf = new Uint16Array(65536);
  let classes = 1;
  for (const lit of literals)
    for (let k = 0; k < lit.length; k++) {
      const c = fold(lit.charCodeAt(k));
      if (classOf[c] === 0) classOf[c] = classes++;
    }
  for (let c = 65; c <= 90; c++) classOf[c] = classOf[c + 32]!;

  // Trie with sparse children while building.
  const children: Array<Map<number, number>> = [new Map()];
  const outputs: number[][] = [[]];
  literals.forEach((lit, index) => {
    let node = 0;
    for (let k = 0; k < lit.length; k++) {
      const cls = classOf[fold(lit.charCodeAt(k))]!;
      let next = children[node]!.get(cls);
      if (next === undefined) {
        next = children.length;
        children.push(new Map());
        outputs.push([]);
        children[node]!.set(cls, next);
      }
      node = next;
    }
    outputs[node]!.push(index);
  });

  // Breadth-first: failure links, inherited outputs and the dense transition table.
  const states = children.length;
  const delta = new Int32Array(states * classes);
  const fail = new Int32Array(states);
  const queue: number[] = [];
  for (let cls = 0; cls < classes; cls++) {
    const next = children[0]!.get(cls);
    if (next !== undefined) {
      delta[cls] = next;
      fail[next] = 0;
      queue.push(next);
    }
  }
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head]!;
    const f = fail[node]!;
    if (outputs[f]!.length) outputs[node] = outputs[node]!.concat(outputs[f]!);
    for (let cls = 0; cls < classes; cls++) {
      const next = children[node]!.get(cls);
      if (next !== undefined) {
        fail[next] = delta[f * classes + cls]!;
        delta[node * classes + cls] = next;
        queue.push(next);
      } else delta[node * classes + cls] = delta[f * classes + cls]!;
    }
  }
  // Renumber the states breadth-first (the root, then depth 1, 2…): the states a scan of ordinary
  // text keeps visiting are the shallow ones, and this packs their rows together at the front of
  // the table, where they stay in cache. (The table is the floor of the engine's cost on every
  // input: a scan is one lookup in it per character.)
  //
  // An entry holds the next state's row offset (state × classes), negated when that state has
  // outputs: the next lookup is then an addition, not a multiplication, and the test for a hit
  // reads the entry already loaded rather than another array. The scan's chain of dependent
  // loads is what it costs per character; this shortened it by a third to a half (A/B numbers
  // in the commit). The root (offset 0) has no outputs, so no entry is −0.
  const order = [0, ...queue];
  const renumbered = new Int32Array(states);
  order.forEach((old, now) => {
    renumbered[old] = now;
  });
  const table = new Int32Array(states * classes);
  const outputsOf: number[][] = new Array(states);
  for (let s = 0; s < states; s++) {
    const now = renumbered[s]!;
    const from = now * classes;
    for (let cls = 0; cls < classes; cls++) {
      const next = delta[s * classes + cls]!;
      const row = renumbered[next]! * classes;
      table[from + cls] = outputs[next]!.length ? -row : row;
    }
    outputsOf[now] = outputs[s]!;
  }

  const notesInterest = classes <= CLASS_MASK + 1;
  for (let c = 0; c < 128 && notesInterest; c++) {
    const kind = INTEREST_KIND[c]!;
    classOf[c] = classOf[c]! | ((kind & 1) << BASE64_BIT) | (kind & 2 ? MARK_BIT : 0);
  }

  let outputBytes = 0;
  for (const hits of outputsOf) outputBytes += 16 + hits.length * 8;
  return {
    literals,
    notesInterest,
    bytes: table.byteLength + classOf.byteLength + outputBytes,
    scan(text, onHit, given) {
      const interest = notesInterest ? given : undefined;
      let row = 0;
      let run = 0;
      const n = text.length;
      interest?.reset(text);
      for (let i = 0; i < n; i++) {
        const e = classOf[text.charCodeAt(i)]!;
        row = table[row + (e & CLASS_MASK)]!;
        // Base64 characters in a row: +1, or back to 0 (no branch to mispredict at word ends).
        run = (run + 1) & -((e >> BASE64_BIT) & 1);
        if ((run === 16 || e & MARK_BIT) && interest) {
          if (run === 16) interest.runs.push(i - 15);
          if (e & MARK_BIT) interest.marks.push(i);
        }
        if (row < 0) {
          row = -row;
          const hits = outputsOf[row / classes]!;
          for (let k = 0; k < hits.length; k++) onHit(hits[k]!, i + 1);
        }
      }
    },
  };
}
