import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getProvider } from './llm.catalog.ts';
import { readLlmRequest } from './llm.request.ts';
import { capOutputTokens, ensureStreamUsage } from './llm.rewrite-request.ts';

const openai = getProvider('openai')!;
const groq = getProvider('groq')!;
const mistral = getProvider('mistral')!;
const cohere = getProvider('cohere')!;
const anthropic = getProvider('anthropic')!;
const chat = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] };

describe('ensureStreamUsage', () => {
  it('adds include_usage to a stream that did not ask, and remembers it', () => {
    const body = { ...chat, stream: true };
    const out = ensureStreamUsage('chat.completions', openai, body);
    expect(out).toEqual({ body: { ...body, stream_options: { include_usage: true } }, injected: true });
    expect(body).not.toHaveProperty('stream_options'); // input untouched
  });

  it('keeps other stream_options and overrides an explicit false', () => {
    const out = ensureStreamUsage('chat.completions', groq, {
      ...chat,
      stream: true,
      stream_options: { include_usage: false, include_obfuscation: false },
    });
    expect(out.injected).toBe(true);
    expect(out.body.stream_options).toEqual({ include_usage: true, include_obfuscation: false });
  });

  it('leaves alone a caller that asked, non-streams, other endpoints, and providers that do not need it', () => {
    const asked = { ...chat, stream: true, stream_options: { include_usage: true } };
    expect(ensureStreamUsage('chat.completions', openai, asked)).toEqual({ body: asked, injected: false });
    const plain = { ...chat, stream: false };
    expect(ensureStreamUsage('chat.completions', openai, plain)).toEqual({ body: plain, injected: false });
    const streamed = { ...chat, stream: true };
    expect(ensureStreamUsage('responses', openai, streamed).injected).toBe(false);
    expect(ensureStreamUsage('chat.completions', mistral, streamed).injected).toBe(false);
    expect(ensureStreamUsage('chat.completions', cohere, streamed).injected).toBe(false);
  });

  it('applies to legacy completions streams', () => {
    expect(ensureStreamUsage('completions', openai, { prompt: 'x', stream: true }).injected).toBe(true);
  });
});

describe('capOutputTokens', () => {
  it('lowers fields above the cap and keeps those below', () => {
    const out = capOutputTokens(
      'chat.completions',
      openai,
      { ...chat, max_tokens: 5000, max_completion_tokens: 10 },
      100,
    );
    expect(out.body).toMatchObject({ max_tokens: 100, max_completion_tokens: 10 });
    expect(out.capped).toEqual([{ field: 'max_tokens', from: 5000, to: 100 }]);
  });

  it("adds the provider's field when the caller set none", () => {
    expect(capOutputTokens('chat.completions', openai, chat, 64).body).toMatchObject({
      max_completion_tokens: 64,
    });
    expect(capOutputTokens('chat.completions', mistral, chat, 64).body).toMatchObject({ max_tokens: 64 });
    expect(capOutputTokens('responses', openai, { input: 'x' }, 64).body).toMatchObject({
      max_output_tokens: 64,
    });
    expect(capOutputTokens('completions', openai, { prompt: 'x' }, 64).body).toMatchObject({
      max_tokens: 64,
    });
    expect(capOutputTokens('messages', anthropic, { messages: [] }, 64).capped).toEqual([
      { field: 'max_tokens', from: null, to: 64 },
    ]);
  });

  it('returns the same body when nothing changes, and ignores endpoints without output tokens', () => {
    const body = { ...chat, max_tokens: 10 };
    expect(capOutputTokens('chat.completions', openai, body, 100)).toEqual({ body, capped: [] });
    const emb = { input: 'x' };
    expect(capOutputTokens('embeddings', openai, emb, 100)).toEqual({ body: emb, capped: [] });
  });

  it('never leaves a requested maximum above the cap (property)', () => {
    fc.assert(
      fc.property(
        fc.option(fc.nat({ max: 1_000_000 })),
        fc.option(fc.nat({ max: 1_000_000 })),
        fc.integer({ min: 1, max: 100_000 }),
        (a, b, cap) => {
          const body: Record<string, unknown> = { ...chat };
          if (a !== null) body.max_tokens = a;
          if (b !== null) body.max_completion_tokens = b;
          const out = capOutputTokens('chat.completions', openai, body, cap);
          const info = readLlmRequest('chat.completions', out.body);
          return info.requestedMaxTokens !== null && info.requestedMaxTokens <= cap;
        },
      ),
    );
  });
});
