import { describe, expect, it } from 'vitest';
import { boundedSet } from './bounded.map';

describe('boundedSet', () => {
  it('adds keys freely below the limit', () => {
    const map = new Map<string, number>();
    boundedSet(map, 'a', 1, 3);
    boundedSet(map, 'b', 2, 3);
    boundedSet(map, 'c', 3, 3);
    expect([...map]).toEqual([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]);
  });

  it('drops the oldest key when a new key would pass the limit', () => {
    const map = new Map([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]);
    boundedSet(map, 'd', 4, 3);
    expect([...map.keys()]).toEqual(['b', 'c', 'd']);
    boundedSet(map, 'e', 5, 3);
    expect([...map.keys()]).toEqual(['c', 'd', 'e']);
  });

  it('overwrites an existing key in place without evicting', () => {
    const map = new Map([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]);
    boundedSet(map, 'a', 10, 3);
    expect([...map]).toEqual([
      ['a', 10],
      ['b', 2],
      ['c', 3],
    ]);
  });

  it('gives an LRU when the caller deletes a key on a hit before setting it again', () => {
    const map = new Map([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]);
    map.delete('a');
    boundedSet(map, 'a', 1, 3);
    boundedSet(map, 'd', 4, 3);
    expect([...map.keys()]).toEqual(['c', 'a', 'd']);
  });

  it('works for any key type and returns the map', () => {
    const map = new Map<number, string>([[1, 'x']]);
    expect(boundedSet(map, 2, 'y', 1)).toBe(map);
    expect([...map]).toEqual([[2, 'y']]);
  });
});
