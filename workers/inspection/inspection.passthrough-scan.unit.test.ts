/**
 * The passthrough scan (inspection.passthrough-scan.ts) in plain Node: strings scanned in batches
 * find what each string scanned alone finds, at the right string and offsets; a batch a rule
 * saturates is scanned again string by string (no value hidden behind a scan's cap); a text body
 * saturated is scanned line by line too; and the number of scans stays bounded for many short
 * strings (linear in the answer, not in the number of strings).
 */
import { describe, expect, it } from 'vitest';
import { builtinRules, packsNamed } from './inspection.builtin.js';
import { compileRules, DEFAULT_LIMITS, type Engine } from './inspection.engine.js';
import {
  BATCH_CHARS,
  scanEveryString,
  scanTexts,
  scanValues,
  scanWholeText,
} from './inspection.passthrough-scan.js';
import { textAt } from './inspection.streams.js';

const engine = compileRules(builtinRules(), packsNamed(['llm-standard-security', 'llm-compliance-gdpr']));
const key = (i: number) => `AKIAQ3R5T7V9X2Z4${String(1000 + i)}`;

/** The engine, counting its scans. */
function counted(): { engine: Engine; scans: () => number } {
  let n = 0;
  return {
    engine: {
      ruleCount: engine.ruleCount,
      reach: engine.reach,
      scan: (text, where) => {
        n++;
        return engine.scan(text, where);
      },
      scanJson: (value, where) => engine.scanJson(value, where),
      redactSpans: (text, where) => engine.redactSpans(text, where),
      approxBytes: () => engine.approxBytes(),
    },
    scans: () => n,
  };
}

describe('scanTexts', () => {
  it('gives each finding to its string, with offsets in it, as a scan of the string alone does', () => {
    const texts = ['nothing', `the key ${key(1)} here`, '', `mail jane.doe@example.com and ${key(2)}`];
    const batched = scanTexts(engine, texts);
    texts.forEach((t, k) => {
      const alone = t ? engine.scan(t, 'completion') : [];
      expect(batched[k]!.map((f) => [f.ruleId, f.start, f.end])).toEqual(
        alone.map((f) => [f.ruleId, f.start, f.end]),
      );
    });
    expect(batched[1]![0]).toMatchObject({ ruleId: 'secret.aws_access_key_id' });
    expect(texts[1]!.slice(batched[1]![0]!.start, batched[1]![0]!.end)).toBe(key(1));
  });

  it('finds every value of a rule past the per-scan cap (the batch scanned again string by string)', () => {
    const n = DEFAULT_LIMITS.maxFindingsPerRule + 8;
    const found = scanTexts(
      engine,
      Array.from({ length: n }, (_, i) => `key ${key(i)}`),
    );
    expect(found.every((list) => list.some((f) => f.ruleId === 'secret.aws_access_key_id'))).toBe(true);
  });

  it('bounds the scans: 100,000 short strings take a few scans, not 100,000', () => {
    const c = counted();
    const texts = Array.from({ length: 100_000 }, (_, i) => `value ${i}`);
    scanTexts(c.engine, texts);
    const chars = texts.reduce((n, t) => n + t.length + 2, 0);
    expect(c.scans()).toBeLessThanOrEqual(Math.ceil(chars / BATCH_CHARS) + 1);
  });
});

describe('strings of JSON values', () => {
  it('scans every string and long key at its path', () => {
    const found = scanEveryString(engine, { data: [{ content: key(1) }], [`k ${key(2)}`]: 1 });
    expect(found.map((f) => f.location).sort()).toEqual(['$.data[0].content', `$["k ${key(2)}"]~key`]);
  });

  it('groups the findings of several values by value', () => {
    const found = scanValues(engine, [{ a: 'fine' }, undefined, { b: [key(1)] }]);
    expect([...found.keys()]).toEqual([2]);
    expect(found.get(2)![0]).toMatchObject({ location: '$.b[0]' });
  });
});

describe('text bodies', () => {
  it('scans a text whole (a match may span lines) and, saturated, line by line too', () => {
    const lines = Array.from({ length: DEFAULT_LIMITS.maxFindingsPerRule + 8 }, (_, i) => `key ${key(i)}`);
    const text = lines.join('\n');
    const found = scanWholeText(engine, text, lines).filter((f) => f.ruleId === 'secret.aws_access_key_id');
    expect(found.map((f) => text.slice(f.start, f.end))).toEqual(lines.map((_, i) => key(i)));
  });

  it('finds the part an offset falls in', () => {
    expect([0, 4, 5, 9, 10].map((at) => textAt([0, 5, 10], at))).toEqual([0, 0, 1, 1, 2]);
  });
});
