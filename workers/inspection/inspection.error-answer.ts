/**
 * Content inspection of an upstream's error answer — a 4xx or 5xx of an MCP server, an LLM provider
 * (governed or passthrough path) or an A2A agent (docs/detections.md#error-answers).
 *
 * An error body carries what a successful answer can: a provider's 400 quoting the prompt it
 * refused, a server's 500 with the arguments or the record it failed on. Every protocol's answer
 * stages read only 2xx answers (the shapes they know), so this stage reads the others, with the same
 * rules, actions and records — the body scanned as the protocol's answers are (`where`: `result` for
 * MCP and A2A, `completion` for LLM calls):
 *
 *   JSON (one document, pretty-printed or not)  every string (and key of 8+ characters) at its
 *                                               JSON path: `$.error.message`.
 *   JSONL, text (HTML, SSE, a stack trace)      as a passthrough answer's body: each line walked as
 *                                               JSON, or the text scanned whole (`line 3`).
 *   empty                                       nothing to read: passed.
 *   not text (binary, not UTF-8/16/32)          REFUSED (`content_blocked`, `details.reason:
 *                                               "not_text"`): the gateway passes nothing of an
 *                                               error answer it cannot read. A 2xx binary body is
 *                                               content the caller asked for (audio, a file) and is
 *                                               documented as passed unscanned; an error body is
 *                                               the upstream's diagnostics, and text when honest.
 *
 * `block` refuses the answer (thrown: the caller gets the gateway's own `content_blocked` in the
 * protocol's wire shape, never the value); `redact` with `redactResults` on masks the values
 * (typed placeholders; a JSON body re-serialized, a text rewritten in place); every finding is
 * recorded on the call's row, at most 50 then one `truncated`. An answer with nothing to mask is
 * passed byte for byte. Placeholders the request side put into the prompt are not restored in an
 * error (the provider's echo of them reaches the caller as placeholders). Pure; the body is read
 * and capped by the gateway (gateway.error-answer.ts), so all of this is linear in 64 KiB at most.
 */
import type { ResponseStage, StageCall } from '../gateway/gateway.stages';
import { AppError } from '../lib/errors';
import type { Engine } from './inspection.engine';
import { scannableText } from './inspection.passthrough.text';
import { inspectBody, Judge, maskJson } from './inspection.passthrough-answer';
import { scanEveryString } from './inspection.passthrough-scan';
import type { Where } from './inspection.schema';

/** The stage, or null when the connection inspects nothing (then error answers pass as they come). */
export function errorAnswerStage(call: StageCall, where: Where): ResponseStage | null {
  const inspection = call.inspection;
  if (!inspection) return null;
  // Made when an error answer comes: a 2xx answer (the hot path) allocates nothing more here.
  let judge: Judge | null = null;
  return {
    name: 'inspection.error',
    // A 2xx answer is the other stages' to read: this one is done before its first message.
    onMessage: () => undefined,
    done: () => true,
    onErrorBody(bytes) {
      judge ??= new Judge(call, inspection, where);
      const out = inspectErrorBody(bytes, inspection.engine, judge);
      if (out === null) return undefined;
      // Masked: what the upstream sent goes to no third party (llm.stages.ts, Langfuse).
      inspection.answerWithheld = true;
      return new TextEncoder().encode(out);
    },
    finish: () => judge?.finish(),
  };
}

/** The body masked, or null when it passes as it came; a `block` or a body not text is thrown. */
export function inspectErrorBody(bytes: Uint8Array, engine: Engine, judge: Judge): string | null {
  if (bytes.length === 0) return null;
  const text = scannableText(bytes);
  if (text === null) throw notText(judge.where);
  const value = oneJsonDocument(text);
  if (value === undefined) return inspectBody(bytes, engine, judge);
  const found = scanEveryString(engine, value, judge.where);
  judge.judge({ prefix: '$', found });
  const masked = maskJson(value, judge.masked(found), judge, '$');
  return masked === null ? null : JSON.stringify(masked);
}

/** The text parsed as one JSON document, or undefined when it is not one (then: lines, or text). */
function oneJsonDocument(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function notText(where: Where): AppError {
  return new AppError('content_blocked', {
    message: "Blocked by content inspection: the upstream's error answer is not text the gateway can inspect",
    details: { where, location: '$', reason: 'not_text' },
  });
}
