/**
 * Where policies live and how the hot path gets them.
 *
 *   D1 `policies`  — every version, the record of truth (written by the API).
 *   KV `policy:<orgId>:<connectionId>` — the current version, published by the API right after
 *                    the D1 write; this is what gateways read.
 *   isolate memory — the compiled form, kept POLICY_CACHE_TTL_MS (default 10 s) per isolate.
 *
 * Propagation bound on Cloudflare: a new version is used by every isolate within
 * POLICY_CACHE_TTL_MS + KV's propagation delay (up to ~60 s). Locally (`npm start`, tests) KV is
 * immediately consistent and the TTL is 0, so a PUT takes effect on the very next call.
 *
 * Failure mode: fail-closed. A policy that cannot be loaded or does not validate refuses the call
 * with 503 `policy_unavailable`; a connection that never had a policy denies every governed call.
 */
import { AppError } from '../lib/errors';
import { log } from '../lib/log';
import { type CompiledPolicy, compilePolicy } from './policy.evaluate';
import { parsePolicy } from './policy.schema';

export interface PublishedPolicy {
  version: number;
  rules: unknown[];
}

interface CacheEntry {
  policy: CompiledPolicy | null;
  loadedAt: number;
}

const cache = new Map<string, CacheEntry>();
const CACHE_LIMIT = 5_000;

export function policyKvKey(orgId: string, connectionId: string): string {
  return `policy:${orgId}:${connectionId}`;
}

/** The empty policy every connection starts with: no rules, so every governed call is denied. */
export const NO_POLICY: CompiledPolicy = compilePolicy({ rules: [] }, 0);

export async function publishPolicy(
  kv: KVNamespace,
  orgId: string,
  connectionId: string,
  policy: PublishedPolicy,
) {
  // The version rides in the metadata too, so a reader can tell it already has this version
  // compiled without parsing (let alone re-validating) the rules.
  await kv.put(policyKvKey(orgId, connectionId), JSON.stringify(policy), {
    metadata: { version: policy.version },
  });
  cache.delete(policyKvKey(orgId, connectionId));
}

export async function unpublishPolicy(kv: KVNamespace, orgId: string, connectionId: string) {
  await kv.delete(policyKvKey(orgId, connectionId));
  cache.delete(policyKvKey(orgId, connectionId));
}

function compileStored(stored: PublishedPolicy): CompiledPolicy {
  const parsed = parsePolicy({ rules: stored.rules });
  if (!parsed.ok) throw new AppError('policy_unavailable', { internal: { issues: parsed.issues } });
  return compilePolicy(parsed.policy, stored.version);
}

/**
 * The compiled current policy of a connection. Reads KV on a cache miss and, when KV has nothing
 * (never published, or lost), D1's latest version — republishing it so the next miss is cheap.
 */
export async function loadPolicy(env: Env, orgId: string, connectionId: string): Promise<CompiledPolicy> {
  const key = policyKvKey(orgId, connectionId);
  const ttl = Number.parseInt(env.POLICY_CACHE_TTL_MS, 10) || 0;
  const hit = cache.get(key);
  if (hit && Date.now() - hit.loadedAt < ttl) return hit.policy ?? NO_POLICY;

  let compiled: CompiledPolicy | null;
  try {
    const { value, metadata } = await env.POLICY_KV.getWithMetadata<{ version?: number }>(key, 'text');
    if (value !== null && hit?.policy && metadata?.version === hit.policy.version) {
      // Same version as the compiled one we hold: only the freshness of the check changes.
      hit.loadedAt = Date.now();
      return hit.policy;
    }
    let stored = value === null ? null : (JSON.parse(value) as PublishedPolicy);
    if (!stored) {
      const row = await env.DB.prepare(
        'SELECT version, rules FROM policies WHERE org_id = ? AND connection_id = ? ORDER BY version DESC LIMIT 1',
      )
        .bind(orgId, connectionId)
        .first<{ version: number; rules: string }>();
      stored = row ? { version: row.version, rules: JSON.parse(row.rules) as unknown[] } : null;
      if (stored) await publishPolicy(env.POLICY_KV, orgId, connectionId, stored);
    }
    compiled = stored ? compileStored(stored) : null;
  } catch (err) {
    log('error', 'policy load failed; refusing calls (fail-closed)', { orgId, connectionId, err });
    throw err instanceof AppError ? err : new AppError('policy_unavailable', { internal: err });
  }
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(key, { policy: compiled, loadedAt: Date.now() });
  return compiled ?? NO_POLICY;
}
