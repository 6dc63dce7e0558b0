/**
 * Masking the `redact` findings of an LLM answer read whole (docs/detections.md): a chat
 * completion, a Responses `response` object, an Anthropic message — when the connection's
 * `redactResults` is on, as for MCP tool results and A2A answers. Each finding belongs to a text
 * by its key (its JSON path, inspection.answer.ts); the text is rewritten with typed placeholders
 * (`[EMAIL_1]`), from the request's own redaction session. A value the caller sent itself (one the
 * prompt side masked, restored before this runs) is left as restored: only values the caller did not
 * send are masked.
 *
 * A passing stream is not masked: a piece reaches the caller before the scan that would find a
 * value cut across pieces (inspection.streams.ts), so masking would be partial — its `redact`
 * findings are recorded only. A held stream (`streamMode: "hold"`) is masked by inspection.hold.ts
 * with the same rules (ownValues, maskable, mustStayJson). Pure.
 */
import type { AppError } from '../lib/errors';
import { type AnswerTexts, answerKeys, wholeMessage } from './inspection.answer';
import type { Engine, Finding } from './inspection.engine';
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
  engine: Engine,
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
      return { refusal: blockedError(engine, spans[0]!, 'completion', key), changed: false };
  let refusal: AppError | null = null;
  let changed = false;
  // The caller's own values (what the request side masked, restored just before this): given back,
  // not masked again — the restore is what a caller redacting its prompt relies on, and the value
  // is the caller's own. Masking is for what the caller did not send (a model revealing a key from
  // its context, its tools or its training).
  const own = ownValues(session);
  const mask = (key: string, text: string): string | undefined => {
    const spans = maskable(text, masked.get(key), own);
    if (spans.length === 0) return undefined;
    const out = redact(text, spans, session).text;
    if (mustStayJson(key) && !isJson(out)) {
      refusal ??= blockedError(engine, spans[0]!, 'completion', key);
      return undefined;
    }
    changed = true;
    return out;
  };
  wholeMessage(message, walker(mask, new Map()));
  return { refusal, changed };
}

/** The caller's own values: what its request had masked (the session's originals). */
export function ownValues(session: RedactionSession): ReadonlySet<string> {
  return new Set(session.mapping.values());
}

/** The `redact` findings of `text` that are to be masked: not those that are the caller's own values. */
export function maskable(
  text: string,
  spans: readonly Finding[] | undefined,
  own: ReadonlySet<string>,
): Finding[] {
  return spans?.filter((f) => !own.has(text.slice(f.start, f.end).trim())) ?? [];
}

/** An Anthropic tool_use input: scanned as its JSON text, its masked text must still be JSON. */
export function mustStayJson(key: string): boolean {
  return key.startsWith('$.content[') && key.endsWith('.input');
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

export function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
