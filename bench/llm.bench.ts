/**
 * The LLM gateway beside a direct call and beside Portkey's open-source gateway, in one run, on the
 * same fake provider (a ~1 KB chat completion, model `fake-gpt`):
 *
 *   1. non-streamed, one at a time: latency p50/p99 and added latency vs direct (ABBA rounds)
 *   2. streamed, one at a time: time to first token (first chunk with content) p50/p99, added vs
 *      direct, and time to the end of the stream
 *   3. saturation (closed loop, non-streamed): rps per path, ratio to direct, CPU ms per call by
 *      process group
 *
 * Paths: A direct, R Igris Edge (runtime socket, `npm start`'s port; B: a wrangler dev port, older runs), P Portkey (lib/llm.ts).
 * The Igris connection is an `openai-compatible` LLM connection with the provider key in the vault,
 * an allow-all policy and a price for the model, so auth, policy, usage and cost are all on the path.
 */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { type BenchContext, pick } from './lib/context.ts';
import { apiOk } from './lib/http.ts';
import {
  chatBody,
  chatFire,
  LLM_MODEL,
  type LlmPath,
  type LlmPathName,
  llmAgents,
  llmPaths,
  type Proc,
  startFakeProviderProcess,
  startPortkey,
  streamFire,
} from './lib/llm.ts';
import { closedLoop } from './lib/load.ts';
import { abbaOrder } from './lib/paths.ts';
import { cpuMeter, type Placement } from './lib/procs.ts';
import { quantile, roundsSpread, type Spread, spread } from './lib/stats.ts';
import { runtimeCpuGroups } from './overhead.bench.ts';

export interface LlmLatency {
  n: number;
  errors: number;
  p50: Spread;
  p99: Spread;
}

export interface LlmSequential {
  paths: Partial<Record<LlmPathName, LlmLatency>>;
  /** Path minus direct, per non-direct path. */
  added: Partial<Record<LlmPathName, { p50: Spread; p99: Spread }>>;
}

export interface LlmSaturation {
  concurrency: number;
  rps: Partial<Record<LlmPathName, Spread>>;
  ratio: Partial<Record<LlmPathName, Spread>>;
  errors: Partial<Record<LlmPathName, number>>;
  cpuMsPerCall: Partial<Record<LlmPathName, Record<string, number>>>;
}

export interface LlmResult {
  model: string;
  requestBytes: number;
  /** Portkey's gateway: its npm version, or why it is missing from this run. */
  portkey: { version: string | null; error: string | null };
  nonStreamed: LlmSequential;
  streamed: { ttft: LlmSequential; total: LlmSequential };
  saturation: LlmSaturation | null;
}

const REQUEST_BYTES = 1024;
const SLUG = 'bench-llm';

type Metrics = Record<string, number>;
type Timed = (p: LlmPath, agent: http.Agent) => Promise<Metrics | null>;

/** One call, timed from just before it is sent; null when it failed. */
function timed(body: string, stream: boolean): Timed {
  return async (p, agent): Promise<Metrics | null> => {
    const start = performance.now();
    try {
      if (!stream) {
        const r = await chatFire(p, agent, body)();
        return r.ok ? { total: r.end - start } : null;
      }
      const r = await streamFire(agent, p, body);
      return r.ok ? { ttft: r.firstToken - start, total: r.end - start } : null;
    } catch {
      return null;
    }
  };
}

/** ABBA rounds of blocks of sequential calls; per metric, per path, per round: the latencies. */
async function abbaRounds(ctx: BenchContext, paths: LlmPath[], call: Timed, metrics: string[]) {
  const rounds = pick(ctx, 2, 6);
  const block = pick(ctx, 20, 50);
  const agents = llmAgents(paths, 1);
  const samples = new Map(metrics.map((m) => [m, new Map(paths.map((p) => [p.name, [] as number[][]]))]));
  const errors = new Map<LlmPathName, number>(paths.map((p) => [p.name, 0]));
  try {
    for (const p of paths) for (let i = 0; i < pick(ctx, 10, 30); i++) await call(p, agents.get(p.name)!);
    for (let r = 0; r < rounds; r++) {
      const perRound = new Map(metrics.map((m) => [m, new Map(paths.map((p) => [p.name, [] as number[]]))]));
      for (const p of r % 2 === 0 ? abbaOrder(paths) : abbaOrder([...paths].reverse())) {
        for (let i = 0; i < block; i++) {
          const res = await call(p, agents.get(p.name)!);
          if (!res) errors.set(p.name, errors.get(p.name)! + 1);
          else for (const m of metrics) perRound.get(m)!.get(p.name)!.push(res[m]!);
        }
      }
      for (const m of metrics)
        for (const p of paths) samples.get(m)!.get(p.name)!.push(perRound.get(m)!.get(p.name)!);
    }
  } finally {
    for (const a of agents.values()) a.destroy();
  }
  return { samples, errors };
}

function summarizeRounds(
  paths: LlmPath[],
  rounds: Map<LlmPathName, number[][]>,
  errors: Map<LlmPathName, number>,
): LlmSequential {
  const out: LlmSequential = { paths: {}, added: {} };
  const pooled = (n: LlmPathName) => rounds.get(n)!.flat();
  for (const p of paths) {
    const rs = rounds.get(p.name)!;
    const q = (x: number) =>
      spread(
        quantile(pooled(p.name), x),
        rs.map((r) => quantile(r, x)),
      );
    out.paths[p.name] = { n: pooled(p.name).length, errors: errors.get(p.name)!, p50: q(0.5), p99: q(0.99) };
  }
  const direct = rounds.get('A')!;
  for (const p of paths) {
    if (p.name === 'A') continue;
    const rs = rounds.get(p.name)!;
    const diff = (x: number) =>
      spread(
        quantile(pooled(p.name), x) - quantile(pooled('A'), x),
        rs.map((r, i) => quantile(r, x) - quantile(direct[i]!, x)),
      );
    out.added[p.name] = { p50: diff(0.5), p99: diff(0.99) };
  }
  return out;
}

function describe(s: LlmSequential): string {
  return Object.entries(s.paths)
    .map(
      ([n, x]) =>
        `${n} p50 ${x!.p50.value.toFixed(2)} p99 ${x!.p99.value.toFixed(2)}${x!.errors ? ` (${x!.errors} errors)` : ''}`,
    )
    .join(' | ');
}

async function saturate(
  ctx: BenchContext,
  paths: LlmPath[],
  groups: Record<string, number[]>,
): Promise<LlmSaturation> {
  const concurrency = pick(ctx, 16, 32);
  const durationMs = pick(ctx, 1_500, 3_000);
  const rounds = pick(ctx, 1, 2);
  const body = chatBody(REQUEST_BYTES, false);
  const agents = llmAgents(paths, concurrency);
  const rps = new Map<LlmPathName, number[]>(paths.map((p) => [p.name, []]));
  const errors = new Map<LlmPathName, number>(paths.map((p) => [p.name, 0]));
  const cpu = new Map<LlmPathName, { calls: number; ms: Record<string, number> }>();
  try {
    for (const p of paths) await closedLoop(concurrency, 300, chatFire(p, agents.get(p.name)!, body));
    for (let r = 0; r < rounds; r++) {
      for (const p of abbaOrder(paths)) {
        const meter = cpuMeter(groups);
        const res = await closedLoop(concurrency, durationMs, chatFire(p, agents.get(p.name)!, body));
        const used = meter();
        const acc = cpu.get(p.name) ?? { calls: 0, ms: {} };
        cpu.set(p.name, acc);
        acc.calls += res.ok;
        for (const [g, v] of Object.entries(used)) acc.ms[g] = (acc.ms[g] ?? 0) + v;
        rps.get(p.name)!.push(res.rps);
        errors.set(p.name, errors.get(p.name)! + res.errors);
        await new Promise((done) => setTimeout(done, 300)); // sockets settle, the spool flushes
      }
    }
  } finally {
    for (const a of agents.values()) a.destroy();
  }
  const result: LlmSaturation = {
    concurrency,
    rps: {},
    ratio: {},
    errors: Object.fromEntries(errors),
    cpuMsPerCall: {},
  };
  const direct = rps.get('A')!;
  for (const p of paths) {
    const values = rps.get(p.name)!;
    result.rps[p.name] = roundsSpread(values);
    if (p.name !== 'A') result.ratio[p.name] = roundsSpread(values.map((v, i) => v / direct[i]!));
    const acc = cpu.get(p.name)!;
    result.cpuMsPerCall[p.name] = Object.fromEntries(
      Object.entries(acc.ms).map(([g, v]) => [g, acc.calls ? v / acc.calls : Number.NaN]),
    );
  }
  ctx.log(
    `llm saturation (${concurrency} concurrent): ${paths
      .map((p) => `${p.name} ${result.rps[p.name]!.value.toFixed(0)} rps (${errors.get(p.name)} errors)`)
      .join(' | ')}`,
  );
  return result;
}

/** The Igris connection to the fake provider: vault credential, allow-all policy, a model price. */
async function prepareConnection(ctx: BenchContext, providerUrl: string, providerKey: string): Promise<void> {
  const { gatewayUrl, apiKey } = ctx.stack;
  await apiOk(gatewayUrl, apiKey, 'POST', '/connections', {
    slug: SLUG,
    name: 'bench llm',
    type: 'llm',
    upstreamUrl: `${providerUrl}/v1`,
    credential: providerKey,
    settings: { provider: 'openai-compatible' },
  });
  await apiOk(gatewayUrl, apiKey, 'PUT', `/connections/${SLUG}/policy`, {
    rules: [{ tool: '*', action: 'allow' }],
  });
  await apiOk(gatewayUrl, apiKey, 'PUT', '/llm/prices', {
    provider: 'openai-compatible',
    model: LLM_MODEL,
    inputPerMTok: 1,
    cachedInputPerMTok: 0.5,
    outputPerMTok: 2,
  });
}

export async function runLlm(ctx: BenchContext, placement: Placement): Promise<LlmResult> {
  const providerKey = `sk-bench-${randomBytes(8).toString('hex')}`;
  const procs: Proc[] = [];
  const stopAll = () => {
    for (const p of procs) p.stop();
  };
  process.once('exit', stopAll);
  try {
    const provider = await startFakeProviderProcess(placement, providerKey);
    procs.push(provider);
    await prepareConnection(ctx, provider.url, providerKey);
    const portkey: LlmResult['portkey'] = { version: null, error: null };
    let portkeyUrl: string | null = null;
    let portkeyPid: number | null = null;
    try {
      const pk = await startPortkey(placement);
      procs.push(pk);
      portkey.version = pk.version;
      portkeyUrl = pk.url;
      portkeyPid = pk.child.pid ?? null;
    } catch (err) {
      portkey.error = err instanceof Error ? err.message : String(err);
    }
    let paths = llmPaths(ctx.stack, SLUG, provider.url, providerKey, portkeyUrl);
    // One call per path first: a misconfigured path fails the suite (Portkey: drops out, with why).
    const probe = llmAgents(paths, 1);
    for (const p of paths) {
      const ok = (await timed(chatBody(REQUEST_BYTES, false), false)(p, probe.get(p.name)!)) !== null;
      if (ok) continue;
      if (p.name !== 'P') throw new Error(`llm path ${p.name} (${p.url}) does not answer a chat completion`);
      portkey.error = 'its chat completion failed (see failedCalls)';
    }
    for (const a of probe.values()) a.destroy();
    if (portkey.error) paths = paths.filter((p) => p.name !== 'P');
    ctx.log(
      `llm paths: ${paths.map((p) => `${p.name} ${p.url.origin}`).join(' | ')}${portkey.error ? ` (Portkey: ${portkey.error})` : ''}`,
    );

    const plain = await abbaRounds(ctx, paths, timed(chatBody(REQUEST_BYTES, false), false), ['total']);
    const nonStreamed = summarizeRounds(paths, plain.samples.get('total')!, plain.errors);
    ctx.log(`llm non-streamed one at a time (ms): ${describe(nonStreamed)}`);

    const streamedRuns = await abbaRounds(ctx, paths, timed(chatBody(REQUEST_BYTES, true), true), [
      'ttft',
      'total',
    ]);
    const streamed = {
      ttft: summarizeRounds(paths, streamedRuns.samples.get('ttft')!, streamedRuns.errors),
      total: summarizeRounds(paths, streamedRuns.samples.get('total')!, streamedRuns.errors),
    };
    ctx.log(`llm streamed, time to first token (ms): ${describe(streamed.ttft)}`);

    const groups = {
      ...runtimeCpuGroups(ctx),
      upstream: provider.child.pid ? [provider.child.pid] : [],
      portkey: portkeyPid ? [portkeyPid] : [],
    };
    const saturation = await saturate(ctx, paths, groups);
    return { model: LLM_MODEL, requestBytes: REQUEST_BYTES, portkey, nonStreamed, streamed, saturation };
  } finally {
    stopAll();
    process.removeListener('exit', stopAll);
  }
}
