import { describe, expect, it } from 'vitest';
import { boundedSet, WeightedMap } from './bounded.map';

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

describe('WeightedMap', () => {
  it('drops the oldest entries while their weight passes the budget', () => {
    const map = new WeightedMap<string, number>(100, 10);
    map.set('a', 1, 4);
    map.set('b', 2, 4);
    expect(map.weight).toBe(8);
    map.set('c', 3, 4);
    expect([map.get('a'), map.get('b'), map.get('c')]).toEqual([undefined, 2, 3]);
    expect(map.weight).toBe(8);
  });

  it('drops past the entry count too, and never the entry just written', () => {
    const map = new WeightedMap<string, number>(2, 1_000);
    map.set('a', 1, 1);
    map.set('b', 2, 1);
    map.set('c', 3, 1);
    expect(map.size).toBe(2);
    expect(map.get('a')).toBeUndefined();
    // Heavier than the whole budget: kept alone, the others dropped.
    const small = new WeightedMap<string, number>(10, 5);
    small.set('x', 1, 2);
    small.set('huge', 2, 50);
    expect([small.size, small.get('huge'), small.weight]).toEqual([1, 2, 50]);
  });

  it('rewriting a key replaces its weight; delete gives it back', () => {
    const map = new WeightedMap<string, number>(10, 100);
    map.set('a', 1, 30);
    map.set('a', 2, 10);
    expect([map.size, map.weight, map.get('a')]).toEqual([1, 10, 2]);
    expect(map.delete('a')).toBe(true);
    expect([map.size, map.weight, map.delete('a')]).toEqual([0, 0, false]);
  });

  it('holds a tenant of many heavy entries to the budget (policies of 10,000 rules)', () => {
    const map = new WeightedMap<number, string>(5_000, 32 * 1024 * 1024);
    const policy = 'x'.repeat(1_000_000); // ~2 MB as the store weighs it
    for (let i = 0; i < 200; i++) map.set(i, policy, 2 * policy.length);
    expect(map.weight).toBeLessThanOrEqual(32 * 1024 * 1024);
    expect(map.size).toBe(16);
  });
});
