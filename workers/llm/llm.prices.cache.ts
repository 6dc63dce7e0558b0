/**
 * The organization's price overrides as the gateway prices calls with them (a call's cost after
 * its answer, llm.stages.ts `llmFinalOutcome`, and a budget's estimate before it,
 * llm.governance.ts `llmCostEstimate`): read from D1 once per organization and kept in the
 * isolate's memory like the rest of the per-call configuration (workers/config/config.epoch.ts) —
 * tagged with the organization's configuration epoch and re-read after POLICY_CACHE_TTL_MS.
 *
 * Why: a D1 read on every LLM call was the largest part of what an LLM call cost beyond an MCP
 * call (BENCHMARKS.md, session 19). Why it stays exact: `PUT` and `DELETE /api/v1/llm/prices` are
 * management writes, which bump the epoch before the API answers (config.announce.ts). This
 * isolate learns it at once; another isolate's next call is answered `stale` by its guard and
 * prepared again, having learnt the epoch, so both its estimate and its final cost read the new
 * prices. An override applies to calls from then on, as before.
 */
import { orgConfigCache } from '../config/config.epoch';
import type { PriceOverrides } from './llm.prices';
import { loadPriceOverrides } from './llm.prices.store';

// An organization's overrides are a few models' prices: 1 MB holds thousands of organizations.
const cache = orgConfigCache(loadPriceOverrides, { maxBytes: 1024 * 1024 });

/** The organization's overrides (priceCall's shape), from this isolate's cache when current. */
export function cachedPriceOverrides(
  env: Pick<Env, 'DB' | 'POLICY_CACHE_TTL_MS'>,
  orgId: string,
): Promise<PriceOverrides> {
  return cache.get(env, orgId);
}
