/**
 * Server-Sent Events framing, for the one place the gateway must look inside an upstream stream
 * (filtering list results). Transport only: this module knows nothing about policy; the caller
 * passes a `rewrite` function and decides what, if anything, changes.
 *
 * Why not buffer: MCP servers stream progress notifications, server-to-client requests
 * (sampling, elicitation) and the response on one SSE body, and a client may have to answer a
 * request in the middle of the stream before the stream can continue. So every event is
 * re-emitted the moment its terminating blank line arrives, and events the rewriter leaves alone
 * are re-emitted byte for byte (their `id:`, `retry:`, `event:` lines, empty priming `data:` and
 * `: keepalive` comments included). Once the rewriter reports it has nothing left to look for,
 * the rest of the stream is piped through without parsing.
 */

export interface SseEvent {
  /** The event exactly as received, terminating blank line included. */
  raw: string;
  /** Field lines in order (comments excluded), as [name, value]. */
  fields: Array<[string, string]>;
  /** The data lines joined with '\n', or null when the event has no data field. */
  data: string | null;
}

/**
 * Incremental splitter: feed decoded text, get back complete events. Lines end with CRLF, LF or
 * CR (the SSE grammar); a CR at the very end of a chunk is held back until the next chunk shows
 * whether an LF follows, so a CRLF split across chunks is never read as two lines.
 *
 * Linear in the stream: each character is scanned once, when its chunk arrives. The incomplete
 * event's earlier chunks are kept as a list and joined once, when the event completes (re-reading
 * or re-concatenating them on every chunk made a large event arriving in small chunks quadratic:
 * an upstream could stall the isolate). An event longer than `maxEventChars` stops the splitter
 * (`overflowed`): nothing more is buffered or returned.
 */
export class SseSplitter {
  /** The current (incomplete) event's text from earlier chunks, already scanned. */
  #parts: string[] = [];
  #partsLength = 0;
  /** The current line has text from earlier chunks (so it is not the blank line that ends an event). */
  #lineOpen = false;
  /** The previous chunk ended with a CR: it is put back in front of the next one. */
  #heldCr = false;
  #overflowed = false;
  readonly #max: number;

  constructor(maxEventChars = Number.POSITIVE_INFINITY) {
    this.#max = maxEventChars;
  }

  /** True once an event longer than the cap was met: the splitter returns nothing more. */
  get overflowed(): boolean {
    return this.#overflowed;
  }

  push(chunk: string): SseEvent[] {
    if (this.#overflowed) return [];
    const text = this.#heldCr ? `\r${chunk}` : chunk;
    this.#heldCr = false;
    const events: SseEvent[] = [];
    let eventStart = 0;
    let lineStart = 0;
    let lineOpen = this.#lineOpen;
    // The next LF and CR at or after `pos`, each searched again only once passed: linear overall.
    let lf = text.indexOf('\n');
    let cr = text.indexOf('\r');
    for (;;) {
      const end = nextLineEnd(text, lf, cr);
      if (end === null) break;
      const blank = end.at === lineStart && !lineOpen;
      lineOpen = false;
      lineStart = end.next;
      if (lf !== -1 && lf < lineStart) lf = text.indexOf('\n', lineStart);
      if (cr !== -1 && cr < lineStart) cr = text.indexOf('\r', lineStart);
      if (!blank) continue;
      if (this.#partsLength + (lineStart - eventStart) > this.#max) return this.#overflow(events);
      events.push(parseEvent(this.#take(text.slice(eventStart, lineStart))));
      eventStart = lineStart;
    }
    // A CR at the very end may be half of a CRLF: it waits for the next chunk.
    const held = text.length > lineStart && text.charCodeAt(text.length - 1) === 13;
    const tailEnd = held ? text.length - 1 : text.length;
    this.#heldCr = held;
    this.#lineOpen = lineOpen || tailEnd > lineStart;
    if (tailEnd > eventStart) {
      this.#parts.push(text.slice(eventStart, tailEnd));
      this.#partsLength += tailEnd - eventStart;
    }
    if (this.#partsLength + (held ? 1 : 0) > this.#max) return this.#overflow(events);
    return events;
  }

  /** Whatever is buffered (an unterminated event at the end of the stream), as is. */
  rest(): string {
    const rest = this.#take(this.#heldCr ? '\r' : '');
    this.#heldCr = false;
    this.#lineOpen = false;
    return rest;
  }

  /** The buffered parts and `tail`, as one string; the buffer is emptied. */
  #take(tail: string): string {
    if (this.#parts.length === 0) return tail;
    this.#parts.push(tail);
    const text = this.#parts.join('');
    this.#parts = [];
    this.#partsLength = 0;
    return text;
  }

  #overflow(events: SseEvent[]): SseEvent[] {
    this.#overflowed = true;
    this.#parts = [];
    this.#partsLength = 0;
    this.#heldCr = false;
    return events;
  }
}

/**
 * The end of the line whose terminator comes first (`lf`/`cr`: the next LF and CR, -1 for none),
 * or null if it has not arrived yet. A CR at the very end may be half of a CRLF: not yet.
 */
function nextLineEnd(text: string, lf: number, cr: number): { at: number; next: number } | null {
  if (cr === -1 || (lf !== -1 && lf < cr)) return lf === -1 ? null : { at: lf, next: lf + 1 };
  if (cr + 1 === text.length) return null;
  return { at: cr, next: lf === cr + 1 ? cr + 2 : cr + 1 };
}

/** Parses one complete event (the text up to and including its blank line). */
export function parseEvent(raw: string): SseEvent {
  const fields: Array<[string, string]> = [];
  const dataLines: string[] = [];
  for (const line of raw.split(/\r\n|\r|\n/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const name = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    fields.push([name, value]);
    if (name === 'data') dataLines.push(value);
  }
  return { raw, fields, data: dataLines.length > 0 ? dataLines.join('\n') : null };
}

/**
 * The event with its data replaced by `data` (one `data:` line: JSON has no raw newlines) and
 * every other field kept in place. Comments are dropped from a rewritten event only.
 */
export function withData(event: SseEvent, data: string): string {
  const lines: string[] = [];
  let written = false;
  for (const [name, value] of event.fields) {
    if (name !== 'data') lines.push(value === '' ? `${name}:` : `${name}: ${value}`);
    else if (!written) {
      lines.push(`data: ${data}`);
      written = true;
    }
  }
  return `${lines.join('\n')}\n\n`;
}

export interface SseRewriter {
  /** The replacement text of the event, or null to pass it through byte for byte. */
  rewrite(event: SseEvent): string | null;
  /** True once nothing more will be rewritten: the rest of the stream is piped unparsed. */
  done(): boolean;
  /**
   * An event grew past the cap: the text the stream ends with (its protocol's error, or ''). The
   * event itself is never passed on, and the upstream body is cancelled.
   */
  tooLarge(): string;
  /**
   * True once the last rewritten event was the stream's end (its text the protocol's error): the
   * stream closes after it and the upstream body is cancelled.
   */
  ended?(): boolean;
}

/**
 * A TransformStream that re-emits each SSE event as soon as it is complete, rewritten or not.
 * After the rewriter is done, later text is passed on unparsed (still through the decoder, so a
 * UTF-8 sequence split across chunks at the switch-over stays intact). While parsing, one event
 * longer than `maxEventChars` ends the stream (`rewriter.tooLarge`): an event is buffered whole
 * before it is parsed, and the upstream decides how long it is.
 */
export function sseRewriteStream(
  rewriter: SseRewriter,
  maxEventChars: number,
): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  const splitter = new SseSplitter(maxEventChars);
  let parsing = true;
  const emit = (controller: TransformStreamDefaultController<Uint8Array>, text: string) => {
    if (text !== '') controller.enqueue(encoder.encode(text));
  };
  return new TransformStream({
    transform(chunk, controller) {
      const text = decoder.decode(chunk, { stream: true });
      if (!parsing) return emit(controller, text);
      let out = '';
      for (const event of splitter.push(text)) {
        out += parsing ? (rewriter.rewrite(event) ?? event.raw) : event.raw;
        if (parsing && rewriter.ended?.()) {
          emit(controller, out);
          controller.terminate();
          return;
        }
        if (parsing && rewriter.done()) parsing = false;
      }
      if (splitter.overflowed) {
        // Terminate closes the caller's side and cancels the upstream body.
        emit(controller, out + rewriter.tooLarge());
        controller.terminate();
        return;
      }
      if (!parsing) out += splitter.rest();
      emit(controller, out);
    },
    flush(controller) {
      emit(controller, splitter.rest() + decoder.decode());
    },
  });
}
