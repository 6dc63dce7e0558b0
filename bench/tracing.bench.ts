/**
 * The latency OpenTelemetry tracing adds on the gateway path (issue 19): the same `tools/call`
 * (the demo server's `echo`) through the `bench` connection with the organization's tracing on
 * (sample rate 1: every call recorded, its spans batched and exported to a local OTLP/HTTP
 * receiver in this process) and off, round by round alternately (tracing is per organization, so
 * the two cannot alternate call by call). Each switch bumps the configuration epoch; the first
 * calls after it (warm-up, not measured) re-read the organization's snapshot.
 *
 * Added latency = on − off per pair of adjacent rounds (p50 and p99), so a slow minute of a
 * shared machine hits both alike. `spans` counts what the receiver got (the export happened).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type BenchContext, pick } from './lib/context.ts';
import { apiOk, keepAliveAgent, send } from './lib/http.ts';
import { echoCall, isResult, mcpHeaders, rpcId } from './lib/mcp.ts';
import { quantile, roundsSpread, type Spread } from './lib/stats.ts';
import { registerTsResolve } from './lib/ts-resolve.ts';

export interface TracingResult {
  calls: number;
  errors: number;
  /** Spans the local OTLP receiver accepted, and the export requests they came in. */
  spans: number;
  exports: number;
  off: { p50: Spread; p99: Spread };
  on: { p50: Spread; p99: Spread };
  added: { p50: Spread; p99: Spread };
  /** CPU of the tracing code itself per call, in plain Node (µs): steadier than the path figures. */
  cpu: { offUs: number; onUs: number; serializeUs: number };
}

/**
 * The recorder driven as the call core drives it for one MCP call (8 spans), with tracing off for
 * the organization and on; and the OTLP JSON of one call's spans, serialized in a batch of 40.
 */
export async function cpuPerCall(iterations: number): Promise<TracingResult['cpu']> {
  registerTsResolve();
  const { CallTrace } = await import('../workers/tracing/trace.call.ts');
  const { otlpRequest } = await import('../workers/tracing/trace.otlp.ts');
  type Finished = Awaited<NonNullable<ReturnType<InstanceType<typeof CallTrace>['answered']>>['trace']>;
  const target = { endpoint: 'https://otel.example.com/v1/traces', sampleRate: 1, sealedHeaders: null };
  const headers = new Headers({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
  const attributes = () => ({ 'igris.connection.slug': 'bench', 'igris.connection.type': 'mcp' });
  const stage = (_call: unknown, decisions: number[]) => decisions;
  const one = async (on: boolean): Promise<Finished | null> => {
    const trace = new CallTrace(headers);
    const t = Date.now();
    trace.span('igris.authenticate', t);
    trace.configure('org_bench', on ? target : null, attributes);
    trace.policy(t, [{ decision: null, refusal: null }]);
    trace.stage(stage, null, [1]);
    trace.span('igris.guard.admit', t, { 'igris.guard.verdict': 'admit' });
    trace.upstreamHeaders({});
    trace.forwarded(t, 200);
    const [wrapped] = trace.responseStages([{ name: 'inspection', onMessage: () => undefined }]);
    wrapped?.onMessage({});
    trace.bodyDone();
    trace.completing(Promise.resolve());
    const pending = trace.answered();
    return pending ? await pending.trace : null;
  };
  const timeEach = async (on: boolean): Promise<{ us: number; traces: Finished[] }> => {
    const traces: Finished[] = [];
    for (let i = 0; i < 200; i++) await one(on); // warm-up
    const started = performance.now();
    for (let i = 0; i < iterations; i++) {
      const done = await one(on);
      if (done && traces.length < 40) traces.push(done);
    }
    return { us: ((performance.now() - started) * 1000) / iterations, traces };
  };
  const off = await timeEach(false);
  const on = await timeEach(true);
  const rounds = Math.max(10, Math.floor(iterations / 40));
  const started = performance.now();
  for (let i = 0; i < rounds; i++) JSON.stringify(otlpRequest('org_bench', on.traces));
  const serializeUs = ((performance.now() - started) * 1000) / (rounds * on.traces.length);
  return { offUs: off.us, onUs: on.us, serializeUs };
}

function countSpans(body: string): number {
  const parsed = JSON.parse(body) as { resourceSpans?: { scopeSpans?: { spans?: unknown[] }[] }[] };
  let n = 0;
  for (const rs of parsed.resourceSpans ?? [])
    for (const ss of rs.scopeSpans ?? []) n += ss.spans?.length ?? 0;
  return n;
}

export async function runTracing(ctx: BenchContext): Promise<TracingResult> {
  const { stack } = ctx;
  const cpu = await cpuPerCall(pick(ctx, 2000, 20000));
  ctx.log(
    `tracing CPU per call: off ${cpu.offUs.toFixed(1)} µs, on ${cpu.onUs.toFixed(1)} µs, OTLP JSON ${cpu.serializeUs.toFixed(1)} µs`,
  );
  let spans = 0;
  let exports = 0;
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      spans += countSpans(Buffer.concat(chunks).toString('utf8'));
      exports++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/traces`;
  const tracing = (on: boolean) =>
    on
      ? apiOk(stack.gatewayUrl, stack.apiKey, 'PUT', '/tracing', {
          endpoint,
          sampleRate: 1,
          headers: { 'x-bench-key': 'bench-secret' },
        })
      : apiOk(stack.gatewayUrl, stack.apiKey, 'DELETE', '/tracing');

  const agent = keepAliveAgent(1);
  const headers = mcpHeaders(ctx.sessionId, {
    Authorization: `Bearer ${stack.apiKey}`,
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  });
  const call = async (): Promise<number | null> => {
    const started = performance.now();
    const res = await send(agent, new URL(`${stack.gatewayUrl}/v1/mcp/${ctx.slug}`), {
      body: echoCall(rpcId(), 'tracing bench'),
      headers,
    });
    return isResult(res) ? res.end - started : null;
  };
  const pairs = pick(ctx, 3, 6);
  const perRound = pick(ctx, 60, 200);
  let errors = 0;
  const stats = {
    off: { p50: [] as number[], p99: [] as number[] },
    on: { p50: [] as number[], p99: [] as number[] },
  };
  const added = { p50: [] as number[], p99: [] as number[] };
  const round = async (on: boolean): Promise<number[]> => {
    await tracing(on);
    for (let i = 0; i < 10; i++) await call(); // the snapshot re-read after the epoch bump
    const values: number[] = [];
    for (let i = 0; i < perRound; i++) {
      const ms = await call();
      if (ms === null) errors++;
      else values.push(ms);
    }
    return values;
  };
  try {
    for (let p = 0; p < pairs; p++) {
      // Alternate which goes first, so neither always follows the other.
      const order = p % 2 ? [false, true] : [true, false];
      const got: Record<string, number[]> = {};
      for (const on of order) got[on ? 'on' : 'off'] = await round(on);
      for (const name of ['off', 'on'] as const) {
        stats[name].p50.push(quantile(got[name]!, 0.5));
        stats[name].p99.push(quantile(got[name]!, 0.99));
      }
      added.p50.push(quantile(got.on!, 0.5) - quantile(got.off!, 0.5));
      added.p99.push(quantile(got.on!, 0.99) - quantile(got.off!, 0.99));
      ctx.log(
        `tracing, pair ${p + 1}: p50 off ${quantile(got.off!, 0.5).toFixed(2)} → on ${quantile(got.on!, 0.5).toFixed(2)} ms`,
      );
    }
    await tracing(false);
    // Let the last batch arrive (batches are flushed within a second).
    await new Promise((r) => setTimeout(r, 2500));
  } finally {
    agent.destroy();
    receiver.closeAllConnections();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  }
  const spreadOf = (s: { p50: number[]; p99: number[] }) => ({
    p50: roundsSpread(s.p50),
    p99: roundsSpread(s.p99),
  });
  ctx.log(`tracing: ${spans} spans received in ${exports} export requests; ${errors} failed calls`);
  return {
    calls: pairs * perRound * 2,
    errors,
    spans,
    exports,
    off: spreadOf(stats.off),
    on: spreadOf(stats.on),
    added: spreadOf(added),
    cpu,
  };
}
