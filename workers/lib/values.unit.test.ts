import { describe, expect, it } from 'vitest';
import { concatBytes, iso, isRecord, parseStoredJson, recordOrEmpty, strictUtf8 } from './values';

describe('value helpers', () => {
  it('concatBytes: the chunks in order as one array', () => {
    const a = Uint8Array.of(1, 2);
    expect(concatBytes([a, Uint8Array.of(), Uint8Array.of(3)], 3)).toEqual(Uint8Array.of(1, 2, 3));
    expect(concatBytes([a], 2)).toBe(a);
    expect(concatBytes([], 0)).toEqual(new Uint8Array(0));
  });

  it('isRecord: plain objects only', () => {
    expect([{}, { a: 1 }, Object.create(null)].map(isRecord)).toEqual([true, true, true]);
    expect([null, undefined, [], 'x', 1, true].map(isRecord)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
    expect(recordOrEmpty({ a: 1 })).toEqual({ a: 1 });
    expect([null, ['a'], 'x'].map(recordOrEmpty)).toEqual([{}, {}, {}]);
  });

  it('iso: epoch ms to ISO 8601, nothing to null', () => {
    expect(iso(0)).toBe('1970-01-01T00:00:00.000Z');
    expect(iso(1_700_000_000_123)).toBe('2023-11-14T22:13:20.123Z');
    expect(iso(null)).toBeNull();
    expect(iso(undefined)).toBeNull();
  });

  it('parseStoredJson: stored text, `{}` when absent or unreadable', () => {
    expect(parseStoredJson('{"a":[1]}')).toEqual({ a: [1] });
    expect(parseStoredJson('null')).toBeNull();
    expect([null, undefined, '', '{', 'nope'].map(parseStoredJson)).toEqual([{}, {}, {}, {}, {}]);
  });
});

describe('strictUtf8', () => {
  it('decodes UTF-8, refuses what is not, and carries nothing from one body to the next', () => {
    expect(strictUtf8(new TextEncoder().encode('Hello, 世界 €'))).toBe('Hello, 世界 €');
    expect(() => strictUtf8(new Uint8Array([0x7b, 0xff, 0x7d]))).toThrow(TypeError);
    // A body that ends inside "€" (e2 82 ac) is refused, and the next body decodes on its own.
    expect(() => strictUtf8(new Uint8Array([0x22, 0xe2, 0x82]))).toThrow(TypeError);
    expect(strictUtf8(new TextEncoder().encode('"€"'))).toBe('"€"');
  });
});
