/**
 * Where the gateway's time goes. Runs the product's Worker, unchanged, under
 * bench/breakdown/instrumented.worker.js (its bindings wrapped in timers) in a runtime of its
 * own (scripts/runtime.ts with that file as entry, fresh persist dir, same pinning), then:
 *
 *   1. per-request stages of real gateway calls (1 KB echo, one at a time, on the runtime socket):
 *      D1 key lookup, D1 connection lookup, KV policy read, guard admit (kill switch + rate
 *      windows + durable audit spool), upstream response headers, the whole handler, and what
 *      is outside the handler (HTTP in and out of workerd, body streaming);
 *   2. each piece on its own, n times: guard admit without an audit row, with one, with a rate
 *      window; D1 lookups; KV read; vault decryption; an upstream fetch from inside workerd;
 *   3. floors: GET /healthz through the same socket (workerd + Hono with no I/O) and the direct
 *      upstream call from Node.
 *
 * Inside workerd the clock only moves when I/O completes, so stage times are I/O waits; CPU shows
 * up as the difference between the client's latency and the timed stages.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  freePort,
  newApiKey,
  newEncryptionKey,
  ROOT,
  type RunningStack,
  signalGroup,
  startStack,
} from '../scripts/local-stack.ts';
import type { RuntimeSuiteOptions } from './lib/context.ts';
import { apiOk, keepAliveAgent, send } from './lib/http.ts';
import { sequential } from './lib/load.ts';
import { echoCall, echoMessage, isResult, mcpHeaders, openSession, rpcId } from './lib/mcp.ts';
import type { Placement } from './lib/procs.ts';
import { cpuProfile, type ProfileSummary } from './lib/profile.ts';
import { ensureConnection, pinRuntime, setPolicy, startUpstreamProcess } from './lib/stack.ts';
import { mean, quantile, summarize } from './lib/stats.ts';

/**
 * workerd's clock has 1 ms resolution (and only moves on I/O), so a single stage time is 0, 1, 2 …
 * ms: means over many calls are the figures to read; p99 is still meaningful to the millisecond.
 */
export interface StageFigure {
  stage: string;
  mean: number;
  p99: number;
  /** Share of requests in which the stage ran at all. */
  share: number;
}

export interface BreakdownResult {
  requests: number;
  via: string;
  clientP50: number;
  clientP99: number;
  /** Until the response headers reached the client (the rest is the body streaming out). */
  clientHeadersP50: number;
  directP50: number;
  healthzP50: number;
  stages: StageFigure[];
  pieces: Array<{ piece: string; mean: number; p99: number; n: number }>;
  /** Round trips per call (D1 statements/batches, KV reads, Durable Object RPCs), before and after forwarding. */
  roundTrips?: RoundTrips;
  /** CPU profile of the Worker isolate over a separate batch of calls (the profiler slows them). */
  profile: (ProfileSummary & { calls: number }) | { error: string };
}

export interface RoundTrips {
  /** Steady-state calls counted (after the warm-up). */
  requests: number;
  /** The first call after the policy was published: the cold path. */
  first: { before: Record<string, number>; after: Record<string, number> } | null;
  /** Means per call: `d1`, `kv`, `do`, and `do.<object>.<method>`. */
  before: Record<string, number>;
  after: Record<string, number>;
}

/** What the stages are called in the report (labels set by the instrumented worker). */
const STAGE_NAMES: Record<string, string> = {
  'd1.bootstrap': 'D1 bootstrap check (once per isolate)',
  'd1.apiKey': 'D1 API key lookup',
  'd1.connection': 'D1 connection lookup',
  'kv.get': 'KV policy read (cache miss)',
  'd1.policy': 'D1 policy read (KV miss)',
  'guard.admit': 'guard admit (kill switch, rate, audit spool)',
  'upstream.headers': 'upstream (until response headers)',
  handler: 'whole handler (until the response is returned)',
};

export interface Runtime {
  gatewayUrl: string;
  /** The Worker runtime's own socket: the gateway's port (scripts/runtime.ts has no proxy in front). */
  runtimeUrl: string;
  /** The runtime's workerd processes (for CPU from /proc). */
  workerdPids: number[];
  upstreamUrl: string;
  apiKey: string;
  inspectorPort: number;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * The runtime's `bench` connection (to its upstream) under an allow-all policy, the organization
 * read once, and a session opened at the upstream: what the floor, metrics and gc suites start from.
 */
export async function allowAllBench(
  runtime: Runtime,
  agent: import('node:http').Agent,
): Promise<{ slug: string; sessionId: string }> {
  const slug = 'bench';
  await ensureConnection(runtime, slug);
  await setPolicy(runtime, slug, [{ tool: '*', action: 'allow' }]);
  await apiOk(runtime.gatewayUrl, runtime.apiKey, 'GET', '/organizations/current');
  return { slug, sessionId: await openSession(agent, new URL(`${runtime.upstreamUrl}/mcp`)) };
}

/**
 * The local runtime (scripts/runtime.ts, as `npm start` runs it) with `script` as its entry — the
 * product's Worker under a bench wrapper, bundled as `wrangler deploy` bundles it — in a runtime of
 * its own: fresh persist dir, migrations applied, the bench upstream, same pinning. Also used by the
 * metrics and floor suites with their own wrappers, and by the gc suite with the product itself.
 * `inspector`: open workerd's inspector (the breakdown's CPU profile); off otherwise, as under
 * `npm start`, since an open inspector makes every promise pay for async stack traces.
 */
export async function startInstrumented(
  placement: Placement,
  log: (m: string) => void,
  script = path.join('bench', 'breakdown', 'instrumented.worker.js'),
  /** Added to the runtime's environment (the gc suite's V8 flags). */
  extraEnv: Record<string, string> = {},
  inspector = false,
): Promise<Runtime> {
  const persistTo = mkdtempSync(path.join(os.tmpdir(), 'igris-bench-breakdown-'));
  const upstream = await startUpstreamProcess(placement);
  const apiKey = newApiKey();
  const inspectorPort = inspector ? await freePort() : 0;
  // A bench stopped by a signal leaves through 'exit' (bench/run.ts): whatever has started goes with it
  // (the runtime runs in its own process group, out of reach of the terminal's Ctrl+C).
  let stack: RunningStack | null = null;
  const onExit = () => {
    if (stack) signalGroup(stack.runtime, 'SIGKILL');
    upstream.child.kill('SIGKILL');
  };
  process.once('exit', onExit);
  const stop = async () => {
    process.off('exit', onExit);
    await stack?.stop();
    upstream.child.kill('SIGTERM');
    rmSync(persistTo, { recursive: true, force: true });
  };
  try {
    // The same runtime and environment as every local stack, with the bench's entry.
    stack = await startStack({
      port: await freePort(),
      persistTo,
      adminApiKey: apiKey,
      encryptionKey: newEncryptionKey(),
      demoUpstream: false,
      vars: { POLICY_CACHE_TTL_MS: '10000' },
      env: extraEnv,
      main: script,
      ...(inspector ? { inspectorPort } : {}),
      outputCap: 200_000,
    });
  } catch (err) {
    await stop();
    throw err;
  }
  const { gatewayUrl, logs } = stack;
  log(`${path.basename(script)}: runtime on ${gatewayUrl}`);
  return {
    gatewayUrl,
    // The gateway's port is the runtime's own socket (scripts/runtime.ts has no proxy in front).
    runtimeUrl: gatewayUrl,
    workerdPids: pinRuntime(stack, placement),
    upstreamUrl: upstream.url,
    apiKey,
    inspectorPort,
    logs,
    stop,
  };
}

/** The bundle a profiled script URL names: the runtime's .wrangler/runtime/<pid>-<random>/<name>, with its source map. */
function bundleOnDisk(name: string): string | null {
  const file = path.resolve(ROOT, name.replace(/^file:\/\//, ''));
  return existsSync(file) && existsSync(`${file}.map`) ? file : null;
}

export async function runBreakdown(options: RuntimeSuiteOptions): Promise<BreakdownResult> {
  const { quick, log } = options;
  const runtime = await startInstrumented(options.placement, log, undefined, {}, true);
  try {
    const slug = 'bench';
    await ensureConnection(runtime, slug);
    await setPolicy(runtime, slug, [{ tool: '*', action: 'allow' }]);
    const org = await apiOk<{ id: string }>(
      runtime.gatewayUrl,
      runtime.apiKey,
      'GET',
      '/organizations/current',
    );
    const agent = keepAliveAgent(1);
    const mcpUrl = new URL(`${runtime.upstreamUrl}/mcp`);
    const sessionId = await openSession(agent, mcpUrl);
    const base = runtime.runtimeUrl;
    const url = new URL(`${base}/v1/mcp/${slug}`);
    const headers = mcpHeaders(sessionId, {
      Authorization: `Bearer ${runtime.apiKey}`,
      'X-Igris-User': 'bench-user',
    });
    const message = echoMessage(1024);
    const n = quick ? 100 : 500;

    // Warm-up, then the instrumented calls. Round trips are counted per call from the first one
    // (the cold path: caches empty after the policy PUT) to the last.
    await send(agent, new URL(`${base}/v1/__bench/counts?reset=1`));
    for (let i = 0; i < 30; i++) await send(agent, url, { body: echoCall(rpcId(), message), headers });
    const client: number[] = [];
    const clientHeaders: number[] = [];
    const stages = new Map<string, number[]>();
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      const res = await send(agent, url, { body: echoCall(rpcId(), message), headers });
      if (!isResult(res)) {
        throw new Error(
          `breakdown call failed: ${res.status} ${res.text.slice(0, 200)}\n${runtime.logs().slice(-3000)}`,
        );
      }
      client.push(res.end - t);
      clientHeaders.push(res.headersAt - t);
      const timing = JSON.parse(String(res.headers['x-bench-timing'] ?? '{}')) as Record<string, number>;
      for (const [k, v] of Object.entries(timing)) stages.set(k, [...(stages.get(k) ?? []), v]);
      const outside = res.end - t - (timing.handler ?? 0);
      stages.set('outside', [...(stages.get('outside') ?? []), outside]);
      const timedSum = Object.entries(timing)
        .filter(([k]) => k !== 'handler')
        .reduce((a, [, v]) => a + v, 0);
      stages.set('untimed', [...(stages.get('untimed') ?? []), (timing.handler ?? 0) - timedSum]);
    }

    const roundTrips = JSON.parse(
      (await send(agent, new URL(`${base}/v1/__bench/counts?skip=30`))).text,
    ) as RoundTrips;

    const directFire = async () => {
      const res = await send(agent, mcpUrl, {
        body: echoCall(rpcId(), message),
        headers: mcpHeaders(sessionId),
      });
      return { ok: isResult(res), end: res.end };
    };
    const direct = await sequential(n, directFire);
    const healthUrl = new URL(`${base}/healthz`);
    const health = await sequential(n, async () => {
      const res = await send(agent, healthUrl);
      return { ok: res.status === 200, end: res.end };
    });

    const profiled = quick ? 150 : 600;
    let profile: BreakdownResult['profile'];
    try {
      const summary = await cpuProfile(
        runtime.inspectorPort,
        async () => {
          // Untimed: the product with its real bindings, so the timing wrappers are not profiled.
          const untimed = { ...headers, 'X-Bench-Timing': 'off' };
          for (let i = 0; i < profiled; i++) {
            await send(agent, url, { body: echoCall(rpcId(), message), headers: untimed });
          }
        },
        bundleOnDisk,
      );
      // With timing off, the wrapper's only frame on the path is its global fetch hook: the native
      // fetch to the upstream is attributed to it (innermost frame with a source).
      const rename = (module: string) =>
        module === 'bench/breakdown/instrumented.worker.js'
          ? 'fetch to the upstream (native, via the bench hook)'
          : module;
      summary.modules = summary.modules.map((m) => ({ ...m, module: rename(m.module) }));
      summary.modulesInclusive = summary.modulesInclusive.map((m) => ({ ...m, module: rename(m.module) }));
      profile = { ...summary, calls: profiled };
    } catch (err) {
      profile = { error: err instanceof Error ? err.message : String(err) };
    }

    const piecesUrl = new URL(`${base}/v1/__bench/pieces`);
    for (const [k, v] of Object.entries({
      n: String(quick ? 60 : 300),
      org: org.id,
      slug,
      key: runtime.apiKey,
      upstream: `${runtime.upstreamUrl}/mcp`,
      session: sessionId,
    })) {
      piecesUrl.searchParams.set(k, v);
    }
    const piecesRes = await send(agent, piecesUrl, { timeoutMs: 120_000 });
    if (piecesRes.status !== 200)
      throw new Error(`pieces: ${piecesRes.status} ${piecesRes.text.slice(0, 500)}`);
    const rawPieces = JSON.parse(piecesRes.text) as Record<string, number[]>;
    agent.destroy();

    const figures: StageFigure[] = [];
    const names: Record<string, string> = {
      ...STAGE_NAMES,
      untimed: 'in handler, not in a timed call (CPU with I/O interleaved)',
      outside: 'outside the handler (HTTP in/out of workerd, body streaming)',
    };
    for (const [key, values] of stages) {
      const padded = [...values, ...new Array<number>(Math.max(0, n - values.length)).fill(0)];
      figures.push({
        stage: names[key] ?? key,
        mean: mean(padded),
        p99: quantile(padded, 0.99),
        share: values.length / n,
      });
    }
    const order = [...Object.values(names)];
    figures.sort((a, b) => order.indexOf(a.stage) - order.indexOf(b.stage));
    const c = summarize(client);
    const result: BreakdownResult = {
      requests: n,
      via: 'runtime socket',
      clientP50: c.p50,
      clientP99: c.p99,
      clientHeadersP50: quantile(clientHeaders, 0.5),
      directP50: quantile(direct.latencies, 0.5),
      healthzP50: quantile(health.latencies, 0.5),
      stages: figures,
      roundTrips,
      profile,
      pieces: Object.entries(rawPieces).map(([piece, values]) => ({
        piece,
        mean: mean(values),
        p99: quantile(values, 0.99),
        n: values.length,
      })),
    };
    log(
      `breakdown: client p50 ${c.p50.toFixed(2)} ms (headers at ${result.clientHeadersP50.toFixed(2)}; direct ${result.directP50.toFixed(2)}, healthz ${result.healthzP50.toFixed(2)}); ` +
        figures.map((f) => `${f.stage} ${f.mean.toFixed(2)}`).join('; '),
    );
    for (const p of result.pieces)
      log(`  piece ${p.piece}: mean ${p.mean.toFixed(2)} ms p99 ${p.p99.toFixed(2)} ms`);
    if ('error' in profile) log(`  cpu profile failed: ${profile.error}`);
    else {
      log(
        `  cpu profile: isolate busy ${(profile.busyShare * 100).toFixed(0)}% of ${profile.wallMs.toFixed(0)} ms`,
      );
      log(`    scripts: ${profile.scripts.map((x) => `${x.url} (map: ${x.sourceMap})`).join(', ')}`);
      for (const f of profile.modules.slice(0, 20))
        log(`    module ${(f.share * 100).toFixed(1)}% ${f.module}`);
      for (const f of profile.modulesInclusive.slice(0, 20))
        log(`    incl ${(f.share * 100).toFixed(1)}% ${f.module}`);
      for (const f of profile.lines.slice(0, 40)) log(`    line ${(f.share * 100).toFixed(1)}% ${f.line}`);
    }
    return result;
  } finally {
    await runtime.stop();
  }
}
