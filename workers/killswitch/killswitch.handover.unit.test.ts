import { describe, expect, it } from 'vitest';
import { streamedAnswerOf } from '../gateway/gateway.jsonrpc.ts';
import { PEEK_MAX_BYTES, type Peeked, peekWhole, resumedBody } from './killswitch.handover.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** An upstream body the test writes to, chunk by chunk, and that records a cancel. */
function upstream() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const state = { cancelled: false };
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return {
    body,
    state,
    send: (text: string) => controller.enqueue(enc.encode(text)),
    end: () => controller.close(),
    fail: () => controller.error(new Error('upstream broke')),
  };
}

/** A delay the test runs out by hand. */
function delay() {
  let runOut!: () => void;
  const promise = new Promise<void>((resolve) => {
    runOut = resolve;
  });
  return { promise, runOut };
}

const answerOf = streamedAnswerOf(7)!;
const event = (data: unknown) => `event: message\ndata: ${JSON.stringify(data)}\n\n`;
const ANSWER = event({ jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: 'hi' }] } });
const PROGRESS = event({ jsonrpc: '2.0', method: 'notifications/progress', params: { progress: 1 } });

/**
 * The rest of a peeked stream moved on to `writable` as the relay moves it (killswitch.stream.ts):
 * resumed where the peek stopped (gateway.answer.ts), by a pipe that a kill (`cut`) stops, leaving
 * `writable` open for the last words.
 */
function relayFrom(
  peeked: Peeked,
  _body: ReadableStream<Uint8Array>,
  writable: WritableStream<Uint8Array>,
  cut: AbortSignal,
): Promise<void> {
  return resumedBody(peeked).pipeTo(writable, { preventAbort: true, signal: cut });
}

/** Everything the caller reads through the relay, once the upstream's body is relayed into it. */
async function relayed(peeked: Peeked, body: ReadableStream<Uint8Array>, cut = new AbortController().signal) {
  const pipe = new TransformStream<Uint8Array, Uint8Array>();
  // The native pipe closes the caller's stream at the upstream's end; after a kill or a break the
  // relay's owner (killswitch.stream.ts) would, so the helper does.
  const done = relayFrom(peeked, body, pipe.writable, cut).finally(() =>
    pipe.writable.close().catch(() => {}),
  );
  const text = await new Response(pipe.readable).text();
  await done;
  return text;
}

describe('a short streamed answer is handed over whole (killswitch.handover.ts)', () => {
  it('hands over one answer event and the end, byte for byte', async () => {
    const up = upstream();
    up.send(ANSWER);
    up.end();
    const out = await peekWhole(up.body, answerOf, delay().promise);
    expect(out).toBeInstanceOf(Uint8Array);
    expect(dec.decode(out as Uint8Array)).toBe(ANSWER);
  });

  it('waits through an answer split across reads, and a priming event before it', async () => {
    const up = upstream();
    const priming = 'id: 1\ndata: \n\n';
    const peek = peekWhole(up.body, answerOf, delay().promise);
    up.send(priming);
    up.send(ANSWER.slice(0, 20));
    await new Promise((r) => setTimeout(r, 5));
    up.send(ANSWER.slice(20));
    up.end();
    const out = await peek;
    expect(dec.decode(out as Uint8Array)).toBe(priming + ANSWER);
  });

  it('relays at once when another message comes first, and the caller gets every byte in order', async () => {
    const up = upstream();
    const peek = peekWhole(up.body, answerOf, delay().promise);
    up.send(PROGRESS);
    const out = await peek;
    expect(out).not.toBeInstanceOf(Uint8Array);
    const peeked = out as Peeked;
    expect(peeked.pending).toBeNull();
    expect(peeked.read.map((c) => dec.decode(c))).toEqual([PROGRESS]);
    const reading = relayed(peeked, up.body);
    up.send(ANSWER);
    up.end();
    expect(await reading).toBe(PROGRESS + ANSWER);
  });

  it('relays when the upstream keeps the stream open after the answer', async () => {
    const up = upstream();
    const peek = peekWhole(up.body, answerOf, delay().promise);
    up.send(ANSWER);
    await new Promise((r) => setTimeout(r, 5));
    up.send(': still here\n\n');
    const peeked = (await peek) as Peeked;
    expect(peeked.read).toHaveLength(2);
    const reading = relayed(peeked, up.body);
    up.send(PROGRESS);
    up.end();
    expect(await reading).toBe(`${ANSWER}: still here\n\n${PROGRESS}`);
  });

  it('relays a slow answer when the delay runs out, with the read still outstanding', async () => {
    const up = upstream();
    const wait = delay();
    const peek = peekWhole(up.body, answerOf, wait.promise);
    wait.runOut();
    const peeked = (await peek) as Peeked;
    expect(peeked.read).toEqual([]);
    expect(peeked.pending).not.toBeNull();
    const reading = relayed(peeked, up.body);
    up.send(ANSWER);
    up.end();
    expect(await reading).toBe(ANSWER);
  });

  it('relays once more than PEEK_MAX_BYTES has been read', async () => {
    const up = upstream();
    const peek = peekWhole(up.body, answerOf, delay().promise);
    const partial = `data: ${'x'.repeat(PEEK_MAX_BYTES)}`; // one unterminated event: no role yet
    up.send(partial);
    const peeked = (await peek) as Peeked;
    expect(peeked.pending).toBeNull();
    const reading = relayed(peeked, up.body);
    up.send('\n\n');
    up.end();
    expect(await reading).toBe(`${partial}\n\n`);
  });

  it('relays an upstream that broke: the relay meets the error', async () => {
    const up = upstream();
    const peek = peekWhole(up.body, answerOf, delay().promise);
    up.fail();
    const peeked = (await peek) as Peeked;
    const pipe = new TransformStream<Uint8Array, Uint8Array>();
    await expect(relayFrom(peeked, up.body, pipe.writable, new AbortController().signal)).rejects.toThrow(
      'upstream broke',
    );
  });

  it('a caller that hangs up before the relay reaches its pipe closes the upstream request', async () => {
    const { up, peeked } = await stopped('message');
    const pipe = new TransformStream<Uint8Array, Uint8Array>();
    await pipe.readable.cancel('caller left');
    await expect(relayFrom(peeked, up.body, pipe.writable, new AbortController().signal)).rejects.toThrow();
    expect(up.state.cancelled).toBe(true);
  });

  for (const [how, where] of [
    ['message', 'in the native pipe'],
    ['silent', 'while the read the peek left is outstanding'],
  ] as const) {
    it(`a kill ${where} cancels the upstream and leaves the caller stream open for the last words`, async () => {
      const { up, peeked } = await stopped(how);
      expect(peeked.pending === null).toBe(how === 'message');
      const pipe = new TransformStream<Uint8Array, Uint8Array>();
      const cut = new AbortController();
      const reading = new Response(pipe.readable).text();
      const relaying = relayFrom(peeked, up.body, pipe.writable, cut.signal).catch(() => {});
      await new Promise((r) => setTimeout(r, 5));
      cut.abort();
      await relaying;
      expect(up.state.cancelled).toBe(true);
      const writer = pipe.writable.getWriter();
      await writer.write(enc.encode('last words'));
      await writer.close();
      expect(await reading).toBe(`${how === 'message' ? PROGRESS : ''}last words`);
    });
  }
});

/** A peek that stopped at a progress event, or (`silent`) with nothing read when the delay ran out. */
async function stopped(how: 'message' | 'silent') {
  const up = upstream();
  const wait = delay();
  const peek = peekWhole(up.body, answerOf, wait.promise);
  if (how === 'message') up.send(PROGRESS);
  else wait.runOut();
  const peeked = (await peek) as Peeked;
  wait.runOut();
  return { up, peeked };
}

describe('which streamed event answers a JSON-RPC request (streamedAnswerOf)', () => {
  it('is the response with the request id, result or error', () => {
    expect(answerOf(JSON.stringify({ jsonrpc: '2.0', id: 7, result: {} }))).toBe('answer');
    expect(answerOf(JSON.stringify({ jsonrpc: '2.0', id: 7, error: { code: 1, message: 'x' } }))).toBe(
      'answer',
    );
  });

  it('anything else JSON-RPC is another message: another id, a notification, a server request, a batch', () => {
    expect(answerOf(JSON.stringify({ jsonrpc: '2.0', id: 8, result: {} }))).toBe('message');
    expect(answerOf(JSON.stringify({ jsonrpc: '2.0', id: '7', result: {} }))).toBe('message');
    expect(answerOf(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message' }))).toBe('message');
    expect(answerOf(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'sampling/createMessage' }))).toBe(
      'message',
    );
    expect(answerOf(JSON.stringify([{ jsonrpc: '2.0', id: 7, result: {} }]))).toBe('message');
  });

  it('data that is not a message is neither (an empty priming event, text)', () => {
    expect(answerOf('')).toBe('other');
    expect(answerOf('not json')).toBe('other');
    expect(answerOf('42')).toBe('other');
  });

  it('a stream answering no single request is always relayed', () => {
    expect(streamedAnswerOf(null)).toBeNull();
  });
});
