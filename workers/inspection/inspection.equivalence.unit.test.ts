/**
 * The engine's fast paths against plain reference implementations written here, over the labelled
 * corpora (test/corpora/detections/) and random texts made from them:
 *   - the literal automaton (one Int32 table of row offsets with an output bit) finds exactly the
 *     occurrences a naive search finds, in the same order.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinRules } from './inspection.builtin.js';
import { compileRuleSet, whereBit } from './inspection.compile.js';

const CORPORA = path.resolve(import.meta.dirname, '../../test/corpora/detections');

function corpusTexts(): string[] {
  const out: string[] = [];
  for (const file of readdirSync(CORPORA).filter((f) => f.endsWith('.json'))) {
    const corpus = JSON.parse(readFileSync(path.join(CORPORA, file), 'utf8')) as Record<string, unknown>;
    for (const list of Object.values(corpus))
      if (Array.isArray(list))
        for (const s of list) out.push(typeof s === 'string' ? s : (s as { text: string }).text);
  }
  return out;
}

/** Deterministic pseudo-random texts: corpus samples spliced into each other, case flipped. */
function splicedTexts(samples: readonly string[], count: number): string[] {
  let seed = 7;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
  const pick = () => samples[Math.floor(rnd() * samples.length)]!;
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let text = pick();
    for (let k = Math.floor(rnd() * 6); k > 0; k--) {
      const at = Math.floor(rnd() * (text.length + 1));
      text = text.slice(0, at) + pick() + text.slice(at);
    }
    out.push(rnd() < 0.3 ? text.toUpperCase() : text);
  }
  return out;
}

const samples = corpusTexts();
const texts = [...samples, samples.join('\n'), ...splicedTexts(samples, 150)];
const lowerAscii = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

describe('literal automaton', () => {
  it('reports what a naive search reports, longest literal first at one end', () => {
    const set = compileRuleSet(builtinRules(), 'all');
    for (const where of ['prompt', 'args'] as const) {
      const { automaton } = set.literalsFor(whereBit(where));
      for (const text of texts) {
        const found: Array<[number, number]> = [];
        automaton.scan(text, (literal, end) => found.push([end, literal]));
        const folded = lowerAscii(text);
        const expected: Array<[number, number]> = [];
        automaton.literals.forEach((literal, k) => {
          for (let at = folded.indexOf(literal); at >= 0; at = folded.indexOf(literal, at + 1))
            expected.push([at + literal.length, k]);
        });
        const len = (k: number) => automaton.literals[k]!.length;
        expected.sort((a, b) => a[0] - b[0] || len(b[1]) - len(a[1]));
        expect(found, text.slice(0, 80)).toEqual(expected);
      }
    }
  });
});
