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
 * CR (the SSE grammar); a CR at the very end of the buffered text is held back until the next
 * chunk shows whether an LF follows, so a CRLF split across chunks is never read as two lines.
 */
export class SseSplitter {
  #pending = '';
  /** Offset in #pending where the current (incomplete) event starts: always 0 between pushes. */
  #scan = 0;

  push(text: string): SseEvent[] {
    this.#pending += text;
    const events: SseEvent[] = [];
    let eventStart = 0;
    let lineStart = this.#scan;
    for (;;) {
      const end = lineEnd(this.#pending, lineStart);
      if (end === null) break;
      const line = this.#pending.slice(lineStart, end.at);
      lineStart = end.next;
      if (line === '') {
        const raw = this.#pending.slice(eventStart, lineStart);
        events.push(parseEvent(raw));
        eventStart = lineStart;
      }
    }
    this.#pending = this.#pending.slice(eventStart);
    this.#scan = lineStart - eventStart;
    return events;
  }

  /** Whatever is buffered (an unterminated event at the end of the stream), as is. */
  rest(): string {
    const rest = this.#pending;
    this.#pending = '';
    this.#scan = 0;
    return rest;
  }
}

/** Where the line starting at `from` ends, or null if its terminator has not arrived yet. */
function lineEnd(text: string, from: number): { at: number; next: number } | null {
  for (let i = from; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 10) return { at: i, next: i + 1 };
    if (ch === 13) {
      if (i + 1 === text.length) return null; // CR at the end: maybe half of a CRLF.
      return { at: i, next: text.charCodeAt(i + 1) === 10 ? i + 2 : i + 1 };
    }
  }
  return null;
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
}

/**
 * A TransformStream that re-emits each SSE event as soon as it is complete, rewritten or not.
 * After the rewriter is done, later text is passed on unparsed (still through the decoder, so a
 * UTF-8 sequence split across chunks at the switch-over stays intact).
 */
export function sseRewriteStream(rewriter: SseRewriter): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  const splitter = new SseSplitter();
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
        if (parsing && rewriter.done()) parsing = false;
      }
      if (!parsing) out += splitter.rest();
      emit(controller, out);
    },
    flush(controller) {
      emit(controller, splitter.rest() + decoder.decode());
    },
  });
}
