/**
 * Adversarial inputs of 1 MB against every built-in rule: each scan completes, and the number of
 * findings stays bounded (a cap per rule), whatever the input. No timing is asserted here — the
 * benchmark (bench/inspection.bench.ts) measures time; this test proves the work is bounded by
 * construction: literal windows merge, patterns are bounded, decoding has a budget.
 */
import { describe, expect, it } from 'vitest';
import { builtinRules } from './inspection.builtin.js';
import { compileRules, DEFAULT_LIMITS } from './inspection.engine.js';

const MB = 1024 * 1024;
const fill = (unit: string) => unit.repeat(Math.ceil(MB / unit.length)).slice(0, MB);

/** Inputs built to defeat naive matchers: repeated literal prefixes, near-misses, encodings. */
const ADVERSARIAL: Record<string, () => string> = {
  'one letter': () => 'a'.repeat(MB),
  'digits (card, phone, ssn near-misses)': () => fill('4111 1111 1111 111'),
  'literal storm': () => fill('ignore union select ../ <script eyJ ${ '),
  'open windows, no closing': () => fill("' or '"),
  'nested brackets': () => fill('{{{{[[[[(((('),
  'at signs': () => fill('a@a.'),
  'base64 of attacks': () => fill(`${btoa("1' UNION SELECT password FROM users--")} `),
  'url encoding': () => fill('%41%42%43'),
  'html entities': () => fill('&#x3c;&lt;'),
  'zero-width and homoglyphs': () => fill('p\u0430y\u200bpal '),
  'long word': () => fill('abcdefghijklmnopqrstuvwxyz0123456789'),
};

describe('linear-time scanning on 1 MB adversarial inputs', () => {
  const engine = compileRules(builtinRules(), 'all');
  const bound = engine.ruleCount * DEFAULT_LIMITS.maxFindingsPerRule;

  it.each(Object.keys(ADVERSARIAL))('%s: completes with bounded findings', (name) => {
    const text = ADVERSARIAL[name]!();
    expect(text.length).toBeGreaterThanOrEqual(MB);
    for (const where of ['args', 'prompt'] as const) {
      const found = engine.scan(text, where);
      expect(found.length).toBeLessThanOrEqual(bound);
      for (const f of found) expect(f.end).toBeLessThanOrEqual(text.length);
    }
  });

  it('scanJson of a 1 MB string and of 20,000 small strings completes', () => {
    expect(engine.scanJson({ big: ADVERSARIAL['literal storm']!() }, 'result').length).toBeLessThanOrEqual(
      bound,
    );
    const many = Array.from({ length: 20_000 }, (_, i) => `item ${i} ../../etc`);
    expect(engine.scanJson(many, 'args').length).toBeGreaterThan(0);
  });
});
