/**
 * Ownership claims on their way to the guard, per isolate: a call whose answer created something
 * its caller will name next (a stored LLM response: llm.response.access.ts) is "claiming" from the
 * moment a response stage saw the created id until its outcome, which carries the claim, is queued
 * for the guard (gateway.outcome.ts, gateway.outcome.batch.ts).
 *
 * Why: an LLM call's outcome leaves only when its answer has ended and its cost is priced (a D1
 * read: llm.stages.ts llmFinalOutcome), so a caller that continues a response the moment it has it
 * could reach the guard before the claim does, and be refused its own response. A call that names
 * a stored response therefore waits, before its admit, for this isolate's claims to the same guard
 * to be queued — then they ride on that very admit, applied before it is decided. Only such calls
 * wait, only while a claim to their guard is in flight here, and never longer than CLAIM_WAIT_MS:
 * every other call takes its admit's outcomes as before, and no call makes a round trip more. A
 * continuation that reaches another isolate first has the outcome's linger as its window (as an
 * A2A task has: docs/architecture.md#task-ownership-in-the-guard): it is refused, never admitted.
 *
 * Memory: plain data only, at most MAX_CLAIMING per guard; an entry whose outcome never came (the
 * call failed before any) is dropped once CLAIM_WAIT_MS old.
 */
import { nativeWait } from '../lib/native.wait';

/** Longest wait of a call for claims in flight (and the age at which one is given up). */
export const CLAIM_WAIT_MS = 2_000;
/** Claims in flight remembered per guard; beyond them a claim just rides its outcome. */
const MAX_CLAIMING = 1_000;

interface Claiming {
  at: number;
  queued: Promise<void>;
  resolve: () => void;
}

/** Per guard, each claiming call (keyed by its findings array, which its outcome sends). */
const claiming = new Map<string, Map<object, Claiming>>();
const guardOf = new WeakMap<object, string>();

function keyOf(orgId: string, connectionId: string): string {
  return `${orgId}\n${connectionId}`;
}

/** A response stage saw a created id: the call's outcome will claim it (call.findings). */
export function claimPending(
  call: { orgId: string; connectionId: string; findings: object },
  now = Date.now(),
): void {
  if (guardOf.has(call.findings)) return;
  const key = keyOf(call.orgId, call.connectionId);
  const calls = claiming.get(key) ?? new Map<object, Claiming>();
  claiming.set(key, calls);
  if (calls.size >= MAX_CLAIMING) return;
  let resolve!: () => void;
  const queued = new Promise<void>((r) => {
    resolve = r;
  });
  calls.set(call.findings, { at: now, queued, resolve });
  guardOf.set(call.findings, key);
}

/** The call's outcome (with its findings) is queued for its guard, or could not be: waiters go on. */
export function claimsQueued(findings: object): void {
  const key = guardOf.get(findings);
  if (key === undefined) return;
  guardOf.delete(findings);
  const calls = claiming.get(key);
  const entry = calls?.get(findings);
  calls?.delete(findings);
  if (calls?.size === 0) claiming.delete(key);
  entry?.resolve();
}

/** Waits (at most CLAIM_WAIT_MS) until this isolate's claims in flight to the guard are queued. */
export async function claimsSettled(orgId: string, connectionId: string, now = Date.now()): Promise<void> {
  const calls = claiming.get(keyOf(orgId, connectionId));
  if (!calls) return;
  const waits: Promise<void>[] = [];
  let oldest = now;
  for (const [findings, entry] of calls) {
    if (now - entry.at >= CLAIM_WAIT_MS) claimsQueued(findings);
    else {
      waits.push(entry.queued);
      oldest = Math.min(oldest, entry.at);
    }
  }
  if (waits.length === 0) return;
  await Promise.race([Promise.all(waits), nativeWait(CLAIM_WAIT_MS - (now - oldest))]);
}
