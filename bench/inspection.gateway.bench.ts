/**
 * The latency content inspection adds on the gateway path (issue 16): the same `tools/call`
 * (the demo server's `echo`, 1 KB of benign text no rule fires on, in the arguments and echoed
 * back in the result)
 * through two connections to the same upstream session — `bench` (no packs) and
 * `bench-inspected` (every built-in pack: arguments scanned on the way in, the result on the way
 * out, redaction of results on) — one at a time, alternating, on the port `npm start` serves.
 *
 * Added latency = inspected − plain, per round (p50 and p99), so a slow minute of a shared machine
 * hits both paths alike.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type BenchContext, pick } from './lib/context.ts';
import { apiOk, keepAliveAgent, send } from './lib/http.ts';
import { echoCall, isResult, mcpHeaders, rpcId } from './lib/mcp.ts';
import { ensureConnection, setPolicy } from './lib/stack.ts';
import { quantile, roundsSpread, type Spread } from './lib/stats.ts';
import { registerTsResolve } from './lib/ts-resolve.ts';

export const INSPECTED_SLUG = 'bench-inspected';
const PACKS = [
  'mcp-advanced-security',
  'mcp-encoding-detection-security',
  'llm-critical-security',
  'llm-standard-security',
  'llm-compliance-gdpr',
  'pii-default',
  'secrets-default',
];

export interface InspectionGatewayResult {
  bytes: number;
  calls: number;
  errors: number;
  plain: { p50: Spread; p99: Spread };
  inspected: { p50: Spread; p99: Spread };
  added: { p50: Spread; p99: Spread };
}

/**
 * ~`bytes` of the benign corpus (prose, code, SQL…) made of samples on which no rule fires: the
 * figure is then what scanning costs on the path, not what masking an e-mail and recording the
 * finding cost (the corpus holds addresses, which the PII packs redact).
 */
export async function benignMessage(bytes: number): Promise<string> {
  registerTsResolve();
  const { builtinRules, builtinPacks } = await import('../workers/inspection/inspection.builtin.ts');
  const { compileRules } = await import('../workers/inspection/inspection.engine.ts');
  const engine = compileRules(builtinRules(), [...builtinPacks().values()]);
  const dir = path.resolve(import.meta.dirname, '../test/corpora/detections');
  const samples: string[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const corpus = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as {
      benign: Array<string | { text: string }>;
    };
    for (const s of corpus.benign) {
      const text = typeof s === 'string' ? s : s.text;
      if (engine.scan(text, 'args').length === 0 && engine.scan(text, 'result').length === 0)
        samples.push(text);
    }
  }
  const unit = samples.join('\n');
  if (!unit) throw new Error('no benign sample is free of findings');
  return unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes);
}

export async function runInspectionGateway(ctx: BenchContext): Promise<InspectionGatewayResult> {
  const { stack } = ctx;
  await ensureConnection(stack, INSPECTED_SLUG);
  await setPolicy(stack, INSPECTED_SLUG, [{ tool: '*', action: 'allow' }]);
  await apiOk(stack.gatewayUrl, stack.apiKey, 'PATCH', `/connections/${INSPECTED_SLUG}`, {
    settings: { inspection: { packs: PACKS, redactResults: true } },
  });
  const bytes = 1024;
  const message = await benignMessage(bytes);
  const agent = keepAliveAgent(1);
  const headers = mcpHeaders(ctx.sessionId, { Authorization: `Bearer ${stack.apiKey}` });
  const call = async (slug: string): Promise<number | null> => {
    const started = performance.now();
    const res = await send(agent, new URL(`${stack.gatewayUrl}/v1/mcp/${slug}`), {
      body: echoCall(rpcId(), message),
      headers,
    });
    return isResult(res) ? res.end - started : null;
  };
  const rounds = pick(ctx, 3, 6);
  const perRound = pick(ctx, 40, 150);
  let errors = 0;
  const stats = {
    plain: { p50: [] as number[], p99: [] as number[] },
    inspected: { p50: [] as number[], p99: [] as number[] },
  };
  const added = { p50: [] as number[], p99: [] as number[] };
  try {
    for (let i = 0; i < 10; i++) {
      await call(ctx.slug);
      await call(INSPECTED_SLUG);
    }
    for (let r = 0; r < rounds; r++) {
      const plain: number[] = [];
      const inspected: number[] = [];
      for (let i = 0; i < perRound; i++) {
        // Alternate which goes first, so neither always follows the other.
        for (const slug of i % 2 ? [ctx.slug, INSPECTED_SLUG] : [INSPECTED_SLUG, ctx.slug]) {
          const ms = await call(slug);
          if (ms === null) errors++;
          else (slug === ctx.slug ? plain : inspected).push(ms);
        }
      }
      for (const [name, values] of [
        ['plain', plain],
        ['inspected', inspected],
      ] as const) {
        stats[name].p50.push(quantile(values, 0.5));
        stats[name].p99.push(quantile(values, 0.99));
      }
      added.p50.push(quantile(inspected, 0.5) - quantile(plain, 0.5));
      added.p99.push(quantile(inspected, 0.99) - quantile(plain, 0.99));
      ctx.log(
        `inspection on the gateway, round ${r + 1}: p50 ${quantile(plain, 0.5).toFixed(2)} → ${quantile(inspected, 0.5).toFixed(2)} ms`,
      );
    }
  } finally {
    agent.destroy();
  }
  const spreadOf = (s: { p50: number[]; p99: number[] }) => ({
    p50: roundsSpread(s.p50),
    p99: roundsSpread(s.p99),
  });
  return {
    bytes,
    calls: rounds * perRound * 2,
    errors,
    plain: spreadOf(stats.plain),
    inspected: spreadOf(stats.inspected),
    added: spreadOf(added),
  };
}
