/**
 * Garbage per call (issue 20): what the gateway's isolate leaves for V8's collector, from workerd's
 * own `--trace-gc` lines (MINIFLARE_WORKERD_V8_FLAGS), in a runtime of its own running the product
 * Worker unchanged (wrangler.toml's `main`), same pinning as the breakdown suite.
 *
 * Why this figure: on this host it is far steadier than CPU timings, and it tracks the p99 — a
 * scavenge stops the isolate, so with 16 calls in flight each pause lands on calls, and what
 * survives scavenges (promoted) is what only a full mark-compact frees, the longest pauses there are.
 *
 * Closed loop of 16 concurrent 1 KB `tools/call` on the runtime socket, ROUNDS × ROUND_MS after a
 * warm-up. Per call: bytes promoted (the growth of the heap after each scavenge: what survived
 * into the old generation) and GC time; per run: the longest scavenge and full-collection pauses.
 */
import { allowAllBench, startInstrumented } from './breakdown.bench.ts';
import type { RuntimeSuiteOptions } from './lib/context.ts';
import { keepAliveAgent, send } from './lib/http.ts';
import { closedLoop } from './lib/load.ts';
import { echoCall, echoMessage, isResult, mcpHeaders, rpcId } from './lib/mcp.ts';
import { cpuMeter } from './lib/procs.ts';

const CONCURRENCY = 16;

export interface GcResult {
  via: 'runtime socket' | 'wrangler dev port';
  concurrency: number;
  calls: number;
  seconds: number;
  /** Bytes per call that survived scavenges into the old generation. */
  promotedBytesPerCall: number;
  /** GC pause time per 1,000 calls (ms), scavenges and full collections. */
  gcMsPer1000Calls: number;
  scavenges: { count: number; maxMs: number };
  fullCollections: { count: number; maxMs: number };
  cpuMsPerCall: number;
}

/** One `--trace-gc` line: which isolate, when, what kind, heap after (MB), pause (ms). */
interface GcLine {
  key: string;
  isolate: string;
  kind: 'scavenge' | 'full';
  beforeMb: number;
  afterMb: number;
  pauseMs: number;
}

// e.g. "[1234:0x3a9c…]    5123 ms: Scavenge 12.1 (14.0) -> 9.8 (14.5) MB, pooled: 0 MB, 1.25 / 0.00 ms …"
const GC_LINE =
  /\[(\d+:0x[0-9a-f]+)\]\s+(\d+) ms: (Scavenge|Mark-Compact)[^\d]*([\d.]+) \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB, (?:pooled: [\d.]+ MB, )?([\d.]+) \//;

export function parseGcLines(text: string): GcLine[] {
  const out: GcLine[] = [];
  for (const line of text.split('\n')) {
    const m = GC_LINE.exec(line);
    if (!m) continue;
    out.push({
      key: `${m[1]}@${m[2]}:${m[3]}:${m[4]}`,
      isolate: m[1]!,
      kind: m[3] === 'Scavenge' ? 'scavenge' : 'full',
      beforeMb: Number(m[4]),
      afterMb: Number(m[5]),
      pauseMs: Number(m[6]),
    });
  }
  return out;
}

/** Bytes promoted by the scavenges of one isolate: each one's heap-after growth over the last GC's. */
export function promotedBytes(lines: readonly GcLine[]): number {
  let promoted = 0;
  let prevAfter: number | null = null;
  for (const line of lines) {
    if (line.kind === 'scavenge' && prevAfter !== null) promoted += Math.max(0, line.afterMb - prevAfter);
    prevAfter = line.afterMb;
  }
  return promoted * 1e6;
}

export async function runGc(options: RuntimeSuiteOptions): Promise<GcResult> {
  const { quick, log } = options;
  const runtime = await startInstrumented(options.placement, log, 'workers/index.ts', {
    MINIFLARE_WORKERD_V8_FLAGS: '--trace-gc',
  });
  const agent = keepAliveAgent(CONCURRENCY);
  try {
    const { slug, sessionId } = await allowAllBench(runtime, agent);
    const url = new URL(`${runtime.runtimeUrl}/v1/mcp/${slug}`);
    const headers = mcpHeaders(sessionId, {
      Authorization: `Bearer ${runtime.apiKey}`,
      'X-Igris-User': 'gc',
    });
    const message = echoMessage(1024);
    const fire = async () => {
      const res = await send(agent, url, { body: echoCall(rpcId(), message), headers });
      return { ok: isResult(res), end: res.end };
    };
    log('gc: warm-up');
    await closedLoop(CONCURRENCY, quick ? 2_000 : 5_000, fire);
    // The runtime keeps only its last 200 KB of output: the GC
    // lines are collected as they come, each once.
    const seen = new Map<string, GcLine>();
    const collect = () => {
      for (const line of parseGcLines(runtime.logs())) seen.set(line.key, line);
    };
    collect();
    const before = new Set(seen.keys());
    const poll = setInterval(collect, 500);
    const meter = cpuMeter({ workerd: runtime.workerdPids });
    const rounds = quick ? 1 : 3;
    const roundMs = quick ? 5_000 : 10_000;
    let calls = 0;
    let errors = 0;
    const start = performance.now();
    try {
      for (let i = 0; i < rounds; i++) {
        const round = await closedLoop(CONCURRENCY, roundMs, fire);
        calls += round.ok;
        errors += round.errors;
      }
    } finally {
      clearInterval(poll);
    }
    const seconds = (performance.now() - start) / 1000;
    const cpu = meter().workerd ?? 0;
    collect();
    if (errors > 0) log(`gc: ${errors} calls failed`);
    const fresh = [...seen.values()].filter((line) => !before.has(line.key));
    // The gateway's isolate is the one with the largest heap (the others are Miniflare's own Workers).
    const byIsolate = Map.groupBy(fresh, (line) => line.isolate);
    const main = [...byIsolate.values()].sort((a, b) => peak(b) - peak(a))[0] ?? [];
    const scavenges = main.filter((line) => line.kind === 'scavenge');
    const full = main.filter((line) => line.kind === 'full');
    const pauses = (lines: GcLine[]) => lines.reduce((sum, line) => sum + line.pauseMs, 0);
    const result: GcResult = {
      via: 'runtime socket',
      concurrency: CONCURRENCY,
      calls,
      seconds,
      promotedBytesPerCall: calls > 0 ? promotedBytes(main) / calls : Number.NaN,
      gcMsPer1000Calls: calls > 0 ? (1000 * (pauses(scavenges) + pauses(full))) / calls : Number.NaN,
      scavenges: { count: scavenges.length, maxMs: Math.max(0, ...scavenges.map((l) => l.pauseMs)) },
      fullCollections: { count: full.length, maxMs: Math.max(0, ...full.map((l) => l.pauseMs)) },
      cpuMsPerCall: calls > 0 ? cpu / calls : Number.NaN,
    };
    log(
      `gc: ${calls} calls in ${seconds.toFixed(0)} s, promoted ${(result.promotedBytesPerCall / 1000).toFixed(1)} KB/call, ` +
        `scavenges ${result.scavenges.count} (max ${result.scavenges.maxMs} ms), full ${result.fullCollections.count} (max ${result.fullCollections.maxMs} ms)`,
    );
    return result;
  } finally {
    agent.destroy();
    await runtime.stop();
  }
}

function peak(lines: readonly GcLine[]): number {
  return Math.max(0, ...lines.map((line) => line.beforeMb));
}
