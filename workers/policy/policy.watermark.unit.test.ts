import { describe, expect, it } from 'vitest';
import { wasPruned } from './policy.watermark';

describe('policy version watermark', () => {
  it('answers pruned only for a version number below the watermark', () => {
    expect(wasPruned(1, 1)).toBe(false); // watermark 1: nothing pruned
    expect(wasPruned(1, 2)).toBe(true);
    expect(wasPruned(49, 50)).toBe(true);
    expect(wasPruned(50, 50)).toBe(false); // at the watermark: kept, or never written
    expect(wasPruned(51, 50)).toBe(false);
  });

  it('never answers pruned for something that is not a version number', () => {
    expect(wasPruned(0, 50)).toBe(false);
    expect(wasPruned(-3, 50)).toBe(false);
    expect(wasPruned(1.5, 50)).toBe(false);
    expect(wasPruned(Number.NaN, 50)).toBe(false);
  });
});
