/**
 * Lazy compilation (policy.compile.ts) and the published form (policy.published.ts): a policy loaded
 * from its published text, whose rules compile only when an evaluation reaches them, decides every
 * request exactly as the same policy compiled eagerly (every rule compiled before any evaluation).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allRules, compilePolicy, type Decision } from './policy.compile.ts';
import {
  type CompiledPolicy,
  couldAllowCaller,
  couldEverAllow,
  type EvaluationRequest,
  evaluate,
} from './policy.evaluate.ts';
import { explain } from './policy.explain.ts';
import { compilePublished, encodePublished, POLICY_FORMAT } from './policy.published.ts';
import { parsePolicy, type Rule } from './policy.schema.ts';

function validated(rules: unknown[]): Rule[] {
  const parsed = parsePolicy({ rules });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues.slice(0, 3)));
  return parsed.policy.rules;
}

/** As a gateway loads it: the published text, parsed, compiled lazily. */
function loadPublished(rules: Rule[], version = 3): CompiledPolicy {
  const compiled = compilePublished(JSON.parse(encodePublished(version, rules)));
  if (!compiled) throw new Error('not a trusted format');
  return compiled;
}

/** Every rule compiled up front, as before lazy compilation. */
function eager(rules: Rule[], version = 3): CompiledPolicy {
  const compiled = compilePolicy({ rules }, version);
  allRules(compiled);
  return compiled;
}

function compiledCount(compiled: CompiledPolicy): number {
  return compiled.compiledRules.filter((rule) => rule !== undefined).length;
}

function makeRng(seed: number) {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

const pick = <T>(rng: () => number, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;

/** Conditions of every kind: value operators, argument operators, teams, annotations. */
function conditionFor(rng: () => number, i: number): Record<string, unknown> | undefined {
  switch (Math.floor(rng() * 12)) {
    case 0:
      return { 'metadata.team': { eq: `t${i % 4}` } };
    case 1:
      return { user: { in: [`u${i % 3}`, `u${(i + 1) % 3}`] } };
    case 2:
      return { 'metadata.role': { neq: 'guest' }, 'metadata.env': { nin: ['prod'] } };
    case 3:
      return { 'args.path': { pathWithin: [`/srv/t${i % 3}`] } };
    case 4:
      return { 'args.amount': { lte: 100 + (i % 5) * 50 }, 'args.currency': { in: ['EUR'] } };
    case 5:
      return { 'args.url': { hostIn: ['api.example.com', `*.s${i % 3}.example.com`] } };
    case 6:
      return { 'args.ref': { matches: '[A-Z]{2}-\\d{2,4}' }, 'args.note': { maxLength: 5 } };
    case 7:
      return { team: { in: [`team${i % 3}`] } };
    case 8:
      return { 'annotations.readOnlyHint': true };
    case 9:
      return { [`metadata.f${i % 7}`]: { exists: true } };
    default:
      return undefined;
  }
}

function generatedRules(count: number, seed: number): Rule[] {
  const rng = makeRng(seed);
  const rules: unknown[] = [];
  for (let i = 0; i < count; i++) {
    const r = rng();
    const tool =
      r < 0.4
        ? `tool_${i % 50}`
        : r < 0.7
          ? `svc${i % 9}_*`
          : r < 0.8
            ? `*_del_${i % 5}`
            : r < 0.85
              ? '?ool_*'
              : '*';
    const rule: Record<string, unknown> = { tool, action: pick(rng, ['allow', 'deny', 'alert'] as const) };
    const conditions = conditionFor(rng, i);
    if (conditions) rule.conditions = conditions;
    if (rng() < 0.1) rule.model = pick(rng, ['gpt-*', 'claude-?-*', '*mini']);
    if (rng() < 0.05) rule.endpoint = pick(rng, ['chat.completions', 'embeddings', 'messages']);
    if (rng() < 0.1) rule.rateLimit = { limit: 1 + (i % 9), windowSeconds: 60, by: 'user' };
    if (rng() < 0.1) rule.reason = `rule ${i}`;
    rules.push(rule);
  }
  return validated(rules);
}

function generatedRequest(rng: () => number): EvaluationRequest {
  const k = Math.floor(rng() * 60);
  return {
    tool: pick(rng, [`tool_${k}`, `svc${k % 11}_op`, `x_del_${k % 6}`, `TOOL_${k}`, `Tool_${k}_x`]),
    model: rng() < 0.5 ? null : pick(rng, ['gpt-4o', 'claude-3-opus', 'o1-mini', 'other']),
    endpoint: rng() < 0.5 ? null : pick(rng, ['chat.completions', 'embeddings', 'messages', 'passthrough']),
    user: `u${Math.floor(rng() * 4)}`,
    teams: rng() < 0.5 ? [] : [`team${Math.floor(rng() * 4)}`],
    metadata: {
      team: `t${Math.floor(rng() * 5)}`,
      role: rng() < 0.3 ? 'guest' : 'dev',
      env: rng() < 0.5 ? 'prod' : 'dev',
      ...(rng() < 0.5 ? { [`f${Math.floor(rng() * 7)}`]: 'x' } : {}),
    },
    args: {
      path: rng() < 0.5 ? `/srv/t${Math.floor(rng() * 4)}/a.txt` : '/srv/t1/../etc/passwd',
      amount: Math.floor(rng() * 400),
      currency: rng() < 0.7 ? 'EUR' : 'USD',
      url: rng() < 0.5 ? 'https://api.example.com/x' : `https://a.s${Math.floor(rng() * 4)}.example.com/`,
      ref: rng() < 0.6 ? 'AB-123' : 'ab',
      note: rng() < 0.5 ? 'hi' : 'too long',
    },
    annotations: rng() < 0.5 ? { readOnlyHint: rng() < 0.5 } : null,
  };
}

/** What a decision says, without its identity (two compilations build distinct frozen objects). */
function same(decision: Decision) {
  return { ...decision };
}

describe('lazy compilation — same decisions as eager', () => {
  it('generated policies of every rule kind: evaluate, couldAllowCaller, couldEverAllow, explain agree', () => {
    for (const [count, seed] of [
      [40, 1],
      [400, 2],
      [2000, 3],
    ] as const) {
      const rules = generatedRules(count, seed);
      const lazy = loadPublished(rules);
      const fromObjects = compilePolicy({ rules }, 3);
      const reference = eager(rules);
      const rng = makeRng(seed * 7);
      for (let i = 0; i < 600; i++) {
        const request = generatedRequest(rng);
        const expected = same(evaluate(reference, request));
        expect(same(evaluate(lazy, request)), `${count} rules, request ${i}`).toEqual(expected);
        expect(same(evaluate(fromObjects, request))).toEqual(expected);
        expect(couldAllowCaller(lazy, request)).toBe(couldAllowCaller(reference, request));
        expect(couldEverAllow(lazy, request.tool, request)).toBe(
          couldEverAllow(reference, request.tool, request),
        );
        if (i % 50 === 0) expect(same(explain(lazy, request).decision)).toEqual(expected);
      }
    }
  });

  it('random small policies (fast-check): a fresh lazy load decides each request like the eager form', () => {
    const ruleIndexArb = fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 1, maxLength: 25 });
    // Each rule drawn from the generator's pool, in a random order: orders and kinds vary.
    const pool = generatedRules(200, 11);
    fc.assert(
      fc.property(ruleIndexArb, fc.integer({ min: 1, max: 1_000_000 }), (seeds, requestSeed) => {
        const rules = seeds.map((s) => pool[s % pool.length]!);
        const reference = eager(rules);
        const rng = makeRng(requestSeed);
        for (let i = 0; i < 10; i++) {
          // A new load per request too: whichever rules the first evaluation compiles, it decides alike.
          const request = generatedRequest(rng);
          const expected = same(evaluate(reference, request));
          expect(same(evaluate(loadPublished(rules), request))).toEqual(expected);
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('lazy compilation — what a load and a decision compile', () => {
  it('a load compiles no rule; a decision compiles only candidate rules up to the one that decides', () => {
    const rules = validated([
      { tool: 'read_*', action: 'deny', conditions: { user: 'mallory' } },
      { tool: 'other', action: 'allow' },
      { tool: 'read_*', action: 'allow' },
      { tool: '*', action: 'deny' },
      ...Array.from({ length: 500 }, (_, i) => ({ tool: `t${i}`, action: 'allow' as const })),
    ]);
    const compiled = loadPublished(rules);
    expect(compiledCount(compiled)).toBe(0);
    expect(compiled.matchers.filter(Boolean)).toHaveLength(0);

    expect(evaluate(compiled, { tool: 'read_file', user: 'alice' }).ruleIndex).toBe(2);
    // Rules 0 and 2 were examined; rule 1 is not a candidate, rule 3 and after were not reached.
    expect(compiled.compiledRules.map((rule, i) => (rule ? i : -1)).filter((i) => i >= 0)).toEqual([0, 2]);

    expect(evaluate(compiled, { tool: 't42' }).ruleIndex).toBe(3);
    expect(compiledCount(compiled)).toBe(3);
  });

  it('fields first seen in a rule compiled mid-evaluation get their own memo slots', () => {
    const fields = Array.from({ length: 40 }, (_, i) => `metadata.k${i}`);
    const rules = validated([
      ...fields.map((field, i) => ({
        tool: '*',
        action: 'deny' as const,
        conditions: { [field]: `v${i}x` },
      })),
      { tool: '*', action: 'allow', conditions: { 'metadata.k39': 'v39', 'metadata.k0': 'v0' } },
    ]);
    const compiled = loadPublished(rules);
    const metadata = Object.fromEntries(fields.map((field, i) => [field.slice('metadata.'.length), `v${i}`]));
    expect(evaluate(compiled, { tool: 'x', metadata }).ruleIndex).toBe(40);
    expect(compiled.fieldMemo.stamps.length).toBeGreaterThanOrEqual(40);
    expect(evaluate(compiled, { tool: 'x', metadata: { ...metadata, k7: 'v7x' } }).ruleIndex).toBe(7);
  });
});

describe('published form', () => {
  const rules = validated([
    { tool: 'a_*', action: 'allow', conditions: { user: 'u' } },
    { model: 'gpt-*', action: 'deny' },
  ]);

  it('is stamped with POLICY_FORMAT and keeps the version', () => {
    const stored = JSON.parse(encodePublished(9, rules));
    expect(stored).toMatchObject({
      version: 9,
      validated: POLICY_FORMAT,
      tools: ['a_*', null],
      targeted: [1],
    });
    expect(compilePublished(stored)?.version).toBe(9);
  });

  it('still reads the previous format (rules as objects) without validating it', () => {
    const compiled = compilePublished({ version: 4, rules, validated: 1 });
    expect(compiled && evaluate(compiled, { tool: 'a_b', user: 'u' }).ruleIndex).toBe(0);
    expect(compiled && evaluate(compiled, { tool: 'x', model: 'gpt-4' }).ruleIndex).toBe(1);
  });

  it('leaves anything else to validation (null): no stamp, unknown format, inconsistent heads', () => {
    const stored = JSON.parse(encodePublished(9, rules));
    expect(compilePublished({ version: 9, rules })).toBeNull();
    expect(compilePublished({ ...stored, validated: 99 })).toBeNull();
    expect(compilePublished({ ...stored, tools: ['a_*'] })).toBeNull();
    expect(compilePublished({ ...stored, targeted: [5] })).toBeNull();
    expect(compilePublished({ ...stored, rules: rules })).toBeNull();
  });
});
