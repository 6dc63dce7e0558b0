import { describe, expect, it } from 'vitest';
import { pooledBase36, pooledHex } from './random.pool.ts';

describe('the pool of random bytes for ids that are not secrets', () => {
  it('hands out each byte once, across refills of the 4 KB pool', () => {
    // 1,000 ids of 16 bytes span four refills; 128-bit values never repeat by chance.
    const ids = Array.from({ length: 1_000 }, () => pooledHex(16));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('draws base-36 characters without modulo bias', () => {
    // 1,000,000 draws: one count's standard deviation is ≈ 0.6 % of the mean, so the 5 % bound is
    // ≈ 8.5 of them (a false alarm ≈ 1e-16 per run; at 200,000 draws and 6 % it was ≈ 1 in 4,600).
    const draws = 1_000_000;
    const counts = new Map<string, number>();
    for (const ch of pooledBase36(draws)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    expect(counts.size).toBe(36);
    // `byte % 36` over all 256 byte values would give '0'–'3' about 12 % more than the mean.
    const expected = draws / 36;
    for (const [ch, n] of counts) expect(Math.abs(n - expected) / expected, ch).toBeLessThan(0.05);
  });
});
