/**
 * The one response rewriter every response stage plugs into (gateway.stages.ts).
 *
 * It splits an upstream answer into messages the same way for every stage:
 *   - a JSON body (`application/json`, `application/*+json`) is read whole — it is small and
 *     complete — parsed (unless no stage `wants` its text), and handed over as one message, or
 *     item by item when it is an array (a JSON-RPC batch answer);
 *   - an SSE body is rewritten event by event as the events arrive (gateway.sse.ts); each event's
 *     data that parses as JSON is one message (or a batch, as above), other data goes to `onBody`;
 *   - anything else passes untouched — unless a stage reads such bodies (`onBody`: LLM passthrough
 *     inspection), then it is read whole first, as a JSON body is (gateway.answer-body.ts).
 * Every 2xx answer with a body is looked at, not only a 200: clients (the MCP SDKs among them)
 * read the messages of any 2xx, so a 203 or 206 must not carry a list past the filter.
 *
 * Size: the upstream decides how long a message is, and a message is buffered whole before it is
 * parsed, so one JSON body or one SSE event is held to MAX_ANSWER_MESSAGE_BYTES. A JSON body over
 * it is refused (`upstream_too_large`, thrown); a stream with an event over it ends there, with
 * the protocol's error (`lastWords`) and `onBodyDone('error', err)`.
 * A message no stage changed is re-emitted byte for byte (the original text, not a
 * re-serialization). Once every stage says it is done, the rest of the body is piped unparsed.
 *
 * A stage may refuse the rest of an answer by throwing an AppError from `onMessage` (the LLM
 * answer's stream cap, inspection.streams.ts, and a `block` finding on a completion,
 * inspection.llm.stage.ts): a stream ends at that event with `lastWords(err)`
 * and `onBodyDone('error', err)`; a JSON answer is refused like one too large (thrown). Any other
 * exception is a fault, not a refusal, and propagates.
 *
 * An LLM stream (`bounds`, the adapter's) whose upstream says nothing for its idle bound ends as a
 * kill switch ends it — `lastWords` with `upstream_timeout`, the end, the upstream body cancelled —
 * and `onBodyDone('error', err)` (gateway.stall.ts).
 *
 * Findings: for a JSON body every stage has run before this returns, so the core sends them with
 * the call's outcome. An SSE stream outlives that outcome; after each event that added findings
 * `onLateFindings` runs, so the core can patch them into the row at once (a stream that breaks
 * off later loses none of them).
 */
import { AppError } from '../lib/errors.js';
import { bodyThroughStages, otherEventData, readsBodies } from './gateway.answer-body.js';
import { type BodyEnd, once, watchEnd } from './gateway.body-end.js';
import { type SseEvent, SseSplitter, sseRewriteStream, withData } from './gateway.sse.js';
import { DROP, type Finding, type ResponseStage } from './gateway.stages.js';
import { readCappedWithin, type StreamBounds } from './gateway.stall.js';

/**
 * Largest JSON answer, or SSE event (counted in decoded characters, never more than its bytes),
 * the gateway reads to run the response stages. Room for a tool result carrying an image; a
 * message is buffered, decoded and parsed at once, in an isolate whose 128 MB serve every
 * concurrent request.
 */
export const MAX_ANSWER_MESSAGE_BYTES = 4 * 1024 * 1024;

export interface RewriteOptions {
  stages: readonly ResponseStage[];
  /** The call's findings (the stages append to it); watched for SSE to report late findings. */
  findings?: readonly Finding[];
  onLateFindings?: () => void;
  /**
   * Runs once when the answer has been read to its end (`complete`), broke off (`error`) or the
   * caller went away (`cancelled`): for a JSON body, before this returns; for a stream, when it
   * ends. An answer no stage looks at is not watched: it runs at once with `complete`. `err`: the
   * gateway itself cut the answer (a message over MAX_ANSWER_MESSAGE_BYTES).
   */
  onBodyDone?: (how: BodyEnd, err?: AppError) => void;
  /** The text a stream the gateway cuts ends with: the protocol's error for the call, or null. */
  lastWords?: (err: AppError) => string | null;
  /**
   * The caller's request signal. The upstream request is tied to it (gateway.forward.ts), so a
   * caller hanging up usually reaches the stream as a failed read of the upstream body rather
   * than as a cancel: with it, that read is told apart from the upstream breaking off.
   */
  callerSignal?: AbortSignal;
  /**
   * Fired when the gateway ends the stream itself (a kill switch, a caller that may no longer
   * call: killswitch.stream.ts): the rewritten SSE body ends at once. The runtime's pipe notices
   * its abort only at its next chunk, and an upstream that says nothing for a while would keep the
   * stream open until then.
   */
  stop?: AbortSignal;
  /**
   * For an answer read whole before any of it is sent (gateway.hold.ts): watches for a kill switch
   * or a lost entitlement while it is read (killswitch.stream.ts `watchWhileRead`), as the relay
   * watches a stream that passes.
   */
  watchWhileRead?: (over: Promise<unknown>) => { ended: Promise<AppError | null>; done(): void };
  /**
   * How long a streamed answer may keep the gateway waiting (gateway.stall.ts): LLM streams only
   * (the adapter's `streamBounds`); absent, a stream may be idle for as long as it likes.
   */
  bounds?: StreamBounds | null;
}

/**
 * Runs the stages over one parsed message (or batch); null when nothing changed, DROP when nothing
 * is left (the message, or every item of the batch, removed).
 */
export function rewriteMessage(value: unknown, stages: readonly ResponseStage[]): unknown {
  if (Array.isArray(value)) {
    let changed = false;
    const out: unknown[] = [];
    for (const item of value) {
      const replaced = rewriteOne(item, stages);
      if (replaced === null) out.push(item);
      else {
        changed = true;
        if (replaced !== DROP) out.push(replaced);
      }
    }
    // Every item removed: nothing is left to relay, as when a lone message is (rewriteResponse).
    if (changed && out.length === 0) return DROP;
    return changed ? out : null;
  }
  return rewriteOne(value, stages);
}

function rewriteOne(value: unknown, stages: readonly ResponseStage[]): unknown {
  let current = value;
  let changed = false;
  for (const stage of stages) {
    if (stage.done?.()) continue;
    const replaced = stage.onMessage(current);
    if (replaced === DROP) return DROP;
    if (replaced !== undefined) {
      current = replaced;
      changed = true;
    }
  }
  return changed ? current : null;
}

function allDone(stages: readonly ResponseStage[]): boolean {
  return stages.every((stage) => stage.done?.() === true);
}

export function wanted(raw: string, stages: readonly ResponseStage[]): boolean {
  return stages.some((stage) => !stage.done?.() && (stage.wants === undefined || stage.wants(raw)));
}

function rewriteEvent(event: SseEvent, stages: readonly ResponseStage[]): string | null {
  if (event.data === null || !wanted(event.data, stages)) return null;
  let value: unknown;
  try {
    value = JSON.parse(event.data);
  } catch {
    return otherEventData(event, stages);
  }
  const replaced = rewriteMessage(value, stages);
  if (replaced === DROP) return '';
  return replaced === null ? null : withData(event, JSON.stringify(replaced));
}

/** The response with every stage applied; the same object when there is nothing to do. */
export async function rewriteResponse(response: Response, options: RewriteOptions): Promise<Response> {
  const { stages, findings, onLateFindings } = options;
  const onBodyDone = once((how, err) => {
    finishStages(stages, findings, onLateFindings);
    options.onBodyDone?.(how, err);
  });
  const type = response.headers.get('Content-Type') ?? '';
  const sse = /^text\/event-stream\b/i.test(type);
  // An LLM stream is bounded (gateway.stall.ts) even when no stage looks at it.
  const idleMs = sse && options.bounds ? options.bounds.idleMs : null;
  const untouched = idleMs === null && (stages.length === 0 || allDone(stages));
  if (untouched || !isSuccess(response.status) || response.body === null) {
    onBodyDone('complete');
    return response;
  }
  if (sse) {
    let cut: AppError | undefined;
    const rewrite = (event: SseEvent) => {
      const before = findings?.length ?? 0;
      let out: string | null;
      try {
        out = rewriteEvent(event, stages);
      } catch (err) {
        // A stage refuses the rest of the answer (the LLM answer's stream cap, a blocked
        // completion): the stream ends here.
        if (!(err instanceof AppError)) throw err;
        cut = err;
        out = options.lastWords?.(err) ?? '';
      }
      if ((findings?.length ?? 0) > before) onLateFindings?.();
      return out;
    };
    const tooLarge = () => {
      cut = answerTooLarge('an SSE event');
      return options.lastWords?.(cut) ?? '';
    };
    const stream = sseRewriteStream(
      { rewrite, done: () => allDone(stages), tooLarge, ended: () => cut !== undefined },
      MAX_ANSWER_MESSAGE_BYTES,
    );
    const stalled = (err: AppError) => {
      cut = err;
      return options.lastWords?.(err) ?? '';
    };
    const body = watchEnd(
      response.body.pipeThrough(stream),
      (how) => (cut ? onBodyDone('error', cut) : onBodyDone(how)),
      options.callerSignal,
      options.stop,
      idleMs === null ? undefined : { idleMs, stalled },
    );
    return new Response(body, init(response));
  }
  const json = /^application\/(?:[\w.+-]+\+)?json\b/i.test(type);
  if (!json && !readsBodies(stages)) {
    onBodyDone('complete');
    return response;
  }
  const bytes = await readAnswer(response, onBodyDone, options.bounds?.idleMs ?? null, json);
  if (!json) return bodyThroughStages(response, bytes, stages, onBodyDone);
  const text = new TextDecoder().decode(bytes);
  // The same pre-check as an SSE event's: a body no stage can want is passed on unparsed.
  if (!wanted(text, stages)) {
    onBodyDone('complete');
    return new Response(text, init(response));
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Not JSON after all: what a stage reading other bodies reads, else passed on as it came.
    if (readsBodies(stages)) return bodyThroughStages(response, bytes, stages, onBodyDone);
    onBodyDone('complete');
    return new Response(text, init(response));
  }
  let replaced: unknown;
  try {
    replaced = rewriteMessage(value, stages);
  } catch (err) {
    // A stage refuses the answer: it is not passed on.
    if (err instanceof AppError) onBodyDone('error', err);
    throw err;
  }
  if (replaced === DROP) {
    // The body's one message was removed (a server request the gateway cannot relay): sending the
    // body as it came would relay it after all, and an empty answer is no answer — refused.
    const err = new AppError('upstream_invalid_answer', { internal: { reason: 'only message dropped' } });
    onBodyDone('error', err);
    throw err;
  }
  onBodyDone('complete');
  const out = replaced === null ? text : JSON.stringify(replaced);
  return new Response(out, init(response));
}

/**
 * A streamed answer already read whole (a short one: gateway.answer.ts), rewritten event by event
 * on its bytes — no stream layer. Its findings are known when this returns, as for a JSON body.
 * Same rules as the stream: unchanged events are kept byte for byte, non-2xx answers untouched.
 */
export function rewriteWholeSse(response: Response, bytes: Uint8Array, options: RewriteOptions): Response {
  const { stages } = options;
  let changed = false;
  let out = '';
  const splitter = new SseSplitter(MAX_ANSWER_MESSAGE_BYTES);
  let cut: AppError | undefined;
  if (stages.length > 0 && isSuccess(response.status)) {
    for (const event of splitter.push(new TextDecoder().decode(bytes))) {
      let rewritten: string | null;
      try {
        rewritten = allDone(stages) ? null : rewriteEvent(event, stages);
      } catch (err) {
        // A stage refuses the rest of the answer: it ends with this event.
        if (!(err instanceof AppError)) throw err;
        cut = err;
        out += options.lastWords?.(err) ?? '';
        changed = true;
        break;
      }
      changed ||= rewritten !== null;
      out += rewritten ?? event.raw;
    }
  }
  // After the stages: what they left for after the answer (call.deferred) is theirs by now.
  finishStages(stages, options.findings, options.onLateFindings);
  if (cut) options.onBodyDone?.('error', cut);
  else options.onBodyDone?.('complete');
  const rest = cut ? '' : splitter.rest();
  return new Response(changed ? out + rest : (bytes as Uint8Array<ArrayBuffer>), init(response));
}

/** A JSON (or other read) answer, up to the cap (an LLM's within its idle bound); else refused (thrown). */
async function readAnswer(
  response: Response,
  onBodyDone: (how: BodyEnd, err?: AppError) => void,
  idleMs: number | null,
  json: boolean,
): Promise<Uint8Array> {
  try {
    const tooLarge = () => answerTooLarge(json ? 'a JSON answer' : 'an answer a stage reads');
    return await readCappedWithin(response, MAX_ANSWER_MESSAGE_BYTES, tooLarge, idleMs);
  } catch (err) {
    // Too large, stalled, or broken off while being read: either way the answer is not passed on.
    const appErr = err instanceof AppError ? err : new AppError('upstream_unreachable', { internal: err });
    onBodyDone('error', appErr);
    throw appErr;
  }
}

/** The answer ended: each stage looks at what it still holds; findings it adds are reported. */
export function finishStages(
  stages: readonly ResponseStage[],
  findings: readonly Finding[] | undefined,
  onLateFindings: (() => void) | undefined,
): void {
  const before = findings?.length ?? 0;
  for (const stage of stages) stage.finish?.();
  if ((findings?.length ?? 0) > before) onLateFindings?.();
}

export function isSuccess(status: number): boolean {
  return status >= 200 && status <= 299;
}

export function answerTooLarge(what: string): AppError {
  return new AppError('upstream_too_large', {
    internal: `${what} over ${MAX_ANSWER_MESSAGE_BYTES} bytes`,
    details: { maxBytes: MAX_ANSWER_MESSAGE_BYTES },
  });
}

export function init(response: Response): ResponseInit {
  return { status: response.status, statusText: response.statusText, headers: response.headers };
}
