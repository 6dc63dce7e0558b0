import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePolicy, evaluate } from './policy.evaluate.ts';
import { explain } from './policy.explain.ts';
import { normalizeName, normalizePattern } from './policy.normalize.ts';

describe('normalizeName', () => {
  it.each([
    ['Delete_all', 'delete_all'],
    ['DELETE_ALL', 'delete_all'],
    ['d\u0435lete_all', 'delete_all'], // Cyrillic е
    ['D\u0415LETE_ALL', 'delete_all'], // Cyrillic Е
    ['delete\u200b_all', 'delete_all'], // zero-width space
    ['del\u202eete_all', 'delete_all'], // right-to-left override
    ['\u2066delete_all\u2069', 'delete_all'], // bidi isolate
    ['delete\ufeff_all\u00ad', 'delete_all'], // BOM, soft hyphen
    ['\uff44\uff45\uff4c\uff45\uff54\uff45_all', 'delete_all'], // fullwidth
    ['\u{1d41d}elete_all', 'delete_all'], // mathematical bold d
    ['dεlεtε_αll'.replace(/ε/g, '\u03b5'), 'delete_all'], // Greek ε, α
    ['\u0440\u043e\u0441\u0442', 'poct'], // Cyrillic рост reads as "poct"
    ['\u039a\u0399\u039b\u039b', 'kiλλ'], // Greek capitals fold where they imitate Latin
    ['delete_\u{e0061}all', 'delete_all'], // tag character
  ])('%j → %j', (name, normal) => {
    expect(normalizeName(name)).toBe(normal);
  });

  it('leaves names without look-alikes as they read (lower case aside)', () => {
    expect(normalizeName('read_file')).toBe('read_file');
    expect(normalizeName('résumé')).toBe('résumé');
    expect(normalizeName('数据_查询')).toBe('数据_查询');
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (name) => {
        const once = normalizeName(name);
        expect(normalizeName(once)).toBe(once);
      }),
    );
  });

  it('handles a 1 MB name in one pass (no quadratic step)', () => {
    const name = `d\u0435lete_${'\u200b'.repeat(500_000)}${'x'.repeat(500_000)}`;
    expect(normalizeName(name)).toBe(`delete_${'x'.repeat(500_000)}`);
  });
});

describe('normalizePattern', () => {
  it('normalises literal runs and keeps the wildcards', () => {
    expect(normalizePattern('Delete_*')).toBe('delete_*');
    expect(normalizePattern('d\u0435l?te_*')).toBe('del?te_*');
    expect(normalizePattern('*_\u0410LL')).toBe('*_all');
  });

  it('never turns a literal into "anything": a fullwidth ＊ becomes a one-character ?', () => {
    expect(normalizePattern('a\uff0ab*')).toBe('a?b*');
  });
});

describe('policies match the normalised name', () => {
  const compiled = compilePolicy(
    {
      rules: [
        { tool: 'delete_*', action: 'deny', reason: 'no deletions' },
        { tool: 'Read_File', action: 'allow' },
        { tool: '*', action: 'alert' },
      ],
    },
    1,
  );

  it.each([
    'delete_all',
    'Delete_all',
    'd\u0435lete_all',
    'delete\u200b_all',
    'DELETE_ALL',
    '\uff44elete_all',
  ])('%j hits the delete_* rule', (tool) => {
    expect(evaluate(compiled, { tool })).toMatchObject({ action: 'deny', ruleIndex: 0 });
    expect(explain(compiled, { tool }).decision.ruleIndex).toBe(0);
  });

  it('rules written with capitals or look-alikes match the plain name too', () => {
    expect(evaluate(compiled, { tool: 'read_file' })).toMatchObject({ action: 'allow', ruleIndex: 1 });
    expect(evaluate(compiled, { tool: 'READ_FILE' })).toMatchObject({ action: 'allow', ruleIndex: 1 });
    expect(evaluate(compiled, { tool: 'remove_all' })).toMatchObject({ action: 'alert', ruleIndex: 2 });
  });

  it('explains with the name and glob as written', () => {
    const { trace } = explain(compiled, { tool: 'D\u0435lete_all' });
    expect(trace[0]!.why).toContain("tool 'D\u0435lete_all' matches glob 'delete_*'");
  });
});
