/**
 * The platform's floor (issue 20): what a gateway call costs on this runtime before the gateway
 * does anything of its own. bench/floor/floor.worker.js adds one route to the product's Worker,
 * `POST /v1/__floor`, which reads the request, makes ONE Durable Object RPC that writes one SQLite
 * row, sends the same request upstream and streams the answer back — the work no gateway design
 * on Workers avoids (the targets allow exactly one DO round trip before forwarding). It runs in a
 * runtime of its own (scripts/runtime.ts as `npm start` runs it, fresh persist dir, same pinning as the breakdown suite),
 * beside the product, so the three arms below share one runtime, one upstream, one session:
 *
 * - direct:  the same `tools/call echo` straight to the upstream (the latency baseline)
 * - healthz: `GET /healthz` through the product (request in, Hono, response out; no I/O)
 * - floor:   `POST /v1/__floor` (above)
 * - gateway: `POST /v1/mcp/bench` — the product's call (policy, guard, audit, stages, outcome)
 *
 * One at a time (rounds, every arm in turn, order rotating) → p50/p99 and added p50 vs direct;
 * and a closed loop at saturation → rps and workerd CPU per call for floor and gateway. The gap
 * gateway − floor is the gateway's own cost; the floor is what the targets cannot go below here.
 *
 * Then the floor of live events: as many SSE subscribers as the events suite has, on the floor
 * worker's bare hub (`/v1/__floor/events`), and as many events, each published by one request and
 * measured as the events suite measures the product's (bench/lib/fanout.ts): send → delivery and
 * first → each delivery. What the hub of any design pays here to reach N streams on one thread.
 */
import { allowAllBench, startInstrumented } from './breakdown.bench.ts';
import type { RuntimeSuiteOptions } from './lib/context.ts';
import {
  awaitDeliveries,
  connectWaves,
  type Deliveries,
  type FanoutFigures,
  fanoutFigures,
  recorder,
} from './lib/fanout.ts';
import { keepAliveAgent, send } from './lib/http.ts';
import { closedLoop, type Fire, sequential } from './lib/load.ts';
import { echoCall, echoMessage, isResult, mcpHeaders, rpcId } from './lib/mcp.ts';
import { cpuMs } from './lib/procs.ts';
import type { SseSubscriber } from './lib/sse.ts';
import { quantile } from './lib/stats.ts';

const ARMS = ['direct', 'healthz', 'floor', 'gateway'] as const;
type Arm = (typeof ARMS)[number];
const SATURATED: Arm[] = ['direct', 'floor', 'gateway'];

export interface FloorArm {
  p50: number;
  p99: number;
  /** p50 minus the direct call's p50 (ms); null for direct itself. */
  addedP50: number | null;
  addedP99: number | null;
  /** workerd CPU per call, one call at a time (ms, /proc over this arm's blocks). */
  cpuMsSequential: number;
  /** At saturation (closed loop): calls per second and workerd CPU per call. */
  saturation?: { rps: number; cpuMsPerCall: number };
  calls: number;
  errors: number;
}

/** The bare fan-out (floor.worker.js's hub): send of the publishing request → each delivery. */
export interface FloorEvents extends Omit<FanoutFigures, 'deliveries'> {
  subscribers: number;
  events: number;
  /** workerd CPU per delivery while every subscriber listened (the publishing requests included). */
  workerdUsPerDelivery: number;
}

export interface FloorResult {
  via: 'runtime socket' | 'wrangler dev port';
  concurrency: number;
  arms: Record<Arm, FloorArm>;
  events?: FloorEvents;
}

export async function runFloor(options: RuntimeSuiteOptions): Promise<FloorResult> {
  const { quick, log } = options;
  const runtime = await startInstrumented(options.placement, log, 'bench/floor/floor.worker.js');
  const agent = keepAliveAgent(64);
  try {
    const { slug, sessionId } = await allowAllBench(runtime, agent);
    const base = runtime.runtimeUrl;
    const upstream = `${runtime.upstreamUrl}/mcp`;
    const message = echoMessage(1024);
    const plain = mcpHeaders(sessionId);
    const fires: Record<Arm, Fire> = {
      direct: post(agent, new URL(upstream), plain, message),
      healthz: async () => {
        const res = await send(agent, new URL(`${base}/healthz`));
        return { ok: res.status === 200, end: res.end };
      },
      floor: post(agent, new URL(`${base}/v1/__floor?to=${encodeURIComponent(upstream)}`), plain, message),
      gateway: post(
        agent,
        new URL(`${base}/v1/mcp/${slug}`),
        mcpHeaders(sessionId, {
          Authorization: `Bearer ${runtime.apiKey}`,
          'X-Igris-User': 'bench-user',
          'X-Igris-Metadata': JSON.stringify({ team: 'bench' }),
        }),
        message,
      ),
    };
    const cpu = () => runtime.workerdPids.reduce((sum, pid) => sum + cpuMs(pid), 0);

    // Warm every arm (JIT, the guard's and the floor object's first pages, caches).
    for (const arm of ARMS) await sequential(quick ? 100 : 800, fires[arm]);

    const rounds = quick ? 2 : 6;
    const block = quick ? 100 : 300;
    const samples = Object.fromEntries(ARMS.map((a) => [a, [] as number[]])) as Record<Arm, number[]>;
    const used = Object.fromEntries(ARMS.map((a) => [a, { ms: 0, calls: 0, errors: 0 }])) as Record<
      Arm,
      { ms: number; calls: number; errors: number }
    >;
    for (let r = 0; r < rounds; r++) {
      const order = rotate(ARMS, r);
      for (const arm of order) {
        const before = cpu();
        const res = await sequential(block, fires[arm]);
        used[arm].ms += cpu() - before;
        used[arm].calls += res.latencies.length;
        used[arm].errors += res.errors;
        samples[arm].push(...res.latencies);
      }
    }

    const concurrency = quick ? 16 : 32;
    const saturation: Partial<Record<Arm, { rps: number; cpuMsPerCall: number }>> = {};
    for (const arm of SATURATED) {
      await closedLoop(concurrency, 300, fires[arm]);
      const before = cpu();
      const res = await closedLoop(concurrency, quick ? 1_500 : 4_000, fires[arm]);
      saturation[arm] = { rps: res.rps, cpuMsPerCall: res.ok ? (cpu() - before) / res.ok : Number.NaN };
      used[arm].errors += res.errors;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }

    const direct = { p50: quantile(samples.direct, 0.5), p99: quantile(samples.direct, 0.99) };
    const arms = {} as Record<Arm, FloorArm>;
    for (const arm of ARMS) {
      const p50 = quantile(samples[arm], 0.5);
      const p99 = quantile(samples[arm], 0.99);
      arms[arm] = {
        p50,
        p99,
        addedP50: arm === 'direct' ? null : p50 - direct.p50,
        addedP99: arm === 'direct' ? null : p99 - direct.p99,
        cpuMsSequential: used[arm].calls ? used[arm].ms / used[arm].calls : Number.NaN,
        ...(saturation[arm] ? { saturation: saturation[arm] } : {}),
        calls: used[arm].calls,
        errors: used[arm].errors,
      };
    }
    for (const f of failures) log(`floor: failed call: ${f}`);
    log(
      `floor: ${ARMS.map(
        (a) =>
          `${a} p50 ${arms[a].p50.toFixed(2)} ms, CPU ${arms[a].cpuMsSequential.toFixed(2)} ms/call` +
          (arms[a].saturation
            ? `, saturated ${arms[a].saturation!.rps.toFixed(0)} rps at ${arms[a].saturation!.cpuMsPerCall.toFixed(2)} ms/call`
            : ''),
      ).join(' | ')}`,
    );
    const events = await eventsFloor(base, runtime.apiKey, cpu, quick, log);
    return { via: 'runtime socket', concurrency, arms, events };
  } finally {
    agent.destroy();
    await runtime.stop();
  }
}

/** The floor of a live-event fan-out (see the module comment), the events suite's sizes and pacing. */
async function eventsFloor(
  base: string,
  apiKey: string,
  cpu: () => number,
  quick: boolean,
  log: (line: string) => void,
): Promise<FloorEvents> {
  const subscribers = quick ? 200 : 1_000;
  const count = quick ? 10 : 30;
  const run = `floor-ev-${Date.now().toString(36)}`;
  const received: Deliveries = new Map();
  const subs: SseSubscriber[] = [];
  const agent = keepAliveAgent(1);
  try {
    await connectWaves(
      new URL(`${base}/v1/__floor/events`),
      apiKey,
      0,
      subscribers,
      recorder(received, 'tool_call', run),
      subs,
    );
    const sent = new Map<string, number>();
    const before = cpu();
    for (let k = 0; k < count; k++) {
      const traceId = `${run}-${k}`;
      const sentAt = performance.now();
      const res = await send(agent, new URL(`${base}/v1/__floor/publish?trace=${traceId}`), {
        method: 'POST',
      });
      if (res.status === 202) sent.set(traceId, sentAt);
      else if (failures.length < 3) failures.push(`publish ${res.status} ${res.text.slice(0, 300)}`);
      await new Promise((r) => setTimeout(r, 150));
    }
    await awaitDeliveries(received, sent, subscribers);
    const usedMs = cpu() - before;
    const { deliveries, ...figures } = fanoutFigures(received, sent, subscribers);
    const result = {
      ...figures,
      subscribers,
      events: sent.size,
      workerdUsPerDelivery: deliveries ? (usedMs * 1000) / deliveries : Number.NaN,
    };
    log(
      `floor events to ${subscribers} subscribers (from the publish's send): p50 ${result.p50.toFixed(1)} ms p99 ${result.p99.toFixed(1)} ms; ` +
        `fan-out p99 ${result.fanoutP99.toFixed(1)} ms; missing ${result.missing}, duplicated ${result.duplicated}; ` +
        `workerd ${result.workerdUsPerDelivery.toFixed(0)} µs per delivery`,
    );
    return result;
  } finally {
    agent.destroy();
    for (const sub of subs) sub.close();
  }
}

/** The first failed answers, logged at the end (a failing arm must not pass silently as fast). */
const failures: string[] = [];

function post(
  agent: ReturnType<typeof keepAliveAgent>,
  url: URL,
  headers: Record<string, string>,
  message: string,
): Fire {
  return async () => {
    const res = await send(agent, url, { body: echoCall(rpcId(), message), headers });
    const ok = isResult(res);
    if (!ok && failures.length < 3) failures.push(`${url.pathname} ${res.status} ${res.text.slice(0, 300)}`);
    return { ok, end: res.end };
  };
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
