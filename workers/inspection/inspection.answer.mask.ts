/**
 * Masking the `redact` findings of an LLM answer read whole (docs/detections.md): a chat
 * completion, a Responses `response` object, an Anthropic message — when the connection's
 * `redactResults` is on, as for MCP tool results and A2A answers. Each finding belongs to a text
 * by its key (its JSON path, inspection.answer.ts); the text is rewritten with typed placeholders
 * (`[EMAIL_1]`), from the request's own redaction session. A value the caller sent itself (one the
 * prompt side masked, restored before this runs) is left as restored: only values the caller did not
 * send are masked.
 *
 * Streams are not masked here: a piece reaches the caller before the scan that would find a value
 * cut across pieces (inspection.streams.ts), so masking would be partial — a stream's `redact`
 * findings are recorded only. Pure.
 */
import type { AppError } from '../lib/errors';
import { type AnswerTexts, answerKeys, wholeMessage } from './inspection.answer';
import type { Finding } from './inspection.engine';
import { blockedError } from './inspection.findings';
import { type RedactionSession, redact } from './inspection.redact';

type Json = Record<string, unknown>;

/** An answer that is whole by its shape: never a stream's event (those carry a `type` of their own). */
export function isWholeAnswer(m: Json): boolean {
  return m.object === 'chat.completion' || m.object === 'response' || m.type === 'message';
}

/**
 * Rewrites, in place, each text of `message` that has `redact` findings (by key), their spans
 * replaced with placeholders; `changed` says whether any text was (the caller's own values are
 * not). Returns a refusal when a text cannot be masked and stay what it
 * was (an Anthropic tool_use `input`, scanned as its JSON text, whose masked text is no longer
 * JSON): what cannot be masked is not passed.
 */
export function maskAnswer(
  message: Json,
  masked: ReadonlyMap<string, Finding[]>,
  session: RedactionSession,
): { refusal: AppError | null; changed: boolean } {
  // Two texts under one key (chat choices repeating an `index`): the scan's findings of both are
  // under that key, their offsets cannot be told apart — refused, never half-masked.
  const counts = new Map<string, number>();
  wholeMessage(
    message,
    walker(() => undefined, counts),
  );
  for (const [key, spans] of masked)
    if ((counts.get(key) ?? 0) > 1)
      return { refusal: blockedError(spans[0]!, 'completion', key), changed: false };
  let refusal: AppError | null = null;
  let changed = false;
  // The caller's own values (what the request side masked, restored just before this): given back,
  // not masked again — the restore is what a caller redacting its prompt relies on, and the value
  // is the caller's own. Masking is for what the caller did not send (a model revealing a key from
  // its context, its tools or its training).
  const own = new Set(session.mapping.values());
  const mask = (key: string, text: string): string | undefined => {
    const spans = masked.get(key)?.filter((f) => !own.has(text.slice(f.start, f.end).trim()));
    if (!spans || spans.length === 0) return undefined;
    const out = redact(text, spans, session).text;
    if (key.startsWith('$.content[') && key.endsWith('.input') && !isJson(out)) {
      refusal ??= blockedError(spans[0]!, 'completion', key);
      return undefined;
    }
    changed = true;
    return out;
  };
  wholeMessage(message, walker(mask, new Map()));
  return { refusal, changed };
}

/** Texts for the answer walker that only look at whole texts: `whole` decides, keys are counted. */
function walker(
  whole: (key: string, text: string) => string | undefined,
  counts: Map<string, number>,
): AnswerTexts {
  return {
    piece: (_key, text) => text,
    end: () => {},
    flush: () => '',
    key: answerKeys(),
    whole(key, text) {
      counts.set(key, (counts.get(key) ?? 0) + 1);
      return whole(key, text);
    },
  };
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
