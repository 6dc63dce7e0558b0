/**
 * Where policies live and how the hot path gets them.
 *
 *   D1 `policies`  — every version, the record of truth (written by the API).
 *   KV `policy:<orgId>:<connectionId>` — the current version, published by the API right after
 *                    the D1 write; this is what gateways read.
 *   isolate memory — the compiled form, tagged with the organization's configuration epoch and
 *                    kept at most POLICY_CACHE_TTL_MS (default 10 s) per isolate.
 *
 * Propagation: a PUT bumps the configuration epoch (workers/config/config.epoch.ts), so the next
 * call in every isolate reloads; a KV copy older than D1's latest version (edge propagation) is
 * ignored in favour of D1's (`atLeast`).
 *
 * Failure mode: fail-closed. A policy that cannot be loaded or does not validate refuses the call
 * with 503 `policy_unavailable`; a connection that never had a policy denies every governed call.
 */
import { cacheMaxAgeMs, isCurrent, knownEpoch } from '../config/config.epoch';
import { storedTextWeight, WeightedMap } from '../lib/bounded.map';
import { AppError } from '../lib/errors';
import { log } from '../lib/log';
import { type CompiledPolicy, compilePolicy } from './policy.evaluate';
import { compilePublished, encodePublished, type PublishedPolicy } from './policy.published';
import { parsePolicy, type Rule } from './policy.schema';

interface CacheEntry {
  policy: CompiledPolicy | null;
  loadedAt: number;
  /** The organization's configuration epoch when it was read (workers/config/config.epoch.ts). */
  epoch: number;
}

/**
 * Compiled policies by connection, weighed by their stored text (a policy of 10,000 rules is
 * megabytes) and the bound of their per-name caches (policyMemoBytes): at most CACHE_LIMIT of them
 * and POLICY_CACHE_BYTES in all (WeightedMap's why). 20 MB: every isolate cache together stays
 * under ~96 MB (docs/architecture.md, "Memory: what an isolate and an object hold, at most").
 */
const CACHE_LIMIT = 5_000;
export const POLICY_CACHE_BYTES = 20 * 1024 * 1024;
const cache = new WeightedMap<string, CacheEntry>(CACHE_LIMIT, POLICY_CACHE_BYTES);

export function policyKvKey(orgId: string, connectionId: string): string {
  return `policy:${orgId}:${connectionId}`;
}

/** The empty policy every connection starts with: no rules, so every governed call is denied. */
export const NO_POLICY: CompiledPolicy = compilePolicy({ rules: [] }, 0);

/**
 * Publishes rules that were validated (the output of parsePolicy) in the trusted stored form
 * (policy.published.ts), so gateways compile them without validating them again.
 */
export async function publishPolicy(
  kv: KVNamespace,
  orgId: string,
  connectionId: string,
  policy: { version: number; rules: readonly Rule[] },
) {
  await kv.put(policyKvKey(orgId, connectionId), encodePublished(policy.version, policy.rules), {
    // The version rides in the metadata too, so a reader can tell it already has this version
    // compiled without parsing (let alone re-validating) the rules.
    metadata: { version: policy.version },
  });
  cache.delete(policyKvKey(orgId, connectionId));
}

export async function unpublishPolicy(kv: KVNamespace, orgId: string, connectionId: string) {
  await kv.delete(policyKvKey(orgId, connectionId));
  cache.delete(policyKvKey(orgId, connectionId));
}

/**
 * Rules are validated once, when they are published, and stored in a trusted form
 * (policy.published.ts); a load only builds the tool index, rules compile when first evaluated —
 * at 10,000 rules validation cost ten times what compiling does. Anything else (an unknown
 * format) is validated here as before, and fails closed.
 */
function compileStored(stored: PublishedPolicy): CompiledPolicy {
  const trusted = compilePublished(stored);
  if (trusted) return trusted;
  const parsed = parsePolicy({ rules: stored.rules });
  if (!parsed.ok) throw new AppError('policy_unavailable', { internal: { issues: parsed.issues } });
  return compilePolicy(parsed.policy, stored.version);
}

/**
 * The compiled current policy of a connection. Reads KV on a cache miss and, when KV has nothing
 * (never published, or lost), D1's latest version — republishing it so the next miss is cheap.
 */
export async function loadPolicy(
  env: Env,
  orgId: string,
  connectionId: string,
  /** D1's latest version, when the caller knows it: KV (eventually consistent) must be as new. */
  atLeast: number | null = null,
): Promise<CompiledPolicy> {
  const key = policyKvKey(orgId, connectionId);
  const hit = cache.get(key);
  const fresh = (p: CompiledPolicy | null) => atLeast === null || (p?.version ?? 0) >= atLeast;
  if (hit && isCurrent(orgId, hit, cacheMaxAgeMs(env)) && fresh(hit.policy)) return hit.policy ?? NO_POLICY;
  const epoch = knownEpoch(orgId);

  let compiled: CompiledPolicy | null;
  let weight = storedTextWeight(null);
  try {
    const { value, metadata } = await env.POLICY_KV.getWithMetadata<{ version?: number }>(key, 'text');
    // An edge copy older than D1's latest is treated as absent: D1 is read below.
    const behind = atLeast !== null && (metadata?.version ?? 0) < atLeast;
    if (value !== null && !behind && hit?.policy && metadata?.version === hit.policy.version) {
      // Same version as the compiled one we hold: only the freshness of the check changes.
      hit.loadedAt = Date.now();
      hit.epoch = Math.max(hit.epoch, epoch);
      return hit.policy;
    }
    const stored = value === null || behind ? null : (JSON.parse(value) as PublishedPolicy);
    if (stored) weight = storedTextWeight(value);
    compiled = stored ? compileStored(stored) : null;
    if (!stored) {
      const row = await env.DB.prepare(
        'SELECT version, rules FROM policies WHERE org_id = ? AND connection_id = ? ORDER BY version DESC LIMIT 1',
      )
        .bind(orgId, connectionId)
        .first<{ version: number; rules: string }>();
      if (row) {
        // D1's copy is validated before it is published as validated.
        const parsed = parsePolicy({ rules: JSON.parse(row.rules) as unknown });
        if (!parsed.ok) throw new AppError('policy_unavailable', { internal: { issues: parsed.issues } });
        await publishPolicy(env.POLICY_KV, orgId, connectionId, { version: row.version, ...parsed.policy });
        compiled = compilePolicy(parsed.policy, row.version);
        weight = storedTextWeight(row.rules);
      }
    }
  } catch (err) {
    log('error', 'policy load failed; refusing calls (fail-closed)', { orgId, connectionId, err });
    throw err instanceof AppError ? err : new AppError('policy_unavailable', { internal: err });
  }
  // The policy's name caches fill after it is cached: weighed in at their bound.
  cache.set(key, { policy: compiled, loadedAt: Date.now(), epoch }, weight + (compiled?.memoBytes ?? 0));
  return compiled ?? NO_POLICY;
}
