import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getProvider, PROVIDER_IDS } from './llm.catalog.ts';
import { perMillion, priceFromLiteLlm } from './llm.prices.litellm.ts';
import { candidateNames, costOf, PRICE_TABLE, priceCall, priceTableSchema } from './llm.prices.ts';
import type { LlmUsage } from './llm.usage.ts';

const usage = (input: number, output: number, cached = 0, cacheWrite = 0): LlmUsage => ({
  inputTokens: input,
  cachedInputTokens: cached,
  cacheWriteInputTokens: cacheWrite,
  outputTokens: output,
  reasoningTokens: null,
  totalTokens: input + output,
});

describe('price table', () => {
  it('is dated, versioned and names its source', () => {
    expect(PRICE_TABLE.version).toMatch(/^\d{4}-\d{2}-\d{2}\.\d+$/);
    expect(PRICE_TABLE.source.url).toContain('BerriAI/litellm');
    expect(PRICE_TABLE.unit).toBe('USD per 1M tokens');
  });

  it('covers every catalog provider with fixed hosted models', () => {
    for (const id of PROVIDER_IDS) {
      if (id === 'ollama' || id === 'openai-compatible') continue;
      const models = PRICE_TABLE.providers[id]?.models ?? {};
      expect(Object.keys(models).length, id).toBeGreaterThan(0);
      expect(getProvider(id), id).not.toBeNull();
    }
    for (const id of Object.keys(PRICE_TABLE.providers)) expect(getProvider(id), id).not.toBeNull();
  });

  it('rejects a malformed table', () => {
    const bad = structuredClone(PRICE_TABLE) as {
      version: string;
      providers: Record<string, { models: Record<string, unknown> }>;
    };
    bad.providers.openai!.models['gpt-4o'] = { input: -1, output: 1 };
    expect(priceTableSchema.safeParse(bad).success).toBe(false);
    expect(priceTableSchema.safeParse({ ...PRICE_TABLE, version: 'latest' }).success).toBe(false);
  });
});

describe('priceCall', () => {
  it('prices a known model from the table', () => {
    // gpt-4o: $2.50 in, $1.25 cached, $10 out per 1M.
    const out = priceCall('openai', 'gpt-4o', usage(1_000_000, 100_000, 200_000));
    expect(out).toMatchObject({
      priced: true,
      source: 'table',
      pricedAs: 'gpt-4o',
      tableVersion: PRICE_TABLE.version,
    });
    expect(out.costUsd).toBeCloseTo(0.8 * 2.5 + 0.2 * 1.25 + 0.1 * 10, 10);
  });

  it('prices Anthropic cache reads and writes at their own prices', () => {
    // claude-sonnet-4-5: $3 in, $0.30 cache read, $3.75 cache write, $15 out (under 200k tokens).
    const out = priceCall('anthropic', 'claude-sonnet-4-5', usage(100_000, 10_000, 50_000, 10_000));
    expect(out.costUsd).toBeCloseTo((40_000 * 3 + 50_000 * 0.3 + 10_000 * 3.75 + 10_000 * 15) / 1e6, 10);
  });

  it('uses the long-context tier above its threshold', () => {
    const price = PRICE_TABLE.providers.google!.models['gemini-2.5-pro']!;
    expect(price.above?.thresholdTokens).toBe(200_000);
    const small = costOf(price, usage(200_000, 0));
    const large = costOf(price, usage(200_001, 0));
    expect(large / 200_001).toBeGreaterThan(small / 200_000);
  });

  it('never guesses: unknown models, unknown providers and missing usage are unpriced', () => {
    const unpriced = { costUsd: null, priced: false, source: null, pricedAs: null, tableVersion: null };
    expect(priceCall('openai', 'gpt-9-ultra', usage(1, 1))).toEqual(unpriced);
    expect(priceCall('ollama', 'llama3', usage(1, 1))).toEqual(unpriced);
    expect(priceCall('nope', 'gpt-4o', usage(1, 1))).toEqual(unpriced);
    expect(priceCall('openai', 'gpt-4o', null)).toEqual(unpriced);
    expect(priceCall('openai', null, usage(1, 1))).toEqual(unpriced);
    expect(priceCall('openai', '__proto__', usage(1, 1))).toEqual(unpriced);
    expect(priceCall('openai', 'constructor', usage(1, 1))).toEqual(unpriced);
  });

  it('falls back from a dated snapshot only where the table documents it', () => {
    expect(priceCall('openai', 'gpt-4o-2099-01-01', usage(1000, 0)).pricedAs).toBe('gpt-4o');
    expect(priceCall('anthropic', 'claude-haiku-4-5-20991231', usage(1000, 0)).pricedAs).toBe(
      'claude-haiku-4-5',
    );
    // A listed snapshot has its own (higher) price.
    expect(priceCall('openai', 'gpt-4o-2024-05-13', usage(1000, 0)).pricedAs).toBe('gpt-4o-2024-05-13');
    // Providers without the rule never strip a date.
    expect(priceCall('mistral', 'mistral-large-latest-2099-01-01', usage(1, 1)).priced).toBe(false);
    expect(candidateNames('google', 'models/gemini-2.5-flash')).toEqual([
      'models/gemini-2.5-flash',
      'gemini-2.5-flash',
    ]);
    expect(priceCall('google', 'models/gemini-2.5-flash', usage(1, 1)).pricedAs).toBe('gemini-2.5-flash');
  });

  it('prefers organization overrides, and they can price unknown models', () => {
    const overrides = {
      openai: { 'gpt-4o': { input: 1, output: 1 } },
      ollama: { llama3: { input: 0, output: 0 } },
    };
    expect(priceCall('openai', 'gpt-4o', usage(1_000_000, 1_000_000), overrides)).toMatchObject({
      costUsd: 2,
      source: 'override',
      tableVersion: null,
    });
    expect(priceCall('ollama', 'llama3', usage(5, 5), overrides)).toMatchObject({ costUsd: 0, priced: true });
  });

  it('cost is non-negative, monotonic in tokens, and bounded by the dearest price (property)', () => {
    const price = PRICE_TABLE.providers.anthropic!.models['claude-opus-4-1']!;
    fc.assert(
      fc.property(
        fc.nat(10_000_000),
        fc.nat(10_000_000),
        fc.nat(10_000_000),
        fc.nat(1000),
        (input, cached, output, more) => {
          const u = usage(input, output, Math.min(cached, input));
          const cost = costOf(price, u);
          const dearest = Math.max(price.input, price.output, price.cacheWrite ?? 0);
          return (
            cost >= 0 &&
            cost <= ((input + output) * dearest) / 1e6 + 1e-9 &&
            costOf(price, usage(input, output + more, Math.min(cached, input))) >= cost
          );
        },
      ),
    );
  });
});

describe('priceFromLiteLlm', () => {
  it('converts per-token prices to per-million without float noise', () => {
    expect(perMillion(1.5e-7)).toBe(0.15);
    expect(perMillion(3e-6)).toBe(3);
    expect(
      priceFromLiteLlm(
        {
          input_cost_per_token: 3e-6,
          output_cost_per_token: 1.5e-5,
          cache_read_input_token_cost: 3e-7,
          cache_creation_input_token_cost: 3.75e-6,
          input_cost_per_token_above_200k_tokens: 6e-6,
          output_cost_per_token_above_200k_tokens: 2.25e-5,
          input_cost_per_token_above_200k_tokens_priority: 1,
          mode: 'chat',
        },
        'claude-x',
      ),
    ).toEqual({
      input: 3,
      output: 15,
      cachedInput: 0.3,
      cacheWrite: 3.75,
      above: { thresholdTokens: 200_000, input: 6, output: 22.5 },
      litellm: 'claude-x',
    });
  });

  it('gives embeddings a 0 output price and refuses entries without token prices', () => {
    expect(priceFromLiteLlm({ input_cost_per_token: 2e-8, mode: 'embedding' }, 'e')).toEqual({
      input: 0.02,
      output: 0,
      litellm: 'e',
    });
    expect(priceFromLiteLlm({ output_cost_per_image: 0.04, mode: 'image_generation' }, 'i')).toBeNull();
    expect(priceFromLiteLlm({ input_cost_per_token: 1e-6, mode: 'chat' }, 'c')).toBeNull();
  });
});
