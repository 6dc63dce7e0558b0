/**
 * How a rewritten answer's body ends, and the one report of it (gateway.rewrite.ts `onBodyDone`):
 * read to its end, broken off by the upstream, or cancelled by the caller. A relayed SSE body is
 * wrapped once per answer (`watchEnd`), which also ends it when the gateway stops the stream (a kill
 * switch) or the upstream stalls past an LLM stream's idle bound (gateway.stall.ts).
 */
import type { AppError } from '../lib/errors.js';
import { StallWatch } from './gateway.stall.js';

export type BodyEnd = 'complete' | 'error' | 'cancelled';

/** `fn`, run at most once: an answer's end is reported once, whichever way it ends first. */
export function once(fn: (how: BodyEnd, err?: AppError) => void): (how: BodyEnd, err?: AppError) => void {
  let called = false;
  return (how, err) => {
    if (called) return;
    called = true;
    fn(how, err);
  };
}

/**
 * The stream, reporting how it ended: read to the end, broken off by the upstream, or cancelled by
 * the caller — by cancelling it, or by hanging up (`callerSignal`), which aborts the upstream body
 * under it. (A TransformStream's flush runs only in the first case.) With `idle` (an LLM stream,
 * gateway.stall.ts), a read of the upstream pending `idleMs` ends the stream as a kill switch does:
 * the protocol's last words (`stalled`), the end, the upstream body cancelled.
 */
export function watchEnd(
  body: ReadableStream<Uint8Array>,
  onEnd: (how: BodyEnd) => void,
  callerSignal: AbortSignal | undefined,
  stop?: AbortSignal,
  idle?: { idleMs: number; stalled: (err: AppError) => string },
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let stall: StallWatch | null = null;
  // Ended by a stall: what the pending read then returns is not for the caller.
  let stalled = false;
  const ending = (how: BodyEnd) => {
    stall?.stop();
    onEnd(how);
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      // The relay has cut its pipe (killswitch.stream.ts), which cancels this stream: stop reading
      // the upstream now rather than at its next chunk. Closed (below), not errored: the cut pipe's
      // pending read of an errored stream surfaced in workerd as an unhandled rejection. The pipe
      // is already shutting down when this closes, so it does not close the caller's side: the
      // relay still writes the stream's last words there.
      stop?.addEventListener(
        'abort',
        () => {
          ending('cancelled');
          reader.cancel(stop.reason).catch(() => {});
        },
        { once: true },
      );
      if (!idle) return;
      stall = new StallWatch(idle.idleMs, null, (err) => {
        stalled = true;
        const words = idle.stalled(err);
        ending('error');
        try {
          // The blank lines end any event the upstream left half-written (as a kill's last words).
          if (words) controller.enqueue(new TextEncoder().encode(`\n\n${words}`));
          controller.close();
        } catch {
          // The caller's side is already gone.
        }
        reader.cancel(err.code).catch(() => {});
      });
    },
    async pull(controller) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        stall?.waiting();
        chunk = await reader.read();
        stall?.arrived();
        if (stalled) return;
        if (stop?.aborted) {
          controller.close();
          return;
        }
      } catch (err) {
        if (stalled) return;
        ending(callerSignal?.aborted ? 'cancelled' : 'error');
        controller.error(err);
        return;
      }
      if (chunk.done) {
        ending('complete');
        controller.close();
      } else controller.enqueue(chunk.value);
    },
    async cancel(reason) {
      ending('cancelled');
      await reader.cancel(reason).catch(() => {});
    },
  });
}
