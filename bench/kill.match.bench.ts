/**
 * How kill-switch matching scales with the number of active switches, pure code in Node: what a
 * ConnectionGuard pays per admitted call (`matchingKill`, a linear scan of the switches it holds)
 * and once when it loads them (`HeldKills.replace`), for N active switches that all concern it
 * (person and API-key switches concern every guard of the organization: the worst case).
 *
 *   node bench/kill.match.bench.ts [--quick]     (through npm/npx so Node 22 strips the types)
 *
 * Why it matters: docs/permissions.md#how-many-of-each bounds active switches per organization
 * (1,000 connection / API-key / person switches, 1,000 session suspends; organization-wide never
 * refused). The numbers below are what that bound buys; they are printed, never asserted.
 */
import { registerTsResolve } from './lib/ts-resolve.ts';

registerTsResolve();
const { HeldKills } = await import('../durable-objects/kill.held.ts');

export interface KillMatchRow {
  switches: number;
  /** Median µs per matching call (a caller no switch names: the whole list is scanned). */
  matchMicros: number;
  /** Median ms to load the switches into a guard (its start, and every 30 s D1 re-read). */
  loadMs: number;
}

const identity = { orgId: 'org_bench', connectionId: 'con_bench', sessionId: 'ses_bench' };
const caller = { apiKeyId: 'key_innocent', user: 'innocent@example.com' };

function switches(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    id: `ks_${i}`,
    scope: i % 2 === 0 ? ('user' as const) : ('apiKey' as const),
    target: i % 2 === 0 ? `person-${i}@example.com` : `key_${i}`,
    reason: null,
    createdAt: i,
  }));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export function runKillMatchBench(quick: boolean, log: (m: string) => void = console.log): KillMatchRow[] {
  const sizes = quick ? [0, 100, 1_000, 10_000] : [0, 10, 100, 1_000, 10_000, 100_000];
  const rows: KillMatchRow[] = [];
  for (const n of sizes) {
    const records = switches(n);
    const loads: number[] = [];
    let held = new HeldKills();
    for (let run = 0; run < 5; run++) {
      held = new HeldKills();
      const start = performance.now();
      held.replace(records, identity);
      loads.push(performance.now() - start);
    }
    const calls = Math.max(20, Math.min(20_000, Math.floor(2_000_000 / Math.max(n, 1))));
    const perCall: number[] = [];
    for (let run = 0; run < 5; run++) {
      const start = performance.now();
      for (let i = 0; i < calls; i++) {
        if (held.matching(identity, caller)) throw new Error('an innocent caller matched');
      }
      perCall.push(((performance.now() - start) * 1000) / calls);
    }
    const row = { switches: n, matchMicros: median(perCall), loadMs: median(loads) };
    rows.push(row);
    log(
      `${String(n).padStart(7)} switches: ${row.matchMicros.toFixed(2).padStart(9)} µs per call matched, ` +
        `${row.loadMs.toFixed(2).padStart(8)} ms to load`,
    );
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runKillMatchBench(process.argv.includes('--quick'));
}
