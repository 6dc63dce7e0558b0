import { describe, expect, it } from 'vitest';
import type { LlmUsage } from '../llm/llm.usage.ts';
import {
  DEFAULT_OUTPUT_RESERVE_TOKENS,
  type EstimatedCall,
  estimatedUsage,
  usageToCharge,
} from './llm.charge.ts';

function unit(body: Record<string, unknown>, endpoint: EstimatedCall['endpoint'] = 'chat.completions') {
  return {
    endpoint,
    model: typeof body.model === 'string' ? body.model : null,
    body,
    estimatedInputTokens: 7,
  };
}

const REPORTED: LlmUsage = {
  inputTokens: 12,
  cachedInputTokens: 4,
  cacheWriteInputTokens: 0,
  outputTokens: 6,
  reasoningTokens: null,
  totalTokens: 18,
};

describe('estimatedUsage', () => {
  it('is the prompt estimate plus the largest output cap as forwarded', () => {
    const usage = estimatedUsage(unit({ model: 'gpt-4o', max_tokens: 50, max_completion_tokens: 80 }));
    expect(usage).toMatchObject({ inputTokens: 7, outputTokens: 80, totalTokens: 87 });
  });

  it('counts the output cap once per answer asked for (`n`, completions `best_of`): each is billed', () => {
    expect(estimatedUsage(unit({ model: 'gpt-4o', max_tokens: 50, n: 8 }))).toMatchObject({
      inputTokens: 7,
      outputTokens: 400,
    });
    expect(estimatedUsage(unit({ model: 'gpt-4o', n: 3 }))?.outputTokens).toBe(
      3 * DEFAULT_OUTPUT_RESERVE_TOKENS,
    );
    expect(
      estimatedUsage(unit({ model: 'davinci', max_tokens: 10, n: 2, best_of: 5 }, 'completions'))
        ?.outputTokens,
    ).toBe(50);
    // Not on endpoints without choices.
    expect(estimatedUsage(unit({ model: 'claude', max_tokens: 10, n: 4 }, 'messages'))?.outputTokens).toBe(
      10,
    );
  });

  it('reserves the default output when the request sets no cap, none for an endpoint without output', () => {
    expect(estimatedUsage(unit({ model: 'gpt-4o' }))?.outputTokens).toBe(DEFAULT_OUTPUT_RESERVE_TOKENS);
    expect(estimatedUsage(unit({ model: 'emb', input: 'x' }, 'embeddings'))).toMatchObject({
      inputTokens: 7,
      outputTokens: 0,
    });
  });

  it('is null for a call without a model, and for passthrough', () => {
    expect(estimatedUsage(unit({}))).toBeNull();
    expect(estimatedUsage(unit({ model: 'x' }, 'passthrough'))).toBeNull();
  });
});

describe('usageToCharge', () => {
  const estimate = estimatedUsage(unit({ model: 'gpt-4o', max_tokens: 100 }))!;

  it('charges the complete report as reported', () => {
    expect(usageToCharge({ reported: REPORTED, final: true, upstreamStatus: 200 }, estimate)).toEqual({
      usage: REPORTED,
      estimated: false,
    });
  });

  it('charges the estimate for a successful answer that ended without usage (a hang-up at finish_reason)', () => {
    expect(usageToCharge({ reported: null, final: false, upstreamStatus: 200 }, estimate)).toEqual({
      usage: { ...estimate },
      estimated: true,
    });
  });

  it('keeps a partial report’s exact prompt, and charges at least the output cap', () => {
    const partial = { ...REPORTED, outputTokens: 1, totalTokens: 13 };
    const { usage, estimated } = usageToCharge(
      { reported: partial, final: false, upstreamStatus: 200 },
      estimate,
    );
    expect(estimated).toBe(true);
    expect(usage).toMatchObject({
      inputTokens: 12,
      cachedInputTokens: 4,
      outputTokens: 100,
      totalTokens: 112,
    });
  });

  it('charges an error answer, or a call it cannot estimate, only what was reported', () => {
    for (const upstreamStatus of [400, 429, 500, null, undefined]) {
      expect(usageToCharge({ reported: null, final: false, upstreamStatus }, estimate)).toEqual({
        usage: null,
        estimated: false,
      });
    }
    expect(usageToCharge({ reported: null, final: false, upstreamStatus: 200 }, null)).toEqual({
      usage: null,
      estimated: false,
    });
  });
});
