/**
 * LLM rules: `model` globs, `endpoint` names, `tokenLimit` and `tokenGuard` on decisions, their
 * explanations, and the promise that they never change an MCP decision.
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
import { parsePolicy, type Rule } from './policy.schema.ts';
import { MODEL_CACHE_LIMIT } from './policy.target.ts';

function compile(rules: unknown[], version = 1): CompiledPolicy {
  const parsed = parsePolicy({ rules });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return compilePolicy(parsed.policy, version);
}

/** What the LLM adapter sends: the model is also the governed name. */
const llm = (model: string, endpoint: string, extra: Partial<EvaluationRequest> = {}): EvaluationRequest => ({
  tool: model,
  model,
  endpoint,
  ...extra,
});

describe('model and endpoint matching', () => {
  const policy = compile([
    { model: 'gpt-4o-mini', endpoint: 'chat.completions', action: 'allow', reason: 'cheap chat' },
    { model: 'gpt-*', endpoint: ['embeddings', 'moderations'], action: 'alert' },
    { endpoint: 'passthrough', action: 'deny', reason: 'no raw provider calls' },
    { model: 'claude-*', action: 'allow' },
    { tool: 'read_*', action: 'allow' },
  ]);

  it('matches a rule when its model glob and endpoint both match', () => {
    expect(evaluate(policy, llm('gpt-4o-mini', 'chat.completions'))).toMatchObject({
      action: 'allow',
      ruleIndex: 0,
      reason: 'cheap chat',
    });
    expect(evaluate(policy, llm('gpt-4o', 'embeddings')).ruleIndex).toBe(1);
    expect(evaluate(policy, llm('gpt-4o', 'moderations')).ruleIndex).toBe(1);
    // The model matches rule 1, the endpoint does not: no rule matches.
    expect(evaluate(policy, llm('gpt-4o', 'chat.completions'))).toMatchObject({ matched: false });
  });

  it('matches endpoint-only and model-only rules', () => {
    expect(evaluate(policy, llm('anything', 'passthrough')).ruleIndex).toBe(2);
    expect(evaluate(policy, llm('claude-sonnet-4', 'messages')).ruleIndex).toBe(3);
  });

  it('never matches a model or endpoint rule for a request without one (MCP calls)', () => {
    // `claude-x` as an MCP tool name: rule 3 needs a model, so no rule matches.
    expect(evaluate(policy, { tool: 'claude-x' }).matched).toBe(false);
    expect(evaluate(policy, { tool: 'gpt-4o-mini' }).matched).toBe(false);
    expect(evaluate(policy, { tool: 'read_file' }).ruleIndex).toBe(4);
    // A model without an endpoint, or an endpoint without a model, fails the missing part only.
    expect(evaluate(policy, { tool: 'gpt-4o-mini', model: 'gpt-4o-mini' }).matched).toBe(false);
    expect(evaluate(policy, { tool: 'x', endpoint: 'passthrough' }).ruleIndex).toBe(2);
    expect(evaluate(policy, { tool: 'x', endpoint: 'unknown.endpoint' }).matched).toBe(false);
  });

  it('matches tool-only rules against LLM calls through their governed name (the model)', () => {
    const tools = compile([
      { tool: 'gpt-*', action: 'deny' },
      { tool: '*', action: 'allow' },
    ]);
    expect(evaluate(tools, llm('gpt-4o', 'chat.completions')).action).toBe('deny');
    expect(evaluate(tools, llm('o3', 'responses')).action).toBe('allow');
  });

  it('normalises model names like tool names (case, look-alikes, invisible characters)', () => {
    const deny = compile([
      { model: 'gpt-4o*', action: 'deny' },
      { model: '*', action: 'allow' },
    ]);
    for (const model of ['GPT-4o', 'gpt-4\u043e', 'g\u200bpt-4o-mini', 'ｇｐｔ-4o']) {
      expect(evaluate(deny, llm(model, 'chat.completions')).action).toBe('deny');
    }
    expect(evaluate(deny, llm('gpt-5', 'chat.completions')).action).toBe('allow');
  });

  it('lists tool-less rules as candidates for every name, keeping first-match order', () => {
    const mixed = compile([
      { tool: 'a*', action: 'allow' },
      { model: 'm', action: 'deny' },
      { tool: 'abc', action: 'allow' },
      { endpoint: 'embeddings', action: 'alert' },
    ]);
    expect(Array.from(candidateRules(mixed, 'abc'))).toEqual([0, 1, 2, 3]);
    expect(Array.from(candidateRules(mixed, 'zzz'))).toEqual([1, 3]);
  });

  it('applies conditions after the model and endpoint', () => {
    const conditional = compile([
      {
        model: 'gpt-*',
        endpoint: 'chat.completions',
        action: 'allow',
        conditions: { 'metadata.team': 'ml' },
      },
    ]);
    const request = llm('gpt-4o', 'chat.completions');
    expect(evaluate(conditional, { ...request, metadata: { team: 'ml' } }).action).toBe('allow');
    expect(evaluate(conditional, { ...request, metadata: { team: 'web' } }).matched).toBe(false);
  });
});

describe('token limits and guards on decisions', () => {
  it('returns tokenLimit and tokenGuard as frozen copies, null when absent', () => {
    const tokenLimit = { limit: 10_000, windowSeconds: 60, by: 'apiKey' };
    const tokenGuard = { maxInputTokens: 4000, maxOutputTokens: 512 };
    const rules = [
      {
        model: 'gpt-*',
        action: 'allow',
        tokenLimit,
        tokenGuard,
        rateLimit: { limit: 5, windowSeconds: 1, by: 'user' },
      },
      { model: '*', action: 'allow' },
    ];
    const policy = compile(rules, 3);
    const decision = evaluate(policy, llm('gpt-4o', 'chat.completions'));
    expect(decision).toMatchObject({ tokenLimit, tokenGuard, policyVersion: 3 });
    expect(decision.rateLimit).toEqual({ limit: 5, windowSeconds: 1, by: 'user' });
    expect(Object.isFrozen(decision.tokenLimit)).toBe(true);
    expect(Object.isFrozen(decision.tokenGuard)).toBe(true);
    // The same object on every call (no allocation), and not the rule's own object.
    expect(evaluate(policy, llm('gpt-4o', 'chat.completions'))).toBe(decision);
    tokenLimit.limit = 1;
    expect(decision.tokenLimit?.limit).toBe(10_000);

    const plain = evaluate(policy, llm('o3', 'responses'));
    expect([plain.tokenLimit, plain.tokenGuard]).toEqual([null, null]);
    expect(evaluate(policy, { tool: 'x' })).toMatchObject({
      matched: false,
      tokenLimit: null,
      tokenGuard: null,
    });
  });
});

describe('model match cache', () => {
  it('is bounded and stays correct after eviction; long names are not cached', () => {
    const policy = compile([
      { model: 'm-1*', action: 'deny' },
      { model: 'm-*', action: 'allow' },
    ]);
    for (let i = 0; i < MODEL_CACHE_LIMIT * 2; i++) {
      const expected = String(i).startsWith('1') ? 'deny' : 'allow';
      expect(evaluate(policy, llm(`m-${i}`, 'chat.completions')).action).toBe(expected);
    }
    expect(policy.models.cache.size).toBeLessThanOrEqual(MODEL_CACHE_LIMIT);
    expect(evaluate(policy, llm('m-1', 'chat.completions')).action).toBe('deny');
    const long = `m-${'x'.repeat(10_000)}`;
    expect(evaluate(policy, llm(long, 'chat.completions')).action).toBe('allow');
    expect(policy.models.cache.has(long)).toBe(false);
  });
});

describe('explain — LLM rules', () => {
  const policy = compile([
    { tool: 'read_*', action: 'allow' },
    { model: 'claude-*', action: 'allow' },
    { model: 'gpt-*', endpoint: ['embeddings', 'moderations'], action: 'alert' },
    { endpoint: 'chat.completions', action: 'deny' },
    { tool: 'gpt-*', model: 'gpt-4o*', endpoint: 'chat.completions', action: 'allow' },
  ]);

  it('says why model and endpoint rules do not match, and why one does', () => {
    const { decision, trace } = explain(policy, llm('gpt-4o', 'chat.completions'));
    expect(decision.ruleIndex).toBe(3);
    expect(trace).toEqual([
      { ruleIndex: 0, matched: false, why: "tool 'gpt-4o' does not match glob 'read_*'" },
      { ruleIndex: 1, matched: false, why: "model 'gpt-4o' does not match glob 'claude-*'" },
      {
        ruleIndex: 2,
        matched: false,
        why: "endpoint 'chat.completions' is not one of ['embeddings', 'moderations']",
      },
      {
        ruleIndex: 3,
        matched: true,
        why: "endpoint 'chat.completions' is 'chat.completions' and no conditions — deny",
      },
    ]);
    expect(explain(policy, llm('gpt-4o', 'embeddings')).trace.at(-1)).toEqual({
      ruleIndex: 2,
      matched: true,
      why: "model 'gpt-4o' matches glob 'gpt-*', endpoint 'embeddings' is one of ['embeddings', 'moderations'] and no conditions — alert",
    });
  });

  it('names every matched part of a rule with tool, model and endpoint', () => {
    const only = compile([
      { tool: 'gpt-*', model: 'gpt-4o*', endpoint: 'chat.completions', action: 'allow' },
    ]);
    expect(explain(only, llm('gpt-4o', 'chat.completions')).trace).toEqual([
      {
        ruleIndex: 0,
        matched: true,
        why: "tool 'gpt-4o' matches glob 'gpt-*', model 'gpt-4o' matches glob 'gpt-4o*', endpoint 'chat.completions' is 'chat.completions' and no conditions — allow",
      },
    ]);
  });

  it('says when a request has no model or endpoint (an MCP call)', () => {
    const { trace } = explain(policy, { tool: 'claude-x' });
    expect(trace[1]).toEqual({
      ruleIndex: 1,
      matched: false,
      why: 'no model in the request (not an LLM call) — rule skipped',
    });
    expect(trace[3]).toEqual({
      ruleIndex: 3,
      matched: false,
      why: 'no endpoint in the request (not an LLM call) — rule skipped',
    });
  });
});

describe('couldEverAllow — LLM calls', () => {
  const policy = compile([
    { model: 'gpt-4o', endpoint: 'embeddings', action: 'deny' },
    { model: 'gpt-*', action: 'allow' },
    { model: 'o1*', action: 'deny' },
    { model: '*', endpoint: 'chat.completions', action: 'allow' },
  ]);

  it('answers for a model and endpoint, or for a model on any endpoint', () => {
    expect(couldEverAllow(policy, 'gpt-4o', { model: 'gpt-4o', endpoint: 'embeddings' })).toBe(false);
    // Without the endpoint, the embeddings-only deny may not apply: the model can be allowed.
    expect(couldEverAllow(policy, 'gpt-4o', { model: 'gpt-4o' })).toBe(true);
    expect(couldEverAllow(policy, 'o1-mini', { model: 'o1-mini' })).toBe(false);
    expect(couldEverAllow(policy, 'llama', { model: 'llama' })).toBe(true);
    expect(couldEverAllow(policy, 'llama', { model: 'llama', endpoint: 'embeddings' })).toBe(false);
  });

  it('treats a call without llm details as MCP: model and endpoint rules never apply', () => {
    expect(couldEverAllow(policy, 'gpt-4o')).toBe(false);
  });
});

// -----------------------------------------------------------------------------------------------
// Properties
// -----------------------------------------------------------------------------------------------

const nameArb = fc.string({ unit: fc.constantFrom('a', 'b', '-'), maxLength: 4 });
const globArb = fc.string({ unit: fc.constantFrom('a', 'b', '-', '*', '?'), minLength: 1, maxLength: 5 });
const endpointArb = fc.constantFrom('chat.completions', 'embeddings', 'messages', 'passthrough');
const actionArb = fc.constantFrom('allow', 'deny', 'alert');
const mcpRuleArb: fc.Arbitrary<Rule> = fc.record({ tool: globArb, action: actionArb });
const llmRuleArb: fc.Arbitrary<Rule> = fc
  .record(
    {
      tool: globArb,
      model: globArb,
      endpoint: fc.oneof(endpointArb, fc.uniqueArray(endpointArb, { minLength: 1, maxLength: 3 })),
      action: actionArb,
    },
    { requiredKeys: ['action'] },
  )
  .filter((rule) => rule.model !== undefined || rule.endpoint !== undefined);

describe('LLM rules — properties', () => {
  it('never change the decision of a request without model and endpoint (MCP policies unaffected)', () => {
    fc.assert(
      fc.property(
        fc.array(mcpRuleArb, { maxLength: 8 }),
        fc.array(fc.tuple(fc.nat(), llmRuleArb), { maxLength: 5 }),
        fc.array(nameArb, { minLength: 1, maxLength: 6 }),
        (rules, insertions, tools) => {
          const mixed = [...rules];
          const positions: number[] = [];
          for (const [at, rule] of insertions) {
            const index = at % (mixed.length + 1);
            mixed.splice(index, 0, rule);
            positions.push(index);
          }
          const before = compilePolicy({ rules }, 1);
          const after = compilePolicy({ rules: mixed }, 1);
          for (const tool of tools) {
            const a = evaluate(before, { tool });
            const b = evaluate(after, { tool });
            expect([b.action, b.matched]).toEqual([a.action, a.matched]);
            // The deciding rule is the same rule of the document, wherever LLM rules were inserted.
            if (a.ruleIndex !== null) expect(mixed[b.ruleIndex!]).toBe(rules[a.ruleIndex]);
            expect(couldEverAllow(after, tool)).toBe(couldEverAllow(before, tool));
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('explain agrees with evaluate on LLM requests, with a warm and a cold model cache', () => {
    const requestArb = fc.record(
      { tool: nameArb, model: nameArb, endpoint: endpointArb },
      { requiredKeys: ['tool'] },
    );
    fc.assert(
      fc.property(
        fc.array(fc.oneof(mcpRuleArb, llmRuleArb), { maxLength: 10 }),
        fc.array(requestArb, { minLength: 1, maxLength: 6 }),
        (rules, requests) => {
          const compiled = compilePolicy({ rules }, 1);
          for (const request of [...requests, ...requests]) {
            expect(explain(compiled, request).decision).toBe(evaluate(compiled, request));
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
