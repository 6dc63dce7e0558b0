/**
 * Feature ladder: what each stage of the gateway costs, 1 KB echo, one request at a time (and, in
 * the full run, throughput at saturation).
 *
 * The gateway has no switch to turn a stage off, and the benchmark adds none: the ladder is built
 * from configurations that exist.
 *   direct            the upstream alone (baseline)
 *   pass-through      the cheapest policy, [{ tool: '*', action: 'allow' }]: authentication,
 *                     connection lookup, identity, protocol checks, one guard round trip (kill
 *                     switch check + durable audit spool write), credential decryption, forwarding
 *   + policy          1,000 rules, the match at the end (999 `*` rules whose condition on
 *                     metadata.team fails, then `echo` → allow): every rule is a candidate and checked
 *   + rate window     the same, the matching rule with a rateLimit (1e9 per 60 s by user): one exact
 *                     sliding-window count and insert in the guard's SQLite
 *   + events          the same, with a live SSE subscriber on GET /api/v1/events (fan-out of each
 *                     tool_call event; the event is published whether or not anyone listens)
 * Audit cannot be isolated: the durable spool write is part of the one guard round trip every
 * admitted call makes. Its cost is estimated in the breakdown suite (guard admit with and without
 * an audit row).
 */
import { type BenchContext, pick } from './lib/context.ts';
import { closedLoop, sequential } from './lib/load.ts';
import { echoMessage } from './lib/mcp.ts';
import { agentsFor, type CallPath, callPaths, destroyAgents, echoFire } from './lib/paths.ts';
import { type SseSubscriber, subscribe } from './lib/sse.ts';
import { setPolicy } from './lib/stack.ts';
import { quantile, roundsSpread, type Spread, spread } from './lib/stats.ts';

export interface LadderStage {
  name: string;
  p50: Spread;
  p99: Spread;
  /** p50 minus the previous stage's p50 (per-round differences for the spread). */
  stepP50: Spread | null;
  /** p50 minus direct. */
  addedP50: Spread | null;
  rps: Spread | null;
  n: number;
  errors: number;
}

export interface LadderResult {
  path: string;
  rules: number;
  stages: LadderStage[];
}

const RULES = 1_000;

function bigPolicy(rateLimit: boolean): unknown[] {
  const rules: unknown[] = [];
  for (let i = 0; i < RULES - 1; i++) {
    rules.push({ tool: '*', action: 'deny', conditions: { 'metadata.team': { eq: `team-${i}` } } });
  }
  rules.push({
    tool: 'echo',
    action: 'allow',
    ...(rateLimit ? { rateLimit: { limit: 1_000_000_000, windowSeconds: 60, by: 'user' } } : {}),
  });
  return rules;
}

interface Stage {
  name: string;
  direct: boolean;
  policy: unknown[] | null;
  subscriber: boolean;
}

const STAGES: Stage[] = [
  { name: 'direct', direct: true, policy: null, subscriber: false },
  { name: 'pass-through', direct: false, policy: [{ tool: '*', action: 'allow' }], subscriber: false },
  { name: '+ policy (1,000 rules)', direct: false, policy: bigPolicy(false), subscriber: false },
  { name: '+ rate window', direct: false, policy: bigPolicy(true), subscriber: false },
  { name: '+ events (1 SSE subscriber)', direct: false, policy: bigPolicy(true), subscriber: true },
];

export async function runLadder(ctx: BenchContext): Promise<LadderResult> {
  const paths = callPaths(ctx.stack, ctx.slug, ctx.sessionId);
  const direct = paths.find((p) => p.name === 'A')!;
  const gateway = paths.find((p) => p.name === 'R') ?? paths.find((p) => p.name === 'B')!;
  const rounds = pick(ctx, 2, 3);
  const block = pick(ctx, 30, 100);
  const saturation = !ctx.quick;
  const message = echoMessage(1024);
  const perRound = new Map<string, number[][]>(STAGES.map((s) => [s.name, []]));
  const rps = new Map<string, number[]>(STAGES.map((s) => [s.name, []]));
  const errors = new Map<string, number>(STAGES.map((s) => [s.name, 0]));

  try {
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? STAGES : [...STAGES].reverse();
      for (const stage of order) {
        const path: CallPath = stage.direct ? direct : gateway;
        if (stage.policy) await setPolicy(ctx.stack, ctx.slug, stage.policy);
        let sub: SseSubscriber | null = null;
        if (stage.subscriber) {
          sub = subscribe(new URL(`${ctx.stack.gatewayUrl}/api/v1/events`), ctx.stack.apiKey, () => {});
          await sub.ready;
        }
        const agents = agentsFor([path], 1);
        try {
          const fire = echoFire(path, agents.get(path.name)!, message);
          await sequential(pick(ctx, 10, 30), fire);
          const res = await sequential(block, fire);
          perRound.get(stage.name)!.push(res.latencies);
          errors.set(stage.name, errors.get(stage.name)! + res.errors);
          if (saturation) {
            const many = agentsFor([path], 32);
            try {
              const sat = await closedLoop(32, 2_000, echoFire(path, many.get(path.name)!, message));
              rps.get(stage.name)!.push(sat.rps);
            } finally {
              destroyAgents(many);
            }
          }
        } finally {
          destroyAgents(agents);
          sub?.close();
        }
      }
    }
  } finally {
    await setPolicy(ctx.stack, ctx.slug, [{ tool: '*', action: 'allow' }]);
  }

  const stages: LadderStage[] = [];
  const baseline = perRound.get('direct')!;
  let previous: number[][] | null = null;
  for (const stage of STAGES) {
    const rs = perRound.get(stage.name)!;
    const all = rs.flat();
    const p50s = rs.map((x) => quantile(x, 0.5));
    const diff = (other: number[][]) =>
      spread(
        quantile(all, 0.5) - quantile(other.flat(), 0.5),
        p50s.map((v, i) => v - quantile(other[i]!, 0.5)),
      );
    stages.push({
      name: stage.name,
      p50: spread(quantile(all, 0.5), p50s),
      p99: spread(
        quantile(all, 0.99),
        rs.map((x) => quantile(x, 0.99)),
      ),
      stepP50: previous ? diff(previous) : null,
      addedP50: stage.direct ? null : diff(baseline),
      rps: saturation ? roundsSpread(rps.get(stage.name)!) : null,
      n: all.length,
      errors: errors.get(stage.name)!,
    });
    previous = rs;
    const last = stages[stages.length - 1]!;
    ctx.log(
      `ladder ${stage.name}: p50 ${last.p50.value.toFixed(2)} ms p99 ${last.p99.value.toFixed(2)} ms` +
        (last.stepP50 ? ` step ${last.stepP50.value.toFixed(2)} ms` : '') +
        (last.rps ? ` ${last.rps.value.toFixed(0)} rps` : ''),
    );
  }
  return { path: gateway.label, rules: RULES, stages };
}
