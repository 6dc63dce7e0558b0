/** Number formats of the generated BENCHMARKS.md tables (report.ts, llm.report.ts, floor.report.ts). */
import type { Spread } from './stats.ts';

/** A figure with `digits` decimals; '–' when there is none (null, undefined, NaN, ±∞). */
export const ms = (v: number | null | undefined, digits = 2): string =>
  v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);

/** A pooled figure with the p25–p75 of the same figure across rounds in small print. */
export const sp = (s: Spread | null | undefined, digits = 2): string =>
  s ? `${ms(s.value, digits)} <sub>(${ms(s.lo, digits)}–${ms(s.hi, digits)})</sub>` : '–';
