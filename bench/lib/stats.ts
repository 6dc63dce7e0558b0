/**
 * Percentiles and spreads. Every published figure is a pooled percentile over all samples plus the
 * spread of the same figure across rounds (p25–p75 of the per-round values), so a reader can tell a
 * real difference from run-to-run noise.
 */

/** Nearest-rank percentile of an ascending array (q in [0, 1]). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export function sortedCopy(values: readonly number[]): Float64Array {
  return Float64Array.from(values).sort();
}

export function quantile(values: readonly number[], q: number): number {
  return quantileSorted(sortedCopy(values), q);
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

export interface Spread {
  /** Pooled over every sample (or the median of rounds when only per-round values exist). */
  value: number;
  /** p25 and p75 of the per-round values. */
  lo: number;
  hi: number;
  rounds: number;
}

export interface LatencySummary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(values: readonly number[]): LatencySummary {
  const s = sortedCopy(values);
  return {
    n: s.length,
    p50: quantileSorted(s, 0.5),
    p90: quantileSorted(s, 0.9),
    p99: quantileSorted(s, 0.99),
    max: s.length ? s[s.length - 1]! : Number.NaN,
    mean: mean(values),
  };
}

/** A pooled value with the p25–p75 of per-round values as its spread. */
export function spread(pooled: number, perRound: readonly number[]): Spread {
  const s = sortedCopy(perRound.filter((v) => Number.isFinite(v)));
  return { value: pooled, lo: quantileSorted(s, 0.25), hi: quantileSorted(s, 0.75), rounds: s.length };
}

/** Median of per-round values with their p25–p75 (for figures that only exist per round, e.g. ratios). */
export function roundsSpread(perRound: readonly number[]): Spread {
  const s = sortedCopy(perRound.filter((v) => Number.isFinite(v)));
  return {
    value: quantileSorted(s, 0.5),
    lo: quantileSorted(s, 0.25),
    hi: quantileSorted(s, 0.75),
    rounds: s.length,
  };
}

export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
