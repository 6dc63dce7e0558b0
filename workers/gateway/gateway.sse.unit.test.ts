import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseEvent, type SseEvent, SseSplitter, sseRewriteStream, withData } from './gateway.sse.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Runs `chunks` through the rewriter and returns everything it emitted. */
async function run(
  chunks: Array<string | Uint8Array>,
  rewrite: (e: SseEvent) => string | null,
  done = () => false,
  maxEventChars = 1024 * 1024,
): Promise<string> {
  const input = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks)
        controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk);
      controller.close();
    },
  });
  const out = input.pipeThrough(
    sseRewriteStream({ rewrite, done, tooLarge: () => 'data: too large\n\n' }, maxEventChars),
  );
  let text = '';
  for await (const chunk of out) text += decoder.decode(chunk, { stream: true });
  return text + decoder.decode();
}

/** Splits `text` at the given (sorted, deduplicated) offsets. */
function cut(text: string, offsets: number[]): string[] {
  const points = [...new Set(offsets.map((o) => o % (text.length + 1)))].sort((a, b) => a - b);
  const parts: string[] = [];
  let last = 0;
  for (const p of points) {
    parts.push(text.slice(last, p));
    last = p;
  }
  parts.push(text.slice(last));
  return parts;
}

const STREAM = [
  'id: 1\ndata: \n\n', // priming event: id + empty data
  ': keepalive\n\n',
  'event: message\nid: 2\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}\n\n',
  'retry: 500\r\n\r\n',
  'event: message\r\ndata: {"jsonrpc":"2.0","id":7,\r\ndata: "result":{"tools":[]}}\r\n\r\n',
  'data: é ✓ 😀\r\rdata: tail\n\n',
].join('');

describe('SseSplitter', () => {
  it('splits on blank lines with LF, CRLF and CR line endings and keeps raw text', () => {
    const events = new SseSplitter().push(STREAM);
    expect(events.map((e) => e.raw).join('')).toBe(STREAM);
    expect(events).toHaveLength(7);
    expect(events[0]!.fields).toEqual([
      ['id', '1'],
      ['data', ''],
    ]);
    expect(events[0]!.data).toBe('');
    expect(events[1]!.fields).toEqual([]);
    expect(events[1]!.data).toBeNull();
    expect(events[4]!.data).toBe('{"jsonrpc":"2.0","id":7,\n"result":{"tools":[]}}');
  });

  it('holds back an event until its blank line arrives, and a trailing CR until the next chunk', () => {
    const splitter = new SseSplitter();
    expect(splitter.push('data: a\r')).toEqual([]);
    expect(splitter.push('\n')).toEqual([]);
    const [event] = splitter.push('\r\n');
    expect(event!.raw).toBe('data: a\r\n\r\n');
    expect(splitter.rest()).toBe('');
  });

  it('yields the same events however the stream is cut into chunks', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 12 }), (offsets) => {
        const splitter = new SseSplitter();
        const raws: string[] = [];
        for (const part of cut(STREAM, offsets)) for (const e of splitter.push(part)) raws.push(e.raw);
        expect(raws.join('') + splitter.rest()).toBe(STREAM);
        expect(raws).toHaveLength(7);
      }),
    );
  });

  it('parses fields like the SSE grammar: one optional space after the colon, bare names, comments', () => {
    const event = parseEvent('data:x\ndata:  y\nid\n: comment\nevent: message\n\n');
    expect(event.fields).toEqual([
      ['data', 'x'],
      ['data', ' y'],
      ['id', ''],
      ['event', 'message'],
    ]);
    expect(event.data).toBe('x\n y');
  });
});

describe('withData', () => {
  it('replaces the data lines with one and keeps the other fields in order', () => {
    const event = parseEvent('event: message\nid: 9\ndata: {"a":\ndata: 1}\nretry: 10\n\n');
    expect(withData(event, '{"a":2}')).toBe('event: message\nid: 9\ndata: {"a":2}\nretry: 10\n\n');
  });
});

describe('sseRewriteStream', () => {
  it('passes every byte through unchanged when nothing is rewritten, however it is chunked', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 12 }), async (offsets) => {
        const bytes = encoder.encode(STREAM);
        const points = [...new Set(offsets.map((o) => o % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks: Uint8Array[] = [];
        let last = 0;
        for (const p of points) {
          chunks.push(bytes.slice(last, p)); // may split a multi-byte UTF-8 character
          last = p;
        }
        chunks.push(bytes.slice(last));
        expect(await run(chunks, () => null)).toBe(STREAM);
      }),
    );
  });

  it('rewrites only the events the rewriter chooses', async () => {
    const out = await run([STREAM], (e) =>
      e.data?.includes('"id":7') ? withData(e, '{"replaced":true}') : null,
    );
    const original =
      'event: message\r\ndata: {"jsonrpc":"2.0","id":7,\r\ndata: "result":{"tools":[]}}\r\n\r\n';
    expect(STREAM).toContain(original);
    expect(out).toBe(STREAM.replace(original, 'event: message\ndata: {"replaced":true}\n\n'));
  });

  it('stops parsing once the rewriter is done and passes the rest, split characters included', async () => {
    let seen = 0;
    const rest = 'data: 😀 after\n\n';
    const restBytes = encoder.encode(rest);
    const out = await run(
      ['data: first\n\ndata: second\n\n', restBytes.slice(0, 8), restBytes.slice(8)],
      () => {
        seen++;
        return 'data: X\n\n';
      },
      () => seen >= 1,
    );
    expect(seen).toBe(1);
    expect(out).toBe(`data: X\n\ndata: second\n\n${rest}`);
  });

  it('emits an event as soon as it is complete, before the upstream stream ends', async () => {
    const upstream = new TransformStream<Uint8Array, Uint8Array>();
    const out = upstream.readable.pipeThrough(
      sseRewriteStream({ rewrite: () => null, done: () => false, tooLarge: () => '' }, 1024),
    );
    const writer = upstream.writable.getWriter();
    const reader = out.getReader();
    void writer.write(encoder.encode('event: message\ndata: {"n":1}\n\ndata: partial'));
    const first = await reader.read();
    expect(decoder.decode(first.value)).toBe('event: message\ndata: {"n":1}\n\n');
    void writer.write(encoder.encode(' rest\n\n'));
    const second = await reader.read();
    expect(decoder.decode(second.value)).toBe('data: partial rest\n\n');
    await writer.close();
    expect((await reader.read()).done).toBe(true);
  });

  it('passes an unterminated last event through at the end of the stream', async () => {
    expect(await run(['data: a\n\ndata: cut off'], () => null)).toBe('data: a\n\ndata: cut off');
  });

  it("ends the stream with the rewriter's last words at an event over the cap, which is not passed on", async () => {
    const big = `data: ${'x'.repeat(200)}\n\n`;
    const out = await run(
      ['data: a\n\n', big.slice(0, 90), big.slice(90), 'data: never\n\n'],
      () => null,
      undefined,
      100,
    );
    expect(out).toBe('data: a\n\ndata: too large\n\n');
  });
});

describe('SseSplitter: size and work', () => {
  it('stops at an event over the cap, complete or not, after the events before it', () => {
    const whole = new SseSplitter(20);
    expect(whole.push('data: a\n\ndata: 0123456789abcdef\n\ndata: b\n\n').map((e) => e.raw)).toEqual([
      'data: a\n\n',
    ]);
    expect(whole.overflowed).toBe(true);
    expect(whole.push('data: c\n\n')).toEqual([]);

    const growing = new SseSplitter(20);
    expect(growing.push('data: 0123456789')).toEqual([]);
    expect(growing.overflowed).toBe(false);
    expect(growing.push('abcdef')).toEqual([]);
    expect(growing.overflowed).toBe(true);
    expect(growing.rest()).toBe('');

    const exact = new SseSplitter(20);
    expect(exact.push('data: 012345678901\n\n').map((e) => e.raw)).toEqual(['data: 012345678901\n\n']);
    expect(exact.overflowed).toBe(false);
  });

  it('scans each character once: an event in many small chunks costs work linear in its size', () => {
    // Counts the characters the splitter reads (String.prototype.indexOf's scan, charCodeAt calls)
    // while it splits one large event fed in 256-character chunks. The old splitter rescanned the
    // event's current line on every chunk: quadratic, ~N²/512 reads.
    const work = (size: number): number => {
      const { indexOf, charCodeAt } = String.prototype;
      let reads = 0;
      String.prototype.indexOf = function (this: string, search: string, from = 0) {
        const at = indexOf.call(this, search, from);
        reads += at === -1 ? this.length - from : at - from + 1;
        return at;
      };
      String.prototype.charCodeAt = function (this: string, index: number) {
        reads++;
        return charCodeAt.call(this, index);
      };
      try {
        const splitter = new SseSplitter(size * 2);
        const text = `data: ${'x'.repeat(size)}\n\n`;
        const events: SseEvent[] = [];
        for (let at = 0; at < text.length; at += 256) events.push(...splitter.push(text.slice(at, at + 256)));
        expect(events).toHaveLength(1);
        expect(events[0]!.data).toHaveLength(size);
        return reads;
      } finally {
        String.prototype.indexOf = indexOf;
        String.prototype.charCodeAt = charCodeAt;
      }
    };
    const small = work(64 * 1024);
    const large = work(256 * 1024);
    // Two searches (LF, CR) over each chunk, and one look at its last character.
    expect(small).toBeLessThanOrEqual(3 * 64 * 1024);
    expect(large).toBeLessThanOrEqual(3 * 256 * 1024);
    expect(large / small).toBeLessThan(4.5);
  });
});
