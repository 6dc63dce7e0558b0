/**
 * Step 8's first half: the upstream's answer with the response stages applied, read whole when it
 * is short.
 *
 * Most MCP answers to a request are one SSE event and the end. Such an answer is read whole first
 * (killswitch.handover.ts `peekWhole`, which the kill-switch relay used alone before) and the
 * stages run on its bytes: no stream layer in the isolate, and no relay after it (the answer is
 * over before a kill switch could end it). Why it matters: every MCP answer to a request has a
 * stage now (the server-request ids, mcp.server-requests.ts), and a JavaScript stream per answer
 * was a measured share of a call's CPU (BENCHMARKS.md, "Garbage per call").
 *
 * An answer that is more than one short event — a progress notification or a server request
 * before the answer, more than PEEK_MAX_BYTES, or no answer within WATCH_DELAY_MS — is rewritten
 * as a stream from where the peek stopped (gateway.rewrite.ts) and relayed with the same delay,
 * so its first event reaches the caller as soon as it did before.
 *
 * A stream a stage asks to hold (LLM inspection's `streamMode: "hold"`) is read whole, up to the
 * answer cap, and sent only once the stages have settled it (gateway.hold.ts).
 *
 * An error answer (a non-2xx) goes to the stages that read error bodies (content inspection),
 * read once, whole, before any of it is sent (gateway.error-answer.ts); with no such stage it is
 * passed as it comes.
 */
import { peekWhole, resumedBody, type StreamAnswer, WATCH_DELAY_MS } from '../killswitch/killswitch.handover';
import { nativeWait } from '../lib/native.wait';
import { errorWithStages, isInspectedError } from './gateway.error-answer';
import type { ForwardResult } from './gateway.forward';
import { heldSse, streamHold } from './gateway.hold';
import { isSuccess, type RewriteOptions, rewriteResponse, rewriteWholeSse } from './gateway.rewrite';

export interface Answer {
  response: Response;
  /** True when the answer was read whole: it needs no kill-switch relay. */
  whole: boolean;
  /**
   * The WATCH_DELAY_MS wait a peek started (one timer per stream: the peek's patience, then the
   * relay's delay before it watches); absent when nothing was peeked.
   */
  delay?: Promise<unknown>;
}

export async function answerWithStages(
  forwarded: Pick<ForwardResult, 'response' | 'errorBody'>,
  answer: StreamAnswer | null,
  options: RewriteOptions,
): Promise<Answer> {
  const { response: upstream, errorBody } = forwarded;
  // An error answer a stage reads (content inspection): read once, whole, then sent or refused.
  if (isInspectedError(upstream, errorBody, options.stages))
    return { response: await errorWithStages(upstream, errorBody, options), whole: true };
  const type = upstream.headers.get('Content-Type') ?? '';
  // A stage asks for the stream whole before any of it is sent (LLM inspection's "hold"): it is.
  const hold = streamHold(options);
  if (hold && upstream.body && /^text\/event-stream\b/i.test(type) && isSuccess(upstream.status))
    return { response: await heldSse(upstream, hold, options), whole: true };
  if (!answer || !upstream.body || !/^text\/event-stream\b/i.test(type)) {
    return { response: await rewriteResponse(upstream, options), whole: false };
  }
  const delay = nativeWait(WATCH_DELAY_MS);
  const peeked = await peekWhole(upstream.body, answer, delay);
  if (peeked instanceof Uint8Array)
    return { response: rewriteWholeSse(upstream, peeked, options), whole: true };
  const rest = new Response(resumedBody(peeked), upstream);
  return { response: await rewriteResponse(rest, options), whole: false, delay };
}
