/**
 * Handing a short streamed answer to the caller whole, with no kill-switch relay.
 *
 * Why: the relay (killswitch.stream.ts) pipes the upstream body into an IdentityTransformStream
 * and keeps the call's context alive until the stream ends. Measured on the MCP benchmark call
 * (BENCHMARKS.md, "Garbage per call"), that pipe alone cost 8–13 % of workerd's CPU per call and
 * about 3.5 KB of promoted garbage, and doubled the longest scavenge pause. Yet most streamed
 * answers to one MCP request are one event and the end: the server answers and closes (the
 * spec: it SHOULD close the stream once the response is sent). Such an answer is over before a
 * kill switch could have ended it (the relay's watch starts only after WATCH_DELAY_MS), so it is
 * read here — usually one read holds the answer event and the end — and handed over as bytes.
 *
 * The peek stops and hands the stream to the relay, with what it read, at the first sign that
 * the stream is more than one answer:
 *   - a complete message that is not the answer (a progress notification, a server request the
 *     caller must answer before the stream goes on): the caller must see it now;
 *   - data after the answer (the server did not close);
 *   - more than PEEK_MAX_BYTES read;
 *   - the delay (WATCH_DELAY_MS) ran out (a slow tool: no message had come).
 * Events that are neither the answer nor a message (an empty priming event, a comment) wait with
 * the answer, or until the delay runs out. A read error also hands over: the relay ends the stream
 * as it ends any other.
 *
 * Transport only: which event is "the answer" is the protocol adapter's (`streamAnswer`).
 */
import { SseSplitter } from '../gateway/gateway.sse';
import { concatBytes } from '../lib/values';

/** What one SSE event's data is to the call whose answer is being streamed. */
export type EventRole = 'answer' | 'message' | 'other';

/** Classifies one event's data (the adapter's, for the one request the stream answers). */
export type StreamAnswer = (data: string) => EventRole;

/**
 * How long a stream is left alone before its kill-switch watch starts — and so how long a peek may
 * wait for a short answer to end (killswitch.stream.ts: one wait per stream serves both).
 */
export const WATCH_DELAY_MS = 200;

/** More than this is not "one short answer": it is relayed. */
export const PEEK_MAX_BYTES = 64 * 1024;

/** Where a peek stopped: the relay takes the stream over from here. */
export interface Peeked {
  reader: ReadableStreamDefaultReader<Uint8Array>;
  /** What was read, in order, to be relayed first. */
  read: Uint8Array[];
  /** The read still outstanding when the delay ran out (the relay waits for it), or null. */
  pending: Promise<ReadableStreamReadResult<Uint8Array>> | null;
}

const GAVE_UP: unique symbol = Symbol('gave up');

/**
 * The whole body, when it is one answer and the end before `delay` settles; otherwise where the
 * peek stopped. Never rejects.
 */
export async function peekWhole(
  body: ReadableStream<Uint8Array>,
  roleOf: StreamAnswer,
  delay: Promise<unknown>,
): Promise<Uint8Array | Peeked> {
  const reader = body.getReader();
  const read: Uint8Array[] = [];
  const gaveUp = delay.then((): typeof GAVE_UP => GAVE_UP);
  const decoder = new TextDecoder();
  const events = new SseSplitter();
  let bytes = 0;
  let answered = false;
  for (;;) {
    const pending = reader.read();
    let next: ReadableStreamReadResult<Uint8Array> | typeof GAVE_UP;
    try {
      next = await Promise.race([pending, gaveUp]);
    } catch {
      return { reader, read, pending }; // the relay meets the same error and ends the stream
    }
    if (next === GAVE_UP) return { reader, read, pending };
    if (next.done) {
      reader.releaseLock();
      return concatBytes(read, bytes);
    }
    read.push(next.value);
    bytes += next.value.byteLength;
    if (answered || bytes > PEEK_MAX_BYTES) return { reader, read, pending: null };
    for (const event of events.push(decoder.decode(next.value, { stream: true }))) {
      const role = event.data === null ? 'other' : roleOf(event.data);
      if (role === 'message') return { reader, read, pending: null };
      if (role === 'answer') answered = true;
    }
  }
}

/**
 * A peeked stream as a stream again: what was read, the outstanding read, then the rest — for a
 * stage that must see every byte of an answer the peek did not take whole (gateway.answer.ts).
 * Cancelling it cancels the upstream body.
 */
export function resumedBody(peeked: Peeked): ReadableStream<Uint8Array> {
  const { reader, read } = peeked;
  let next = 0;
  let pending = peeked.pending;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (next < read.length) {
        controller.enqueue(read[next++]!);
        return;
      }
      const result = await (pending ?? reader.read());
      pending = null;
      if (result.done) controller.close();
      else controller.enqueue(result.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}
