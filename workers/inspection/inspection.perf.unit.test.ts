/**
 * What the performance work on the engine must not change (bench/inspection.bench.ts measures the
 * speed): the homoglyph check across runs of ASCII, Zalgo text and long base64 blobs as signals
 * found where the text is walked anyway, the hand-written base64 decoder, and the breadth-first
 * literal automaton.
 */
import { describe, expect, it } from 'vitest';
import { buildAutomaton } from './inspection.aho.js';
import { builtinRules } from './inspection.builtin.js';
import { decodeBase64 } from './inspection.decode.js';
import { compileRules } from './inspection.engine.js';
import { characterOffsets, normalize, originalSpan } from './inspection.normalize.js';

const all = compileRules(builtinRules(), 'all');
const hits = (text: string, ruleId: string) => all.scan(text, 'prompt').filter((f) => f.ruleId === ruleId);

describe('normalisation over runs of ASCII', () => {
  it('reports a word mixing Latin and look-alikes wherever the look-alike sits, with its span', () => {
    for (const [text, word] of [
      ['pay to p\u0430ypal now', 'p\u0430ypal'],
      ['\u0430pple pie', '\u0430pple'],
      ['x = [paypa\u04cf]', 'paypa\u04cf'],
      ['é then p\u0430y and more words', 'p\u0430y'],
    ] as const) {
      const signals = normalize(text).signals;
      expect(
        signals.map((s) => s.signal),
        text,
      ).toEqual(['homoglyph_mix']);
      expect(text.slice(signals[0]!.start, signals[0]!.end), text).toBe(word);
    }
  });

  it('does not report Latin words next to words of another script', () => {
    for (const text of ['hello мир', 'мир hello', 'Ελλάδα and Greece', 'é abc'])
      expect(normalize(text).signals, text).toEqual([]);
  });

  it('maps every output character back to the original, across ASCII runs and clusters', () => {
    const text = 'ab\u200bcd é p\u0430y';
    const norm = normalize(text);
    expect(norm.text).toBe('abcd é pay');
    const offsets = characterOffsets(norm);
    expect(offsets?.start.length).toBe(norm.text.length + 1);
    // "cd" comes after the zero-width space: original offsets 3 and 4.
    expect([offsets?.start[2], offsets?.start[3]]).toEqual([3, 4]);
    // The look-alike "а" (U+0430) is one cluster: output 8 is original [9, 10); the end maps to 12.
    expect([offsets?.start[8], offsets?.end[8], offsets?.start[10]]).toEqual([9, 10, 11]);
    expect(originalSpan(norm, 7, 10)).toEqual({ start: 8, end: 11 });
  });
});

describe('signals found while walking the text', () => {
  it('reports stacked combining marks (Zalgo text) but not ordinary accents', () => {
    const zalgo = 'h\u0301\u0302\u0303\u0304\u0305\u0306ello';
    const found = hits(zalgo, 'obfuscation.combining_mark_flood');
    expect(found).toHaveLength(1);
    expect([found[0]!.start, found[0]!.end]).toEqual([0, 7]);
    expect(hits('cafe\u0301 nai\u0308ve', 'obfuscation.combining_mark_flood')).toEqual([]);
  });

  it('reports a long base64 blob once, with its whole span, even past the tokeniser’s 4 KB pieces', () => {
    const blob = 'QUJD'.repeat(1500); // 6000 characters: two tokens of the tokeniser
    const text = `data ${blob}== end`;
    const found = hits(text, 'obfuscation.long_base64_blob');
    expect(found).toHaveLength(1);
    expect([found[0]!.start, found[0]!.end]).toEqual([5, 5 + blob.length + 2]);
    expect(hits(`short ${'QUJD'.repeat(60)}`, 'obfuscation.long_base64_blob')).toEqual([]);
  });
});

describe('decodeBase64', () => {
  it('decodes standard and URL-safe base64, padded or not', () => {
    expect(decodeBase64(btoa('hello, world'))).toBe('hello, world');
    expect(decodeBase64(btoa('hello, world!').replace(/=+$/, ''))).toBe('hello, world!');
    expect(decodeBase64(btoa('\u00ff\u00fe?>').replace(/\+/g, '-').replace(/\//g, '_'))).toBe(
      new TextDecoder().decode(Uint8Array.from([0xff, 0xfe, 0x3f, 0x3e])),
    );
  });

  it('refuses what is not base64', () => {
    expect(decodeBase64('abcde')).toBeNull(); // a length of 4n + 1
    expect(decodeBase64('ab*d')).toBeNull();
    expect(decodeBase64('ab=d')).toBeNull();
  });
});

describe('literal automaton', () => {
  it('finds every occurrence of every literal, overlapping ones too, case-insensitively for ASCII', () => {
    const automaton = buildAutomaton(['he', 'she', 'his', 'hers', 'Мир']);
    const found: Array<[string, number]> = [];
    automaton.scan('uSHErs and his мир Мир', (lit, end) => found.push([automaton.literals[lit]!, end]));
    expect(found).toEqual([
      ['she', 4],
      ['he', 4],
      ['hers', 6],
      ['his', 14],
      ['Мир', 22],
    ]);
  });
});
