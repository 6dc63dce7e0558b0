/**
 * `npm run bench` — every benchmark of docs issue #9 in one run, on the local runtime.
 *
 *   npm run bench                  full run (< 10 min on 2 cores)
 *   npm run bench -- --quick       smaller samples (< 2 min): checks the harness, figures are rough
 *   npm run bench -- --only overhead,llm   some suites only (written to bench/results/partial.json;
 *                                  BENCHMARKS.md is refreshed only by a run of every suite)
 *   npm run bench -- --note "text" a remark published with the figures (e.g. "machine busy")
 *
 * Writes bench/results/latest.json and refreshes the generated table in BENCHMARKS.md.
 * Benchmarks measure; no test asserts a timing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../scripts/local-stack.ts';
import { type AuditResult, runAudit } from './audit.bench.ts';
import { type BreakdownResult, runBreakdown } from './breakdown.bench.ts';
import { type EventsResult, runEvents } from './events.bench.ts';
import { type FloorResult, runFloor } from './floor.bench.ts';
import { type GcResult, runGc } from './gc.bench.ts';
import { type InspectionBenchResult, runInspectionBenchIsolated } from './inspection.bench.ts';
import { type InspectionGatewayResult, runInspectionGateway } from './inspection.gateway.bench.ts';
import { type KillSwitchResult, runKillSwitch } from './killswitch.bench.ts';
import { type LadderResult, runLadder } from './ladder.bench.ts';
import type { BenchContext } from './lib/context.ts';
import { apiOk, keepAliveAgent } from './lib/http.ts';
import { llmFailureSamples } from './lib/llm.ts';
import { sequential } from './lib/load.ts';
import { echoMessage, openSession } from './lib/mcp.ts';
import { agentsFor, callPaths, destroyAgents, echoFire, failureSamples } from './lib/paths.ts';
import { foreignCpuSampler, machineInfo, machineLoad, pin, planPlacement } from './lib/procs.ts';
import { type BenchStack, ensureConnection, setPolicy, startBenchStack } from './lib/stack.ts';
import { quantile } from './lib/stats.ts';
import { type LlmResult, runLlm } from './llm.bench.ts';
import { type MetricsResult, runMetrics } from './metrics.bench.ts';
import { type OverheadResult, runOverhead } from './overhead.bench.ts';
import { type PolicyBenchResult, runPolicyBench } from './policy.bench.ts';
import { writeResults } from './report.ts';
import { runTracing, type TracingResult } from './tracing.bench.ts';

export const SUITES = [
  'policy',
  'overhead',
  'ladder',
  'killswitch',
  'events',
  'llm',
  'audit',
  'breakdown',
  'inspection',
  'tracing',
  'metrics',
  'floor',
  'gc',
] as const;
export type Suite = (typeof SUITES)[number];

export interface BenchResults {
  meta: {
    date: string;
    quick: boolean;
    complete: boolean;
    suites: Suite[];
    durationSeconds: number;
    note: string | null;
    machine: ReturnType<typeof machineInfo>;
    placement: ReturnType<typeof planPlacement>;
    /** Load average before the run (nothing of ours running) and after it. */
    loadBefore: ReturnType<typeof machineLoad>;
    loadAfter: ReturnType<typeof machineLoad> | null;
    /** CPU used by other processes during the run, in cores (sampled every 2 s from /proc). */
    foreignCpu: { meanCores: number; maxCores: number } | null;
    /** True when something else used the CPU before or during the run: figures are preliminary. */
    busy: boolean;
    policyCacheTtlMs: number;
    runtimeSocket: boolean;
    /** Older results only: Worker reloads by wrangler dev's watcher during the run (figures mix versions). */
    reloads?: number;
    /** The unmeasured warm-up before the stack's suites (see warmUp). */
    warmUp?: WarmUp;
  };
  policy?: PolicyBenchResult;
  overhead?: OverheadResult;
  ladder?: LadderResult;
  killSwitch?: KillSwitchResult;
  events?: EventsResult;
  /** LLM gateway vs direct vs Portkey's gateway on the same fake provider. */
  llm?: LlmResult;
  audit?: AuditResult;
  breakdown?: BreakdownResult;
  /** Content inspection (issue 16): the engine in plain Node, and the latency it adds on the gateway. */
  inspection?: { engine?: InspectionBenchResult; gateway?: InspectionGatewayResult };
  /** OpenTelemetry tracing (issue 19): the latency it adds, on (sample rate 1) vs off. */
  tracing?: TracingResult;
  /** Prometheus metrics (issue 19): the latency the guard's recording and hub batches add, on vs off. */
  metrics?: MetricsResult;
  /** The platform's floor (issue 20): healthz, one DO RPC + the upstream fetch, and the product, in one runtime. */
  floor?: FloorResult;
  /** Garbage per call (issue 20): promoted bytes and GC pauses from workerd's --trace-gc. */
  gc?: GcResult;
  errors: Partial<Record<Suite, string>>;
  /** The first failed answers per path (status and body), when calls failed. */
  failedCalls: Record<string, string[]>;
}

/** The production default (wrangler.toml), which `npm start` runs too. */
export const POLICY_CACHE_TTL_MS = 10_000;

function parseArgs(argv: string[]) {
  const quick = argv.includes('--quick');
  const onlyIndex = argv.indexOf('--only');
  const onlyRaw = onlyIndex >= 0 ? argv[onlyIndex + 1] : argv.find((a) => a.startsWith('--only='))?.slice(7);
  const only = onlyRaw
    ? onlyRaw.split(',').map((s) => {
        if (!(SUITES as readonly string[]).includes(s))
          throw new Error(`unknown suite ${s}; known: ${SUITES.join(', ')}`);
        return s as Suite;
      })
    : [...SUITES];
  const noteIndex = argv.indexOf('--note');
  const note = noteIndex >= 0 ? (argv[noteIndex + 1] ?? null) : null;
  return { quick, only, note };
}

function log(message: string) {
  const t = ((performance.now() - t0) / 1000).toFixed(0).padStart(4);
  process.stdout.write(`[bench ${t}s] ${message}\n`);
}

const t0 = performance.now();

// Ctrl+C or a kill reaches only this process (every runtime runs in its own process group): leave
// through 'exit', whose handlers take the suites' runtimes and upstreams with us.
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

async function main() {
  const { quick, only, note } = parseArgs(process.argv.slice(2));
  // wrangler's launcher runs `node` from PATH: make it Node 22 from node_modules, as npm run does.
  process.env.PATH = `${path.join(ROOT, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH ?? ''}`;
  process.env.WRANGLER_SEND_METRICS = 'false';

  const loadBefore = machineLoad();
  const placement = planPlacement();
  if (placement.pinned) pin(process.pid, placement.loadGenerator);
  const results: BenchResults = {
    meta: {
      date: new Date().toISOString(),
      quick,
      complete: only.length === SUITES.length,
      suites: only,
      durationSeconds: 0,
      note,
      machine: machineInfo(ROOT),
      placement,
      loadBefore,
      loadAfter: null,
      foreignCpu: null,
      busy: (loadBefore.loadavg[0] ?? 0) > 0.5,
      policyCacheTtlMs: POLICY_CACHE_TTL_MS,
      runtimeSocket: false,
    },
    errors: {},
    failedCalls: {},
  };
  log(
    `machine: ${results.meta.machine.cpuModel}, ${results.meta.machine.cores} cores; load ${loadBefore.loadavg.join(' ')}`,
  );
  log(
    `placement: ${placement.pinned ? `load generator + upstream on cpu ${placement.loadGenerator}/${placement.upstream}, workerd on cpu ${placement.workerd}` : `not pinned (${placement.why})`}`,
  );

  const foreign = foreignCpuSampler();
  const run = async <T>(suite: Suite, fn: () => Promise<T> | T): Promise<T | undefined> => {
    if (!only.includes(suite)) return undefined;
    const started = performance.now();
    log(`— ${suite}`);
    try {
      return await fn();
    } catch (err) {
      results.errors[suite] = err instanceof Error ? (err.stack ?? err.message) : String(err);
      log(`${suite} FAILED: ${results.errors[suite]}`);
      return undefined;
    } finally {
      log(`${suite} took ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
  };

  results.policy = await run('policy', () => runPolicyBench(quick, log));
  const inspectionEngine = await run('inspection', () => runInspectionBenchIsolated(quick, log));
  if (inspectionEngine) results.inspection = { engine: inspectionEngine };

  const stackSuites: Suite[] = [
    'overhead',
    'ladder',
    'killswitch',
    'events',
    'llm',
    'audit',
    'inspection',
    'tracing',
  ];
  if (stackSuites.some((s) => only.includes(s))) {
    const persistTo = mkdtempSync(path.join(os.tmpdir(), 'igris-bench-'));
    let stack: BenchStack | null = null;
    const cleanup = () => {
      stack?.crash();
      stack?.upstream.kill('SIGKILL');
    };
    process.once('exit', cleanup);
    try {
      log('starting the local stack (the runtime npm start runs + demo MCP server)');
      stack = await startBenchStack({
        persistTo,
        placement,
        vars: { POLICY_CACHE_TTL_MS: String(POLICY_CACHE_TTL_MS) },
      });
      results.meta.runtimeSocket = stack.runtimeUrl !== null;
      log(`gateway ${stack.gatewayUrl}, runtime socket ${stack.runtimeUrl}, upstream ${stack.upstreamUrl}`);
      const ctx = await prepare(stack, quick);
      results.meta.warmUp = await warmUp(ctx);
      results.overhead = await run('overhead', () => runOverhead(ctx));
      results.ladder = await run('ladder', () => runLadder(ctx));
      results.killSwitch = await run('killswitch', () => runKillSwitch(ctx));
      results.events = await run('events', () => runEvents(ctx));
      results.llm = await run('llm', () => runLlm(ctx, placement));
      const inspectionGateway = await run('inspection', () => runInspectionGateway(ctx));
      if (inspectionGateway) results.inspection = { ...results.inspection, gateway: inspectionGateway };
      results.tracing = await run('tracing', () => runTracing(ctx));
      // Last: it kills and restarts the runtime.
      results.audit = await run('audit', () =>
        runAudit(
          ctx,
          (results.overhead?.saturation.rps.B ?? results.overhead?.saturation.rps.R)?.value ?? null,
        ),
      );
    } finally {
      await stack?.stop();
      process.removeListener('exit', cleanup);
      rmSync(persistTo, { recursive: true, force: true });
    }
  }

  results.breakdown = await run('breakdown', () => runBreakdown({ quick, placement, log }));
  // Its own runtime too (the product under a metrics switch, bench/metrics/switch.worker.js).
  results.metrics = await run('metrics', () => runMetrics({ quick, placement, log }));
  // Its own runtime too (the product plus one floor route, bench/floor/floor.worker.js).
  results.floor = await run('floor', () => runFloor({ quick, placement, log }));
  // Its own runtime too (the product unchanged, with V8's --trace-gc).
  results.gc = await run('gc', () => runGc({ quick, placement, log }));

  results.failedCalls = { ...failureSamples(), ...llmFailureSamples() };
  for (const [name, samples] of Object.entries(results.failedCalls))
    log(`failed calls on ${name}: ${samples.join(' | ')}`);
  results.meta.loadAfter = machineLoad();
  results.meta.foreignCpu = await foreign.stop();
  // Other processes averaging a fifth of a core, or peaking at half of one, make the figures noisy.
  if (results.meta.foreignCpu.meanCores > 0.2 || results.meta.foreignCpu.maxCores > 0.5)
    results.meta.busy = true;
  results.meta.durationSeconds = Math.round((performance.now() - t0) / 1000);
  const written = writeResults(results);
  log(`done in ${results.meta.durationSeconds} s; wrote ${written.join(', ')}`);
  if (Object.keys(results.errors).length) process.exitCode = 1;
}

async function prepare(stack: BenchStack, quick: boolean): Promise<BenchContext> {
  const slug = 'bench';
  const connection = await ensureConnection(stack, slug);
  await setPolicy(stack, slug, [{ tool: '*', action: 'allow' }]);
  const org = await apiOk<{ id: string }>(stack.gatewayUrl, stack.apiKey, 'GET', '/organizations/current');
  const agent = keepAliveAgent(1);
  const sessionId = await openSession(agent, new URL(`${stack.upstreamUrl}/mcp`));
  agent.destroy();
  return { quick, stack, slug, connectionId: connection.id, orgId: org.id, sessionId, log };
}

/**
 * What the stack's suites measure is a runtime in its steady state, as a deployed Worker spends its
 * life: a freshly started workerd is slower for its first seconds (V8 tiering up the bundle, first
 * SQLite pages of the guard and the spool, the first spool flushes). Without this the first figure
 * measured — the 1 KB overhead row — carried that start, and read worse than the 4–64 KB rows.
 * The warm-up's own first and last calls are kept in the results, to show how much it settles.
 */
export interface WarmUp {
  calls: number;
  seconds: number;
  /** p50 of the runtime socket's first and last 200 warm-up calls (ms). */
  firstP50: number | null;
  lastP50: number | null;
}

async function warmUp(ctx: BenchContext): Promise<WarmUp> {
  const budgetMs = ctx.quick ? 3_000 : 20_000;
  const paths = callPaths(ctx.stack, ctx.slug, ctx.sessionId).filter((p) => p.name !== 'A');
  const agents = agentsFor(paths, 1);
  const message = echoMessage(1024);
  const runtime: number[] = [];
  const started = performance.now();
  let calls = 0;
  try {
    while (performance.now() - started < budgetMs) {
      for (const p of paths) {
        const res = await sequential(50, echoFire(p, agents.get(p.name)!, message));
        if (p.name === 'R' || paths.length === 1) runtime.push(...res.latencies);
        calls += 50;
      }
    }
  } finally {
    destroyAgents(agents);
  }
  const p50 = (xs: number[]) => (xs.length ? quantile(xs, 0.5) : null);
  const result: WarmUp = {
    calls,
    seconds: Math.round((performance.now() - started) / 100) / 10,
    firstP50: p50(runtime.slice(0, 200)),
    lastP50: p50(runtime.slice(-200)),
  };
  ctx.log(
    `warm-up: ${calls} calls in ${result.seconds} s (not measured); runtime socket p50 first 200 ${result.firstP50?.toFixed(2)} ms, last 200 ${result.lastP50?.toFixed(2)} ms`,
  );
  return result;
}

await main();
