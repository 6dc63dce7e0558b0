/**
 * LLM call cost from a dated, versioned price table (llm.prices.json; how it is made and updated:
 * docs/llm-gateway.md and scripts/llm-prices.update.ts). Pure: no I/O, no clock.
 *
 * Prices are USD per 1M tokens: `input` (uncached prompt), `cachedInput` (prompt read from the
 * provider's cache; absent → billed as `input`, as LiteLLM does), `cacheWrite` (Anthropic prompt
 * cache writes; absent → `input`), `output` (completion, reasoning included), and optionally
 * `above` — prices that apply to the whole call once its prompt exceeds `thresholdTokens`
 * (Gemini 2.5 Pro, Claude Sonnet 4/4.5 long context).
 *
 * An unknown model is never guessed: `costUsd: null, priced: false`. The only name rewrites are
 * the documented, per-provider ones in the table:
 *   - `stripPrefixes`: e.g. Gemini's `models/gemini-2.5-flash` → `gemini-2.5-flash`;
 *   - `datedSnapshotFallback`: a dated snapshot that is not listed itself
 *     (`gpt-4o-2099-01-01`, `claude-sonnet-4-5-20991231`) is priced as its undated alias
 *     (`gpt-4o`, `claude-sonnet-4-5`). Listed snapshots win (`gpt-4o-2024-05-13` costs more).
 * Organization overrides (`PUT /api/v1/llm/prices`) are looked up first, with the same rewrites.
 */
import { z } from 'zod';
import pricesData from './llm.prices.json';
import type { LlmUsage } from './llm.usage';

const price = z.number().nonnegative().finite();

export const modelPriceSchema = z.strictObject({
  input: price,
  output: price,
  cachedInput: price.optional(),
  cacheWrite: price.optional(),
  above: z
    .strictObject({
      thresholdTokens: z.number().int().positive(),
      input: price,
      output: price,
      cachedInput: price.optional(),
      cacheWrite: price.optional(),
    })
    .optional(),
  /** The LiteLLM key the price was taken from (scripts/llm-prices.update.ts refreshes by it). */
  litellm: z.string().optional(),
});

const providerPricesSchema = z.strictObject({
  stripPrefixes: z.array(z.string().min(1)).optional(),
  datedSnapshotFallback: z.boolean().optional(),
  models: z.record(z.string().min(1).max(256), modelPriceSchema),
});

export const priceTableSchema = z.strictObject({
  version: z.string().regex(/^\d{4}-\d{2}-\d{2}\.\d+$/, 'version is <date>.<n>'),
  effectiveDate: z.iso.date(),
  unit: z.literal('USD per 1M tokens'),
  source: z.strictObject({ name: z.string(), url: z.url(), retrieved: z.iso.date(), notes: z.string() }),
  providers: z.record(z.string(), providerPricesSchema),
});

export type ModelPrice = z.infer<typeof modelPriceSchema>;
export type PriceTable = z.infer<typeof priceTableSchema>;
/** Organization overrides: provider id → model name → price (same units). */
export type PriceOverrides = Record<string, Record<string, ModelPrice>>;

/** The built-in table, validated once at module load. */
export const PRICE_TABLE: PriceTable = priceTableSchema.parse(pricesData);

export interface PricedCall {
  /** USD, rounded to 1e-10; null when the model has no price or no usage was reported. */
  costUsd: number | null;
  priced: boolean;
  /** Where the price came from, and under which name it was found. */
  source: 'override' | 'table' | null;
  pricedAs: string | null;
  /** The table version used (for the audit row); null for overrides and unpriced calls. */
  tableVersion: string | null;
}

const UNPRICED: PricedCall = {
  costUsd: null,
  priced: false,
  source: null,
  pricedAs: null,
  tableVersion: null,
};

// `-2024-08-06` (OpenAI) or `-20250929` (Anthropic) at the end of the name.
const DATED_SUFFIX = /-(?:\d{4}-\d{2}-\d{2}|\d{8})$/;

/**
 * The names a model may be priced under, in order: as sent, then without a documented prefix,
 * then (when the provider allows it) without its date suffix.
 */
export function candidateNames(provider: string, model: string, table: PriceTable = PRICE_TABLE): string[] {
  const rules = table.providers[provider];
  const names = [model];
  for (const prefix of rules?.stripPrefixes ?? []) {
    if (model.startsWith(prefix) && model.length > prefix.length) names.push(model.slice(prefix.length));
  }
  if (rules?.datedSnapshotFallback) {
    for (const name of [...names]) {
      const undated = name.replace(DATED_SUFFIX, '');
      if (undated !== name && undated.length > 0) names.push(undated);
    }
  }
  return names;
}

function lookup(
  models: Record<string, ModelPrice> | undefined,
  names: string[],
): [string, ModelPrice] | null {
  if (!models) return null;
  for (const name of names) {
    if (Object.hasOwn(models, name)) return [name, models[name]!];
  }
  return null;
}

/** The price of a model, override first. */
export function findPrice(
  provider: string,
  model: string,
  overrides?: PriceOverrides,
  table: PriceTable = PRICE_TABLE,
): { price: ModelPrice; name: string; source: 'override' | 'table' } | null {
  const names = candidateNames(provider, model, table);
  const override = lookup(overrides?.[provider], names);
  if (override) return { price: override[1], name: override[0], source: 'override' };
  const found = lookup(table.providers[provider]?.models, names);
  return found ? { price: found[1], name: found[0], source: 'table' } : null;
}

/** Cost in USD of one call's usage at one price (no lookup; exported for tests and overrides UI). */
export function costOf(price: ModelPrice, usage: LlmUsage): number {
  const tier = price.above && usage.inputTokens > price.above.thresholdTokens ? price.above : price;
  const cached = Math.min(usage.cachedInputTokens, usage.inputTokens);
  const written = Math.min(usage.cacheWriteInputTokens, usage.inputTokens - cached);
  const uncached = usage.inputTokens - cached - written;
  const perMillion =
    uncached * tier.input +
    cached * (tier.cachedInput ?? tier.input) +
    written * (tier.cacheWrite ?? tier.input) +
    usage.outputTokens * tier.output;
  return Math.round((perMillion / 1_000_000) * 1e10) / 1e10;
}

/**
 * The cost of a call. `usage` null (the provider reported none, e.g. a stream cut before its
 * usage event) is unpriced as well: a cost is computed only from reported tokens.
 */
export function priceCall(
  provider: string,
  model: string | null,
  usage: LlmUsage | null,
  overrides?: PriceOverrides,
  table: PriceTable = PRICE_TABLE,
): PricedCall {
  if (!model || !usage) return UNPRICED;
  const found = findPrice(provider, model, overrides, table);
  if (!found) return UNPRICED;
  return {
    costUsd: costOf(found.price, usage),
    priced: true,
    source: found.source,
    pricedAs: found.name,
    tableVersion: found.source === 'table' ? table.version : null,
  };
}
