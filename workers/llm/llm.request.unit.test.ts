import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppError } from '../lib/errors.ts';
import { checkModelName, jsonDepth, multipartModel, parseLlmBody, readLlmRequest } from './llm.request.ts';

const bytes = (value: unknown) =>
  new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));

function thrown(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('did not throw');
}

describe('parseLlmBody', () => {
  it('parses a JSON object', () => {
    expect(parseLlmBody(bytes({ model: 'm' }))).toEqual({ model: 'm' });
  });

  it('refuses bodies over the byte cap with 413', () => {
    const err = thrown(() => parseLlmBody(bytes({ a: 'x'.repeat(100) }), { maxBytes: 50, maxDepth: 8 }));
    expect(err.code).toBe('payload_too_large');
    expect(err.status).toBe(413);
  });

  it('refuses invalid JSON, invalid UTF-8 and non-objects', () => {
    expect(thrown(() => parseLlmBody(bytes('{'))).code).toBe('parse_error');
    expect(thrown(() => parseLlmBody(new Uint8Array([0x7b, 0xff, 0x7d]))).code).toBe('parse_error');
    expect(thrown(() => parseLlmBody(bytes('[1]'))).code).toBe('validation_failed');
    expect(thrown(() => parseLlmBody(bytes('null'))).code).toBe('validation_failed');
  });

  it('parses a body unchanged after one that ended inside a UTF-8 sequence (one decoder per isolate)', () => {
    // `{"m":"` then the first two bytes of "€" (e2 82 ac).
    const cut = new Uint8Array([0x7b, 0x22, 0x6d, 0x22, 0x3a, 0x22, 0xe2, 0x82]);
    expect(thrown(() => parseLlmBody(cut)).code).toBe('parse_error');
    expect(parseLlmBody(bytes({ model: '€' }))).toEqual({ model: '€' });
  });

  it('refuses bodies nested deeper than the cap', () => {
    const deep = `${'{"a":'.repeat(10)}1${'}'.repeat(10)}`;
    expect(() => parseLlmBody(bytes(deep), { maxBytes: 1000, maxDepth: 10 })).not.toThrow();
    const err = thrown(() => parseLlmBody(bytes(deep), { maxBytes: 1000, maxDepth: 9 }));
    expect(err.code).toBe('validation_failed');
    expect(err.details).toEqual({ location: 'body' });
  });

  it('measures depth without recursion, even 100k levels deep', () => {
    let value: unknown = 1;
    for (let i = 0; i < 100_000; i++) value = [value];
    expect(jsonDepth(value)).toBe(100_000);
  });
});

describe('readLlmRequest', () => {
  it('reads a streamed chat request', () => {
    const info = readLlmRequest('chat.completions', {
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: false },
      max_tokens: 100,
      max_completion_tokens: 300,
      user: 'alice',
      extra: { anything: true },
    });
    expect(info).toEqual({
      model: 'gpt-4o',
      stream: true,
      maxTokens: { max_tokens: 100, max_completion_tokens: 300 },
      requestedMaxTokens: 300,
      user: 'alice',
      includeUsage: false,
    });
  });

  it('reads Responses max_output_tokens and Anthropic metadata.user_id', () => {
    expect(readLlmRequest('responses', { model: 'gpt-5', input: 'x', max_output_tokens: 50 })).toMatchObject({
      maxTokens: { max_output_tokens: 50 },
      requestedMaxTokens: 50,
      stream: false,
      user: null,
    });
    expect(
      readLlmRequest('messages', {
        model: 'claude-sonnet-4-5',
        max_tokens: 1024,
        messages: [],
        metadata: { user_id: 'u-1' },
      }),
    ).toMatchObject({
      model: 'claude-sonnet-4-5',
      maxTokens: { max_tokens: 1024 },
      user: 'u-1',
      includeUsage: null,
    });
  });

  it('returns nulls for absent fields', () => {
    expect(readLlmRequest('embeddings', { input: 'x' })).toEqual({
      model: null,
      stream: false,
      maxTokens: {},
      requestedMaxTokens: null,
      user: null,
      includeUsage: null,
    });
  });

  it.each([
    ['chat.completions', { messages: [], max_tokens: '100' }, 'max_tokens'],
    ['chat.completions', { messages: [], max_completion_tokens: -1 }, 'max_completion_tokens'],
    ['chat.completions', { messages: [], max_tokens: 1.5 }, 'max_tokens'],
    ['chat.completions', { messages: 'hi' }, 'messages'],
    ['chat.completions', { messages: [], model: 7 }, 'model'],
    ['chat.completions', { messages: [], stream: 'true' }, 'stream'],
    ['chat.completions', { messages: [], user: 5 }, 'user'],
    ['responses', { max_output_tokens: '1' }, 'max_output_tokens'],
    ['messages', { messages: [], max_tokens: [] }, 'max_tokens'],
    // n and best_of multiply what is billed (llm.charge.ts): a value the gateway would not count is refused.
    ['chat.completions', { messages: [], n: '8' }, 'n'],
    ['chat.completions', { messages: [], n: 0 }, 'n'],
    ['completions', { prompt: 'x', best_of: 2.5 }, 'best_of'],
  ] as const)('%s refuses %j at %s', (endpoint, body, path) => {
    const err = thrown(() => readLlmRequest(endpoint, body as Record<string, unknown>));
    expect(err.code).toBe('validation_failed');
    expect(err.status).toBe(400);
    expect(err.details).toEqual({ location: 'body', path });
  });

  it('requestedMaxTokens is the largest field set (property)', () => {
    fc.assert(
      fc.property(fc.option(fc.nat()), fc.option(fc.nat()), (a, b) => {
        const body: Record<string, unknown> = { messages: [] };
        if (a !== null) body.max_tokens = a;
        if (b !== null) body.max_completion_tokens = b;
        const values = [a, b].filter((v): v is number => v !== null);
        const info = readLlmRequest('chat.completions', body);
        return info.requestedMaxTokens === (values.length ? Math.max(...values) : null);
      }),
    );
  });
});

describe('multipartModel', () => {
  const form = (...fields: Array<[string, string | Blob]>) => {
    const f = new FormData();
    for (const [name, value] of fields) f.append(name, value);
    return f;
  };

  it('reads the one text model field', () => {
    expect(multipartModel(form(['model', 'whisper-1'], ['file', new Blob(['x'])]))).toBe('whisper-1');
  });

  it.each([
    [
      'two model fields (decided on one, run on the other)',
      form(['model', 'whisper-1'], ['model', 'gpt-4o-transcribe']),
    ],
    ['no model field', form(['file', new Blob(['x'])])],
    ['a file part named model', form(['model', new Blob(['whisper-1'])])],
    ['an empty model', form(['model', ''])],
  ])('refuses %s: 400 validation_failed at body.model', (_label, f) => {
    const err = thrown(() => multipartModel(f));
    expect(err.code).toBe('validation_failed');
    expect(err.status).toBe(400);
    expect(err.message).toBe('multipart/form-data body must carry exactly one text "model" field');
    expect(err.details).toEqual({ location: 'body', path: 'model' });
  });
});

describe('checkModelName: the model is a governed name', () => {
  it.each([
    'gpt-4o ',
    ' gpt-4o',
    'gpt-4o\u200b',
    'gpt-4o\u00a0',
    'gpt-4o\u2060',
    'gpt-4o\u202e',
    'gpt-4o\u0000',
    'gpt\u00ad-4o',
    'gpt-4o\ufe0f',
  ])('refuses %j in the body, a multipart field and checkModelName alike', (model) => {
    const message = 'model contains whitespace, control or invisible characters: no model is named like that';
    const f = new FormData();
    f.append('model', model);
    for (const err of [
      thrown(() => checkModelName(model)),
      thrown(() => readLlmRequest('chat.completions', { model, messages: [] })),
      thrown(() => readLlmRequest('messages', { model, messages: [] })),
      thrown(() => multipartModel(f)),
    ]) {
      expect([err.code, err.status, err.message]).toEqual(['validation_failed', 400, message]);
      expect(err.details).toEqual({ location: 'body', path: 'model' });
    }
  });

  it('refuses a lone surrogate (a JSON \\udc00 escape) in the body', () => {
    const err = thrown(() => readLlmRequest('chat.completions', { model: 'gpt-4o\udc00', messages: [] }));
    expect([err.code, err.details]).toEqual(['validation_failed', { location: 'body', path: 'model' }]);
  });

  it('keeps provider model ids as they are (slashes, colons, dots, @, non-ASCII letters)', () => {
    for (const model of [
      'gpt-4o',
      'meta-llama/Llama-3.1-8B-Instruct',
      'claude-3-5:beta@2024.10',
      'modèle-ü',
    ]) {
      expect(checkModelName(model)).toBe(model);
      expect(readLlmRequest('chat.completions', { model, messages: [] }).model).toBe(model);
    }
  });
});
