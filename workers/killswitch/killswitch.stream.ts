/**
 * Ending in-flight SSE responses when a kill switch that matches their call is pulled.
 *
 * The gateway hands every response here (one line in gateway.pipeline.ts). A `text/event-stream`
 * body is pumped through a TransformStream while, next to it, a ConnectionGuard `watchKill` call is
 * pending; when that resolves with a KillNotice the upstream body is cancelled
 * (closing the upstream request), a JSON-RPC "Session Suspended" error is written for the pending
 * request (POST streams), and the caller's stream is closed.
 *
 * Cost: nothing for JSON responses; for a stream, one extra guard RPC, started only if the stream
 * is still open after WATCH_DELAY_MS (most streamed answers to a tools/call are over by then) —
 * the guard delivers at once if a matching switch was pulled in between, so nothing is missed.
 * It never touches the hot path: the response is returned before the watch starts.
 *
 * No leaks: when the stream ends first (normally, or the caller hangs up) the gateway withdraws the
 * watch (`unwatch`), which settles it inside the guard; a watch the gateway never withdrew (its
 * isolate died) expires in the guard after WATCH_TTL_MS, and an open stream renews its watch then.
 * If the guard fails (restart, deploy) the watch is made again, every RETRY_MS while unreachable.
 * (A returned ReadableStream would not do: the guard learns of its cancellation only on a write.)
 */
import type { GuardTarget, KillNotice } from '../../durable-objects/connection-guard.do';
import { ERROR_CODES, type JsonRpcErrorBody } from '../lib/errors';
import { log } from '../lib/log';

export const WATCH_DELAY_MS = 200;
const RETRY_MS = 1_000;

export interface StreamWatch extends GuardTarget {
  caller: { apiKeyId: string | null; user: string | null };
  /** The JSON-RPC id the stream is answering (POST), or null (GET stream, batch). */
  requestId: string | number | null;
  traceId: string;
}

const encoder = new TextEncoder();

export function endStreamOnKill(
  env: Pick<Env, 'GUARD'>,
  ctx: Pick<ExecutionContext, 'waitUntil'>,
  watch: StreamWatch,
  response: Response,
): Response {
  const type = response.headers.get('Content-Type') ?? '';
  if (!response.body || !/^text\/event-stream\b/i.test(type)) return response;

  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const upstream = response.body.getReader();
  const caller = writable.getWriter();
  const ended = new AbortController();
  let killed: KillNotice | null = null;

  // A hand-written pump rather than pipeTo: an abort signal does not interrupt a pipe waiting on an
  // idle upstream (a quiet GET stream), whereas cancelling the reader ends a pending read at once.
  const pumped = pump(upstream, caller, () => killed !== null);
  // The caller hanging up errors our writable side: stop reading upstream (and so stop the watch).
  caller.closed.catch(() => upstream.cancel().catch(() => {}));
  const watching = watchForKill(env, watch, ended.signal).then((notice) => {
    if (!notice) return;
    killed = notice;
    upstream.cancel().catch(() => {});
  });
  ctx.waitUntil(
    pumped.then(async () => {
      ended.abort();
      if (killed) await closeKilled(caller, watch, killed);
      await watching;
    }),
  );
  return new Response(readable, response);
}

/** Copies upstream to the caller; closes the caller at the end unless the stream was killed. */
async function pump(
  upstream: ReadableStreamDefaultReader<Uint8Array>,
  caller: WritableStreamDefaultWriter<Uint8Array>,
  isKilled: () => boolean,
): Promise<void> {
  try {
    for (;;) {
      const { done, value } = await upstream.read();
      if (done) break;
      await caller.write(value);
    }
    if (!isKilled()) await caller.close();
  } catch (err) {
    // Killed: cancelling the upstream reader rejects its pending read; the caller is closed after.
    if (isKilled()) return;
    // The upstream broke (pass the error on) or the caller went away (stop reading upstream).
    caller.abort(err).catch(() => {});
    upstream.cancel().catch(() => {});
  }
}

/** Resolves with the notice when a matching kill switch holds, or null once `ended` fires. */
async function watchForKill(
  env: Pick<Env, 'GUARD'>,
  watch: StreamWatch,
  ended: AbortSignal,
): Promise<KillNotice | null> {
  if (!(await sleep(WATCH_DELAY_MS, ended))) return null;
  const guard = env.GUARD.getByName(`${watch.orgId}:${watch.connectionId}`);
  while (!ended.aborted) {
    const watchId = crypto.randomUUID();
    // The stream ending first withdraws the watch, so the guard keeps nothing for it.
    const withdraw = () => {
      guard.unwatch(watchId).catch(() => {});
    };
    ended.addEventListener('abort', withdraw, { once: true });
    try {
      const notice = await guard.watchKill({
        orgId: watch.orgId,
        connectionId: watch.connectionId,
        caller: watch.caller,
        watchId,
      });
      if (notice) return notice;
      continue; // withdrawn (the stream ended) or expired (still open: watch again)
    } catch (err) {
      if (ended.aborted) return null;
      log('warn', 'kill-switch watch failed; retrying', { connectionId: watch.connectionId, err });
    } finally {
      ended.removeEventListener('abort', withdraw);
    }
    if (!(await sleep(RETRY_MS, ended))) return null;
  }
  return null;
}

/** The last words of a killed stream: the pending request's error (if there is one), then close. */
async function closeKilled(
  writer: WritableStreamDefaultWriter<Uint8Array>,
  watch: StreamWatch,
  notice: KillNotice,
) {
  try {
    if (watch.requestId !== null) {
      const body: JsonRpcErrorBody = {
        jsonrpc: '2.0',
        id: watch.requestId,
        error: {
          code: ERROR_CODES.session_suspended.rpc,
          message: ERROR_CODES.session_suspended.message,
          data: {
            code: 'session_suspended',
            traceId: watch.traceId,
            details: { scope: notice.scope, reason: notice.reason },
          },
        },
      };
      // The blank lines end any event the upstream left half-written.
      await writer.write(encoder.encode(`\n\nevent: message\ndata: ${JSON.stringify(body)}\n\n`));
    }
    await writer.close();
  } catch {
    // The caller is already gone: nothing to close.
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
