/**
 * The fake provider's `fake-split…` answers (llm.fake-provider.ts): a secret (an AWS access key
 * id, FAKE_SPLIT_SECRET, a made-up one) cut in two pieces of ONE text of the answer, with a piece
 * of ANOTHER text of the same answer between them — as real providers interleave the choices of
 * `n > 1`, parallel tool calls and output items. Shaped as the real APIs are, so the official SDKs
 * assemble them (content inspection tests: test/e2e/inspection.streams.e2e.test.ts).
 *
 *   chat completions  streamed: choice 0's content and choice 1's content interleaved (the key in
 *                     choice 1), then choice 0's two parallel tool calls interleaved (the key in
 *                     call 1); JSON: the key in tool_calls[1] arguments
 *   Responses         streamed: two function calls' argument deltas interleaved (the key in
 *                     output 1); JSON: the key in a function_call's arguments
 *   Messages          streamed: a thinking block whose thinking_delta pieces hold the key (and a
 *                     signature_delta), then a text block; JSON: the key in a thinking block
 *   `fake-split-many` (chat, streamed): more choices than the gateway follows (MAX_ANSWER_STREAMS)
 *   `fake-split-big` (chat, streamed): SPLIT_BIG_BYTES of content in 64 KiB deltas, over the
 *                     answer cap a held stream is read within (MAX_ANSWER_MESSAGE_BYTES)
 *   `fake-split-hosted` (Responses, streamed): hosted tools' deltas (hostedToolEvents)
 *   `fake-split-cited` (Messages, JSON and streamed): a text block whose citation quotes the key
 */

type Json = Record<string, unknown>;
type Events = Array<[string | null, Json]>;

export const FAKE_SPLIT_SECRET = 'AKIAZ7Q4RXW2LM5PT3NB';
/**
 * Stands for FAKE_SPLIT_SECRET in what the fake keeps and answers later (a Message Batch's results,
 * a batch's output file, a stored chat completion read back): the request that creates them holds
 * no secret, what is read back does (passthrough answer inspection, docs/detections.md).
 */
export const FAKE_SECRET_TOKEN = '{{fake-secret}}';
export const reveal = (text: string): string => text.replaceAll(FAKE_SECRET_TOKEN, FAKE_SPLIT_SECRET);
/** Marks a stored file the fake serves as OpenAI does (its bytes), not as `{ "content": … }` (llm.fake-files.ts). */
export const RAW_FILE = 'fake-raw-content';
/** Marks a stored file the fake serves as bytes that are not text. */
export const BINARY_FILE = 'fake-binary-content';
/** Marks a stored file the fake serves as bytes, repeated to over SPLIT_BIG_BYTES (the answer cap is 4 MiB). */
export const BIG_FILE = 'fake-big-content';
/** A line of an OpenAI batch input file: a `fake-gpt` chat completion of `content`. */
export const batchInputLine = (customId: string, content: string): string =>
  JSON.stringify({
    custom_id: customId,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'fake-gpt', messages: [{ role: 'user', content }] },
  });
/** A Message Batch request holding no secret whose result, read back, names the key (FAKE_SECRET_TOKEN). */
export const SECRET_BATCH_REQUEST = {
  custom_id: 'one',
  params: {
    model: 'fake-claude',
    max_tokens: 16,
    messages: [{ role: 'user' as const, content: `the key is ${FAKE_SECRET_TOKEN}` }],
  },
};
const HEAD = FAKE_SPLIT_SECRET.slice(0, 9);
const CREATED = 1_700_000_000;
/** The answer texts, as the SDKs assemble them. */
export const SPLIT_TEXTS = {
  choice0: 'Nothing secret here, move along.',
  choice1: `The key is ${FAKE_SPLIT_SECRET} today.`,
  args0: '{"city":"Paris"}',
  args1: `{"key":"${FAKE_SPLIT_SECRET}"}`,
  thinking: `I recall the key ${FAKE_SPLIT_SECRET} from the docs.`,
  text: 'I cannot share that.',
};
/** Choices in the `fake-split-many` stream: one more than the gateway follows (inspection.streams.ts). */
export const SPLIT_MANY_CHOICES = 129;
/** Content bytes in the `fake-split-big` stream: over the 4 MiB a held stream is read within. */
export const SPLIT_BIG_BYTES = 5 * 1024 * 1024;
const BIG_DELTA = 64 * 1024;

export function splitChatChunks(model: string): Json[] {
  const chunk = (choices: Json[]): Json => ({
    id: 'chatcmpl-split',
    object: 'chat.completion.chunk',
    created: CREATED,
    model,
    system_fingerprint: null,
    choices: choices.map((c) => ({ logprobs: null, finish_reason: null, ...c })),
  });
  if (model === 'fake-split-many')
    return Array.from({ length: SPLIT_MANY_CHOICES }, (_, i) =>
      chunk([{ index: i, delta: { content: 'hi' } }]),
    );
  if (model === 'fake-split-big')
    return Array.from({ length: SPLIT_BIG_BYTES / BIG_DELTA }, () =>
      chunk([
        { index: 0, delta: { content: 'lorem ipsum '.repeat(BIG_DELTA / 12 + 1).slice(0, BIG_DELTA) } },
      ]),
    );
  const c = (index: number, content: string) => chunk([{ index, delta: { content } }]);
  const call = (k: number, fn: Json, extra: Json = {}) =>
    chunk([{ index: 0, delta: { tool_calls: [{ index: k, ...extra, function: fn }] } }]);
  const { choice0, choice1, args0, args1 } = SPLIT_TEXTS;
  const cut1 = choice1.indexOf(HEAD) + HEAD.length;
  const cutArgs = args1.indexOf(HEAD) + HEAD.length;
  return [
    chunk([
      { index: 0, delta: { role: 'assistant', content: '' } },
      { index: 1, delta: { role: 'assistant', content: '' } },
    ]),
    c(1, choice1.slice(0, cut1)),
    c(0, choice0.slice(0, 10)),
    c(1, choice1.slice(cut1)),
    c(0, choice0.slice(10)),
    chunk([{ index: 1, delta: {}, finish_reason: 'stop' }]),
    call(0, { name: 'weather', arguments: '' }, { id: 'call_a', type: 'function' }),
    call(1, { name: 'lookup', arguments: '' }, { id: 'call_b', type: 'function' }),
    call(1, { arguments: args1.slice(0, cutArgs) }),
    call(0, { arguments: args0 }),
    call(1, { arguments: args1.slice(cutArgs) }),
    chunk([{ index: 0, delta: {}, finish_reason: 'tool_calls' }]),
  ];
}

export function splitChatJson(model: string): Json {
  const fn = (id: string, name: string, args: string) => ({
    id,
    type: 'function',
    function: { name, arguments: args },
  });
  return {
    id: 'chatcmpl-split',
    object: 'chat.completion',
    created: CREATED,
    model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: null,
          refusal: null,
          tool_calls: [fn('call_a', 'weather', SPLIT_TEXTS.args0), fn('call_b', 'lookup', SPLIT_TEXTS.args1)],
        },
        logprobs: null,
        finish_reason: 'tool_calls',
      },
    ],
    usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 },
  };
}

const functionCall = (o: number, args: string, status = 'completed'): Json => ({
  type: 'function_call',
  id: `fc_${o}`,
  call_id: `call_${o}`,
  name: o === 0 ? 'weather' : 'lookup',
  arguments: args,
  status,
});

export function splitResponsesJson(model: string, done = true): Json {
  return {
    id: 'resp_split',
    object: 'response',
    created_at: CREATED,
    status: done ? 'completed' : 'in_progress',
    model,
    output: done ? [functionCall(0, SPLIT_TEXTS.args0), functionCall(1, SPLIT_TEXTS.args1)] : [],
    usage: done
      ? {
          input_tokens: 5,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: 5,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: 10,
        }
      : null,
    error: null,
    incomplete_details: null,
    parallel_tool_calls: true,
    tools: [],
  };
}

/**
 * `fake-split-hosted`: hosted tools' text deltas — the code interpreter's code (the key cut in two
 * around a hosted MCP call's argument delta, whose arguments hold the key whole), then a delta of a
 * type no list names (`response.shell_call_command.delta`) holding the key.
 */
function hostedToolEvents(add: (type: string, data: Json) => void): void {
  const code = `print("${FAKE_SPLIT_SECRET}")`;
  const cut = code.indexOf(HEAD) + HEAD.length;
  const item = (o: number, delta: string) => ({ item_id: `it_${o}`, output_index: o, delta });
  add('response.code_interpreter_call_code.delta', item(0, code.slice(0, cut)));
  add('response.mcp_call_arguments.delta', item(1, SPLIT_TEXTS.args1));
  add('response.code_interpreter_call_code.delta', item(0, code.slice(cut)));
  add('response.shell_call_command.delta', item(2, `export KEY=${FAKE_SPLIT_SECRET}`));
}

export function splitResponsesEvents(model: string): Events {
  const events: Events = [];
  const add = (type: string, data: Json) =>
    events.push([type, { type, sequence_number: events.length, ...data }]);
  if (model === 'fake-split-hosted') {
    add('response.created', { response: splitResponsesJson(model, false) });
    hostedToolEvents(add);
    add('response.completed', { response: { ...splitResponsesJson(model), output: [] } });
    return events;
  }
  const delta = (o: number, d: string) =>
    add('response.function_call_arguments.delta', { item_id: `fc_${o}`, output_index: o, delta: d });
  const { args0, args1 } = SPLIT_TEXTS;
  const cut = args1.indexOf(HEAD) + HEAD.length;
  add('response.created', { response: splitResponsesJson(model, false) });
  add('response.output_item.added', { output_index: 0, item: functionCall(0, '', 'in_progress') });
  add('response.output_item.added', { output_index: 1, item: functionCall(1, '', 'in_progress') });
  delta(1, args1.slice(0, cut));
  delta(0, args0);
  delta(1, args1.slice(cut));
  for (const [o, args] of [args0, args1].entries()) {
    add('response.function_call_arguments.done', { item_id: `fc_${o}`, output_index: o, arguments: args });
    add('response.output_item.done', { output_index: o, item: functionCall(o, args) });
  }
  add('response.completed', { response: splitResponsesJson(model) });
  return events;
}

/** `fake-split-cited`: a text block whose citation quotes the key (a document the answer cites). */
const citation = () => ({
  type: 'char_location',
  cited_text: `the deploy key is ${FAKE_SPLIT_SECRET}`,
  document_index: 0,
  document_title: 'runbook',
  start_char_index: 0,
  end_char_index: 40,
});

export function splitAnthropicJson(model: string): Json {
  if (model === 'fake-split-cited')
    return {
      ...splitAnthropicJson('fake-split'),
      model,
      content: [{ type: 'text', text: 'See the runbook.', citations: [citation()] }],
    };
  return {
    id: 'msg_split',
    type: 'message',
    role: 'assistant',
    model,
    content: [
      { type: 'thinking', thinking: SPLIT_TEXTS.thinking, signature: 'c2lnbmF0dXJl' },
      { type: 'text', text: SPLIT_TEXTS.text },
    ],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 5, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  };
}

export function splitAnthropicEvents(model: string): Events {
  const whole = splitAnthropicJson(model);
  if (model === 'fake-split-cited') {
    const start = { ...whole, content: [], stop_reason: null };
    return [
      ['message_start', { type: 'message_start', message: start }],
      [
        'content_block_start',
        { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '', citations: [] } },
      ],
      [
        'content_block_delta',
        { type: 'content_block_delta', index: 0, delta: { type: 'citations_delta', citation: citation() } },
      ],
      [
        'content_block_delta',
        { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'See the runbook.' } },
      ],
      ['content_block_stop', { type: 'content_block_stop', index: 0 }],
      [
        'message_delta',
        {
          type: 'message_delta',
          delta: { stop_reason: 'end_turn', stop_sequence: null },
          usage: { output_tokens: 5 },
        },
      ],
      ['message_stop', { type: 'message_stop' }],
    ];
  }
  const start = { ...whole, content: [], stop_reason: null, usage: { input_tokens: 5, output_tokens: 1 } };
  const { thinking, text } = SPLIT_TEXTS;
  const cut = thinking.indexOf(HEAD) + HEAD.length;
  const delta = (index: number, d: Json): [string, Json] => [
    'content_block_delta',
    { type: 'content_block_delta', index, delta: d },
  ];
  return [
    ['message_start', { type: 'message_start', message: start }],
    [
      'content_block_start',
      {
        type: 'content_block_start',
        index: 0,
        content_block: { type: 'thinking', thinking: '', signature: '' },
      },
    ],
    delta(0, { type: 'thinking_delta', thinking: thinking.slice(0, cut) }),
    ['ping', { type: 'ping' }],
    delta(0, { type: 'thinking_delta', thinking: thinking.slice(cut) }),
    delta(0, { type: 'signature_delta', signature: 'c2lnbmF0dXJl' }),
    ['content_block_stop', { type: 'content_block_stop', index: 0 }],
    [
      'content_block_start',
      { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } },
    ],
    delta(1, { type: 'text_delta', text }),
    ['content_block_stop', { type: 'content_block_stop', index: 1 }],
    [
      'message_delta',
      {
        type: 'message_delta',
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        usage: { output_tokens: 5 },
      },
    ],
    ['message_stop', { type: 'message_stop' }],
  ];
}
