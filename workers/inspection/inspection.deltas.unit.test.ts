import { describe, expect, it } from 'vitest';
import { spliceDeltas } from './inspection.deltas.ts';
import type { RedactEdit } from './inspection.redact.ts';

/** Edits replacing each of `values` (first occurrence in the joined deltas) with its placeholder. */
function editsFor(deltas: string[], values: Array<[string, string]>): RedactEdit[] {
  const text = deltas.join('');
  return values
    .map(([value, placeholder]) => {
      const start = text.indexOf(value);
      return { start, end: start + value.length, placeholder };
    })
    .sort((a, b) => a.start - b.start);
}

function check(deltas: string[], values: Array<[string, string]>): string[] {
  const out = spliceDeltas(deltas, editsFor(deltas, values));
  let expected = deltas.join('');
  for (const [value, placeholder] of values) expected = expected.replace(value, placeholder);
  expect(out).toHaveLength(deltas.length);
  expect(out.join('')).toBe(expected);
  return out;
}

describe('spliceDeltas', () => {
  it('no edits: the deltas as they were', () => {
    expect(spliceDeltas(['a', 'b'], [])).toEqual(['a', 'b']);
  });

  it('a match inside one delta', () => {
    expect(check(['Mail ', 'a@b.io now', '.'], [['a@b.io', '[EMAIL_1]']])).toEqual([
      'Mail ',
      '[EMAIL_1] now',
      '.',
    ]);
  });

  it('a match across two deltas: the placeholder where it starts, the rest of the next delta only', () => {
    expect(check(['key AKIA', 'Z7Q4 ok'], [['AKIAZ7Q4', '[SECRET_1]']])).toEqual(['key [SECRET_1]', ' ok']);
  });

  it('a match across many deltas, the middle ones emptied, one ending exactly at a delta’s end', () => {
    expect(check(['x', 'AK', 'IA', 'Z7', 'Q4', 'y'], [['AKIAZ7Q4', '[SECRET_1]']])).toEqual([
      'x',
      '[SECRET_1]',
      '',
      '',
      '',
      'y',
    ]);
  });

  it('several matches in one delta, and one that starts in it and goes on', () => {
    const out = check(
      ['a@b.io and c@d.io and e@', 'f.io!'],
      [
        ['a@b.io', '[EMAIL_1]'],
        ['c@d.io', '[EMAIL_2]'],
        ['e@f.io', '[EMAIL_3]'],
      ],
    );
    expect(out).toEqual(['[EMAIL_1] and [EMAIL_2] and [EMAIL_3]', '!']);
  });

  it('empty deltas (role-only chunks) are kept empty; a match starting after one goes to the next', () => {
    expect(check(['', 'a@b.io', ''], [['a@b.io', '[EMAIL_1]']])).toEqual(['', '[EMAIL_1]', '']);
  });

  it('unicode: offsets are UTF-16 units, surrogate pairs around a match are kept whole', () => {
    const out = check(['😀 écrire à ', 'jané@exa', 'mple.com 🎉'], [['jané@example.com', '[EMAIL_1]']]);
    expect(out).toEqual(['😀 écrire à ', '[EMAIL_1]', ' 🎉']);
  });

  it('a match at the very start and one at the very end', () => {
    expect(
      check(
        ['a@b.io', ' x ', 'c@d.io'],
        [
          ['a@b.io', '[E1]'],
          ['c@d.io', '[E2]'],
        ],
      ),
    ).toEqual(['[E1]', ' x ', '[E2]']);
  });
});
