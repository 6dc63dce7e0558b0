/**
 * The SDK's LLM parts that need no gateway: configs for the OpenAI and Anthropic SDKs, and the
 * built-in chat/embeddings client against a real local server speaking the OpenAI wire format
 * (test/e2e/llm.fake-provider.ts, the same one the gateway's end-to-end tests use), so request
 * shape, SSE parsing and error mapping are checked over real HTTP.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  FAKE_REPLY,
  FAKE_USAGE,
  type FakeProvider,
  startFakeProvider,
} from '../../test/e2e/llm.fake-provider.ts';
import { Igris } from './igris.client.ts';
import { IgrisConfigError, IgrisIdentityError } from './igris.errors.ts';
import { TRACE_HEADER, USER_HEADER } from './igris.limits.ts';
import { type ChatCompletionChunk, IgrisLlmError, sseJson } from './igris.llm.ts';

const KEY = 'ig_unit_test_key_0123456789';

describe('igris.connectLlm', () => {
  const igris = new Igris({ apiKey: KEY, baseUrl: 'https://igris.example.com/' });

  it('gives the OpenAI SDK baseURL <gateway>/llm/<slug>/v1, the ig_ key and identity headers', () => {
    const config = igris.connectLlm('openai-prod', { user: 'alice@example.com', metadata: { team: 'ml' } });
    expect(config.baseURL).toBe('https://igris.example.com/llm/openai-prod/v1');
    expect(config.apiKey).toBe(KEY);
    expect(config.defaultHeaders[USER_HEADER]).toBe('alice@example.com');
    expect(config.defaultHeaders['X-Igris-Metadata']).toBe('{"team":"ml"}');
    expect(config.defaultHeaders[TRACE_HEADER]).toMatch(/^ig_trace_/);
    expect(Object.keys(config).sort()).toEqual(['apiKey', 'baseURL', 'defaultHeaders']);
  });

  it('gives the Anthropic SDK the base URL without /v1 (it appends /v1/messages)', () => {
    expect(igris.connectLlm('claude', { sdk: 'anthropic' }).baseURL).toBe(
      'https://igris.example.com/llm/claude',
    );
  });

  it('keeps one trace id per config and refuses bad slugs and identities', () => {
    const config = igris.connectLlm('openai-prod', { traceId: 'ig_trace_fixed-1' });
    expect(config.defaultHeaders[TRACE_HEADER]).toBe('ig_trace_fixed-1');
    expect(() => igris.connectLlm('../admin')).toThrow(IgrisConfigError);
    expect(() => igris.connectLlm('ok-slug', { user: 'a\nb' })).toThrow(IgrisIdentityError);
    expect(() => igris.connectLlm('ok-slug', { sdk: 'gemini' as never })).toThrow(IgrisConfigError);
  });
});

describe('sseJson', () => {
  const streamOf = (...parts: string[]) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (const part of parts) controller.enqueue(new TextEncoder().encode(part));
        controller.close();
      },
    });

  it('parses data events split across reads, skips comments, and stops at [DONE]', async () => {
    const out: unknown[] = [];
    for await (const item of sseJson(
      streamOf(
        ': keepalive\n\n',
        'data: {"a"',
        ':1}\n\ndata: {"b":2}\r\n\r\n',
        'data: [DONE]\n\ndata: {"c":3}\n\n',
      ),
    )) {
      out.push(item);
    }
    expect(out).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it('throws an error event as IgrisLlmError', async () => {
    const read = async () => {
      for await (const _ of sseJson(
        streamOf(
          'data: {"a":1}\n\n',
          'data: {"error":{"message":"Caller is under a kill switch","type":"api_error","code":"killed"}}\n\n',
        ),
      )) {
        // drain
      }
    };
    await expect(read()).rejects.toMatchObject({ name: 'IgrisLlmError', code: 'killed', type: 'api_error' });
  });
});

describe('igris.chat.completions / igris.embeddings over real HTTP', () => {
  let provider: FakeProvider;
  let igris: Igris;

  beforeAll(async () => {
    provider = await startFakeProvider();
    igris = new Igris({ apiKey: KEY, baseUrl: provider.url });
  });
  afterAll(async () => {
    await provider?.close();
  });
  beforeEach(() => provider.reset());

  it('POSTs /v1/chat/completions with the key, identity and the @slug/model name', async () => {
    const answer = await igris.chat.completions.create(
      { model: '@openai-prod/fake-gpt', messages: [{ role: 'user', content: 'hi' }] },
      { user: 'alice', traceId: 'ig_trace_unit-1' },
    );
    expect(answer.choices[0]!.message.content).toBe(FAKE_REPLY);
    expect(answer.usage?.prompt_tokens).toBe(FAKE_USAGE.input);
    const sent = provider.last()!;
    expect(sent).toMatchObject({ method: 'POST', path: '/v1/chat/completions' });
    expect(sent.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(sent.headers['x-igris-user']).toBe('alice');
    expect(sent.headers['x-igris-trace-id']).toBe('ig_trace_unit-1');
    expect(sent.body).toMatchObject({
      model: '@openai-prod/fake-gpt',
      messages: [{ role: 'user', content: 'hi' }],
    });
  });

  it('streams: an async iterable of parsed chunks as they arrive', async () => {
    const stream = await igris.chat.completions.create({
      model: '@openai-prod/fake-gpt',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe(FAKE_REPLY);
    expect(chunks.at(-1)!.usage).toMatchObject({ prompt_tokens: FAKE_USAGE.input });
    expect(provider.last()!.headers.accept).toBe('text/event-stream');
  });

  it('embeddings: POST /v1/embeddings', async () => {
    const answer = await igris.embeddings.create({ model: '@openai-prod/fake-embed', input: ['a', 'b'] });
    expect(answer.data).toHaveLength(2);
    expect(provider.last()!.path).toBe('/v1/embeddings');
  });

  it('maps error answers to IgrisLlmError with status, type, code and Retry-After', async () => {
    provider.arm({ fail: '429' });
    const err = await igris.chat.completions
      .create({ model: '@openai-prod/fake-gpt', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IgrisLlmError);
    expect(err).toMatchObject({ status: 429, retryAfter: 1 });
    expect((err as IgrisLlmError).message.length).toBeGreaterThan(0);
  });

  it('ends the iteration with an error when the stream is cut', async () => {
    provider.arm({ fail: 'disconnect' });
    const read = async () => {
      const stream = await igris.chat.completions.create({
        model: '@openai-prod/fake-gpt',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
      });
      for await (const _ of stream) {
        // drain
      }
    };
    await expect(read()).rejects.toThrow();
  });

  it('refuses a model without @<slug>/ before sending anything', async () => {
    await expect(igris.chat.completions.create({ model: 'gpt-4o', messages: [] })).rejects.toBeInstanceOf(
      IgrisConfigError,
    );
    await expect(igris.embeddings.create({ model: '@Bad Slug/x', input: 'a' })).rejects.toBeInstanceOf(
      IgrisConfigError,
    );
    expect(provider.requests).toHaveLength(0);
  });
});
