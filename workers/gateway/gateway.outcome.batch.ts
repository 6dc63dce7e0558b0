/**
 * Outcomes on their way to their guard, per isolate (step 9 of the call core).
 *
 * A call's outcome (status, latency, findings) used to be its own `complete` round trip to the
 * guard, and its own write there. Now it waits here, in the isolate's memory, for whichever comes
 * first: the next call to the same guard, which carries it in its admit (`AdmitRequest.outcomes`:
 * applied before that call is decided, in the same transaction as its rows), or OUTCOME_LINGER_MS,
 * after which the isolate sends what waits in one `completeMany`. Under steady traffic most
 * outcomes ride on an admit; a lone call's outcome goes out a few milliseconds later than before.
 *
 * Only a guard this isolate is busy with lingers: when its previous outcome was queued IDLE_MS or
 * more ago, no next call is likely to come in time to carry the new one, so it leaves after
 * IDLE_SEND_MS — a lone call's live event no longer waits out the linger (its event leaves the guard
 * only with its outcome), and the round trips are the same as before: sparse calls' outcomes went
 * alone anyway.
 *
 * Durability is unchanged in kind: the audit row is on the guard's disk before the call is
 * forwarded (admit); the outcome was always sent after the answer under waitUntil, so an isolate
 * that dies before sending it leaves the row to be flushed as `outcome_unknown` (audit.spool.ts).
 * The window grows by at most OUTCOME_LINGER_MS.
 *
 * Only plain data is shared between requests here. Each request sends with its own stub, and the
 * timer that sends a lone outcome runs in the waitUntil of the request that armed it.
 */
import {
  type AdmitRequest,
  MAX_OUTCOMES_PER_CALL,
  type PendingOutcome,
} from '../../durable-objects/guard.contract';
import { boundedSet } from '../lib/bounded.map';
import { log } from '../lib/log';
import { nativeWait } from '../lib/native.wait';
import { claimsSettled } from './gateway.claims';

/**
 * How long an outcome waits for a call to ride on before it is sent on its own. A call's live event
 * leaves its guard only with its outcome, so this wait is in every event's delivery time. Tried and
 * measured interleaved (800-call rounds, one call at a time): 3 ms took about 7 ms off a lone call's
 * event but added 0.2–0.3 ms to p50, because the outcome then often left on its own just before the
 * next call's admit, a second round trip beside it.
 */
export const OUTCOME_LINGER_MS = 10;

/**
 * A guard whose previous outcome this isolate queued this long ago or more is idle: the next
 * outcome leaves almost at once (IDLE_SEND_MS). Well above the pace of calls one at a time (5–8 ms
 * here), so those keep riding on the next admit; measured with the events bench's calls 150 ms
 * apart, a lone call's event reached its subscriber in ~11 ms instead of ~21.
 */
export const IDLE_MS = 50;

/**
 * An idle guard's outcome still waits this long: the call's answer is on its way out first. Locally
 * every object shares the isolate's one thread. Sent in the answer's own turn, the event's fan-out
 * (1,000 subscribers, written in one turn then) ran before the answer left: calls took 53–70 ms
 * instead of ~10. With the fan-out in slices, a 0 ms wait still held calls to 18–29 ms (and got
 * the lone event to its subscriber in 8 ms, against 11 with this 1 ms).
 */
export const IDLE_SEND_MS = 1;

/** Guards whose pace this isolate remembers (the least recently used is forgotten first). */
const PACE_LIMIT = 1_000;

/** What is sent to a guard from here (its stub, `guardFor` in do.client.ts). */
interface Guard {
  completeMany(outcomes: PendingOutcome[]): Promise<void>;
}

interface Queue {
  items: PendingOutcome[];
  /** A request's timer will send what waits. */
  armed: boolean;
}

const queues = new Map<string, Queue>();
/**
 * Sends taken from a queue whose guard has not answered yet. A count, not their promises: only
 * plain data is shared between requests (sendWaitingOutcomes, below, runs in another one).
 */
let sending = 0;
/** When this isolate last queued an outcome for each guard. */
const lastQueuedAt = new Map<string, number>();

function keyOf(orgId: string, connectionId: string): string {
  return `${orgId}\n${connectionId}`;
}

/**
 * Queues an outcome for its guard. Returns the promise of this request's send when it armed the
 * timer (for waitUntil and the trace), or null when a send is already on its way.
 */
export function queueOutcome(
  target: { orgId: string; connectionId: string },
  item: PendingOutcome,
  guard: Guard,
  now = Date.now(),
): Promise<void> | null {
  const key = keyOf(target.orgId, target.connectionId);
  const previous = lastQueuedAt.get(key);
  // Deleted first so that setting it again moves it to the end: the bound forgets idle guards first.
  lastQueuedAt.delete(key);
  boundedSet(lastQueuedAt, key, now, PACE_LIMIT);
  let queue = queues.get(key);
  if (!queue) {
    queue = { items: [], armed: false };
    queues.set(key, queue);
  }
  queue.items.push(item);
  // A full queue goes now (a burst of answers with no admit to ride on).
  if (queue.items.length >= MAX_OUTCOMES_PER_CALL) return send(key, guard);
  if (queue.armed) return null;
  queue.armed = true;
  // A native wait: nothing to clear (the outcome goes either way), no timer object per call. Even
  // idle, a call's other rows (a batch's items), queued in the same turn, leave with it.
  const idle = previous === undefined || now - previous >= IDLE_MS;
  return nativeWait(idle ? IDLE_SEND_MS : OUTCOME_LINGER_MS).then(() => {
    const current = queues.get(key);
    if (current) current.armed = false;
    return send(key, guard);
  });
}

/** The outcomes waiting for this guard, taken to ride on an admit (at most MAX_OUTCOMES_PER_CALL). */
export function takeOutcomes(orgId: string, connectionId: string): PendingOutcome[] | undefined {
  const queue = queues.get(keyOf(orgId, connectionId));
  if (!queue || queue.items.length === 0) return undefined;
  return queue.items.splice(0, MAX_OUTCOMES_PER_CALL);
}

/**
 * takeOutcomes for an admit; a call naming a stored LLM response whose claim is still in flight
 * here first waits for it to be queued (gateway.claims.ts: its creator's claim must ride first).
 * Without such a claim — every other call — the outcomes are taken at once, not through a promise:
 * the admit is on every call's path, and an `await` there costs a turn (BENCHMARKS.md, session 19).
 */
export function outcomesForAdmit(
  orgId: string,
  connectionId: string,
  tasks: AdmitRequest['tasks'],
): PendingOutcome[] | undefined | Promise<PendingOutcome[] | undefined> {
  // `llm-batch`: a batch create naming its input file (llm.batch-input.ts), whose upload's claim
  // carries the file's models.
  const names = tasks?.protocol === 'llm-response' || tasks?.protocol === 'llm-batch';
  const claim = names && tasks.ids ? claimsSettled(orgId, connectionId, tasks.ids) : null;
  return claim ? claim.then(() => takeOutcomes(orgId, connectionId)) : takeOutcomes(orgId, connectionId);
}

/**
 * Sends outcomes an admit took but could not deliver (the admit failed: the guard may or may not
 * have applied them; applying one twice re-patches the same values into its row).
 */
export function resendOutcomes(guard: Guard, items: PendingOutcome[]): Promise<void> {
  return guard.completeMany(items).catch((err: unknown) => lost(err, items.length));
}

async function send(key: string, guard: Guard): Promise<void> {
  const queue = queues.get(key);
  if (!queue) return;
  const items = queue.items.splice(0, MAX_OUTCOMES_PER_CALL);
  if (queue.items.length === 0 && !queue.armed) queues.delete(key);
  if (items.length === 0) return;
  sending++;
  try {
    await guard.completeMany(items).catch((err: unknown) => lost(err, items.length));
  } finally {
    sending--;
  }
}

function lost(err: unknown, count: number): void {
  log('warn', 'audit outcomes not recorded; their rows will be flushed as outcome_unknown', { err, count });
}

/** How long sendWaitingOutcomes waits for sends already on their way (a guard that never answers). */
export const SENDING_WAIT_MS = 5_000;

/**
 * Sends every waiting outcome now (each guard's with a stub made for this request), and waits for
 * the sends a call's timer had already taken out of the queue (up to SENDING_WAIT_MS). For whoever
 * must see the rows complete at once: tests that flush the audit spool right after a call. Without
 * that wait, an outcome taken by the timer an instant before could reach its guard after the
 * flush, which then found the row still waiting for it.
 */
export async function sendWaitingOutcomes(
  guardOf: (orgId: string, connectionId: string) => Guard,
): Promise<void> {
  await Promise.all(
    [...queues.keys()].map((key) => {
      const [orgId = '', connectionId = ''] = key.split('\n');
      return send(key, guardOf(orgId, connectionId));
    }),
  );
  const deadline = Date.now() + SENDING_WAIT_MS;
  while (sending > 0 && Date.now() < deadline) await nativeWait(2);
}
