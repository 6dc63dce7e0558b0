/**
 * The garbage section of BENCHMARKS.md's generated results (bench/gc.bench.ts): what a call leaves
 * for V8's collector, and the pauses that come of it.
 */

import { ms } from './lib/format.ts';
import type { BenchResults } from './run.ts';

export function gcSection(r: BenchResults): string[] {
  const g = r.gc;
  if (!g) return [];
  return [
    `### Garbage per call (1 KB \`tools/call\`, ${g.concurrency} concurrent, ${g.via}, workerd \`--trace-gc\`)`,
    '',
    "The product's Worker in a runtime of its own. *Promoted*: what survived scavenges into the old generation",
    '(only a full mark-compact frees it). A scavenge stops the isolate, so with calls in flight every pause lands on',
    'calls: these pauses are part of the p99.',
    '',
    '| calls | promoted per call | GC ms per 1,000 calls | scavenges (longest) | full collections (longest) | workerd CPU ms/call |',
    '|---|---|---|---|---|---|',
    `| ${g.calls} in ${ms(g.seconds, 0)} s | ${ms(g.promotedBytesPerCall / 1000, 1)} KB | ${ms(g.gcMsPer1000Calls, 0)} | ${g.scavenges.count} (${ms(g.scavenges.maxMs, 0)} ms) | ${g.fullCollections.count} (${ms(g.fullCollections.maxMs, 0)} ms) | ${ms(g.cpuMsPerCall)} |`,
    '',
  ];
}
