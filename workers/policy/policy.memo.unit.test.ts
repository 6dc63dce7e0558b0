/**
 * A compiled policy's per-name caches (candidate rules per tool name, model-glob matches per
 * model name) fill with names the caller chooses, each with an array as long as the rules it
 * matches: they are bounded by bytes (policyMemoBytes), not only by 1,024 names — 1,024 names of
 * a 10,000-rule policy whose rules all match were 40 MB per policy, in an isolate that caches
 * thousands of policies for every organization.
 */
import { describe, expect, it } from 'vitest';
import { policyMemoBytes } from './policy.compile';
import { CANDIDATE_CACHE_LIMIT, candidateRules } from './policy.evaluate';
import { compile } from './policy.evaluate.fixtures';
import { modelMatches } from './policy.target';

const RULES = 10_000;

describe('policy name caches are bounded by bytes', () => {
  it('a 10,000-rule policy keeps a few of its 40 KB candidate arrays, not 1,024', () => {
    const policy = compile(
      Array.from({ length: RULES }, (_, i) => ({ tool: `*${i % 10}*`, action: 'allow' })),
    );
    const first = candidateRules(policy, 'name_0123456789');
    expect(first.length).toBe(RULES);
    for (let i = 1; i < 100; i += 1) candidateRules(policy, `name_${i}_0123456789`);
    // 100 names ≪ 1,024, but 100 × 40 KB: the first was dropped and is computed again.
    expect(candidateRules(policy, 'name_0123456789')).not.toBe(first);
    expect(candidateRules(policy, 'name_99_0123456789')).toBe(candidateRules(policy, 'name_99_0123456789'));
    expect(policy.candidateCache.weight).toBeLessThanOrEqual(policyMemoBytes(RULES));
    expect(policy.candidateCache.size).toBeLessThanOrEqual(CANDIDATE_CACHE_LIMIT);
  });

  it('the model-match cache of a policy of many model globs is bounded by bytes', () => {
    const rules = Array.from({ length: RULES }, (_, i) => ({
      tool: '*',
      model: `*${i % 10}*`,
      action: 'allow',
    }));
    const policy = compile(rules);
    const first = modelMatches(policy.models, 'model_0123456789');
    for (let i = 1; i < 200; i += 1) modelMatches(policy.models, `model_${i}_0123456789`);
    expect(modelMatches(policy.models, 'model_0123456789')).not.toBe(first);
    expect(policy.models.cache.weight).toBeLessThanOrEqual(policyMemoBytes(RULES));
  });

  it("a small policy's caches still hold an agent's tool names", () => {
    const policy = compile([
      { tool: 'read_*', action: 'allow' },
      { tool: '*', action: 'deny' },
    ]);
    const first = candidateRules(policy, 'read_file');
    for (let i = 0; i < 40; i += 1) candidateRules(policy, `tool_number_${i}`);
    expect(candidateRules(policy, 'read_file')).toBe(first);
  });
});
