/**
 * A held stream's texts (`settings.inspection.streamMode: "hold"`, docs/detections.md): the
 * gateway has read the whole streamed LLM answer before sending any of it (gateway.hold.ts), and
 * the answer stage (inspection.llm.stage.ts) has restored its placeholders event by event without
 * scanning. Here every text is scanned whole — what the caller would get, its own values echoed
 * back included, as for a JSON answer — and then:
 *   - a `block` finding refuses the whole answer (nothing of it was sent);
 *   - with `redactResults` on, each text's `redact` findings are masked: its deltas rewritten so
 *     that, joined, they read as the masked text (inspection.deltas.ts), and a summary event that
 *     repeats the text (`response.output_text.done`, `response.completed`…) carries the masked
 *     text too. The caller's own values stay restored (inspection.answer.mask.ts);
 *   - a chunk that repeats a choice `index` refuses the answer: its texts cannot be told apart.
 * Pure: the messages are rewritten in place.
 */
import { AppError } from '../lib/errors';
import { isRecord } from '../lib/values';
import { type AnswerTexts, answerKeys, repeatedChoice, streamEvent, wholeMessage } from './inspection.answer';
import { isJson, maskable, mustStayJson, ownValues } from './inspection.answer.mask';
import { spliceDeltas } from './inspection.deltas';
import type { Engine } from './inspection.engine';
import { blockedError } from './inspection.findings';
import { type RedactionSession, redactEdits } from './inspection.redact';
import { wholeSpans } from './inspection.redact.complete';
import { MAX_ANSWER_STREAMS, type ReportFindings } from './inspection.streams';

type Json = Record<string, unknown>;

export interface HeldTexts {
  engine: Engine;
  /** Records a text's findings (and notes a block) as a passing stream's scan would. */
  report: ReportFindings;
  /** Null: findings are recorded only. */
  masking: RedactionSession | null;
}

export interface Settled {
  /** The answer's refusal when a text cannot be masked and stay what it was (an Anthropic tool input no longer JSON). */
  refusal: AppError | null;
  /** The messages masking rewrote. */
  changed: Set<Json>;
}

/** One text to scan: a streamed one (its deltas joined), or one given whole in a summary event. */
interface Text {
  key: string;
  text: string;
}

/**
 * Walks the held messages as the answer stage does: stream events by their deltas (`piece`),
 * anything else by its whole texts. `piece` and `whole` return the replacement, if any.
 */
function walk(
  messages: readonly Json[],
  piece: (key: string, text: string) => string,
  whole: (key: string, text: string) => string | undefined,
  onMessage: (m: Json) => void = () => {},
): void {
  const texts: AnswerTexts = {
    piece: (key, text) => piece(key, text),
    whole,
    end: () => {},
    flush: () => '',
    key: answerKeys(),
  };
  for (const m of messages) {
    onMessage(m);
    if (streamEvent(m, texts).matched || m.object === 'text_completion') continue;
    wholeMessage(m, texts);
  }
}

export function settleHeld(messages: readonly Json[], held: HeldTexts): Settled {
  // 0. Two choices with one index in a chunk: their texts are one key's, joined in an order no
  // client need assemble (one reading `choices[0]` gets one of them whole): refused, never guessed.
  for (const m of messages) {
    const repeated = repeatedChoice(m);
    if (repeated) return { refusal: repeated, changed: new Set() };
  }
  // 1. The texts: each key's deltas, in order; and each whole text that is not its key's deltas joined.
  const deltas = new Map<string, string[]>();
  const opened = new Set<string>();
  const wholes: Text[] = [];
  walk(
    messages,
    (key, text) => {
      // The same cap as a passing stream's (inspection.streams.ts), counting the texts that say
      // something (an empty delta opens none there either): what it cannot follow is refused.
      if (text.length > 0 && !opened.has(key)) {
        if (opened.size >= MAX_ANSWER_STREAMS) throw tooManyTexts();
        opened.add(key);
      }
      let list = deltas.get(key);
      if (!list) {
        list = [];
        deltas.set(key, list);
      }
      list.push(text);
      return text;
    },
    (key, text) => {
      wholes.push({ key, text });
      return undefined;
    },
  );
  const joined = new Map<string, string>();
  for (const [key, list] of deltas) joined.set(key, list.join(''));
  const texts: Text[] = [...joined].map(([key, text]) => ({ key, text }));
  const seen = new Set(texts.map((t) => `${t.key}\0${t.text}`));
  for (const w of wholes) {
    const id = `${w.key}\0${w.text}`;
    if (seen.has(id) || w.text.length === 0) continue;
    seen.add(id);
    texts.push(w);
  }
  // 2. Each scanned once, findings recorded (a block noted by `report`); masked when asked.
  const edits = new Map<string, ReturnType<typeof redactEdits>>();
  const maskedWhole = new Map<string, string>();
  let refusal: AppError | null = null;
  const own = held.masking ? ownValues(held.masking) : new Set<string>();
  for (const { key, text } of texts) {
    if (text.length === 0) continue;
    const found = held.engine.scan(text, 'completion');
    if (found.length === 0) continue;
    held.report(key, found);
    if (!held.masking) continue;
    // Every value, however many: a rule past its cap has the text scanned again (throws
    // `inspection_unmaskable` when one stays capped: the answer is refused, never half-masked).
    const redacts = wholeSpans(
      held.engine,
      'completion',
      text,
      found.filter((f) => f.action === 'redact'),
      key,
    );
    const spans = maskable(text, redacts, own);
    if (spans.length === 0) continue;
    const textEdits = redactEdits(text, spans, held.masking);
    let out = '';
    let at = 0;
    for (const e of textEdits) {
      out += text.slice(at, e.start) + e.placeholder;
      at = e.end;
    }
    out += text.slice(at);
    if (mustStayJson(key) && !isJson(out)) {
      refusal ??= blockedError(held.engine, spans[0]!, 'completion', key);
      continue;
    }
    if (joined.get(key) === text) edits.set(key, textEdits);
    maskedWhole.set(`${key}\0${text}`, out);
  }
  const changed = new Set<Json>();
  if (refusal || (edits.size === 0 && maskedWhole.size === 0)) return { refusal, changed };
  // 3. The deltas rewritten, in the order they were walked; summaries given the masked text.
  const spliced = new Map<string, string[]>();
  for (const [key, list] of deltas) {
    const e = edits.get(key);
    if (e) spliced.set(key, spliceDeltas(list, e));
  }
  const next = new Map<string, number>();
  let current: Json | null = null;
  walk(
    messages,
    (key, text) => {
      const list = spliced.get(key);
      if (!list) return text;
      const n = next.get(key) ?? 0;
      next.set(key, n + 1);
      const out = list[n] ?? text;
      if (out !== text && current) changed.add(current);
      return out;
    },
    (key, text) => {
      const out = maskedWhole.get(`${key}\0${text}`);
      if (out !== undefined && current) changed.add(current);
      return out;
    },
    (m) => {
      current = m;
    },
  );
  return { refusal, changed };
}

function tooManyTexts(): AppError {
  return new AppError('upstream_too_large', {
    message: `The answer streams more than ${MAX_ANSWER_STREAMS} texts (choices, tool calls, content blocks); the gateway inspects at most ${MAX_ANSWER_STREAMS}`,
    details: { maxStreams: MAX_ANSWER_STREAMS },
  });
}

/** The messages of a held stream that are JSON objects (the only ones with texts). */
export function heldMessages(values: readonly unknown[]): Json[] {
  return values.filter(isRecord);
}
