import { describe, expect, it } from 'vitest';
import { hasAsciiEscape, mayHaveKey } from './json.keys.ts';

describe('mayHaveKey', () => {
  it('finds the key written plainly', () => {
    expect(mayHaveKey('{"jsonrpc":"2.0","id":1,"result":{}}', 'id')).toBe(true);
    expect(mayHaveKey('{"jsonrpc":"2.0","method":"notifications/progress"}', 'id')).toBe(false);
  });

  it('answers true for every escaped spelling of the key, since it parses to the same object', () => {
    for (const raw of [
      '{"\\u0069d":1,"result":{}}',
      '{"i\\u0064":1}',
      '{"\\u0049D":1}', // not "id" once parsed, but the pre-check only spares parses: true is safe
      '{"r\\u0065sult":{"t\\u006fols":[]}}',
      '{"\\u0072\\u0065\\u0073\\u0075\\u006C\\u0074":{}}', // upper-case hex digits
    ]) {
      expect(mayHaveKey(raw, 'id') || mayHaveKey(raw, 'result')).toBe(true);
      expect(JSON.parse(raw)).toBeTypeOf('object');
    }
    expect(Object.keys(JSON.parse('{"\\u0069d":1}'))).toEqual(['id']);
  });

  it('is not fooled into parsing by escapes of non-ASCII text', () => {
    expect(mayHaveKey('{"method":"x","params":{"text":"caf\\u00e9 \\u4e2d\\ud83d\\ude00"}}', 'id')).toBe(
      false,
    );
    expect(hasAsciiEscape('\\u00e9\\u00ff\\u0100\\u001f')).toBe(false);
    expect(hasAsciiEscape('\\u0020')).toBe(true);
    expect(hasAsciiEscape('\\u007f')).toBe(true);
    expect(hasAsciiEscape('\\u00')).toBe(false);
  });
});
