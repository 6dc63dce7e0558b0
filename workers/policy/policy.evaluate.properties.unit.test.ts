/**
 * Policy evaluation (pure), property tests: random policies and requests (fast-check) decided by
 * evaluate and by an independent, deliberately naive reference implementation must agree.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CompiledPolicy,
  candidateRules,
  compilePolicy,
  couldEverAllow,
  type EvaluationRequest,
  evaluate,
} from './policy.evaluate.ts';
import { explain } from './policy.explain.ts';
import type { Condition, Policy, Rule, Scalar } from './policy.schema.ts';

// -----------------------------------------------------------------------------------------------
// Property tests against an independent, deliberately naive reference implementation.
// -----------------------------------------------------------------------------------------------

function referenceGlob(glob: string, input: string): boolean {
  if (glob === '') return input === '';
  if (glob[0] === '*') {
    for (let i = 0; i <= input.length; i++) if (referenceGlob(glob.slice(1), input.slice(i))) return true;
    return false;
  }
  if (input === '') return false;
  return (glob[0] === '?' || glob[0] === input[0]) && referenceGlob(glob.slice(1), input.slice(1));
}

function referenceLookup(request: EvaluationRequest, field: string): { found: boolean; value: unknown } {
  if (field === 'user') return { found: request.user != null, value: request.user };
  let current: unknown = request.metadata;
  for (const key of field.split('.').slice(1)) {
    if (typeof current !== 'object' || current === null || Array.isArray(current))
      return { found: false, value: undefined };
    if (!Object.keys(current).includes(key)) return { found: false, value: undefined };
    current = (current as Record<string, unknown>)[key];
  }
  return { found: current !== undefined, value: current };
}

function referenceHolds(condition: Condition, value: unknown): boolean {
  if (!['string', 'number', 'boolean'].includes(typeof value)) return false;
  if (typeof condition !== 'object') return value === condition;
  if ('eq' in condition) return value === condition.eq;
  if ('neq' in condition) return value !== condition.neq;
  if ('in' in condition) return condition.in.some((candidate) => candidate === value);
  if ('nin' in condition) return !condition.nin.some((candidate) => candidate === value);
  throw new Error('the reference covers eq/neq/in/nin only (argument operators: policy.args.unit.test.ts)');
}

/** Tool glob (any name without one), model glob and endpoint list, by their plain definitions. */
function referenceTarget(rule: Rule, request: EvaluationRequest): boolean {
  if (rule.tool !== undefined && !referenceGlob(rule.tool, request.tool)) return false;
  if (rule.model !== undefined && (request.model == null || !referenceGlob(rule.model, request.model)))
    return false;
  if (rule.endpoint === undefined) return true;
  return request.endpoint != null && [rule.endpoint].flat().some((e) => e === request.endpoint);
}

function referenceDecide(
  rules: Rule[],
  request: EvaluationRequest,
): { action: string; ruleIndex: number | null } {
  for (const [index, rule] of rules.entries()) {
    if (!referenceTarget(rule, request)) continue;
    const conditionsHold = Object.entries(rule.conditions ?? {}).every(([field, condition]) => {
      const { found, value } = referenceLookup(request, field);
      return found && referenceHolds(condition, value);
    });
    if (conditionsHold) return { action: rule.action, ruleIndex: index };
  }
  return { action: 'deny', ruleIndex: null };
}

const valueArb: fc.Arbitrary<Scalar> = fc.constantFrom('a', 'b', '1', 1, 2, 0, true, false);

const conditionArb: fc.Arbitrary<Condition> = fc.oneof(
  valueArb,
  fc.record({ eq: valueArb }),
  fc.record({ neq: valueArb }),
  fc.record({ in: fc.array(valueArb, { minLength: 1, maxLength: 3 }) }),
  fc.record({ nin: fc.array(valueArb, { minLength: 1, maxLength: 3 }) }),
);

const FIELDS = ['user', 'metadata.role', 'metadata.team.id', 'metadata.a.b.c'];

const globArb = fc.string({ unit: fc.constantFrom('a', 'b', '_', '*', '?'), minLength: 1, maxLength: 5 });

const ENDPOINTS = ['chat.completions', 'embeddings', 'messages'] as const;

const endpointArb = fc.constantFrom(...ENDPOINTS);

// Tool-only (MCP-style) rules, and LLM rules with a model glob and/or endpoints (tool optional).
const ruleArb: fc.Arbitrary<Rule> = fc.oneof(
  fc.record(
    {
      tool: globArb,
      action: fc.constantFrom('allow', 'deny', 'alert'),
      conditions: fc.dictionary(fc.constantFrom(...FIELDS), conditionArb, { maxKeys: 2 }),
    },
    { requiredKeys: ['tool', 'action'] },
  ),
  fc
    .record(
      {
        tool: globArb,
        model: globArb,
        endpoint: fc.oneof(endpointArb, fc.uniqueArray(endpointArb, { minLength: 1, maxLength: 2 })),
        action: fc.constantFrom('allow', 'deny', 'alert'),
        conditions: fc.dictionary(fc.constantFrom(...FIELDS), conditionArb, { maxKeys: 2 }),
      },
      { requiredKeys: ['action'] },
    )
    .filter((rule) => rule.tool !== undefined || rule.model !== undefined || rule.endpoint !== undefined),
);

const oddValueArb = fc.oneof(
  valueArb,
  fc.constant(null),
  fc.constant({}),
  fc.constant(['a']),
  fc.constant({ id: 1 }),
);

const metadataArb = fc.option(
  fc.record(
    {
      role: oddValueArb,
      team: fc.oneof(oddValueArb, fc.record({ id: oddValueArb }, { requiredKeys: [] })),
      a: fc.oneof(oddValueArb, fc.record({ b: fc.oneof(oddValueArb, fc.record({ c: oddValueArb })) })),
    },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);

const requestArb: fc.Arbitrary<EvaluationRequest> = fc.record(
  {
    tool: fc.string({ unit: fc.constantFrom('a', 'b', '_'), maxLength: 4 }),
    model: fc.string({ unit: fc.constantFrom('a', 'b', '_'), maxLength: 4 }),
    endpoint: fc.constantFrom(...ENDPOINTS, 'passthrough'),
    user: fc.constantFrom('a', 'b', '1', ''),
    metadata: metadataArb,
  },
  { requiredKeys: ['tool'] },
);

function compileRules(rules: Rule[], version = 1): CompiledPolicy {
  const policy: Policy = { rules };
  return compilePolicy(policy, version);
}

describe('evaluate — properties', () => {
  it('(a) first match: agrees with the naive reference; explain agrees with evaluate', () => {
    fc.assert(
      fc.property(
        fc.array(ruleArb, { maxLength: 12 }),
        fc.array(requestArb, { minLength: 1, maxLength: 8 }),
        (rules, requests) => {
          const compiled = compileRules(rules);
          // Two passes: the second runs against a warm candidate cache.
          for (const request of [...requests, ...requests]) {
            const expected = referenceDecide(rules, request);
            const decision = evaluate(compiled, request);
            expect({ action: decision.action, ruleIndex: decision.ruleIndex }).toEqual(expected);
            expect(decision.matched).toBe(expected.ruleIndex !== null);
            expect(explain(compiled, request).decision).toBe(decision);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('(b) a rule conditioned on a field absent from the request never changes the decision', () => {
    const absentFieldArb = fc.constantFrom('metadata.absent', 'metadata.zz.y', 'metadata.q.r.s');
    fc.assert(
      fc.property(
        fc.array(ruleArb, { maxLength: 10 }),
        requestArb,
        fc.nat(),
        ruleArb,
        absentFieldArb,
        conditionArb,
        (rules, request, position, extra, absentField, condition) => {
          const at = position % (rules.length + 1);
          const inserted: Rule = { ...extra, conditions: { ...extra.conditions, [absentField]: condition } };
          const before = evaluate(compileRules(rules), request);
          const after = evaluate(
            compileRules([...rules.slice(0, at), inserted, ...rules.slice(at)]),
            request,
          );
          expect(after.action).toBe(before.action);
          expect(after.matched).toBe(before.matched);
          const shifted =
            before.ruleIndex !== null && before.ruleIndex >= at ? before.ruleIndex + 1 : before.ruleIndex;
          expect(after.ruleIndex).toBe(shifted);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('(b) also holds for the user field when the request has no user', () => {
    fc.assert(
      fc.property(
        fc.array(ruleArb, { maxLength: 10 }),
        requestArb,
        fc.nat(),
        conditionArb,
        (rules, request, position, condition) => {
          const anonymous = { ...request, user: undefined };
          const at = position % (rules.length + 1);
          const inserted: Rule = { tool: '*', action: 'deny', conditions: { user: condition } };
          const before = evaluate(compileRules(rules), anonymous);
          const after = evaluate(
            compileRules([...rules.slice(0, at), inserted, ...rules.slice(at)]),
            anonymous,
          );
          expect([after.action, after.matched]).toEqual([before.action, before.matched]);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('couldEverAllow is sound: when false, no request for that tool is allowed or alerted', () => {
    fc.assert(
      fc.property(
        fc.array(ruleArb, { maxLength: 10 }),
        fc.array(requestArb, { maxLength: 10 }),
        (rules, requests) => {
          const compiled = compileRules(rules);
          for (const request of requests) {
            const llm = request.model != null || request.endpoint != null;
            if (!couldEverAllow(compiled, request.tool, llm ? request : undefined))
              expect(evaluate(compiled, request).action).toBe('deny');
            // Asked about the model alone (endpoint not given), it must be at least as permissive.
            if (llm && !couldEverAllow(compiled, request.tool, { model: request.model }))
              expect(evaluate(compiled, request).action).toBe('deny');
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('candidateRules lists exactly the rules whose glob matches, in order', () => {
    fc.assert(
      fc.property(fc.array(ruleArb, { maxLength: 15 }), requestArb, (rules, request) => {
        const expected = rules.flatMap((rule, index) =>
          rule.tool === undefined || referenceGlob(rule.tool, request.tool) ? [index] : [],
        );
        expect(Array.from(candidateRules(compileRules(rules), request.tool))).toEqual(expected);
      }),
      { numRuns: 1000 },
    );
  });
});
