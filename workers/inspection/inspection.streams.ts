/**
 * Scanning a streamed LLM answer as the separate texts it is made of (docs/detections.md).
 *
 * One answer streams several texts at once, their pieces interleaved: the choices of an `n > 1`
 * chat completion, each choice's parallel tool calls (`delta.tool_calls[k]` by `index`), an
 * Anthropic message's content blocks (text, thinking, tool input), the Responses API's output
 * items and content parts. A secret cut in two pieces of one text, with a piece of another text
 * between them, is whole only in its own text: so each text is scanned on its own, under its key
 * (its JSON path in the assembled answer, e.g. `$.choices[1].message.content`).
 *
 * Bounded memory, linear time: a text is not kept whole. Its pieces gather until SCAN_CHUNK (at
 * least 4 × the engine's reach) characters are waiting, then the waiting text is scanned behind
 * the last `reach` characters already scanned (the carry), so a match cut by the boundary is whole
 * in one scan. A finding the scan before reported already (same rule, same place: it lay in the
 * carry) is not reported again; one the carry's new right context makes is. Each character is scanned at most 1 + reach / chunk (≤ 1.25) times; each text
 * holds at most chunk + reach characters. An answer may open MAX_ANSWER_STREAMS texts: one more is
 * refused (`upstream_too_large`, thrown), and the gateway ends the stream with the provider's
 * error event — what it cannot follow, it does not pass. Pure.
 */
import { AppError } from '../lib/errors';
import type { Engine, Finding } from './inspection.engine';

/** Texts one streamed answer may open (OpenAI allows n ≤ 128 choices; tool calls open more). */
export const MAX_ANSWER_STREAMS = 128;
/** Characters gathered per text before they are scanned (at least 4 × the engine's reach). */
export const SCAN_CHUNK = 16 * 1024;

/** Between the whole texts of one message, scanned together: a blank line, as between paragraphs. */
const WHOLE_SEPARATOR = '\n\n';

/** The index of the text (by its start offset, ascending) that holds offset `at`: binary search. */
export function textAt(starts: readonly number[], at: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= at) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** What a scan found in one text: its key, and findings with offsets in the text as a whole. */
export type ReportFindings = (key: string, found: Finding[]) => void;

interface OpenText {
  /** The last `reach` characters already scanned. */
  carry: string;
  /** Where `carry` starts in the whole text. */
  carryAt: number;
  /** Characters waiting to be scanned. */
  waiting: string;
  /** What the last scan reported that reaches into the carry (`rule:start:end`, whole-text offsets). */
  inCarry: Set<string>;
}

export class AnswerScanner {
  readonly #engine: Engine;
  readonly #report: ReportFindings;
  readonly #complete: ReportFindings | null;
  readonly #reach: number;
  readonly #chunk: number;
  readonly #open = new Map<string, OpenText>();
  /** Every key this answer streamed (open or ended): the cap counts them. */
  readonly #streamed = new Set<string>();

  /**
   * `complete`, when given, gets the texts' every `redact` span (`Engine.redactSpans`) when `whole`
   * is asked to make masking complete and a rule reached its cap in the joined scan: the cap is
   * across all the texts of the message, so a text may have none of its values reported.
   */
  constructor(engine: Engine, report: ReportFindings, complete: ReportFindings | null = null) {
    this.#engine = engine;
    this.#report = report;
    this.#complete = complete;
    this.#reach = engine.reach;
    this.#chunk = Math.max(SCAN_CHUNK, 4 * engine.reach);
  }

  /** A piece of the text `key`; scanned once enough has gathered. Throws past the stream cap. */
  push(key: string, piece: string): void {
    if (piece.length === 0) return;
    let text = this.#open.get(key);
    if (!text) {
      // More of a text already ended (a block's late delta) is scanned as a text of its own.
      if (!this.#streamed.has(key)) this.#admit(key);
      text = { carry: '', carryAt: 0, waiting: '', inCarry: new Set() };
      this.#open.set(key, text);
    }
    text.waiting += piece;
    if (text.waiting.length >= this.#chunk) this.#scan(key, text);
  }

  /** The text `key` has ended: what is waiting is scanned, and its memory released. */
  end(key: string): void {
    const text = this.#open.get(key);
    if (!text) return;
    this.#open.delete(key);
    if (text.waiting.length > 0) this.#scan(key, text);
  }

  /** Ends every open text whose key starts with `prefix` ('' for all). */
  endUnder(prefix: string): void {
    for (const key of [...this.#open.keys()]) if (key.startsWith(prefix)) this.end(key);
  }

  /**
   * The whole texts of one message (a JSON answer, or a stream's closing summary), as
   * [key, text]. A text this answer streamed is not scanned again — a summary (`.done`,
   * `response.completed`) repeats its deltas — but ended here. The others are scanned (a stream
   * may give a text only whole, or first empty, then whole), together in ONE scan, joined by a
   * blank line, each finding given back to the text it starts in: a scan costs ~10 µs before it
   * reads a character, and a message of tens of thousands of tool calls would pay it per call.
   * Not counted against the stream cap: one message, bounded by the gateway's message cap.
   */
  whole(texts: ReadonlyArray<readonly [string, string]>, completeMasking = false): void {
    const keys: string[] = [];
    const starts: number[] = [];
    const parts: string[] = [];
    let at = 0;
    for (const [key, text] of texts) {
      if (this.#streamed.has(key)) {
        this.end(key);
        continue;
      }
      if (text.length === 0) continue;
      keys.push(key);
      starts.push(at);
      parts.push(text);
      at += text.length + WHOLE_SEPARATOR.length;
    }
    if (parts.length === 0) return;
    const joined = parts.join(WHOLE_SEPARATOR);
    const found = this.#engine.scan(joined, 'completion');
    const give = (findings: readonly Finding[], to: ReportFindings) => {
      const byText = new Map<number, Finding[]>();
      for (const f of findings) {
        const i = textAt(starts, f.start);
        const list = byText.get(i) ?? [];
        list.push({ ...f, start: f.start - starts[i]!, end: f.end - starts[i]! });
        byText.set(i, list);
      }
      for (const i of [...byText.keys()].sort((a, b) => a - b)) to(keys[i]!, byText.get(i)!);
    };
    give(found, this.#report);
    // Masking past the cap: the spans of every text, from one uncapped scan of the same joined text.
    if (completeMasking && this.#complete && found.some((f) => f.more && f.action === 'redact'))
      give(this.#engine.redactSpans(joined, 'completion'), this.#complete);
  }

  #admit(key: string): void {
    if (this.#streamed.size >= MAX_ANSWER_STREAMS)
      throw new AppError('upstream_too_large', {
        message: `The answer streams more than ${MAX_ANSWER_STREAMS} texts (choices, tool calls, content blocks); the gateway inspects at most ${MAX_ANSWER_STREAMS}`,
        details: { maxStreams: MAX_ANSWER_STREAMS },
      });
    this.#streamed.add(key);
  }

  #scan(key: string, text: OpenText): void {
    const scanned = text.carry + text.waiting;
    const at = text.carryAt;
    const found = this.#engine.scan(scanned, 'completion');
    const keep = Math.min(this.#reach, scanned.length);
    const nextAt = at + scanned.length - keep;
    const inCarry = new Set<string>();
    const fresh: Finding[] = [];
    for (const f of found) {
      const start = f.start + at;
      const end = f.end + at;
      const id = `${f.ruleId}:${start}:${end}`;
      if (end > nextAt) inCarry.add(id);
      if (!text.inCarry.has(id)) fresh.push({ ...f, start, end });
    }
    text.carry = scanned.slice(scanned.length - keep);
    text.carryAt = nextAt;
    text.waiting = '';
    text.inCarry = inCarry;
    if (fresh.length > 0) this.#report(key, fresh);
  }
}
