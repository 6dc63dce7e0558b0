import { describe, expect, it } from 'vitest';
import { changedFields } from './patch.changes.ts';

describe('changedFields', () => {
  it('counts a field sent with a value unlike the stored one, in the patch order', () => {
    expect(changedFields({ b: 2, a: 1 }, { a: 0, b: 0 })).toEqual(['b', 'a']);
  });

  it('skips fields not sent and fields sent with the stored value', () => {
    expect(changedFields({ a: 1, b: undefined, c: 'x' }, { a: 1, b: 2, c: 'x' })).toEqual([]);
  });

  it('counts a field with no stored value given whenever it was sent', () => {
    expect(changedFields({ url: 'https://x' }, {})).toEqual(['url']);
  });

  it('looks only at the keys given, in their order', () => {
    expect(
      changedFields({ description: 'd', name: 'n' }, { name: 'm', description: 'e' }, [
        'name',
        'description',
      ]),
    ).toEqual(['name', 'description']);
  });
});
