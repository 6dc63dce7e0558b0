/**
 * Converting one entry of LiteLLM's model_prices_and_context_window.json (USD per token) into a
 * price of our table (USD per 1M tokens). Pure; used by scripts/llm-prices.update.ts, which
 * refreshes every model of llm.prices.json from the LiteLLM key it names. Not imported by the
 * Worker.
 *
 * Read: input_cost_per_token, output_cost_per_token, cache_read_input_token_cost,
 * cache_creation_input_token_cost (the 5-minute write), and the lowest long-context tier
 * `*_above_<N>k_tokens` (non-priority) as `above`. Ignored: priority/flex/batch prices, per-image,
 * per-second and per-character prices, 1-hour cache writes, tool and search fees.
 */
import type { ModelPrice } from './llm.prices';

type Entry = Record<string, unknown>;

/** Per-token USD → per-1M USD, without float noise (0.15000000000000002 → 0.15). */
export function perMillion(perToken: number): number {
  return Number((perToken * 1_000_000).toPrecision(12));
}

function num(entry: Entry, key: string): number | undefined {
  const value = entry[key];
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? perMillion(value) : undefined;
}

function lowestTier(entry: Entry): number | null {
  let lowest: number | null = null;
  for (const key of Object.keys(entry)) {
    const match = /^input_cost_per_token_above_(\d+)k_tokens$/.exec(key);
    if (!match) continue;
    const threshold = Number(match[1]) * 1000;
    if (lowest === null || threshold < lowest) lowest = threshold;
  }
  return lowest;
}

/**
 * Our price for a LiteLLM entry, or null when it has no usable token prices (image, audio or
 * per-request models; entries without an input or output price). Embedding models have no
 * output price in LiteLLM: their output is 0.
 */
export function priceFromLiteLlm(entry: Entry, litellmKey: string): ModelPrice | null {
  const input = num(entry, 'input_cost_per_token');
  let output = num(entry, 'output_cost_per_token');
  if (output === undefined && entry.mode === 'embedding') output = 0;
  if (input === undefined || output === undefined) return null;
  const price: ModelPrice = { input, output };
  const cachedInput = num(entry, 'cache_read_input_token_cost');
  const cacheWrite = num(entry, 'cache_creation_input_token_cost');
  if (cachedInput !== undefined) price.cachedInput = cachedInput;
  // DeepSeek lists a 0 write price meaning "no separate write price", not "free": leave it out.
  if (cacheWrite !== undefined && cacheWrite > 0) price.cacheWrite = cacheWrite;
  const threshold = lowestTier(entry);
  if (threshold !== null) {
    const k = `above_${threshold / 1000}k_tokens`;
    const tierInput = num(entry, `input_cost_per_token_${k}`);
    const tierOutput = num(entry, `output_cost_per_token_${k}`) ?? output;
    if (tierInput !== undefined) {
      price.above = { thresholdTokens: threshold, input: tierInput, output: tierOutput };
      const tierCached = num(entry, `cache_read_input_token_cost_${k}`);
      const tierWrite = num(entry, `cache_creation_input_token_cost_${k}`);
      if (tierCached !== undefined) price.above.cachedInput = tierCached;
      if (tierWrite !== undefined && tierWrite > 0) price.above.cacheWrite = tierWrite;
    }
  }
  price.litellm = litellmKey;
  return price;
}
