/**
 * Saving a custom rule: refused with a typed reason and the field path when its pattern could
 * backtrack catastrophically, match the empty string, or when its own examples disagree with it.
 */
import { describe, expect, it } from 'vitest';
import { validateCustomRule } from './inspection.custom.js';
import { checkPattern } from './inspection.regex.js';

const base = {
  id: 'custom.acme_ticket',
  category: 'secret',
  severity: 'high',
  where: ['args', 'prompt'],
  action: 'redact',
  description: 'ACME internal ticket tokens',
  examples: { positive: ['token ACME-7f3a9c21'], negative: ['ACME corp'] },
};
const withPattern = (pattern: string, literals: string[] = ['acme-']) => ({
  ...base,
  detection: { literals, pattern },
});

describe('validateCustomRule', () => {
  it('accepts a good rule', () => {
    const result = validateCustomRule(withPattern('ACME-[0-9a-f]{8}\\b'));
    expect(result.ok).toBe(true);
  });

  it.each([
    ['(a+)+b', 'nested_quantifier'],
    ['(\\w+\\.){3}', 'nested_quantifier'],
    ['(a|ab)*c', 'overlapping_alternation'],
    ['(a?)*b', 'nullable_repeat'],
    ['(x)\\1', 'backreference'],
    ['(?<n>x)\\k<n>', 'backreference'],
    ['(?=a+)b', 'lookaround_quantifier'],
    ['a*', 'empty_match'],
    ['x|', 'empty_match'],
    ['(unclosed', 'syntax'],
  ])('refuses %s with %s at detection.pattern', (pattern, code) => {
    const result = validateCustomRule(withPattern(pattern));
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.errors).toContainEqual(expect.objectContaining({ code, path: 'detection.pattern' }));
  });

  it('refuses a schema error with the field path', () => {
    const result = validateCustomRule({ ...withPattern('ACME'), severity: 'extreme' });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[0]).toMatchObject({ code: 'schema', path: 'severity' });
  });

  it('refuses a rule that misses its positive or finds its negative examples', () => {
    const result = validateCustomRule({
      ...withPattern('ACME-[0-9a-f]{8}\\b'),
      examples: { positive: ['nothing here'], negative: ['ACME-00aa11bb'] },
    });
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.errors.map((e) => [e.code, e.path])).toEqual([
        ['example_not_detected', 'examples.positive[0]'],
        ['example_detected', 'examples.negative[0]'],
      ]);
  });
});

describe('checkPattern', () => {
  it('bounds unbounded quantifiers', () => {
    const checked = checkPattern('a+b*c{2,}', false);
    expect(checked).toEqual({ ok: true, source: 'a{1,256}b{0,256}c{2,256}' });
  });
});
