/**
 * A held stream (LLM inspection's `streamMode: "hold"`, docs/detections.md): the upstream's SSE
 * answer is read whole — at most MAX_ANSWER_MESSAGE_BYTES, the cap a JSON answer has; over it the
 * call fails with `upstream_too_large` and nothing is sent — before any of it reaches the caller,
 * within the connection's stream bounds (gateway.stall.ts; past them: `upstream_timeout`).
 * Every event goes through the response stages as a passing stream's would (usage, Langfuse
 * capture, stored-response claims, placeholders restored), then the holding stage settles the
 * answer (`StreamHold.settle`): a refusal is thrown — the caller gets the provider's JSON error
 * instead of a stream, as for a refused JSON answer — or the events are sent, those the stages
 * rewrote re-serialized and every other one byte for byte (nothing rewritten: the upstream's bytes).
 */
import { AppError } from '../lib/errors';
import { otherEventData } from './gateway.answer-body';
import {
  answerTooLarge,
  finishStages,
  init,
  MAX_ANSWER_MESSAGE_BYTES,
  type RewriteOptions,
  rewriteMessage,
  wanted,
} from './gateway.rewrite';
import { type SseEvent, SseSplitter, withData } from './gateway.sse';
import { DROP, type StreamHold } from './gateway.stages';
import { readWithin } from './gateway.stall';

/** The holding stage's side, when a stage asks for the stream to be held; else null. */
export function streamHold(options: RewriteOptions): StreamHold | null {
  return options.stages.find((s) => s.hold)?.hold ?? null;
}

interface Held {
  event: SseEvent;
  /** The parsed message as it would be sent, or null when it is sent as received (or dropped). */
  message: unknown;
  /** The stages rewrote it. */
  rewritten: boolean;
  dropped: boolean;
  /** Data that is not JSON, rewritten by a stage that reads it (gateway.answer-body.ts): the event's text. */
  replaced?: string;
}

/** The held stream's answer; throws (after `onBodyDone('error')`) when it is refused or too large. */
export async function heldSse(
  upstream: Response,
  hold: StreamHold,
  options: RewriteOptions,
): Promise<Response> {
  const { stages } = options;
  const fail = (err: unknown): never => {
    const appErr = err instanceof AppError ? err : new AppError('upstream_unreachable', { internal: err });
    finishStages(stages, options.findings, options.onLateFindings);
    // The caller hung up while the answer was read (the upstream read is tied to its signal).
    if (options.callerSignal?.aborted && !(err instanceof AppError)) options.onBodyDone?.('cancelled');
    else options.onBodyDone?.('error', appErr);
    throw appErr;
  };
  let bytes: Uint8Array;
  try {
    bytes = await readWatched(upstream, options);
  } catch (err) {
    return fail(err);
  }
  hold.begin();
  const splitter = new SseSplitter(MAX_ANSWER_MESSAGE_BYTES);
  const held: Held[] = [];
  try {
    for (const event of splitter.push(new TextDecoder().decode(bytes))) held.push(heldEvent(event, options));
  } catch (err) {
    // A stage refuses the answer (its text cap): nothing of it is sent.
    if (err instanceof AppError) return fail(err);
    throw err;
  }
  const rest = splitter.rest();
  finishStages(stages, options.findings, options.onLateFindings);
  const before = options.findings?.length ?? 0;
  const settled = hold.settle(held.filter((h) => h.message !== null).map((h) => h.message));
  if ((options.findings?.length ?? 0) > before) options.onLateFindings?.();
  if (settled.refusal) {
    options.onBodyDone?.('error', settled.refusal);
    throw settled.refusal;
  }
  options.onBodyDone?.('complete');
  const changed = held.some(
    (h) => h.dropped || h.rewritten || h.replaced !== undefined || settled.changed.has(h.message),
  );
  if (!changed) return new Response(bytes as Uint8Array<ArrayBuffer>, init(upstream));
  let out = '';
  for (const h of held) {
    if (h.dropped) continue;
    const rewrite = h.rewritten || settled.changed.has(h.message);
    out += h.replaced ?? (rewrite ? withData(h.event, JSON.stringify(h.message)) : h.event.raw);
  }
  return new Response(out + rest, init(upstream));
}

/**
 * The upstream's answer, read whole while the call's kill-switch watch runs beside it (as beside a
 * relayed stream: a switch pulled, or the caller's key revoked, while a long answer is still being
 * generated refuses it), and within the connection's stream bounds (gateway.stall.ts: no gap over
 * `streamIdleTimeoutMs`, the whole within `heldStreamTimeoutMs`). Either way the read is cut — the
 * upstream body cancelled, the watch withdrawn, the timer cleared — and the error thrown: the caller
 * gets it instead of the answer, nothing of which was sent.
 */
async function readWatched(upstream: Response, options: RewriteOptions): Promise<Uint8Array> {
  const { bounds } = options;
  return readWithin(upstream.body as ReadableStream<Uint8Array>, {
    maxBytes: MAX_ANSWER_MESSAGE_BYTES,
    tooLarge: () => answerTooLarge('a held stream'),
    idleMs: bounds?.idleMs ?? null,
    totalMs: bounds?.heldMs ?? null,
    watch: options.watchWhileRead,
  });
}

/** One event through the stages, kept parsed (and rewritten in place) for the settling. */
function heldEvent(event: SseEvent, options: RewriteOptions): Held {
  const kept = { event, message: null, rewritten: false, dropped: false };
  if (event.data === null || !wanted(event.data, options.stages)) return kept;
  let value: unknown;
  try {
    value = JSON.parse(event.data);
  } catch {
    const replaced = otherEventData(event, options.stages);
    return replaced === null ? kept : { ...kept, replaced };
  }
  const replaced = rewriteMessage(value, options.stages);
  if (replaced === DROP) return { ...kept, dropped: true };
  return { event, message: replaced ?? value, rewritten: replaced !== null, dropped: false };
}
