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
