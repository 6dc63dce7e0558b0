/**
 * The latency Prometheus metrics add on the gateway path (issue 19). Metrics cannot be turned off
 * in the product (the counters are the organization's scrape), so this suite runs the product's
 * Worker, unchanged, under bench/metrics/switch.worker.js — a wrapper that makes the guard's metric
 * recording (MetricsRecorder) and its batched sends to the organization's MetricsHub
 * (MetricsOutbox) do nothing while a switch is off — in a runtime of its own (scripts/runtime.ts,
 * fresh persist dir, same pinning as the breakdown suite).
 *
 * The same `tools/call` (the demo server's `echo`) one at a time, rounds with metrics on and off
 * alternating (which goes first alternates too); each round starts with unmeasured calls so the
 * previous round's waitUntil work (outcomes, the hub batch) is behind it. Added latency = on − off
 * per pair of adjacent rounds (p50 and p99), so a slow minute of a shared machine hits both alike.
 * The switch reports how many rows were recorded in each round: none when off, one per call when on.
 *
 * CPU: the recorder's own cost per call in plain Node (steadier than the path figures): a
 * forwarded call's row turned into its deltas, and the batch it leaves in (100 calls a batch,
 * serialized as the RPC would), per call.
 */

import { allowAllBench, startInstrumented } from './breakdown.bench.ts';
import type { RuntimeSuiteOptions } from './lib/context.ts';
import { keepAliveAgent, send } from './lib/http.ts';
import { echoCall, isResult, mcpHeaders, rpcId } from './lib/mcp.ts';
import { quantile, roundsSpread, type Spread } from './lib/stats.ts';
import { registerTsResolve } from './lib/ts-resolve.ts';

export interface MetricsResult {
  calls: number;
  errors: number;
  /** Rows the switch saw recorded during the measured rounds (on: one per call; off: none). */
  recorded: { on: number; off: number };
  off: { p50: Spread; p99: Spread };
  on: { p50: Spread; p99: Spread };
  added: { p50: Spread; p99: Spread };
  /** The recorder's CPU per call in plain Node (µs): recording the row, and its share of a batch. */
  cpu: { recordUs: number; batchUs: number };
}

/** A forwarded MCP call's audit row, as the guard completes it. */
function sampleRow(i: number) {
  return {
    id: `evt_${i}`,
    orgId: 'org_bench',
    connectionId: 'con_bench',
    connectionSlug: 'bench',
    type: 'tool_call',
    method: 'tools/call',
    tool: 'echo',
    action: 'allow',
    upstreamStatus: 200,
    latencyMs: 3 + (i % 7),
    details: { findings: [] },
  };
}

export async function recorderCpu(iterations: number): Promise<MetricsResult['cpu']> {
  registerTsResolve();
  const { MetricsRecorder } = await import('../durable-objects/metrics.contract.ts');
  type Row = Parameters<InstanceType<typeof MetricsRecorder>['call']>[0];
  const rows = Array.from({ length: 100 }, (_, i) => sampleRow(i) as unknown as Row);
  const recorder = new MetricsRecorder();
  const record = (i: number) => {
    const row = rows[i % rows.length]!;
    recorder.call(row, 1 + (i % 3));
    recorder.findings(row, []);
  };
  for (let i = 0; i < 2000; i++) record(i); // warm-up
  recorder.take();
  let batchMs = 0;
  const started = performance.now();
  for (let i = 0; i < iterations; i++) {
    record(i);
    if (i % 100 === 99) {
      // The batch of a second's calls, serialized as the RPC to the hub would.
      const t = performance.now();
      JSON.stringify({ id: crypto.randomUUID(), counters: recorder.take() });
      batchMs += performance.now() - t;
    }
  }
  const totalMs = performance.now() - started;
  return { recordUs: ((totalMs - batchMs) * 1000) / iterations, batchUs: (batchMs * 1000) / iterations };
}

export async function runMetrics(options: RuntimeSuiteOptions): Promise<MetricsResult> {
  const { quick, log } = options;
  const cpu = await recorderCpu(quick ? 20_000 : 200_000);
  log(`metrics CPU per call: record ${cpu.recordUs.toFixed(2)} µs, batch share ${cpu.batchUs.toFixed(2)} µs`);
  const runtime = await startInstrumented(options.placement, log, 'bench/metrics/switch.worker.js');
  const agent = keepAliveAgent(1);
  try {
    const { slug, sessionId } = await allowAllBench(runtime, agent);
    // The public port: the runtime's own socket (scripts/runtime.ts has no proxy in front).
    const base = runtime.gatewayUrl;
    const url = new URL(`${base}/v1/mcp/${slug}`);
    const headers = mcpHeaders(sessionId, { Authorization: `Bearer ${runtime.apiKey}` });
    const control = async (query: string) =>
      JSON.parse((await send(agent, new URL(`${base}/v1/__bench/metrics?${query}`))).text) as {
        on: boolean;
        recorded: number;
        scheduled: number;
      };
    const call = async (): Promise<number | null> => {
      const started = performance.now();
      try {
        const res = await send(agent, url, { body: echoCall(rpcId(), 'metrics bench'), headers });
        return isResult(res) ? res.end - started : null;
      } catch {
        return null; // the connection dropped (a reload): counted as an error
      }
    };

    const pairs = quick ? 3 : 8;
    const perRound = quick ? 60 : 250;
    let errors = 0;
    const recorded = { on: 0, off: 0 };
    const stats = {
      off: { p50: [] as number[], p99: [] as number[] },
      on: { p50: [] as number[], p99: [] as number[] },
    };
    const added = { p50: [] as number[], p99: [] as number[] };
    const round = async (on: boolean): Promise<number[]> => {
      await control(`on=${on ? 1 : 0}`);
      // Unmeasured: the previous round's waitUntil work (outcomes, a hub batch) finishes meanwhile.
      for (let i = 0; i < 10; i++) await call();
      await control('reset=1');
      const values: number[] = [];
      for (let i = 0; i < perRound; i++) {
        const ms = await call();
        if (ms === null) errors++;
        else values.push(ms);
      }
      recorded[on ? 'on' : 'off'] += (await control('reset=1')).recorded;
      return values;
    };
    for (let i = 0; i < 30; i++) await call(); // warm-up: caches, guard, hub
    for (let p = 0; p < pairs; p++) {
      const order = p % 2 ? [false, true] : [true, false];
      const got: Record<string, number[]> = {};
      for (const on of order) got[on ? 'on' : 'off'] = await round(on);
      for (const name of ['off', 'on'] as const) {
        stats[name].p50.push(quantile(got[name]!, 0.5));
        stats[name].p99.push(quantile(got[name]!, 0.99));
      }
      added.p50.push(quantile(got.on!, 0.5) - quantile(got.off!, 0.5));
      added.p99.push(quantile(got.on!, 0.99) - quantile(got.off!, 0.99));
      log(
        `metrics, pair ${p + 1}: p50 off ${quantile(got.off!, 0.5).toFixed(2)} → on ${quantile(got.on!, 0.5).toFixed(2)} ms`,
      );
    }
    await control('on=1');
    log(`metrics: rows recorded on ${recorded.on}, off ${recorded.off}; ${errors} failed calls`);
    const spreadOf = (s: { p50: number[]; p99: number[] }) => ({
      p50: roundsSpread(s.p50),
      p99: roundsSpread(s.p99),
    });
    return {
      calls: pairs * perRound * 2,
      errors,
      recorded,
      off: spreadOf(stats.off),
      on: spreadOf(stats.on),
      added: spreadOf(added),
      cpu,
    };
  } finally {
    agent.destroy();
    await runtime.stop();
  }
}
