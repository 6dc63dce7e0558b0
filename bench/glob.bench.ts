/**
 * Glob matching against hostile input, pure code in Node: ms per match of a 256-character glob
 * against names of 64 KB, 256 KB and 1 MB (issue 12, item 6: a `?`-rich glob against a 1 MB name
 * once took 11.6 s). A linear matcher shows time growing with the name, not with name × glob.
 *
 *   node bench/glob.bench.ts [--quick]     (through npm/npx so Node 22 strips the types)
 *
 * The gateway refuses governed names over 512 bytes before any matching; names in upstream list
 * answers (filtered with the same globs) are not capped, which is why the matcher itself must
 * stay linear.
 */
import { registerTsResolve } from './lib/ts-resolve.ts';

registerTsResolve();
const { compileGlob } = await import('../workers/shared/policy.glob.ts');

export interface GlobBenchRow {
  glob: string;
  /** Input length in characters. */
  inputChars: number;
  /** Median ms per match over the runs. */
  medianMs: number;
  matched: boolean;
}

const GLOBS: Record<string, string> = {
  // Each ends in `*` so the anchored tail cannot refuse early: the middle segments are searched.
  'question-rich': `*${'?'.repeat(253)}b*`,
  'star-question': `*a${'?a'.repeat(125)}b*`,
  'star-rich': `${'*a'.repeat(126)}*b*`,
  'question-middle': `*${'a?'.repeat(126)}b*`,
};

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

export function runGlobBench(quick: boolean, log: (m: string) => void = console.log): GlobBenchRow[] {
  const runs = quick ? 3 : 9;
  const rows: GlobBenchRow[] = [];
  for (const [label, glob] of Object.entries(GLOBS)) {
    const matcher = compileGlob(glob);
    for (const size of [64 * 1024, 256 * 1024, 1024 * 1024]) {
      const input = 'a'.repeat(size);
      const times: number[] = [];
      let matched = false;
      for (let i = 0; i < runs; i++) {
        const started = performance.now();
        matched = matcher(input);
        times.push(performance.now() - started);
      }
      const row = { glob: label, inputChars: size, medianMs: median(times), matched };
      rows.push(row);
      log(`glob ${label} vs ${size / 1024} KB: ${row.medianMs.toFixed(2)} ms (matched ${matched})`);
    }
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runGlobBench(process.argv.includes('--quick'));
}
