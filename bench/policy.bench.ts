/**
 * Policy evaluation, pure code in Node: µs per decision at 10, 1,000 and 10,000 rules.
 *
 *   node bench/policy.bench.ts [--quick]      (Node 22 strips the types; run through npm or npx so
 *                                              node_modules/.bin/node, Node 22, is used)
 *
 * The policies mix what real ones contain — exact tool names, prefix globs (`svc12_*`), a few
 * suffix globs (`*_delete_7`, candidates for every tool) and a few tool-independent rules
 * (`*` with a condition) — with conditions on `user` and `metadata.*` using eq/neq/in/nin, and on
 * `args.*` (pathWithin, lte, hostIn, matches, maxLength: issue 22), on the session's facts
 * (`session.touched` / `session.called` on deny rules: the evaluation collects them as gates for the
 * guard, policy.session.ts), and a final deny. The row counts how many rules read arguments and how
 * many read session facts, and the report labels the target row with them. Requests draw 90% from a hot set of 100 names (their candidate rules are cached)
 * and 10% are names never seen before (uncached: the candidate list is computed, and the FIFO
 * candidate cache churns as it would under a caller spraying names). Each decision is timed on
 * its own (performance.now(); the timer's own cost is measured and reported).
 *
 * Also reported: the cost of loading a published policy (JSON.parse + compilation; validation is
 * paid at publish and timed apart), which is paid on every KV read of a new version per isolate,
 * and the cost of the first decisions after a load, which compile the rules they examine.
 */

import { quantile, summarize } from './lib/stats.ts';
import { registerTsResolve } from './lib/ts-resolve.ts';

registerTsResolve();
const { evaluate } = await import('../workers/policy/policy.evaluate.ts');
const { compilePublished, encodePublished } = await import('../workers/policy/policy.published.ts');
const { parsePolicy } = await import('../workers/policy/policy.schema.ts');

type Rule = {
  tool: string;
  action: 'allow' | 'deny' | 'alert';
  conditions?: Record<string, unknown>;
};

export interface PolicyBenchRow {
  rules: number;
  /** Rule mix actually generated. */
  mix: {
    exact: number;
    prefix: number;
    suffix: number;
    anyTool: number;
    /** Rules with at least one `args.*` condition. */
    argsRules?: number;
    /** Rules with a `session.touched` / `session.called` condition (deny rules). */
    sessionRules?: number;
  };
  /** µs per decision. */
  all: { p50: number; p99: number; max: number; n: number };
  /** Names from the hot set (candidate rules usually cached; the churn of new names can evict them). */
  cached: { p50: number; p99: number };
  /** Names never seen before: candidate rules computed (index lookups + glob tests). */
  uncached: { p50: number; p99: number };
  /**
   * ms to load the policy as the gateway does on a KV read (policy.store.ts): JSON.parse and
   * compilation of the published form (total = parse + compile). Validation (zod) is paid once at
   * publish, not by gateways, and is reported apart. Rules compile lazily (policy.compile.ts).
   */
  loadMs: { parse: number; validate: number; compile: number; total: number };
  /**
   * µs of the first decisions on a freshly loaded policy, which also compile the rules they
   * examine (lazy compile): the first one (p50 over loads), and the sum of the first 100
   * decisions of the request mix (hot and new names).
   */
  firstDecisionsUs: { first: number; first100: number };
  /** Decisions by outcome, as a sanity check that conditions really decide. */
  outcomes: Record<string, number>;
}

export interface PolicyBenchResult {
  timerOverheadUs: number;
  evaluations: number;
  rows: PolicyBenchRow[];
}

function makeRng(seed: number) {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

/** Half of the conditioned rules read arguments (issue 22): the target holds with them in the mix. */
function condition(rng: () => number, i: number): Record<string, unknown> | undefined {
  switch (Math.floor(rng() * (process.env.NO_ARGS ? 5 : process.env.NO_SESSION ? 9 : 10))) {
    case 9:
      return i % 2 === 0
        ? { 'session.touched': ['untrusted_input', `label${i % 10}`], 'metadata.env': { nin: ['dev'] } }
        : { 'session.called': [`read_${i % 50}_*`, 'fetch_*'] };
    case 5:
      return { 'args.path': { pathWithin: [`/srv/team${i % 20}`, '/tmp'] } };
    case 6:
      return { 'args.amount': { lte: 1000 + (i % 10) * 100 }, 'args.currency': { in: ['EUR', 'USD'] } };
    case 7:
      return { 'args.url': { hostIn: ['api.example.com', `*.svc${i % 30}.example.com`] } };
    case 8:
      return { 'args.ref': { matches: `[A-Z]{2}-\\d{3,6}` }, 'args.note': { maxLength: 200 } };
    case 0:
      return { 'metadata.team': { eq: `team${i % 40}` } };
    case 1:
      return { user: { in: [`user${i % 30}`, `user${(i + 7) % 30}`, `user${(i + 13) % 30}`] } };
    case 2:
      return { 'metadata.role': { neq: 'guest' }, 'metadata.env': { nin: ['prod'] } };
    case 3:
      return { 'metadata.tier': { in: [1, 2] } };
    default:
      return undefined;
  }
}

export function buildPolicy(count: number, seed = 1): { rules: Rule[]; mix: PolicyBenchRow['mix'] } {
  const rng = makeRng(seed);
  const rules: Rule[] = [];
  const mix = { exact: 0, prefix: 0, suffix: 0, anyTool: 0, argsRules: 0, sessionRules: 0 };
  const actions = ['allow', 'deny', 'alert'] as const;
  for (let i = 0; i < count - 1; i++) {
    const r = rng();
    const drawn = actions[Math.floor(rng() * 3)]!;
    const conditions = condition(rng, i);
    const keys = Object.keys(conditions ?? {});
    if (keys.some((k) => k.startsWith('args.'))) mix.argsRules++;
    const bySession = keys.some((k) => k.startsWith('session.'));
    if (bySession) mix.sessionRules++;
    // Session facts may only take access away (policy.session.ts): such rules deny.
    const action = bySession ? 'deny' : drawn;
    let tool: string;
    if (r < 0.6) {
      tool = `tool_${i}`;
      mix.exact++;
    } else if (r < 0.9) {
      tool = `svc${i % 200}_*`;
      mix.prefix++;
    } else if (r < 0.95) {
      tool = `*_delete_${i % 50}`;
      mix.suffix++;
    } else {
      tool = '*';
      mix.anyTool++;
    }
    // A tool-independent rule always carries a condition, or it would end the evaluation for everyone.
    const withCondition =
      tool === '*' ? (conditions ?? { 'metadata.team': { eq: `team${i % 40}` } }) : conditions;
    rules.push({ tool, action, ...(withCondition ? { conditions: withCondition } : {}) });
  }
  rules.push({ tool: '*', action: 'deny' });
  return { rules, mix };
}

function requestFor(rng: () => number, tool: string) {
  return {
    tool,
    user: `user${Math.floor(rng() * 40)}`,
    metadata: {
      team: `team${Math.floor(rng() * 50)}`,
      role: rng() < 0.2 ? 'guest' : 'dev',
      env: rng() < 0.5 ? 'prod' : 'staging',
      tier: Math.floor(rng() * 4),
    },
    args: {
      path: rng() < 0.5 ? `/srv/team${Math.floor(rng() * 25)}/notes/report.md` : '/srv/team1/../etc/passwd',
      amount: Math.floor(rng() * 3000),
      currency: rng() < 0.8 ? 'EUR' : 'JPY',
      url:
        rng() < 0.5
          ? 'https://api.example.com/v1/items?id=7'
          : `https://a.svc${Math.floor(rng() * 40)}.example.com/x`,
      ref: rng() < 0.7 ? 'AB-12345' : 'ab-1',
      note: 'quarterly numbers',
    },
  };
}

function toolName(rng: () => number, count: number, unique: number | null): string {
  const k = Math.floor(rng() * Math.max(1, count));
  const suffix = unique === null ? '' : `_u${unique}`;
  switch (Math.floor(rng() * 3)) {
    case 0:
      return unique === null ? `tool_${k}` : `tool_${k}${suffix}`;
    case 1:
      return `svc${k % 200}_op${k % 7}${suffix}`;
    default:
      return `x${k % 13}_delete_${k % 50}${suffix}`;
  }
}

function timerOverheadUs(): number {
  const samples: number[] = [];
  for (let i = 0; i < 200_000; i++) {
    const t = performance.now();
    samples.push(performance.now() - t);
  }
  return quantile(samples, 0.5) * 1000;
}

export function benchPolicy(count: number, evaluations: number): PolicyBenchRow {
  const { rules, mix } = buildPolicy(count);

  // What the gateway loads: the rules as validated and published (policy.published.ts).
  const validatedAtPublish = parsePolicy({ rules });
  if (!validatedAtPublish.ok) throw new Error('generated policy invalid');
  const stored = encodePublished(1, validatedAtPublish.policy.rules);
  const phases = {
    parse: [] as number[],
    validate: [] as number[],
    compile: [] as number[],
    total: [] as number[],
    first: [] as number[],
    first100: [] as number[],
  };
  const load = () => {
    const compiled = compilePublished(JSON.parse(stored));
    if (!compiled) throw new Error('published policy not in a trusted format');
    return compiled;
  };
  let compiled = load();
  const firstRng = makeRng(7);
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    const raw = JSON.parse(stored);
    const t1 = performance.now();
    compiled = compilePublished(raw) ?? compiled;
    const t2 = performance.now();
    // Validation is paid once, when the policy is published (PUT), not by gateways: timed apart.
    const parsed = parsePolicy({ rules });
    if (!parsed.ok) throw new Error(`generated policy invalid: ${JSON.stringify(parsed.issues.slice(0, 3))}`);
    const t3 = performance.now();
    // The first decisions on this fresh load pay for compiling the rules they examine.
    const t4 = performance.now();
    evaluate(compiled, requestFor(firstRng, toolName(firstRng, count, null)));
    const t5 = performance.now();
    for (let k = 1; k < 100; k++) evaluate(compiled, requestFor(firstRng, toolName(firstRng, count, null)));
    const t6 = performance.now();
    if (i < 2) continue; // the first loads also pay for JIT compilation
    phases.first.push((t5 - t4) * 1000);
    phases.first100.push((t6 - t4) * 1000);
    phases.parse.push(t1 - t0);
    phases.compile.push(t2 - t1);
    phases.validate.push(t3 - t2);
    phases.total.push(t2 - t0);
  }

  const rng = makeRng(99);
  const hot = Array.from({ length: 100 }, () => requestFor(rng, toolName(rng, count, null)));
  let unique = 0;
  const next = () =>
    rng() < 0.9
      ? { req: hot[Math.floor(rng() * hot.length)]!, cached: true }
      : { req: requestFor(rng, toolName(rng, count, unique++)), cached: false };

  for (let i = 0; i < Math.min(20_000, evaluations); i++) evaluate(compiled, next().req); // warm-up (JIT)

  const all: number[] = [];
  const cached: number[] = [];
  const uncached: number[] = [];
  const outcomes: Record<string, number> = {};
  for (let i = 0; i < evaluations; i++) {
    const { req, cached: isCached } = next();
    const t = performance.now();
    const decision = evaluate(compiled, req);
    const us = (performance.now() - t) * 1000;
    all.push(us);
    (isCached ? cached : uncached).push(us);
    const key = decision.matched ? decision.action : 'default-deny';
    outcomes[key] = (outcomes[key] ?? 0) + 1;
  }
  const s = summarize(all);
  return {
    rules: count,
    mix,
    all: { p50: s.p50, p99: s.p99, max: s.max, n: s.n },
    cached: { p50: quantile(cached, 0.5), p99: quantile(cached, 0.99) },
    uncached: { p50: quantile(uncached, 0.5), p99: quantile(uncached, 0.99) },
    loadMs: {
      parse: quantile(phases.parse, 0.5),
      validate: quantile(phases.validate, 0.5),
      compile: quantile(phases.compile, 0.5),
      total: quantile(phases.total, 0.5),
    },
    firstDecisionsUs: { first: quantile(phases.first, 0.5), first100: quantile(phases.first100, 0.5) },
    outcomes,
  };
}

export function runPolicyBench(quick: boolean, log: (m: string) => void = console.log): PolicyBenchResult {
  const evaluations = quick ? 30_000 : 300_000;
  const overhead = timerOverheadUs();
  const rows: PolicyBenchRow[] = [];
  for (const count of [10, 1_000, 10_000]) {
    const row = benchPolicy(count, evaluations);
    rows.push(row);
    log(
      `policy ${count} rules (${row.mix.argsRules} with args.*, ${row.mix.sessionRules} with session.* conditions): p50 ${row.all.p50.toFixed(2)} µs, p99 ${row.all.p99.toFixed(2)} µs ` +
        `(hot names p99 ${row.cached.p99.toFixed(2)}, new names p99 ${row.uncached.p99.toFixed(2)}), load ${row.loadMs.total.toFixed(1)} ms (parse ${row.loadMs.parse.toFixed(1)} + compile ${row.loadMs.compile.toFixed(1)}; validation at publish ${row.loadMs.validate.toFixed(1)}), ` +
        `first decision after load ${row.firstDecisionsUs.first.toFixed(0)} µs, first 100 ${row.firstDecisionsUs.first100.toFixed(0)} µs`,
    );
  }
  return { timerOverheadUs: overhead, evaluations, rows };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = runPolicyBench(process.argv.includes('--quick'));
  console.log(JSON.stringify(result, null, 2));
}
