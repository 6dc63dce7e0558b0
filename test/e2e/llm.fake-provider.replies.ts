/**
 * What the fake LLM provider (llm.fake-provider.ts) answers: deterministic OpenAI and Anthropic
 * bodies and SSE events, shaped as the real APIs are (the official SDKs parse them in
 * llm.fake-provider.e2e.test.ts). Pure builders; the server decides which one and writes it.
 */

export interface FakeUsage {
  /** Every prompt token, cached ones included (OpenAI's meaning). */
  input: number;
  cachedInput: number;
  output: number;
  reasoning: number;
}

/** The usage every answer reports unless a test overrides it (x-fake-usage / POST /__fake/next). */
export const FAKE_USAGE: FakeUsage = { input: 12, cachedInput: 4, output: 6, reasoning: 2 };
export const FAKE_REPLY = 'Hello from the fake provider.';
export const FAKE_TOOL_ARGS = { city: 'Paris' };
export const FAKE_MODELS = ['fake-gpt', 'fake-claude', 'fake-embed'];

type Json = Record<string, unknown>;
const CREATED = 1_700_000_000;

/**
 * The deltas of a streamed reply: words (the first without a leading space), or — for an echo
 * (model `fake-echo`) — pieces of 3 characters, so that anything longer is split across events.
 */
export function replyPieces(text = FAKE_REPLY, echo = false): string[] {
  if (echo) return Array.from({ length: Math.ceil(text.length / 3) }, (_, i) => text.slice(i * 3, i * 3 + 3));
  return text.split(' ').map((word, i) => (i === 0 ? word : ` ${word}`));
}

/**
 * Model `fake-echo…`: the reply is the text of the last user message (OpenAI string or parts,
 * Anthropic string or text blocks), so a test sees exactly what reached the provider come back.
 */
export function echoText(body: Json): string | null {
  if (typeof body.model !== 'string' || !body.model.startsWith('fake-echo')) return null;
  const messages = Array.isArray(body.messages) ? (body.messages as Json[]) : [];
  const last = messages.filter((m) => m.role === 'user').at(-1);
  if (typeof last?.content === 'string') return last.content;
  if (!Array.isArray(last?.content)) return '';
  return (last.content as Json[])
    .flatMap((part) => (typeof part.text === 'string' ? [part.text] : []))
    .join('');
}

/** The function tool to call, when the request offers tools and the last turn is not a tool result. */
export function toolToCall(body: Json, family: 'openai' | 'anthropic'): string | null {
  const tools = Array.isArray(body.tools) ? (body.tools as Json[]) : [];
  if (tools.length === 0 || body.tool_choice === 'none') return null;
  const messages = Array.isArray(body.messages) ? (body.messages as Json[]) : [];
  const last = messages.at(-1);
  if (family === 'openai') {
    if (last?.role === 'tool') return null;
    const fn = tools[0]!.function as Json | undefined;
    return typeof fn?.name === 'string'
      ? fn.name
      : typeof tools[0]!.name === 'string'
        ? (tools[0]!.name as string)
        : null;
  }
  const content = Array.isArray(last?.content) ? (last.content as Json[]) : [];
  if (content.some((block) => block.type === 'tool_result')) return null;
  return typeof tools[0]!.name === 'string' ? (tools[0]!.name as string) : null;
}

// ---- OpenAI chat completions ----------------------------------------------------------------

export function openAiChatUsage(u: FakeUsage): Json {
  return {
    prompt_tokens: u.input,
    completion_tokens: u.output,
    total_tokens: u.input + u.output,
    prompt_tokens_details: { cached_tokens: u.cachedInput, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: u.reasoning, audio_tokens: 0 },
  };
}

export function openAiChatJson(
  model: string,
  u: FakeUsage,
  tool: string | null,
  echo: string | null = null,
): Json {
  const message = tool
    ? {
        role: 'assistant',
        content: null,
        refusal: null,
        tool_calls: [
          {
            id: 'call_fake_1',
            type: 'function',
            function: { name: tool, arguments: JSON.stringify(FAKE_TOOL_ARGS) },
          },
        ],
      }
    : { role: 'assistant', content: echo ?? FAKE_REPLY, refusal: null };
  return {
    id: 'chatcmpl-fake-1',
    object: 'chat.completion',
    created: CREATED,
    model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: tool ? 'tool_calls' : 'stop' }],
    usage: openAiChatUsage(u),
    system_fingerprint: null,
  };
}

/** The data of each SSE event of a chat stream (the server adds `data: [DONE]`). */
export function openAiChatChunks(
  model: string,
  u: FakeUsage,
  tool: string | null,
  includeUsage: boolean,
  echo: string | null = null,
): Json[] {
  const chunk = (delta: Json, finish: string | null): Json => ({
    id: 'chatcmpl-fake-1',
    object: 'chat.completion.chunk',
    created: CREATED,
    model,
    system_fingerprint: null,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(includeUsage ? { usage: null } : {}),
  });
  const chunks = [chunk({ role: 'assistant', content: tool ? null : '' }, null)];
  if (tool) {
    const args = JSON.stringify(FAKE_TOOL_ARGS);
    chunks.push(
      chunk(
        {
          tool_calls: [
            { index: 0, id: 'call_fake_1', type: 'function', function: { name: tool, arguments: '' } },
          ],
        },
        null,
      ),
      chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(0, 5) } }] }, null),
      chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(5) } }] }, null),
    );
  } else {
    for (const piece of replyPieces(echo ?? FAKE_REPLY, echo !== null))
      chunks.push(chunk({ content: piece }, null));
  }
  chunks.push(chunk({}, tool ? 'tool_calls' : 'stop'));
  if (includeUsage) {
    chunks.push({
      id: 'chatcmpl-fake-1',
      object: 'chat.completion.chunk',
      created: CREATED,
      model,
      system_fingerprint: null,
      choices: [],
      usage: openAiChatUsage(u),
    });
  }
  return chunks;
}

// ---- OpenAI Responses -----------------------------------------------------------------------

function responsesUsage(u: FakeUsage): Json {
  return {
    input_tokens: u.input,
    input_tokens_details: { cached_tokens: u.cachedInput },
    output_tokens: u.output,
    output_tokens_details: { reasoning_tokens: u.reasoning },
    total_tokens: u.input + u.output,
  };
}

const MESSAGE_ITEM = (status: string, text: string | null): Json => ({
  type: 'message',
  id: 'msg_fake_1',
  status,
  role: 'assistant',
  content: text === null ? [] : [{ type: 'output_text', text, annotations: [], logprobs: [] }],
});

/** A Responses API answer; `id` and `text` are the stored response's (llm.fake-responses.ts). */
export function responsesJson(
  model: string,
  u: FakeUsage | null,
  done = true,
  id = 'resp_fake_1',
  text = FAKE_REPLY,
): Json {
  return {
    id,
    object: 'response',
    created_at: CREATED,
    status: done ? 'completed' : 'in_progress',
    model,
    output: done ? [MESSAGE_ITEM('completed', text)] : [],
    usage: u ? responsesUsage(u) : null,
    error: null,
    incomplete_details: null,
    instructions: null,
    metadata: {},
    parallel_tool_calls: true,
    temperature: 1,
    top_p: 1,
    tool_choice: 'auto',
    tools: [],
    text: { format: { type: 'text' } },
  };
}

/** [event name, data] pairs of a Responses stream. */
export function responsesEvents(
  model: string,
  u: FakeUsage,
  id = 'resp_fake_1',
  text = FAKE_REPLY,
): Array<[string, Json]> {
  const events: Array<[string, Json]> = [];
  const add = (type: string, data: Json) =>
    events.push([type, { type, sequence_number: events.length, ...data }]);
  const at = { item_id: 'msg_fake_1', output_index: 0, content_index: 0 };
  add('response.created', { response: responsesJson(model, null, false, id) });
  add('response.in_progress', { response: responsesJson(model, null, false, id) });
  add('response.output_item.added', { output_index: 0, item: MESSAGE_ITEM('in_progress', null) });
  add('response.content_part.added', { ...at, part: { type: 'output_text', text: '', annotations: [] } });
  for (const delta of replyPieces(text)) add('response.output_text.delta', { ...at, delta, logprobs: [] });
  add('response.output_text.done', { ...at, text, logprobs: [] });
  add('response.content_part.done', {
    ...at,
    part: { type: 'output_text', text, annotations: [] },
  });
  add('response.output_item.done', { output_index: 0, item: MESSAGE_ITEM('completed', text) });
  add('response.completed', { response: responsesJson(model, u, true, id, text) });
  return events;
}

// ---- OpenAI embeddings and models -----------------------------------------------------------

/** A deterministic 8-dimension vector for an input. */
export function fakeVector(input: unknown, index: number): number[] {
  const text = typeof input === 'string' ? input : JSON.stringify(input);
  return Array.from(
    { length: 8 },
    (_, d) => ((text.charCodeAt(d % Math.max(text.length, 1)) || 0) + index + d) / 256,
  );
}

export function embeddingsJson(body: Json, u: FakeUsage): Json {
  const inputs = Array.isArray(body.input) && typeof body.input[0] !== 'number' ? body.input : [body.input];
  const base64 = body.encoding_format === 'base64';
  return {
    object: 'list',
    model: body.model,
    data: inputs.map((input, index) => {
      const vector = fakeVector(input, index);
      const embedding = base64 ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
      return { object: 'embedding', index, embedding };
    }),
    usage: { prompt_tokens: u.input, total_tokens: u.input },
  };
}

export function modelsJson(family: 'openai' | 'anthropic'): Json {
  if (family === 'anthropic') {
    const data = FAKE_MODELS.map((id) => ({
      type: 'model',
      id,
      display_name: id,
      created_at: '2025-01-01T00:00:00Z',
    }));
    return { data, has_more: false, first_id: data[0]!.id, last_id: data.at(-1)!.id };
  }
  return {
    object: 'list',
    data: FAKE_MODELS.map((id) => ({ id, object: 'model', created: CREATED, owned_by: 'fake' })),
  };
}

// ---- Anthropic Messages ---------------------------------------------------------------------

/** Anthropic's input_tokens excludes cache reads. */
function anthropicUsage(u: FakeUsage, output: number): Json {
  return {
    input_tokens: u.input - u.cachedInput,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: u.cachedInput,
    output_tokens: output,
  };
}

export function anthropicJson(
  model: string,
  u: FakeUsage,
  tool: string | null,
  echo: string | null = null,
): Json {
  return {
    id: 'msg_fake_1',
    type: 'message',
    role: 'assistant',
    model,
    content: tool
      ? [{ type: 'tool_use', id: 'toolu_fake_1', name: tool, input: FAKE_TOOL_ARGS }]
      : [{ type: 'text', text: echo ?? FAKE_REPLY }],
    stop_reason: tool ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    usage: anthropicUsage(u, u.output),
  };
}

/** [event name, data] pairs of a Messages stream. */
export function anthropicEvents(
  model: string,
  u: FakeUsage,
  tool: string | null,
  echo: string | null = null,
): Array<[string, Json]> {
  const start = {
    ...anthropicJson(model, u, tool),
    content: [],
    stop_reason: null,
    usage: anthropicUsage(u, 1),
  };
  const events: Array<[string, Json]> = [['message_start', { type: 'message_start', message: start }]];
  const block = tool
    ? { type: 'tool_use', id: 'toolu_fake_1', name: tool, input: {} }
    : { type: 'text', text: '' };
  events.push(['content_block_start', { type: 'content_block_start', index: 0, content_block: block }]);
  events.push(['ping', { type: 'ping' }]);
  const args = JSON.stringify(FAKE_TOOL_ARGS);
  const deltas = tool
    ? [args.slice(0, 5), args.slice(5)].map((partial_json) => ({ type: 'input_json_delta', partial_json }))
    : replyPieces(echo ?? FAKE_REPLY, echo !== null).map((text) => ({ type: 'text_delta', text }));
  for (const delta of deltas)
    events.push(['content_block_delta', { type: 'content_block_delta', index: 0, delta }]);
  events.push(['content_block_stop', { type: 'content_block_stop', index: 0 }]);
  events.push([
    'message_delta',
    {
      type: 'message_delta',
      delta: { stop_reason: tool ? 'tool_use' : 'end_turn', stop_sequence: null },
      usage: { output_tokens: u.output },
    },
  ]);
  events.push(['message_stop', { type: 'message_stop' }]);
  return events;
}

// ---- Errors, in each provider's shape -------------------------------------------------------

export function providerError(family: 'openai' | 'anthropic', status: number, message: string): Json {
  if (family === 'anthropic') {
    const type =
      status === 401
        ? 'authentication_error'
        : status === 429
          ? 'rate_limit_error'
          : status === 404
            ? 'not_found_error'
            : 'api_error';
    return { type: 'error', error: { type, message } };
  }
  const type =
    status === 401
      ? 'invalid_request_error'
      : status === 429
        ? 'requests'
        : status === 404
          ? 'invalid_request_error'
          : 'server_error';
  const code = status === 401 ? 'invalid_api_key' : status === 429 ? 'rate_limit_exceeded' : null;
  return { error: { message, type, param: null, code } };
}
