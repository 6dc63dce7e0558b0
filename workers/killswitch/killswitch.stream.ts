/**
 * Ending in-flight SSE responses when a kill switch that matches their call is pulled.
 *
 * The gateway hands every response here (one line in gateway.call.ts). A `text/event-stream`
 * body is piped natively through an IdentityTransformStream while, next to it, a ConnectionGuard `watchKill` call is
 * pending; when that resolves with a KillNotice the upstream body is cancelled
 * (closing the upstream request), a JSON-RPC "Session Suspended" error is written for the pending
 * request (POST streams), and the caller's stream is closed.
 *
 * The same watch ends a stream whose caller may no longer call (a revoked key, a disabled or
 * deleted connection, removed or demoted member). It carries the configuration epoch the call was
 * decided on; the guard resolves it when it learns a newer one (every management change pushes
 * it before the API answers), and the stream asks `recheck` (gateway.entitlement.ts) whether its
 * caller is still entitled: if not, it ends exactly like a killed stream, with the error a new
 * call would get as its last words; if so, it watches on from the newer epoch.
 *
 * A stream that is one short answer (an MCP request answered by one event, then the end) skips
 * the relay: it is read and handed over whole (killswitch.handover.ts), as it is over before a
 * kill could have ended it. Every other stream is relayed, starting with what that peek read.
 *
 * Cost: nothing for JSON responses; for a stream, one extra guard RPC, started only if the stream
 * is still open after WATCH_DELAY_MS (most streamed answers to a tools/call are over by then) —
 * the guard delivers at once if a matching switch was pulled (or the epoch moved) in between, so
 * nothing is missed. After a management change, one re-validation (shared by the isolate's streams
 * of the same caller) and one renewed watch. It never touches the hot path: the response is
 * returned before the watch starts.
 *
 * No leaks: when the stream ends first (normally, or the caller hangs up) the gateway withdraws the
 * watch (`unwatch`), which settles it inside the guard; a watch the gateway never withdrew (its
 * isolate died) expires in the guard after WATCH_TTL_MS, and an open stream renews its watch then.
 * If the guard fails (restart, deploy) the watch is made again, every RETRY_MS while unreachable.
 * (A returned ReadableStream would not do: the guard learns of its cancellation only on a write.)
 */

import { guardFor } from '../../durable-objects/do.client';
import {
  type GuardTarget,
  isConfigNotice,
  type KillNotice,
  type WatchNotice,
} from '../../durable-objects/guard.contract';
import { AppError } from '../lib/errors';
import { log } from '../lib/log';
import { nativeWait } from '../lib/native.wait';
import { WATCH_DELAY_MS } from './killswitch.handover';

export { WATCH_DELAY_MS };

const RETRY_MS = 1_000;

export interface StreamWatch extends GuardTarget {
  caller: { apiKeyId: string | null; user: string | null };
  /** The JSON-RPC id the stream is answering (POST), or null (GET stream, batch). */
  requestId: string | number | null;
  traceId: string;
  /**
   * What the caller reads before the stream closes, in its protocol's shape (the adapter's
   * `endedStreamText`: MCP a JSON-RPC error for the pending request, LLM the provider's error event).
   */
  lastWords: (error: AppError) => string | null;
  /** The configuration epoch the call was decided on; with `recheck`, a newer one re-validates the stream. */
  configEpoch?: number;
  /** May the caller still call, on the configuration of this epoch or newer (gateway.entitlement.ts)? */
  recheck?: (epoch: number) => Promise<Recheck>;
  /** The stream is ending because its caller may no longer call (recorded with the call's audit row). */
  onRevoked?: (error: AppError) => void;
  /**
   * Aborted when the gateway ends the stream, before its pipe is cut: a rewritten body
   * (gateway.rewrite.ts `stop`) ends at once rather than at its upstream's next chunk.
   */
  stop?: AbortController;
}

/**
 * A re-validation's answer: entitled (watch on from `configEpoch`), not (end with `error`), or
 * null — it could not be told (fail open, or a read older than the change): asked again after RETRY_MS.
 */
export type Recheck =
  | { entitled: true; configEpoch: number }
  | { entitled: false; error: AppError }
  | { entitled: null };

const encoder = new TextEncoder();

/**
 * `started`: the stream's WATCH_DELAY_MS wait when the caller started it already (its peek waited on
 * it: gateway.answer.ts); one timer per stream.
 */
export async function endStreamOnKill(
  env: Pick<Env, 'GUARD'>,
  ctx: Pick<ExecutionContext, 'waitUntil'>,
  watch: StreamWatch,
  response: Response,
  started?: Promise<unknown>,
): Promise<Response> {
  const type = response.headers.get('Content-Type') ?? '';
  if (!response.body || !/^text\/event-stream\b/i.test(type)) return response;
  return relay(env, ctx, watch, response, response.body, started ?? nativeWait(WATCH_DELAY_MS));
}

function relay(
  env: Pick<Env, 'GUARD'>,
  ctx: Pick<ExecutionContext, 'waitUntil'>,
  watch: StreamWatch,
  response: Response,
  body: ReadableStream<Uint8Array>,
  delay: Promise<unknown>,
): Response {
  // The body is copied by the runtime's native pipe: an IdentityTransformStream's writable side is
  // a native sink, so workerd pumps the upstream body into it without the isolate (no JavaScript
  // per chunk, and the answer reaches the caller even while the isolate is busy with other work).
  // A standard TransformStream would run every chunk through the isolate's promise machinery.
  // A kill aborts the pipe (`cut`): the upstream body is cancelled, the writable side is released
  // (preventAbort keeps it open), the last words are written on it, and it is closed.
  const relay = new IdentityTransformStream();
  const cut = new AbortController();
  const ended = new AbortController();
  const piped = body.pipeTo(relay.writable, { preventAbort: true, signal: cut.signal }).catch(() => {
    // The upstream broke, the caller hung up (both propagate through the pipe), or a kill cut
    // the pipe: the stream is over either way.
  });
  const watching = watchForEnd(env, watch, ended.signal, piped, delay).then(async (error) => {
    if (!error) return;
    // The pipe first (it then cancels what it reads), then `stop`: a rewritten body stops waiting
    // for its upstream's next chunk at once (gateway.rewrite.ts).
    cut.abort();
    watch.stop?.abort();
    await piped;
    await endWith(relay.writable, watch, error);
  });
  ctx.waitUntil(
    piped.then(async () => {
      // The stream is over (normally, killed, or the caller left): withdraw the watch.
      ended.abort();
      await watching;
    }),
  );
  return new Response(relay.readable, response);
}

/**
 * The same watch for an answer the gateway reads whole before sending any of it (LLM inspection's
 * held streams, gateway.hold.ts): from the same delay, until `over` settles. `ended` resolves with
 * the error to refuse the answer with (a matching kill switch holds, or the caller may no longer
 * call) or null; `done()` withdraws the watch once the answer is read.
 */
export function watchWhileRead(
  env: Pick<Env, 'GUARD'>,
  watch: StreamWatch,
  over: Promise<unknown>,
): { ended: Promise<AppError | null>; done(): void } {
  const ended = new AbortController();
  const settled = over.then(
    () => {},
    () => {},
  );
  return {
    ended: watchForEnd(env, watch, ended.signal, settled, nativeWait(WATCH_DELAY_MS)),
    done: () => ended.abort(),
  };
}

/**
 * Resolves with the error to end the stream with — a matching kill switch holds, or the caller may
 * no longer call — or null once `ended` fires.
 */
async function watchForEnd(
  env: Pick<Env, 'GUARD'>,
  watch: StreamWatch,
  ended: AbortSignal,
  over: Promise<void>,
  delay: Promise<unknown>,
): Promise<AppError | null> {
  // Runs for every relayed answer, and many end first: a race between the end and a native wait
  // leaves no timer to clear and no listener to remove (setTimeout was a visible share of a call).
  const open = await Promise.race([delay.then(() => true), over.then(() => false)]);
  if (!open || ended.aborted) return null;
  const guard = guardFor(env, watch.orgId, watch.connectionId);
  // Sent only with a recheck to answer the guard's ConfigNotice; moves on with each re-validation.
  let configEpoch = watch.recheck ? watch.configEpoch : undefined;
  while (!ended.aborted) {
    const step = await watchOnce(guard, watch, configEpoch, ended);
    if ('end' in step) return step.end;
    configEpoch = step.configEpoch;
    if (step.pause && !(await sleep(RETRY_MS, ended))) return null;
  }
  return null;
}

/** One watch: the stream ends (`end`), or is watched again — from `configEpoch`, after RETRY_MS if `pause`. */
type WatchStep = { end: AppError | null } | { configEpoch: number | undefined; pause: boolean };

async function watchOnce(
  guard: ReturnType<typeof guardFor>,
  watch: StreamWatch,
  configEpoch: number | undefined,
  ended: AbortSignal,
): Promise<WatchStep> {
  const watchId = crypto.randomUUID();
  // The stream ending first withdraws the watch, so the guard keeps nothing for it.
  const withdraw = () => {
    guard.unwatch(watchId).catch(() => {});
  };
  ended.addEventListener('abort', withdraw, { once: true });
  try {
    const notice: WatchNotice | null = await guard.watchKill({
      orgId: watch.orgId,
      connectionId: watch.connectionId,
      caller: watch.caller,
      watchId,
      ...(configEpoch !== undefined ? { configEpoch } : {}),
    });
    // Withdrawn (the stream ended) or expired (still open: watch again).
    if (!notice) return { configEpoch, pause: false };
    if (!isConfigNotice(notice)) return { end: killedError(notice) };
    return await afterConfigChange(watch, notice.configEpoch, configEpoch, ended);
  } catch (err) {
    if (ended.aborted) return { end: null };
    log('warn', 'kill-switch watch failed; retrying', { connectionId: watch.connectionId, err });
    return { configEpoch, pause: true };
  } finally {
    ended.removeEventListener('abort', withdraw);
  }
}

/** The guard knows a newer configuration: is the stream's caller still entitled to it? */
async function afterConfigChange(
  watch: StreamWatch,
  epoch: number,
  current: number | undefined,
  ended: AbortSignal,
): Promise<WatchStep> {
  const answer = await watch.recheck!(epoch);
  if (ended.aborted) return { end: null };
  if (answer.entitled === false) {
    watch.onRevoked?.(answer.error);
    return { end: answer.error };
  }
  if (answer.entitled) return { configEpoch: answer.configEpoch, pause: false };
  // Could not tell: ask again after RETRY_MS (the guard, still newer, answers at once).
  return { configEpoch: current, pause: true };
}

/** The error a kill switch ends a stream with: what a call under it is answered. */
function killedError(notice: KillNotice): AppError {
  return new AppError('session_suspended', { details: { scope: notice.scope, reason: notice.reason } });
}

/** The last words of an ended stream (in the caller's protocol), then close. */
async function endWith(writable: WritableStream<Uint8Array>, watch: StreamWatch, error: AppError) {
  try {
    const writer = writable.getWriter();
    const text = watch.lastWords(error);
    // The blank lines end any event the upstream left half-written.
    if (text !== null) await writer.write(encoder.encode(`\n\n${text}`));
    await writer.close();
  } catch {
    // The stream already ended (the caller went away): nothing to close.
  }
}

/** Waits `ms`; false if `signal` fired first. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
