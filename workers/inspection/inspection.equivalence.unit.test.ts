/**
 * The engine's fast paths against plain reference implementations written here, over the labelled
 * corpora (test/corpora/detections/) and random texts made from them:
 *   - the literal automaton finds exactly the occurrences a naive search finds, in the same order;
 *   - literal windows confirmed rule by rule after the automaton pass give exactly the findings of
 *     windows confirmed one at a time in hit order, per-rule caps included;
 *   - base64 runs whose bytes are refused before the UTF-8 decoder are exactly those whose decoded
 *     text would be refused as not textual.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinPacks, builtinRules } from './inspection.builtin.js';
import { compileRuleSet, whereBit } from './inspection.compile.js';
import { findEncodedSpans } from './inspection.decode.js';
import { compileRules, type Finding } from './inspection.engine.js';
import { WHERES, type Where } from './inspection.schema.js';
import { passes } from './inspection.validators.js';

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

/**
 * Values glued to each other and to separators in random order (docs/detections.md#glued-values):
 * the engine skips matches inside a glued run its rule's glue holds; the reference reads them all.
 */
function gluedTexts(count: number): string[] {
  const parts = [
    'jane.doe@example.com',
    'ops+alerts@corp.example.net',
    'a@bb.cc',
    'x@y',
    '+14155550123',
    '+1 415 555 0123',
    '(020) 7946',
    '+44\t20 7946 0958', // a number the phone rule's glue does not hold (a tab in it)
    'ghp_ZNPMgTZ4hyW40P9BHK2z9cRcTA6g5SpU8qxr',
    'AKIAZ7Q4RXW2LM5PT3NB',
    'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.SflKxwRJSMeKKF2QT4fw',
    ...['_', '+', '.', '-', ' ', '\t', '\n', 'x', '1', '@', ',', '%'],
  ];
  let seed = 3;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  return Array.from({ length: count }, () =>
    Array.from({ length: 2 + rnd(40) }, () => parts[rnd(parts.length)]!).join(''),
  );
}

const samples = corpusTexts();
const texts = [...samples, samples.join('\n'), ...splicedTexts(samples, 150), ...gluedTexts(120)];
const asciiTexts = texts.map((t) => t.replace(/[^\0-\x7f]/g, ' '));
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

/**
 * Steps 2 and 3 of a scan for one rule, the plain way: its literals' occurrences in order of end
 * (longest first at one end, as the automaton reports them), windows merged while they overlap,
 * each window confirmed as soon as it closes, up to `cap` findings; a rule with `glue` widens
 * its findings to their glued runs (gluedSpan).
 */
function referenceFindings(
  text: string,
  rule: ReturnType<typeof compileRuleSet>['rules'][number],
  literals: readonly string[],
  cap: number,
): Array<[number, number]> {
  const folded = lowerAscii(text);
  const hits: Array<[number, number]> = [];
  for (const literal of new Set(literals.map(lowerAscii)))
    for (let at = folded.indexOf(literal); at >= 0; at = folded.indexOf(literal, at + 1))
      hits.push([at + literal.length, literal.length]);
  hits.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const windows: Array<[number, number]> = [];
  for (const [end, length] of hits) {
    const ws = Math.max(0, end - length - rule.before);
    const we = Math.min(text.length, end + rule.after);
    const open = windows[windows.length - 1];
    if (open && ws <= open[1]) {
      open[0] = Math.min(open[0], ws);
      open[1] = Math.max(open[1], we);
    } else windows.push([ws, we]);
  }
  const out: Array<[number, number, number]> = [];
  const re = new RegExp(rule.re!.source, rule.re!.flags);
  for (const [from, to] of windows) {
    if (out.length === cap) break; // a capped rule confirms no more windows (merges included)
    const lo = from > 0 ? from - 1 : 0;
    const slice = text.slice(lo, Math.min(text.length, to + 1));
    re.lastIndex = from - lo;
    for (let m = re.exec(slice); m; m = re.exec(slice)) {
      if (m[0].length === 0) re.lastIndex++;
      const [s, e] = (rule.hasValueGroup ? m.indices?.groups?.v : undefined) ?? [
        m.index,
        m.index + m[0].length,
      ];
      if (!rule.validators.every((v) => passes(v, slice.slice(s, e)))) continue;
      const last = out[out.length - 1];
      if (rule.glue && last && lo + s < last[2]) {
        // Inside the previous finding's glued run: that finding reaches this match's run too.
        const [, end, run] = gluedSpan(text, rule.glue, lo + s, lo + e);
        last[1] = Math.max(last[1], end);
        last[2] = Math.max(last[2], run);
        continue;
      }
      if (out.length === cap) return spans(out);
      out.push(rule.glue ? gluedSpan(text, rule.glue, lo + s, lo + e) : [lo + s, lo + e, lo + e]);
    }
  }
  return spans(out);
}

const spans = (found: Array<[number, number, number]>) =>
  found.map(([start, end]): [number, number] => [start, end]);

/**
 * A glued match as docs/detections.md describes it, the plain way: the run of glue characters
 * around [start, end), each widened end trimmed back to a letter or digit; and where the run ends.
 */
function gluedSpan(text: string, glue: Uint8Array, start: number, end: number): [number, number, number] {
  const glues = (i: number) => text.charCodeAt(i) < 128 && glue[text.charCodeAt(i)] === 1;
  const alnum = (i: number) => {
    const c = text.charCodeAt(i) | 0x20; // ASCII letters folded to lower case
    return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a);
  };
  let from = start;
  while (from > 0 && glues(from - 1)) from--;
  while (from < start && !alnum(from)) from++;
  let run = end;
  while (run < text.length && glues(run)) run++;
  let to = run;
  while (to > end && !alnum(to - 1)) to--;
  return [from, to, run];
}

describe('literal windows confirmed rule by rule', () => {
  const rules = builtinRules();
  const literalsOf = new Map(rules.map((r) => [r.id, r.detection.literals ?? []]));
  for (const cap of [32, 1]) {
    it(`gives the findings of windows confirmed in hit order (cap ${cap} per rule)`, () => {
      const packs = [...builtinPacks().values()];
      const set = compileRuleSet(rules, packs);
      const engine = compileRules(rules, packs, undefined, { maxDecodeDepth: 0, maxFindingsPerRule: cap });
      const windowed = set.rules.filter((r) => r.re && r.anchored && !r.signal);
      const ids = new Set(windowed.map((r) => r.id));
      let compared = 0;
      for (const where of WHERES as readonly Where[])
        for (const text of asciiTexts) {
          const key = (f: Pick<Finding, 'ruleId' | 'start' | 'end'>) => `${f.ruleId}@${f.start}-${f.end}`;
          const got = engine
            .scan(text, where)
            .filter((f) => ids.has(f.ruleId))
            .map(key)
            .sort();
          const expected = windowed
            .filter((r) => r.whereMask & whereBit(where))
            .flatMap((r) =>
              referenceFindings(text, r, literalsOf.get(r.id)!, cap).map(([start, end]) =>
                key({ ruleId: r.id, start, end }),
              ),
            );
          expect(got, `${where}: ${text.slice(0, 80)}`).toEqual([...new Set(expected)].sort());
          compared += got.length;
        }
      expect(compared).toBeGreaterThan(100); // the corpora's attacks are found, not just agreed on
      // ~2 s alone; past vitest's 5 s default on the shared 2-core host under load, before glue too.
    }, 30_000);
  }
});

/** looksTextual (inspection.decode.ts) as documented: 6+ characters, 85% printable, a letter. */
function textual(s: string): boolean {
  if (s.length < 6) return false;
  let printable = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 32 && c < 127) || c === 9 || c === 10 || c === 13 || (c >= 160 && c !== 0xfffd)) printable++;
  }
  return printable / s.length >= 0.85 && /[A-Za-z]/.test(s);
}

describe('decoded bytes refused before the UTF-8 decoder', () => {
  it('keeps a base64 span exactly when its bytes decode to text', () => {
    let seed = 11;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    // Bytes from a pool that mixes letters with controls, UTF-8 lead and continuation bytes, and
    // bytes no UTF-8 sequence holds, in proportions that put many cases near the 85% line.
    const pools = [
      [...'abcdefghij klmnop'].map((c) => c.charCodeAt(0)),
      [0, 1, 7, 27, 127],
      [0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80],
      [0x80, 0xbf, 0xc0, 0xc1, 0xf5, 0xff],
    ];
    const decoder = new TextDecoder();
    let kept = 0;
    let refused = 0;
    for (let n = 0; n < 4000; n++) {
      const weights = [40 + rnd(60), rnd(8), rnd(30), rnd(10)];
      const total = weights.reduce((a, b) => a + b, 0);
      const bytes = Uint8Array.from({ length: 15 + rnd(40) }, () => {
        let r = rnd(total);
        let k = 0;
        while (r >= weights[k]!) r -= weights[k++]!;
        const pool = pools[k]!;
        return pool[rnd(pool.length)]!;
      });
      const b64 = btoa(String.fromCharCode(...bytes));
      const expected = textual(decoder.decode(bytes));
      const found = findEncodedSpans(b64).some((s) => s.kind === 'base64');
      expect(found, `${[...bytes]}`).toBe(expected);
      if (expected) kept++;
      else refused++;
    }
    expect(Math.min(kept, refused)).toBeGreaterThan(500);
  });
});
