/**
 * Ownership claims on their way to the guard, per isolate: a call whose answer created something
 * its caller will name next (a stored LLM response: llm.response.access.ts) is "claiming" that id
 * from the moment a response stage saw it until the call's outcome, which carries the claim, is
 * queued for the guard (gateway.outcome.ts, gateway.outcome.batch.ts).
 *
 * Why: an LLM call's outcome leaves only when its answer has ended and its cost is priced (a D1
 * read: llm.stages.ts llmFinalOutcome), so a caller that continues a response the moment it has it
 * could reach the guard before the claim does, and be refused its own response. A call that names
 * an id still claiming here therefore waits, before its admit, for that claim to be queued — then
 * it rides on that very admit, applied before it is decided. Only a call naming such an id waits,
 * never longer than CLAIM_WAIT_MS (after which it is decided as it stands: refused, never admitted
 * unchecked); every other call takes its admit's outcomes as before, and no call makes a round
 * trip more. A continuation that reaches another isolate first has the outcome's linger as its
 * window (as an A2A task has: docs/architecture.md#task-ownership-in-the-guard).
 *
 * Memory: plain data only, at most MAX_CLAIMING ids per guard; an entry whose outcome never came
 * (the call failed before any) is dropped once CLAIM_WAIT_MS old.
 */
import { nativeWait } from '../lib/native.wait';

/** Longest wait of a call for a claim in flight (and the age at which one is given up). */
export const CLAIM_WAIT_MS = 2_000;
/** Ids claiming per guard; beyond them a claim just rides its outcome. */
const MAX_CLAIMING = 1_000;

interface Claiming {
  at: number;
  queued: Promise<void>;
  resolve: () => void;
}

/** Per guard, each id claiming. */
const claiming = new Map<string, Map<string, Claiming>>();
/** Per claiming call (its findings array, which its outcome sends): its guard and ids. */
const callClaims = new WeakMap<object, { key: string; ids: string[] }>();

function keyOf(orgId: string, connectionId: string): string {
  return `${orgId}\n${connectionId}`;
}

/** The claim of `id` is over (queued, or waited out): its waiters go on, and it is forgotten. */
function release(ids: Map<string, Claiming>, id: string): void {
  ids.get(id)?.resolve();
  ids.delete(id);
}

/** A response stage saw `id` created: the call's outcome will claim it (its `findings`). */
export function claimPending(
  call: { orgId: string; connectionId: string; findings: object },
  id: string,
  now = Date.now(),
): void {
  const key = keyOf(call.orgId, call.connectionId);
  const ids = claiming.get(key) ?? new Map<string, Claiming>();
  // Oldest first (insertion order): entries whose outcome never came go here, a few at a time.
  for (const [old, entry] of ids) {
    if (now - entry.at < CLAIM_WAIT_MS) break;
    release(ids, old);
  }
  if (ids.size >= MAX_CLAIMING || ids.has(id)) return;
  claiming.set(key, ids);
  let resolve!: () => void;
  const queued = new Promise<void>((r) => {
    resolve = r;
  });
  ids.set(id, { at: now, queued, resolve });
  const mine = callClaims.get(call.findings) ?? { key, ids: [] };
  mine.ids.push(id);
  callClaims.set(call.findings, mine);
}

/** The call's outcome (with its findings) is queued for its guard, or could not be: waiters go on. */
export function claimsQueued(findings: object): void {
  const mine = callClaims.get(findings);
  if (!mine) return;
  callClaims.delete(findings);
  const ids = claiming.get(mine.key);
  if (!ids) return;
  for (const id of mine.ids) release(ids, id);
  if (ids.size === 0) claiming.delete(mine.key);
}

/**
 * Waits (at most CLAIM_WAIT_MS from the claim) until the claims of `names` in flight here are
 * queued; null when none is in flight, so that the caller need not wait at all (no promise, no turn:
 * the common case, on every admit that names stored responses).
 */
export function claimsSettled(
  orgId: string,
  connectionId: string,
  names: readonly string[],
  now = Date.now(),
): Promise<void> | null {
  const ids = claiming.get(keyOf(orgId, connectionId));
  if (!ids) return null;
  const waits: Promise<void>[] = [];
  let oldest = now;
  for (const id of names) {
    const entry = ids.get(id);
    if (!entry) continue;
    if (now - entry.at >= CLAIM_WAIT_MS) {
      release(ids, id);
      continue;
    }
    waits.push(entry.queued);
    oldest = Math.min(oldest, entry.at);
  }
  if (ids.size === 0) claiming.delete(keyOf(orgId, connectionId));
  if (waits.length === 0) return null;
  return Promise.race([Promise.all(waits), nativeWait(CLAIM_WAIT_MS - (now - oldest))]).then(() => undefined);
}
