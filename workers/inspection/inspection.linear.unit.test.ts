/**
 * Adversarial inputs of 1 MB against every built-in rule: each scan completes, and the number of
 * findings stays bounded (a cap per rule), whatever the input. No timing is asserted here — the
 * benchmark (bench/inspection.bench.ts) measures time; this test proves the work is bounded by
 * construction: literal windows merge, patterns are bounded, decoding has a budget.
 */
import { describe, expect, it } from 'vitest';
import { builtinRules } from './inspection.builtin.js';
import { compileRules, DEFAULT_LIMITS } from './inspection.engine.js';
import { inspectLlmRequest, type PromptUnit } from './inspection.llm.stage.js';
import type { CallInspection } from './inspection.types.js';

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

/**
 * Masking is not capped (inspection.redact.complete.ts): a text with one value per 40 characters has
 * every one of them masked, so the masking pass must stay linear however many there are. Measured
 * here as a ratio, the least of 3 runs at 1/8 of the size and at the whole: linear work grows ~8×,
 * quadratic work (a search of the text per value, a search of the findings per decoded span) 64×.
 */
describe('masking every value of one redact rule, linear', () => {
  const engine = compileRules(builtinRules(), 'all');
  const MiB = 2 * 1024 * 1024;
  /** `count` addresses, every 4th also in base64 (a decoded span each), padded to `size`. */
  const addresses = (count: number, size: number) => {
    const parts: string[] = [];
    for (let i = 0; i < count; i++) {
      const email = `someone.${i}@corp-example.com`;
      parts.push(i % 4 === 3 ? btoa(`mail ${email} now`) : email);
    }
    const text = parts.join(' ');
    return text + ' '.repeat(Math.max(0, size - text.length));
  };
  const mask = (text: string) => {
    const call = { inspection: { engine, redactResults: true, found: [], session: null } as CallInspection };
    const unit: PromptUnit = {
      endpoint: 'chat.completions',
      body: { messages: [{ role: 'user', content: text }] },
    };
    const [d] = inspectLlmRequest(call as never, [{ unit, tool: 'm', decision: null, refusal: null }]);
    return d!;
  };
  const least = (f: () => void) => {
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      f();
      best = Math.min(best, performance.now() - t0);
    }
    return best;
  };

  it('50,000 addresses in 2 MiB: all masked, in time that grows linearly', () => {
    const whole = addresses(50_000, MiB);
    expect(whole.length).toBe(MiB);
    const d = mask(whole);
    expect(d.refusal).toBeNull();
    const sent = JSON.stringify(d.unit.body);
    expect(sent).not.toContain('@corp-example.com');
    expect(sent).toContain('[EMAIL_37500]');
    expect(sent.match(/\[EMAIL_\d+\]/g)).toHaveLength(50_000);
    const small = addresses(50_000 / 8, MiB / 8);
    const ratio = least(() => mask(whole)) / least(() => mask(small));
    expect(ratio).toBeLessThan(24);
  }, 120_000);
});
