/**
 * The fake provider's `fake-gap-…` streams (llm.fake-provider.ts): upstreams that stall after their
 * headers, and answers whose shapes exercise a held stream's refusals and masking
 * (test/workerd/inspection.hold.gaps.test.ts, llm.stream.stall.test.ts).
 *
 *   fake-gap-silent   SSE headers, then nothing for GAP_STALL_MS, then the end
 *   fake-gap-stall    one chat chunk, then nothing for GAP_STALL_MS, then the rest
 *   fake-gap-trickle  a keep-alive comment every TRICKLE_MS for GAP_STALL_MS, then the answer
 *   fake-gap-json     a chat completion (JSON, not streamed): its headers and 40 bytes, then
 *                     nothing for GAP_STALL_MS, then the rest
 *   fake-gap-tool     Anthropic: a tool_use block whose input_json_delta pieces read
 *                     `{"ref":"TICKET-123456"}` (GAP_TICKET)
 *   fake-gap-dupe     chat: two choices sharing index 0 in each chunk; choice A's pieces hold the
 *                     key FAKE_SPLIT_SECRET, choice B's pieces cut it when both are joined by index
 *   fake-gap-legacy   legacy completions (`text_completion` chunks): the key cut across two chunks
 *
 * Every gap stream records how it ended under its marker (the last user message, or the prompt):
 * `GET /__fake/gaps` → `{ [marker]: 'ended' | 'cancelled' }` — `cancelled` when the client (the
 * gateway) closed the connection before the stream's end.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FAKE_SPLIT_SECRET } from './llm.fake-provider.split.ts';

type Json = Record<string, unknown>;

/** How long a gap stream says nothing (bounded, so that no test leaves a socket open for ever). */
export const GAP_STALL_MS = 30_000;
export const TRICKLE_MS = 200;
export const GAP_TICKET = 'TICKET-123456';
/** Choice A's text in `fake-gap-dupe`, as a client reading `choices[0]` of each chunk assembles it. */
export const GAP_DUPE_A = `The key is ${FAKE_SPLIT_SECRET} today.`;
/** The legacy completion's text. */
export const GAP_LEGACY_TEXT = `Legacy key ${FAKE_SPLIT_SECRET} here.`;

const endings: Record<string, 'ended' | 'cancelled'> = {};

export function gapEndings(): Record<string, 'ended' | 'cancelled'> {
  return endings;
}

function markerOf(json: Json): string {
  if (typeof json.prompt === 'string') return json.prompt;
  const messages = Array.isArray(json.messages) ? (json.messages as Json[]) : [];
  const last = messages.at(-1)?.content;
  return typeof last === 'string' ? last : '';
}

const chatChunk = (model: string, choices: Json[]): Json => ({
  id: 'chatcmpl-gap',
  object: 'chat.completion.chunk',
  created: 1_700_000_000,
  model,
  choices: choices.map((c) => ({ logprobs: null, finish_reason: null, ...c })),
});

const chatCompletion = (model: string): Json => ({
  id: 'chatcmpl-gap',
  object: 'chat.completion',
  created: 1_700_000_000,
  model,
  choices: [{ index: 0, message: { role: 'assistant', content: 'Late.' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
});

const legacyChunk = (model: string, text: string, finish: string | null): Json => ({
  id: 'cmpl-gap',
  object: 'text_completion',
  created: 1_700_000_000,
  model,
  choices: [{ index: 0, text, logprobs: null, finish_reason: finish }],
});

function toolEvents(model: string): Array<[string, Json]> {
  const half = '{"ref":"TICK';
  const pieces = [half, `${`{"ref":"${GAP_TICKET}"}`.slice(half.length)}`];
  return [
    [
      'message_start',
      {
        type: 'message_start',
        message: {
          id: 'msg_gap',
          type: 'message',
          role: 'assistant',
          model,
          content: [],
          stop_reason: null,
          usage: { input_tokens: 5, output_tokens: 1 },
        },
      },
    ],
    [
      'content_block_start',
      {
        type: 'content_block_start',
        index: 0,
        content_block: { type: 'tool_use', id: 'toolu_gap', name: 'lookup', input: {} },
      },
    ],
    ...pieces.map((partial_json): [string, Json] => [
      'content_block_delta',
      { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json } },
    ]),
    ['content_block_stop', { type: 'content_block_stop', index: 0 }],
    [
      'message_delta',
      { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 9 } },
    ],
    ['message_stop', { type: 'message_stop' }],
  ];
}

function dupeChunks(model: string): Json[] {
  const cut = 'The key is AKIAZ7Q4R'.length;
  return [
    chatChunk(model, [
      { index: 0, delta: { role: 'assistant', content: GAP_DUPE_A.slice(0, cut) } },
      { index: 0, delta: { role: 'assistant', content: 'Nothing here. ' } },
    ]),
    chatChunk(model, [
      { index: 0, delta: { content: GAP_DUPE_A.slice(cut) }, finish_reason: 'stop' },
      { index: 0, delta: { content: 'Bye.' }, finish_reason: 'stop' },
    ]),
  ];
}

function legacyChunks(model: string): Json[] {
  const cut = GAP_LEGACY_TEXT.indexOf(FAKE_SPLIT_SECRET) + 6;
  return [
    legacyChunk(model, GAP_LEGACY_TEXT.slice(0, cut), null),
    legacyChunk(model, GAP_LEGACY_TEXT.slice(cut), 'stop'),
  ];
}

const sleep = (ms: number, res: ServerResponse) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    res.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });

/** Answers a `fake-gap-…` request; false when the model is none of them. */
export async function gapReply(model: string, json: Json, req: IncomingMessage, res: ServerResponse) {
  const marker = markerOf(json);
  res.once('close', () => {
    endings[marker] = res.writableEnded ? 'ended' : 'cancelled';
  });
  if (model === 'fake-gap-json') {
    const body = JSON.stringify(chatCompletion(model));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write(body.slice(0, 40));
    await sleep(GAP_STALL_MS, res);
    if (!res.destroyed) res.end(body.slice(40));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.flushHeaders();
  const send = (data: Json | string, name?: string) => {
    if (res.destroyed) return;
    const text = typeof data === 'string' ? data : JSON.stringify(data);
    res.write(`${name ? `event: ${name}\n` : ''}data: ${text}\n\n`);
  };
  const chat = req.url?.startsWith('/v1/chat/completions');
  switch (model) {
    case 'fake-gap-silent':
      await sleep(GAP_STALL_MS, res);
      break;
    case 'fake-gap-stall':
      send(chatChunk(model, [{ index: 0, delta: { role: 'assistant', content: 'Thinking' } }]));
      await sleep(GAP_STALL_MS, res);
      send(chatChunk(model, [{ index: 0, delta: { content: '.' }, finish_reason: 'stop' }]));
      break;
    case 'fake-gap-trickle': {
      const until = Date.now() + GAP_STALL_MS;
      while (Date.now() < until && !res.destroyed) {
        res.write(': keep-alive\n\n');
        await sleep(TRICKLE_MS, res);
      }
      send(chatChunk(model, [{ index: 0, delta: { content: 'Done.' }, finish_reason: 'stop' }]));
      break;
    }
    case 'fake-gap-tool':
      for (const [name, data] of toolEvents(model)) send(data, name);
      break;
    case 'fake-gap-dupe':
      for (const c of dupeChunks(model)) send(c);
      break;
    case 'fake-gap-legacy':
      for (const c of legacyChunks(model)) send(c);
      break;
  }
  if (chat || model === 'fake-gap-legacy') send('[DONE]');
  if (!res.destroyed) res.end();
}
