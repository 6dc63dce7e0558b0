/**
 * inspection.engines: the isolate's engine cache is bounded by what its engines hold in memory, not
 * only by their number — an isolate serves every organization, and one tenant's many inspection
 * configurations must not be able to fill it.
 */
import { describe, expect, it } from 'vitest';
import { ENGINE_CACHE_BYTES, engineCacheStats, engineFor } from './inspection.engines';
import { WHERES } from './inspection.schema';

/** A distinct configuration of every pack (an override of one rule that does not exist). */
const everyPack = (i: number) => ({
  packs: 'all' as const,
  overrides: { rules: { [`tenant.rule-${i}`]: 'log' as const } },
});

describe('the engine cache', () => {
  it('keeps at most its byte budget (plus the newest engine), however many configurations are used', () => {
    let largest = 0;
    for (let i = 0; i < 24; i++) {
      const engine = engineFor(everyPack(i), null);
      // Every automaton built, as calls of every kind would.
      for (const where of WHERES) engine.scan('hello AKIA world', where);
      largest = Math.max(largest, engine.approxBytes());
      const { bytes } = engineCacheStats();
      expect(bytes, `after ${i + 1} engines`).toBeLessThanOrEqual(ENGINE_CACHE_BYTES + largest);
    }
    // An engine of every pack is several MB: 24 of them are far past the budget.
    expect(largest * 24).toBeGreaterThan(2 * ENGINE_CACHE_BYTES);
    expect(engineCacheStats().engines).toBeLessThan(24);
  });

  it('evicts the least recently used engine first: one in use stays', () => {
    const kept = engineFor(everyPack(1000), null);
    for (const where of WHERES) kept.scan('x', where);
    for (let i = 0; i < 12; i++) {
      const engine = engineFor(everyPack(2000 + i), null);
      for (const where of WHERES) engine.scan('x', where);
      // Used again between the others: the same engine, not a new one.
      expect(engineFor(everyPack(1000), null)).toBe(kept);
    }
  });
});
