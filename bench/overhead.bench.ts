/**
 * Overhead of the gateway: the same echo `tools/call` on the same upstream session, direct (A) and
 * through the gateway with policy, guard and audit on (R: the Worker runtime's own socket, what
 * `npm start` serves; B, in older results only: wrangler dev's port), alternated in ABBA rounds.
 *
 *   1. one request at a time, payloads 1/4/16/64 KB: added p50/p99
 *   2. fixed offered rates, open loop, latency from the intended send time (1 KB)
 *   3. throughput at saturation (closed loop), ratio gateway/direct (1 KB)
 */
import { type BenchContext, pick } from './lib/context.ts';
import { closedLoop, openLoop, sequential } from './lib/load.ts';
import { echoMessage } from './lib/mcp.ts';
import {
  abbaOrder,
  agentsFor,
  type CallPath,
  callPaths,
  destroyAgents,
  echoFire,
  type PathName,
} from './lib/paths.ts';
import { type CpuGroups, cpuMeter, descendants } from './lib/procs.ts';
import { quantile, roundsSpread, type Spread, spread, summarize } from './lib/stats.ts';

export interface PathLatency {
  n: number;
  errors: number;
  p50: Spread;
  p99: Spread;
}

export interface SequentialRow {
  sizeKb: number;
  paths: Partial<Record<PathName, PathLatency>>;
  /** Gateway minus direct, per gateway path. */
  added: Partial<Record<PathName, { p50: Spread; p99: Spread }>>;
}

export interface RateRow {
  offeredRps: number;
  /** Why the rate was not run (the gateway was already over capacity at a lower rate). */
  skipped?: string;
  paths: Partial<
    Record<
      PathName,
      { p50: number; p99: number; achievedRps: number; errors: number; unsent: number; overloaded: boolean }
    >
  >;
  added: Partial<Record<PathName, { p50: number; p99: number }>>;
}

export interface SaturationResult {
  concurrency: number;
  sizeKb: number;
  rps: Partial<Record<PathName, Spread>>;
  ratio: Partial<Record<PathName, Spread>>;
  /**
   * CPU ms per answered call, by process group (/proc utime + stime over the saturation blocks):
   * what each call costs the gateway's runtime, the upstream and the load generator. Less sensitive
   * to other load on the machine than latency.
   */
  cpuMsPerCall: Partial<Record<PathName, Record<string, number>>>;
}

export interface OverheadResult {
  sequential: SequentialRow[];
  rates: RateRow[];
  saturation: SaturationResult;
}

const SIZES_KB = [1, 4, 16, 64];

/**
 * Process groups whose CPU is metered: the runtime's workerd, the runtime's node host process
 * (scripts/runtime.ts; keyed `wrangler`, its name when wrangler dev hosted the runtime, so reports
 * read older results alike), the upstream, us.
 */
export function runtimeCpuGroups(ctx: BenchContext): CpuGroups {
  const root = ctx.stack.stack.runtime.pid;
  const runtimeHost = root
    ? [
        root,
        ...descendants(root)
          .filter((p) => p.comm !== 'workerd' && p.comm !== 'esbuild')
          .map((p) => p.pid),
      ]
    : [];
  return {
    workerd: ctx.stack.workerdPids,
    wrangler: runtimeHost,
    upstream: ctx.stack.upstream.pid ? [ctx.stack.upstream.pid] : [],
    loadgen: [process.pid],
  };
}

export async function runOverhead(ctx: BenchContext): Promise<OverheadResult> {
  const paths = callPaths(ctx.stack, ctx.slug, ctx.sessionId);
  const sequentialRows: SequentialRow[] = [];
  for (const sizeKb of SIZES_KB) sequentialRows.push(await sequentialBySize(ctx, paths, sizeKb));
  const rates: RateRow[] = [];
  let overCapacityAt: number | null = null;
  for (const rps of [250, 500, 1000]) {
    if (overCapacityAt !== null) {
      rates.push({
        offeredRps: rps,
        skipped: `over capacity at ${overCapacityAt} rps`,
        paths: {},
        added: {},
      });
      ctx.log(`overhead at ${rps} rps: skipped (the gateway was over capacity at ${overCapacityAt} rps)`);
      continue;
    }
    const row = await atRate(ctx, paths, rps);
    rates.push(row);
    if (Object.values(row.paths).some((x) => x && (x.overloaded || x.achievedRps < 0.9 * rps)))
      overCapacityAt = rps;
  }
  const saturation = await saturate(ctx, paths, 1);
  return { sequential: sequentialRows, rates, saturation };
}

async function sequentialBySize(
  ctx: BenchContext,
  paths: CallPath[],
  sizeKb: number,
): Promise<SequentialRow> {
  const rounds = pick(ctx, 2, 6);
  const block = pick(ctx, 20, 50);
  const message = echoMessage(sizeKb * 1024);
  const agents = agentsFor(paths, 1);
  const samples = new Map<PathName, number[][]>(paths.map((p) => [p.name, []]));
  const errors = new Map<PathName, number>(paths.map((p) => [p.name, 0]));
  try {
    for (const p of paths) await sequential(pick(ctx, 15, 40), echoFire(p, agents.get(p.name)!, message));
    for (let r = 0; r < rounds; r++) {
      const perRound = new Map<PathName, number[]>(paths.map((p) => [p.name, []]));
      const order = r % 2 === 0 ? abbaOrder(paths) : abbaOrder([...paths].reverse());
      for (const p of order) {
        const res = await sequential(block, echoFire(p, agents.get(p.name)!, message));
        perRound.get(p.name)!.push(...res.latencies);
        errors.set(p.name, errors.get(p.name)! + res.errors);
      }
      for (const p of paths) samples.get(p.name)!.push(perRound.get(p.name)!);
    }
  } finally {
    destroyAgents(agents);
  }
  const row: SequentialRow = { sizeKb, paths: {}, added: {} };
  const pooled = (name: PathName) => samples.get(name)!.flat();
  for (const p of paths) {
    const rs = samples.get(p.name)!;
    const all = pooled(p.name);
    row.paths[p.name] = {
      n: all.length,
      errors: errors.get(p.name)!,
      p50: spread(
        quantile(all, 0.5),
        rs.map((x) => quantile(x, 0.5)),
      ),
      p99: spread(
        quantile(all, 0.99),
        rs.map((x) => quantile(x, 0.99)),
      ),
    };
  }
  const direct = samples.get('A')!;
  for (const p of paths) {
    if (p.name === 'A') continue;
    const rs = samples.get(p.name)!;
    const diff = (q: number) =>
      spread(
        quantile(pooled(p.name), q) - quantile(pooled('A'), q),
        rs.map((x, i) => quantile(x, q) - quantile(direct[i]!, q)),
      );
    row.added[p.name] = { p50: diff(0.5), p99: diff(0.99) };
  }
  ctx.log(
    `overhead ${sizeKb} KB one at a time: ${paths
      .map(
        (p) =>
          `${p.name} p50 ${row.paths[p.name]!.p50.value.toFixed(2)} p99 ${row.paths[p.name]!.p99.value.toFixed(2)}`,
      )
      .join(' | ')} ms`,
  );
  return row;
}

async function atRate(ctx: BenchContext, all: CallPath[], rps: number): Promise<RateRow> {
  // The runtime socket (the gateway's own cost; what `npm start` serves).
  const gateway = all.find((p) => p.name === 'R') ?? all.find((p) => p.name === 'B')!;
  const paths = [all.find((p) => p.name === 'A')!, gateway];
  const durationMs = pick(ctx, 1_500, 4_000);
  const message = echoMessage(1024);
  const agents = agentsFor(paths, 256);
  const results = new Map<PathName, Array<Awaited<ReturnType<typeof openLoop>>>>(
    paths.map((p) => [p.name, []]),
  );
  try {
    for (const p of paths) await sequential(10, echoFire(p, agents.get(p.name)!, message));
    for (const p of abbaOrder(paths)) {
      results
        .get(p.name)!
        .push(await openLoop({ rate: rps, durationMs }, echoFire(p, agents.get(p.name)!, message)));
      await new Promise((r) => setTimeout(r, 300)); // let the spool flush and sockets settle
    }
  } finally {
    destroyAgents(agents);
  }
  const row: RateRow = { offeredRps: rps, paths: {}, added: {} };
  for (const p of paths) {
    const runs = results.get(p.name)!;
    const latencies = runs.flatMap((r) => r.latencies);
    const s = summarize(latencies);
    row.paths[p.name] = {
      p50: s.p50,
      p99: s.p99,
      achievedRps: runs.reduce((a, r) => a + r.achievedRps, 0) / runs.length,
      errors: runs.reduce((a, r) => a + r.errors, 0),
      unsent: runs.reduce((a, r) => a + r.unsent, 0),
      overloaded: runs.some((r) => r.overloaded),
    };
  }
  const a = row.paths.A!;
  const g = row.paths[gateway.name]!;
  row.added[gateway.name] = { p50: g.p50 - a.p50, p99: g.p99 - a.p99 };
  ctx.log(
    `overhead at ${rps} rps offered: ${paths
      .map((p) => {
        const x = row.paths[p.name]!;
        return `${p.name} ${x.achievedRps.toFixed(0)} rps p50 ${x.p50.toFixed(2)} p99 ${x.p99.toFixed(2)}${x.overloaded ? ' OVERLOADED' : ''}`;
      })
      .join(' | ')}`,
  );
  return row;
}

export async function saturate(
  ctx: BenchContext,
  paths: CallPath[],
  sizeKb: number,
): Promise<SaturationResult> {
  const concurrency = pick(ctx, 16, 32);
  const durationMs = pick(ctx, 1_500, 3_000);
  const rounds = pick(ctx, 1, 2);
  const message = echoMessage(sizeKb * 1024);
  const agents = agentsFor(paths, concurrency);
  const perRound = new Map<PathName, number[]>(paths.map((p) => [p.name, []]));
  const cpu = new Map<PathName, { calls: number; ms: Record<string, number> }>();
  const groups = runtimeCpuGroups(ctx);
  try {
    for (const p of paths) await closedLoop(concurrency, 300, echoFire(p, agents.get(p.name)!, message));
    for (let r = 0; r < rounds; r++) {
      const rps = new Map<PathName, number[]>();
      for (const p of abbaOrder(paths)) {
        const meter = cpuMeter(groups);
        const res = await closedLoop(concurrency, durationMs, echoFire(p, agents.get(p.name)!, message));
        const used = meter();
        const acc = cpu.get(p.name) ?? { calls: 0, ms: {} };
        acc.calls += res.ok;
        for (const [g, v] of Object.entries(used)) acc.ms[g] = (acc.ms[g] ?? 0) + v;
        cpu.set(p.name, acc);
        rps.set(p.name, [...(rps.get(p.name) ?? []), res.rps]);
        await new Promise((res) => setTimeout(res, 300));
      }
      for (const p of paths) perRound.get(p.name)!.push(...rps.get(p.name)!);
    }
  } finally {
    destroyAgents(agents);
  }
  const result: SaturationResult = { concurrency, sizeKb, rps: {}, ratio: {}, cpuMsPerCall: {} };
  for (const [name, acc] of cpu) {
    result.cpuMsPerCall[name] = Object.fromEntries(
      Object.entries(acc.ms).map(([g, v]) => [g, acc.calls ? v / acc.calls : Number.NaN]),
    );
  }
  const direct = perRound.get('A')!;
  for (const p of paths) {
    const values = perRound.get(p.name)!;
    result.rps[p.name] = roundsSpread(values);
    if (p.name !== 'A') result.ratio[p.name] = roundsSpread(values.map((v, i) => v / direct[i]!));
  }
  ctx.log(
    `saturation (${concurrency} concurrent, ${sizeKb} KB): ${paths
      .map(
        (p) =>
          `${p.name} ${result.rps[p.name]!.value.toFixed(0)} rps, CPU ms/call ${Object.entries(
            result.cpuMsPerCall[p.name] ?? {},
          )
            .map(([g, v]) => `${g === 'wrangler' ? 'runtime host' : g} ${v.toFixed(2)}`)
            .join(' ')}`,
      )
      .join(' | ')}`,
  );
  return result;
}
