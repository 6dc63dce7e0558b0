import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileGlob, hasWildcard, literalPrefix } from './policy.glob.ts';

/** Deliberately naive reference: direct recursive definition of the glob language. */
function referenceMatch(glob: string, input: string): boolean {
  const memo = new Map<string, boolean>();
  const go = (g: number, s: number): boolean => {
    const key = `${g},${s}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result: boolean;
    if (g === glob.length) result = s === input.length;
    else if (glob[g] === '*') result = go(g + 1, s) || (s < input.length && go(g, s + 1));
    else if (s === input.length) result = false;
    else if (glob[g] === '?' || glob[g] === input[s]) result = go(g + 1, s + 1);
    else result = false;
    memo.set(key, result);
    return result;
  };
  return go(0, 0);
}

const match = (glob: string, input: string) => compileGlob(glob)(input);

describe('compileGlob', () => {
  it.each([
    // [glob, input, expected]
    ['*', '', true],
    ['*', 'anything at all', true],
    ['***', 'x', true],
    ['read_file', 'read_file', true],
    ['read_file', 'read_files', false],
    ['read_file', 'Read_file', false],
    ['read_*', 'read_', true],
    ['read_*', 'read_file', true],
    ['read_*', 'rea', false],
    ['read_*', 'xread_file', false],
    ['*_repo', 'delete_repo', true],
    ['*_repo', 'delete_repos', false],
    ['*admin*', 'admin', true],
    ['*admin*', 'superadmin_tool', true],
    ['*admin*', 'adm', false],
    ['a*b', 'ab', true],
    ['a*b', 'axxb', true],
    ['a*b', 'axxbc', false],
    ['ab*ba', 'aba', false],
    ['ab*ba', 'abba', true],
    ['?', 'a', true],
    ['?', '', false],
    ['?', 'ab', false],
    ['??', 'ab', true],
    ['r?ad', 'read', true],
    ['r?ad', 'rad', false],
    ['*?', '', false],
    ['*?', 'x', true],
    ['a*?c*d', 'abcd', true],
    ['a*?c*d', 'acd', false],
    ['a**b', 'ab', true],
    ['*a*b*c*', 'xxaxxbxxcxx', true],
    ['*a*b*c*', 'cba', false],
    ['resource:file:///*', 'resource:file:///etc/passwd', true],
  ])('glob %j vs %j → %s', (glob, input, expected) => {
    expect(match(glob, input)).toBe(expected);
  });

  it('treats regular-expression metacharacters literally', () => {
    expect(match('a.b', 'a.b')).toBe(true);
    expect(match('a.b', 'axb')).toBe(false);
    expect(match('a+b*', 'a+bc')).toBe(true);
    expect(match('a+b*', 'aab')).toBe(false);
    expect(match('[x]*', '[x]y')).toBe(true);
    expect(match('[x]*', 'x')).toBe(false);
    expect(match('\\*', '\\anything')).toBe(true);
    expect(match('(a|b)', 'a')).toBe(false);
    expect(match('^$', '^$')).toBe(true);
  });

  it('counts UTF-16 code units for ?', () => {
    expect(match('?', 'é')).toBe(true);
    expect(match('??', '😀')).toBe(true);
    expect(match('?', '😀')).toBe(false);
    expect(match('*😀', 'smile😀')).toBe(true);
  });

  it('agrees with the naive reference on random globs and inputs', () => {
    const globArb = fc.string({ unit: fc.constantFrom('a', 'b', '*', '?'), maxLength: 10 });
    const inputArb = fc.string({ unit: fc.constantFrom('a', 'b', '*', '?'), maxLength: 12 });
    fc.assert(
      fc.property(globArb, inputArb, (glob, input) => {
        expect(match(glob, input)).toBe(referenceMatch(glob, input));
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees with the reference when inputs are built to match', () => {
    // Random inputs rarely match long globs; also derive inputs that should match.
    const globArb = fc.string({
      unit: fc.constantFrom('a', 'b', 'c', '*', '?'),
      minLength: 1,
      maxLength: 12,
    });
    fc.assert(
      fc.property(
        globArb,
        fc.array(fc.constantFrom('', 'a', 'ab', 'cba'), { maxLength: 12 }),
        (glob, fills) => {
          let index = 0;
          const input = glob.replace(/[*?]/g, (wildcard) => {
            const fill = fills[index++] ?? '';
            return wildcard === '?' ? (fill[0] ?? 'z') : fill;
          });
          expect(match(glob, input)).toBe(true);
          expect(referenceMatch(glob, input)).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('agrees with the reference for segments longer than one 32-bit word, and non-ASCII', () => {
    // Shift-And keeps one bit per segment character: segments over 32 characters span words.
    const globArb = fc.string({ unit: fc.constantFrom('a', 'b', 'é', '?', '?', '*'), maxLength: 90 });
    const inputArb = fc.string({ unit: fc.constantFrom('a', 'b', 'é', '😀'), maxLength: 140 });
    fc.assert(
      fc.property(globArb, inputArb, (glob, input) => {
        expect(match(glob, input)).toBe(referenceMatch(glob, input));
      }),
      { numRuns: 1000 },
    );
    const long = `x${'?'.repeat(40)}y${'a?'.repeat(20)}`;
    const hit = `x${'q'.repeat(40)}y${'ab'.repeat(20)}`;
    expect(match(`*${long}*`, `zz${hit}zz`)).toBe(true);
    expect(match(`*${long}*`, `zz${hit.slice(0, -1)}`)).toBe(false);
    expect(match(`*${long}`, `${'a'.repeat(100)}${hit}`)).toBe(true);
  });

  it('matches ?-rich and *-rich 256-character globs against a 1 MB name in one pass', () => {
    // The issue-12 attack: O(|input| × |segment|) scans made one such call take 11.6 s. These
    // finish in milliseconds with a linear matcher; the benchmark (bench/glob.bench.ts) measures it.
    const megabyte = 'a'.repeat(1024 * 1024);
    // Each ends in `*`, so the anchored tail cannot refuse early: the middle segment is searched
    // across the whole megabyte, and never found.
    const questions = `*${'?'.repeat(253)}b*`;
    const starQuestions = `*a${'?a'.repeat(125)}b*`;
    const starRich = `${'*a'.repeat(126)}*b*`;
    const questionMiddle = `*${'a?'.repeat(126)}b*`;
    for (const glob of [questions, starQuestions, starRich, questionMiddle]) {
      expect(glob.length).toBeLessThanOrEqual(256);
      expect(match(glob, megabyte)).toBe(false);
    }
    expect(match(`*${'?'.repeat(254)}a`, megabyte)).toBe(true);
    expect(match(`*${'a?'.repeat(127)}*`, megabyte)).toBe(true);
    const mixed = `${'ab'.repeat(512 * 1024 - 1)}abX`;
    expect(match(`*${'a?'.repeat(100)}X`, mixed)).toBe(true);
    expect(match(`*${'?b'.repeat(100)}X*`, mixed)).toBe(true);
    expect(match(`*${'?b'.repeat(100)}?X*`, mixed)).toBe(false);
  });

  it('does not backtrack pathologically (just runs: no timing assertion)', () => {
    const haystack = 'a'.repeat(10_000);
    expect(match('*a*a*a*a*a*a*b', haystack)).toBe(false);
    expect(match('*a?a*a?a*a?a*b', haystack)).toBe(false);
    expect(match(`${'*a'.repeat(120)}*b`, haystack)).toBe(false);
    expect(match(`${'*?'.repeat(120)}*b`, haystack)).toBe(false);
    expect(match('*a*a*a*a*a*a*', haystack)).toBe(true);
  });
});

describe('hasWildcard / literalPrefix', () => {
  it('detects wildcards', () => {
    expect(hasWildcard('read_file')).toBe(false);
    expect(hasWildcard('read_*')).toBe(true);
    expect(hasWildcard('r?ad')).toBe(true);
  });

  it('returns the literal text before the first wildcard', () => {
    expect(literalPrefix('read_file')).toBe('read_file');
    expect(literalPrefix('read_*')).toBe('read_');
    expect(literalPrefix('re?d_*')).toBe('re');
    expect(literalPrefix('*_repo')).toBe('');
    expect(literalPrefix('?x')).toBe('');
  });

  it('every match starts with the literal prefix', () => {
    const globArb = fc.string({ unit: fc.constantFrom('a', 'b', '*', '?'), maxLength: 8 });
    const inputArb = fc.string({ unit: fc.constantFrom('a', 'b'), maxLength: 10 });
    fc.assert(
      fc.property(globArb, inputArb, (glob, input) => {
        if (match(glob, input)) expect(input.startsWith(literalPrefix(glob))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
