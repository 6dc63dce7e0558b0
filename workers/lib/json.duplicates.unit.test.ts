/** hasDuplicateKey: a key spelled twice in one object, however escaped; never a false alarm. */
import { describe, expect, it } from 'vitest';
import { hasDuplicateKey } from './json.duplicates';

describe('hasDuplicateKey', () => {
  it('finds a key spelled twice in one object, at any depth, however escaped', () => {
    for (const text of [
      '{"model":"a","model":"b"}',
      '{"body":{"model":"a","x":[1,{"y":2}],"model":"b"}}',
      '{"body":{},"body":{}}',
      '{"model":"a","\\u006dodel":"b"}',
      '[{"a":1},{"b":{"c":1,"c":2}}]',
      '{ "a" : 1 ,\r\n "a" : 2 }',
    ])
      expect(hasDuplicateKey(text), text).toBe(true);
  });

  it('does not confuse values, strings with quotes or braces, or sibling objects with keys', () => {
    for (const text of [
      '{"model":"model","x":"model"}',
      '{"a":{"k":1},"b":{"k":1}}',
      '[{"k":1},{"k":2}]',
      '{"a":"\\"a\\":1, {\\"a\\"","b":["a","a"]}',
      '{"a":"}","b":"{","c":{"a":1}}',
      '"just a string"',
      '{}',
    ])
      expect(hasDuplicateKey(text), text).toBe(false);
  });

  it('is linear: a line of many distinct keys and deep nesting is read in one pass', () => {
    const keys = Array.from({ length: 100_000 }, (_, i) => `"k${i}":${i}`).join(',');
    const start = performance.now();
    expect(hasDuplicateKey(`{${keys}}`)).toBe(false);
    expect(hasDuplicateKey(`${'['.repeat(10_000)}${']'.repeat(10_000)}`)).toBe(false);
    expect(performance.now() - start).toBeLessThan(2_000);
  });
});
