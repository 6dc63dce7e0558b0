import { describe, expect, it } from 'vitest';
import { MAX_BATCH_MESSAGES_LIMIT } from '../shared/connection.settings.ts';
import { BATCH_INDEX_DIGITS, batchRowId, eventId, randomId } from './ids.ts';

describe('randomId', () => {
  it('is the prefix, an underscore and `length` characters of [0-9a-z]', () => {
    for (const length of [1, 12, 20, 64])
      expect(randomId('req', length)).toMatch(new RegExp(`^req_[0-9a-z]{${length}}$`));
  });

  it('draws every character about equally often (bytes of 252 and above are redrawn, not folded)', () => {
    const counts = new Map<string, number>();
    // 1,000,000 draws: one count's standard deviation is ≈ 0.6 % of the mean, so the 5 % bound is
    // ≈ 8.5 of them (a false alarm ≈ 1e-16 per run; at 200,000 draws and 6 % it was ≈ 1 in 4,600).
    const draws = 1_000_000;
    let id = '';
    while (id.length < draws) id += randomId('x', 10_000).slice(2);
    for (const ch of id) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    expect(counts.size).toBe(36);
    // With `byte % 36` over all 256 values, '0'–'3' come up 8/7 as often as the rest (+14 %);
    // unbiased, each count is within a few percent of draws / 36 at this sample size.
    const expected = draws / 36;
    for (const [ch, n] of counts) expect(Math.abs(n - expected) / expected, ch).toBeLessThan(0.05);
  });
});

describe('eventId', () => {
  it('leads with the time in hex so ids sort by when they were made', () => {
    const a = eventId(1_000);
    const b = eventId(2_000);
    expect(a).toMatch(/^evt_[0-9a-f]{12}[0-9a-z]{12}$/);
    expect(a < b).toBe(true);
  });
});

describe('batchRowId', () => {
  it('sorts the rows of the largest batch a connection may accept in the order of its items', () => {
    const call = eventId(1_000);
    const ids = Array.from({ length: MAX_BATCH_MESSAGES_LIMIT }, (_, i) => batchRowId(call, i));
    expect(ids[0]).toBe(call);
    expect(ids[1]).toBe(`${call}_001`);
    expect([...ids].sort()).toEqual(ids);
    expect(String(MAX_BATCH_MESSAGES_LIMIT - 1)).toHaveLength(BATCH_INDEX_DIGITS);
  });
});
