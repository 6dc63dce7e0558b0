/**
 * What an LLM rule targets besides its tool glob: a `model` glob and a set of `endpoint` names.
 * Pure, compiled once per policy, and allocation-free when evaluated:
 *
 * - endpoints are bits of one integer (the list of names is closed and short), so "is this request's
 *   endpoint one of the rule's" is one AND;
 * - model globs are matched like tool names (normalised, linear glob matcher: policy.normalize.ts,
 *   workers/shared/policy.glob.ts). The matches of one model name against every model glob of the
 *   policy are computed once, on a miss, into a byte per glob, and kept in a bounded cache keyed by
 *   the name as sent — the same scheme as the tool candidate cache.
 *
 * A rule with a model glob (or endpoints) never matches a request without a model (or endpoint):
 * MCP calls carry neither, so LLM rules cannot change an MCP decision.
 */
import { stringWeight, WeightedMap } from '../lib/bounded.map.js';
import { compileGlob, type GlobMatcher } from '../shared/policy.glob.js';
import { normalizeName, normalizePattern } from './policy.normalize.js';
import { POLICY_ENDPOINTS, type Rule } from './policy.schema.js';

/** Bounds memory when callers spray distinct model names; FIFO eviction keeps it O(1). */
export const MODEL_CACHE_LIMIT = 1024;
/** Longer names are matched without caching. */
const CACHEABLE_MODEL_LENGTH = 256;
/** What a memo entry costs besides its name and its typed array (map entry, array object). */
export const MEMO_ENTRY_BYTES = 96;

const ENDPOINT_BITS: ReadonlyMap<string, number> = new Map(POLICY_ENDPOINTS.map((name, i) => [name, 1 << i]));

/** The bit of a request's endpoint; 0 when absent or unknown (matches no rule's endpoints). */
export function endpointBit(endpoint: string | null | undefined): number {
  if (endpoint === null || endpoint === undefined) return 0;
  return ENDPOINT_BITS.get(endpoint) ?? 0;
}

export interface CompiledTarget {
  /** The model glob as written (shown in explanations), or null when the rule names no model. */
  readonly model: string | null;
  /** Index of the model glob in the policy's ModelIndex; -1 when the rule names no model. */
  readonly modelSlot: number;
  /** The endpoint names as written, or null. */
  readonly endpoints: readonly string[] | null;
  /** Bits of `endpoints` (endpointBit); 0 when the rule names none. */
  readonly endpointMask: number;
}

/** The model globs of a policy, and the bounded per-name cache of which of them match. */
export interface ModelIndex {
  readonly matchers: GlobMatcher[];
  /** Bounded by count and by `maxBytes` (a policy's share of memo memory: policyMemoBytes). */
  readonly cache: WeightedMap<string, Uint8Array>;
}

export function newModelIndex(maxBytes: number): ModelIndex {
  return { matchers: [], cache: new WeightedMap(MODEL_CACHE_LIMIT, maxBytes) };
}

/** Compiles the rule's model and endpoint parts, registering its model glob in `models`. */
export function compileTarget(rule: Rule, models: ModelIndex): CompiledTarget {
  const endpoints = rule.endpoint === undefined ? null : [rule.endpoint].flat();
  let endpointMask = 0;
  for (const name of endpoints ?? []) endpointMask |= endpointBit(name);
  let modelSlot = -1;
  if (rule.model !== undefined) {
    modelSlot = models.matchers.length;
    models.matchers.push(compileGlob(normalizePattern(rule.model)));
  }
  return { model: rule.model ?? null, modelSlot, endpoints, endpointMask };
}

/** Whether the rule targets anything beyond its tool glob (then only LLM requests can match it). */
export function isTargeted(target: CompiledTarget): boolean {
  return target.modelSlot >= 0 || target.endpointMask !== 0;
}

/**
 * For a request's model: byte i is 1 when model glob i matches it. Null when the request has no
 * model (or the policy no model glob). One Map lookup on a hit.
 */
export function modelMatches(models: ModelIndex, model: string | null | undefined): Uint8Array | null {
  if (model === null || model === undefined || models.matchers.length === 0) return null;
  const cached = models.cache.get(model);
  if (cached) return cached;
  const normal = normalizeName(model);
  const matches = new Uint8Array(models.matchers.length);
  for (let i = 0; i < matches.length; i++) matches[i] = models.matchers[i]!(normal) ? 1 : 0;
  if (model.length <= CACHEABLE_MODEL_LENGTH) {
    models.cache.set(model, matches, MEMO_ENTRY_BYTES + stringWeight(model) + matches.byteLength);
  }
  return matches;
}

/** Whether a targeted rule's model and endpoint parts hold for the request. */
export function targetHolds(target: CompiledTarget, matches: Uint8Array | null, bit: number): boolean {
  if (target.modelSlot >= 0 && (matches === null || matches[target.modelSlot] === 0)) return false;
  return target.endpointMask === 0 || (target.endpointMask & bit) !== 0;
}
