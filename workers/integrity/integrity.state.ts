/**
 * What the gateway needs per call about a connection's listed items — and nothing else — kept
 * where the hot path can read it without D1: KV `integrity:<orgId>:<connectionId>`, cached in the
 * isolate for POLICY_CACHE_TTL_MS exactly like the policy (policy.store.ts), and read in parallel
 * with it. Written by the recorder (integrity.record.ts) after a change and by the API after an
 * approval or quarantine, from D1 (`tool_inventory`, the record of truth).
 *
 * Why KV and not the guard: the guard's contract (AdmitRequest) would have to grow for data whose
 * record is D1, and every call already reads the policy from KV with the same freshness bound.
 * Why not D1: one query per call is what this layer must not add. The bound (docs/tool-integrity.md):
 * in `fail_closed`, an item never approved is refused at once (it is absent from `approved`); a
 * *changed* item is hidden from lists at once (its live fingerprint differs), and its calls are
 * refused once the change is published — within the policy's propagation bound on Cloudflare,
 * at the next call locally.
 *
 * The pure questions (`refusalFor`, `hides`) are in integrity.types.ts.
 */
import { cacheMaxAgeMs, isCurrent, knownEpoch } from '../config/config.epoch';
import { storedTextWeight, WeightedMap } from '../lib/bounded.map';
import { AppError } from '../lib/errors';
import { log } from '../lib/log';
import { type CallIntegrity, type DiscoveryMode, EMPTY_STATE, type IntegrityState } from './integrity.types';

export function integrityKvKey(orgId: string, connectionId: string): string {
  return `integrity:${orgId}:${connectionId}`;
}

interface CacheEntry {
  state: IntegrityState;
  loadedAt: number;
  /** The organization's configuration epoch when it was read (workers/config/config.epoch.ts). */
  epoch: number;
}
/**
 * States by connection, weighed by their stored JSON (a state names every tool it blocked or
 * approved, and a hostile server can list many): at most CACHE_LIMIT and CACHE_BYTES in all
 * (WeightedMap's why). 12 MB: every isolate cache together stays under ~96 MB (docs/architecture.md,
 * "Memory: what an isolate and an object hold, at most").
 */
const CACHE_LIMIT = 5_000;
export const INTEGRITY_CACHE_BYTES = 12 * 1024 * 1024;
const cache = new WeightedMap<string, CacheEntry>(CACHE_LIMIT, INTEGRITY_CACHE_BYTES);

export async function publishIntegrity(
  kv: KVNamespace,
  orgId: string,
  connectionId: string,
  state: IntegrityState,
) {
  const key = integrityKvKey(orgId, connectionId);
  const text = JSON.stringify(state);
  await kv.put(key, text);
  // This isolate (the one that saw the change) applies it from its next call on.
  cache.set(key, { state, loadedAt: Date.now(), epoch: knownEpoch(orgId) }, storedTextWeight(text));
}

/**
 * The connection's state; EMPTY_STATE when never published. Fail-closed: a state that cannot be
 * read refuses the call (503) like an unreadable policy — a quarantine must not lapse silently.
 */
export async function loadIntegrity(env: Env, orgId: string, connectionId: string): Promise<IntegrityState> {
  const key = integrityKvKey(orgId, connectionId);
  const hit = cache.get(key);
  if (hit && isCurrent(orgId, hit, cacheMaxAgeMs(env))) return hit.state;
  const epoch = knownEpoch(orgId);
  let state: IntegrityState;
  let text: string | null;
  try {
    text = await env.POLICY_KV.get(key, 'text');
    const stored = text === null ? null : (JSON.parse(text) as IntegrityState);
    state = stored
      ? {
          blocked: stored.blocked ?? {},
          approved: stored.approved ?? {},
          annotations: stored.annotations ?? {},
          scanBlock: stored.scanBlock ?? null,
        }
      : EMPTY_STATE;
  } catch (err) {
    log('error', 'integrity state load failed; refusing calls (fail-closed)', { orgId, connectionId, err });
    throw new AppError('policy_unavailable', { internal: err });
  }
  cache.set(key, { state, loadedAt: Date.now(), epoch }, storedTextWeight(text));
  return state;
}

/** The call's integrity context, or null when integrity is off and no scan may block (nothing is read). */
export async function loadCallIntegrity(
  env: Env,
  connection: {
    orgId: string;
    id: string;
    slug: string;
    settings: {
      integrity: { discovery: DiscoveryMode; quarantineOnCritical: boolean; blockOnCriticalScan: boolean };
    };
  },
): Promise<CallIntegrity | null> {
  const { discovery, quarantineOnCritical, blockOnCriticalScan } = connection.settings.integrity;
  if (discovery === 'off' && !blockOnCriticalScan) return null;
  const state = await loadIntegrity(env, connection.orgId, connection.id);
  const withdraw = (names: readonly string[]) => withdrawApprovals(connection.orgId, connection.id, names);
  return {
    mode: discovery,
    quarantineOnCritical,
    blockOnCriticalScan,
    slug: connection.slug,
    state,
    withdraw,
  };
}

/** This isolate's cached state without the approvals of `names` (until the recorder republishes). */
function withdrawApprovals(orgId: string, connectionId: string, names: readonly string[]): void {
  const hit = cache.get(integrityKvKey(orgId, connectionId));
  if (!hit || !names.some((n) => Object.hasOwn(hit.state.approved, n))) return;
  const approved = { ...hit.state.approved };
  for (const name of names) delete approved[name];
  hit.state = { ...hit.state, approved };
}
