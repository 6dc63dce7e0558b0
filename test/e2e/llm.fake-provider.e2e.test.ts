/**
 * The fake LLM provider is faithful: the official `openai` and `@anthropic-ai/sdk` clients, pointed
 * at it DIRECTLY (no gateway), parse every answer it gives — streamed and not, tool calls, usage —
 * and raise their typed errors for its injected failures. The gateway's LLM tests rely on this.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  FAKE_MODELS,
  FAKE_REPLY,
  FAKE_TOOL_ARGS,
  FAKE_USAGE,
  type FakeProvider,
  startFakeProvider,
} from './llm.fake-provider.ts';

const KEY = 'sk-fake-provider-key';
let fake: FakeProvider;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: KEY });
  openai = new OpenAI({ apiKey: KEY, baseURL: `${fake.url}/v1`, maxRetries: 0 });
  anthropic = new Anthropic({ apiKey: KEY, baseURL: fake.url, maxRetries: 0 });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const messages = [{ role: 'user' as const, content: 'Say hello' }];
const weatherTool = {
  type: 'function' as const,
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
};

describe('OpenAI SDK against the fake provider', () => {
  it('chat completion, with usage and the key as a bearer token', async () => {
    const completion = await openai.chat.completions.create({ model: 'fake-gpt', messages });
    expect(completion.choices[0]?.message.content).toBe(FAKE_REPLY);
    expect(completion.usage).toMatchObject({
      prompt_tokens: FAKE_USAGE.input,
      completion_tokens: FAKE_USAGE.output,
      prompt_tokens_details: { cached_tokens: FAKE_USAGE.cachedInput },
      completion_tokens_details: { reasoning_tokens: FAKE_USAGE.reasoning },
    });
    expect(fake.last()).toMatchObject({ method: 'POST', path: '/v1/chat/completions', auth: 'bearer' });
    expect(fake.last()?.body).toMatchObject({ model: 'fake-gpt', messages });
  });

  it('streamed chat: usage chunk only with include_usage', async () => {
    const withUsage = await openai.chat.completions.create({
      model: 'fake-gpt',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of withUsage) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(FAKE_REPLY);
    expect(usage?.total_tokens).toBe(FAKE_USAGE.input + FAKE_USAGE.output);

    const without = await openai.chat.completions.create({ model: 'fake-gpt', messages, stream: true });
    const chunks = [];
    for await (const chunk of without) chunks.push(chunk);
    expect(chunks.every((c) => c.usage === undefined)).toBe(true);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
  });

  it('tool calls, JSON and streamed', async () => {
    const completion = await openai.chat.completions.create({
      model: 'fake-gpt',
      messages,
      tools: [weatherTool],
    });
    const call = completion.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === 'function' && call.function.name).toBe('get_weather');
    expect(call?.type === 'function' && JSON.parse(call.function.arguments)).toEqual(FAKE_TOOL_ARGS);
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');

    const stream = await openai.chat.completions.create({
      model: 'fake-gpt',
      messages,
      tools: [weatherTool],
      stream: true,
    });
    let args = '';
    let name = '';
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta.tool_calls?.[0];
      name += delta?.function?.name ?? '';
      args += delta?.function?.arguments ?? '';
    }
    expect(name).toBe('get_weather');
    expect(JSON.parse(args)).toEqual(FAKE_TOOL_ARGS);

    // After a tool result, the model answers with text.
    const followUp = await openai.chat.completions.create({
      model: 'fake-gpt',
      tools: [weatherTool],
      messages: [
        ...messages,
        completion.choices[0]!.message,
        { role: 'tool', tool_call_id: 'call_fake_1', content: 'sunny' },
      ],
    });
    expect(followUp.choices[0]?.message.content).toBe(FAKE_REPLY);
  });

  it('Responses API, JSON and streamed', async () => {
    const response = await openai.responses.create({ model: 'fake-gpt', input: 'Say hello' });
    expect(response.output_text).toBe(FAKE_REPLY);
    expect(response.usage).toMatchObject({
      input_tokens: FAKE_USAGE.input,
      output_tokens: FAKE_USAGE.output,
      input_tokens_details: { cached_tokens: FAKE_USAGE.cachedInput },
    });

    const stream = await openai.responses.create({ model: 'fake-gpt', input: 'Say hello', stream: true });
    let text = '';
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) {
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed') completed = event.response;
    }
    expect(text).toBe(FAKE_REPLY);
    expect(completed?.usage?.total_tokens).toBe(FAKE_USAGE.input + FAKE_USAGE.output);

    const final = await openai.responses.stream({ model: 'fake-gpt', input: 'Say hello' }).finalResponse();
    expect(final.output_text).toBe(FAKE_REPLY);
  });

  it('embeddings (the SDK asks for base64 and decodes it) and models', async () => {
    const embedded = await openai.embeddings.create({ model: 'fake-embed', input: ['a', 'b'] });
    expect(fake.last()?.body).toMatchObject({ encoding_format: 'base64' });
    expect(embedded.data).toHaveLength(2);
    expect(embedded.data[0]?.embedding).toHaveLength(8);
    expect(embedded.usage.prompt_tokens).toBe(FAKE_USAGE.input);
    const floats = await openai.embeddings.create({
      model: 'fake-embed',
      input: 'a',
      encoding_format: 'float',
    });
    expect(floats.data[0]?.embedding).toEqual(embedded.data[0]?.embedding.map((v) => Math.fround(v)));

    const models = [];
    for await (const model of openai.models.list()) models.push(model.id);
    expect(models).toEqual(FAKE_MODELS);
  });

  it('injected failures raise the typed errors', async () => {
    const limited = await openai.chat.completions
      .create({ model: 'fake-gpt', messages }, { headers: { 'x-fake-fail': '429' } })
      .catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect((limited as InstanceType<typeof OpenAI.APIError>).headers?.get('retry-after')).toBe('1');

    const broken = await openai.chat.completions
      .create({ model: 'fake-fail-500', messages })
      .catch((e: unknown) => e);
    expect(broken).toBeInstanceOf(OpenAI.InternalServerError);

    const badKey = new OpenAI({ apiKey: 'wrong', baseURL: `${fake.url}/v1`, maxRetries: 0 });
    const denied = await badKey.chat.completions
      .create({ model: 'fake-gpt', messages })
      .catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('a mid-stream disconnect ends the iteration with an error, after some chunks', async () => {
    fake.arm({ fail: 'disconnect' });
    const stream = await openai.chat.completions.create({ model: 'fake-gpt', messages, stream: true });
    let seen = 0;
    const error = await (async () => {
      for await (const _ of stream) seen++;
    })().catch((e: unknown) => e);
    expect(seen).toBeGreaterThan(0);
    expect(error).toBeInstanceOf(Error);
  });

  it('a slow first byte still answers, and usage can be overridden', async () => {
    const completion = await openai.chat.completions.create(
      { model: 'fake-gpt', messages },
      {
        headers: {
          'x-fake-fail': 'slow',
          'x-fake-delay-ms': '50',
          'x-fake-usage': 'input=100,output=50,cached=0',
        },
      },
    );
    expect(completion.usage).toMatchObject({ prompt_tokens: 100, completion_tokens: 50 });
  });
});

describe('Anthropic SDK against the fake provider', () => {
  const params = { model: 'fake-claude', max_tokens: 256, messages };

  it('message, with usage and the key (SDK 1.x sends it as a bearer token, 0.x as x-api-key)', async () => {
    const message = await anthropic.messages.create(params);
    expect(message.content).toEqual([{ type: 'text', text: FAKE_REPLY }]);
    expect(message.usage).toMatchObject({
      input_tokens: FAKE_USAGE.input - FAKE_USAGE.cachedInput,
      cache_read_input_tokens: FAKE_USAGE.cachedInput,
      output_tokens: FAKE_USAGE.output,
    });
    expect(fake.last()?.path).toBe('/v1/messages');
    expect(['bearer', 'x-api-key']).toContain(fake.last()?.auth);
    expect(fake.last()?.headers['anthropic-version']).toBeTruthy();

    // What the Anthropic API itself documents (and curl examples send): x-api-key.
    const res = await fetch(`${fake.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify(params),
    });
    expect(res.status).toBe(200);
    expect(fake.last()?.auth).toBe('x-api-key');
  });

  it('streamed message: message_start and message_delta usage, text deltas', async () => {
    const stream = await anthropic.messages.create({ ...params, stream: true });
    const types: string[] = [];
    let text = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
    }
    expect(text).toBe(FAKE_REPLY);
    expect(types[0]).toBe('message_start');
    expect(types).toContain('message_delta');
    expect(types.at(-1)).toBe('message_stop');

    const final = await anthropic.messages.stream(params).finalMessage();
    expect(final.usage.output_tokens).toBe(FAKE_USAGE.output);
    expect(final.usage.input_tokens).toBe(FAKE_USAGE.input - FAKE_USAGE.cachedInput);
  });

  it('tool use, JSON and streamed', async () => {
    const tools = [{ name: 'get_weather', input_schema: { type: 'object' as const, properties: {} } }];
    const message = await anthropic.messages.create({ ...params, tools });
    expect(message.stop_reason).toBe('tool_use');
    expect(message.content[0]).toMatchObject({
      type: 'tool_use',
      name: 'get_weather',
      input: FAKE_TOOL_ARGS,
    });
    const final = await anthropic.messages.stream({ ...params, tools }).finalMessage();
    expect(final.content[0]).toMatchObject({ type: 'tool_use', input: FAKE_TOOL_ARGS });
  });

  it('count_tokens and models', async () => {
    const counted = await anthropic.messages.countTokens({ model: 'fake-claude', messages });
    expect(counted.input_tokens).toBe(FAKE_USAGE.input);
    const ids = [];
    for await (const model of anthropic.models.list()) ids.push(model.id);
    expect(ids).toEqual(FAKE_MODELS);
  });

  it('injected failures raise the typed errors', async () => {
    const limited = await anthropic.messages
      .create(params, { headers: { 'x-fake-fail': '429' } })
      .catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
    expect((limited as InstanceType<typeof Anthropic.APIError>).type).toBe('rate_limit_error');
    const broken = await anthropic.messages
      .create({ ...params, model: 'fake-fail-500' })
      .catch((e: unknown) => e);
    expect(broken).toBeInstanceOf(Anthropic.InternalServerError);

    fake.arm({ fail: 'disconnect' });
    const stream = await anthropic.messages.create({ ...params, stream: true });
    const error = await (async () => {
      for await (const _ of stream) {
      }
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
  });
});

describe('recording over HTTP', () => {
  it('lists and clears the requests it received', async () => {
    await openai.chat.completions.create({ model: 'fake-gpt', messages });
    const listed = (await (await fetch(`${fake.url}/__fake/requests`)).json()) as Array<{ path: string }>;
    expect(listed.map((r) => r.path)).toEqual(['/v1/chat/completions']);
    await fetch(`${fake.url}/__fake/requests`, { method: 'DELETE' });
    expect(fake.requests).toHaveLength(0);
  });
});
