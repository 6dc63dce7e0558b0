/**
 * The compiled engines of the isolate, one per distinct inspection configuration (pure: no I/O —
 * inspection.load.ts reads what a configuration needs, this compiles and keeps it).
 *
 * Compiling 270 rules takes milliseconds, so an engine is compiled once per isolate per distinct
 * configuration and kept: the cache key is the packs, the overrides and — when a custom pack is
 * named — the version of the organization's custom rules (inspection.store.ts). A call never
 * compiles unless its configuration changed (or its engine was dropped, below).
 */
import { boundedSet } from '../lib/bounded.map';
import { log } from '../lib/log';
import type { InspectionSettings } from '../shared/connection.settings';
import { builtinPacks, builtinRules } from './inspection.builtin';
import { compileRules, type Engine } from './inspection.engine';
import type { Pack, Rule } from './inspection.schema';

const engines = new Map<string, Engine>();
/** Distinct configurations kept per isolate; the oldest goes first past it. */
const ENGINE_CACHE_LIMIT = 64;
/**
 * And what they may hold in memory together. An engine of every pack with its four automata built
 * holds ~9 MB: 64 of them would be several times an isolate's 128 MB, and the isolate serves every
 * organization — one tenant's many configurations (or the scan API's pack lists) must not be able
 * to exhaust it. Engines build their automata as scans need them, so the sum is taken afresh at
 * each insertion: it overshoots by at most the newest engine. 16 MB: every isolate cache together
 * stays under ~96 MB (docs/architecture.md, "Memory: what an isolate and an object hold, at most").
 */
export const ENGINE_CACHE_BYTES = 16 * 1024 * 1024;

function cachedEngine(key: string, build: () => Engine): Engine {
  const hit = engines.get(key);
  if (hit) {
    // Most recently used last: eviction takes the least recently used first.
    engines.delete(key);
    engines.set(key, hit);
    return hit;
  }
  const engine = build();
  boundedSet(engines, key, engine, ENGINE_CACHE_LIMIT);
  evictPastBudget(engine);
  return engine;
}

/** Drops the least recently used engines (never `keep`) while the cache holds more than its budget. */
function evictPastBudget(keep: Engine): void {
  let total = 0;
  for (const engine of engines.values()) total += engine.approxBytes();
  for (const [key, engine] of engines) {
    if (total <= ENGINE_CACHE_BYTES) return;
    if (engine === keep) continue;
    total -= engine.approxBytes();
    engines.delete(key);
  }
}

/** How many engines the isolate keeps, and about how many bytes they hold (for tests and metrics). */
export function engineCacheStats(): { engines: number; bytes: number } {
  let bytes = 0;
  for (const engine of engines.values()) bytes += engine.approxBytes();
  return { engines: engines.size, bytes };
}

/** Which of `names` are not built-in packs. */
export function customPackNames(names: readonly string[]): string[] {
  const builtin = builtinPacks();
  return names.filter((n) => !builtin.has(n));
}

/**
 * The engine of a configuration: every rule (built-in and custom) the named packs select, or
 * every rule for `'all'` (the scan API without packs).
 */
export function engineFor(
  settings: { packs: readonly string[] | 'all'; overrides?: InspectionSettings['overrides'] },
  custom: { version: string; rules: readonly Rule[]; packs: ReadonlyMap<string, Pack> } | null,
): Engine {
  const key = JSON.stringify([settings.packs, settings.overrides ?? null, custom?.version ?? null]);
  return cachedEngine(key, () => {
    const rules = custom && custom.rules.length > 0 ? [...builtinRules(), ...custom.rules] : builtinRules();
    if (settings.packs === 'all') return compileRules(rules, 'all', settings.overrides);
    const builtin = builtinPacks();
    const packs: Pack[] = [];
    for (const name of settings.packs) {
      const pack = builtin.get(name) ?? custom?.packs.get(name);
      // A pack deleted after it was assigned (deletion refuses an assigned pack, but a race
      // remains): the others still apply.
      if (pack) packs.push(pack);
      else log('warn', 'detection pack not found; skipped', { pack: name });
    }
    return compileRules(rules, packs, settings.overrides);
  });
}
