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
import { cacheMaxAgeMs, isCurrent, knownEpoch } from '../config/config.epoch';
import { boundedSet } from '../lib/bounded.map';
import type { PriceOverrides } from './llm.prices';
import { loadPriceOverrides } from './llm.prices.store';

interface Cached {
  loadedAt: number;
  epoch: number;
  value: Promise<PriceOverrides>;
}

const cache = new Map<string, Cached>();
const CACHE_LIMIT = 10_000;

/** The organization's overrides (priceCall's shape), from this isolate's cache when current. */
export function cachedPriceOverrides(
  env: Pick<Env, 'DB' | 'POLICY_CACHE_TTL_MS'>,
  orgId: string,
): Promise<PriceOverrides> {
  const hit = cache.get(orgId);
  if (hit && isCurrent(orgId, hit, cacheMaxAgeMs(env))) return hit.value;
  const entry: Cached = {
    loadedAt: Date.now(),
    epoch: knownEpoch(orgId),
    value: loadPriceOverrides(env.DB, orgId),
  };
  boundedSet(cache, orgId, entry, CACHE_LIMIT);
  // A failed read is not cached: the next call tries again.
  entry.value.catch(() => {
    if (cache.get(orgId) === entry) cache.delete(orgId);
  });
  return entry.value;
}
