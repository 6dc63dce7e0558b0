import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { estimatePromptTokens, MEDIA_PART_TOKENS, MESSAGE_OVERHEAD_TOKENS } from './llm.estimate.ts';

const msg = (content: unknown, role = 'user') => ({ role, content });

describe('estimatePromptTokens', () => {
  it('counts 1 token per 4 ASCII characters plus per-message overhead', () => {
    const body = { model: 'gpt-4o', messages: [msg('a'.repeat(400))] };
    expect(estimatePromptTokens('chat.completions', body)).toBe(100 + MESSAGE_OVERHEAD_TOKENS);
  });

  it('counts non-ASCII characters one token each', () => {
    const body = { messages: [msg('日本語のテキスト')] };
    expect(estimatePromptTokens('chat.completions', body)).toBe(8 + MESSAGE_OVERHEAD_TOKENS);
  });

  it('reads OpenAI content parts and counts an image as a flat media part, not its base64', () => {
    const body = {
      messages: [
        msg([
          { type: 'text', text: 'x'.repeat(40) },
          { type: 'image_url', image_url: { url: `data:image/png;base64,${'A'.repeat(100_000)}` } },
        ]),
      ],
    };
    expect(estimatePromptTokens('chat.completions', body)).toBe(
      10 + MEDIA_PART_TOKENS + MESSAGE_OVERHEAD_TOKENS,
    );
  });

  it('reads Anthropic system, content blocks, tool_use and tool_result', () => {
    const body = {
      model: 'claude',
      max_tokens: 1000,
      system: [{ type: 'text', text: 's'.repeat(40), cache_control: { type: 'ephemeral' } }],
      messages: [
        msg([{ type: 'text', text: 'q'.repeat(40) }]),
        msg([{ type: 'tool_use', id: 'toolu_1', name: 'get', input: { city: 'c'.repeat(36) } }], 'assistant'),
        msg([{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: 'r'.repeat(40) }] }]),
        msg([{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'A'.repeat(9999) } }]),
      ],
    };
    // Text values only (ids and keys are framing): 40 + 40 + "get" 3 + 36 + 40 = 159 characters.
    const tokens = estimatePromptTokens('messages', body);
    expect(tokens).toBe(Math.ceil(159 / 4 + MEDIA_PART_TOKENS + 4 * MESSAGE_OVERHEAD_TOKENS));
  });

  it('reads Responses input (string or items) and instructions', () => {
    expect(estimatePromptTokens('responses', { input: 'x'.repeat(80), instructions: 'y'.repeat(40) })).toBe(
      30,
    );
    expect(
      estimatePromptTokens('responses', {
        input: [{ role: 'user', content: [{ type: 'input_text', text: 'z'.repeat(40) }] }],
      }),
    ).toBe(10 + MESSAGE_OVERHEAD_TOKENS);
  });

  it('counts token-id arrays one per id, and tool definitions by JSON length', () => {
    expect(
      estimatePromptTokens('embeddings', {
        input: [
          [1, 2, 3],
          [4, 5],
        ],
      }),
    ).toBe(5);
    expect(estimatePromptTokens('completions', { prompt: [1, 2, 3, 4] })).toBe(4);
    const tools = [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }];
    expect(estimatePromptTokens('chat.completions', { messages: [], tools })).toBe(
      Math.ceil(JSON.stringify(tools).length / 4),
    );
  });

  it('is 0 for endpoints without a prompt', () => {
    expect(estimatePromptTokens('models', {})).toBe(0);
    expect(estimatePromptTokens('images.generate', { prompt: 'x' })).toBe(0);
  });

  it('never decreases when text is appended to a message (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        const before = estimatePromptTokens('chat.completions', { messages: [msg(a)] });
        const after = estimatePromptTokens('chat.completions', { messages: [msg(a + b)] });
        return after >= before && before >= MESSAGE_OVERHEAD_TOKENS;
      }),
    );
  });

  it('is at least chars/4 and at most chars for plain text (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (text) => {
        const tokens =
          estimatePromptTokens('chat.completions', { messages: [msg(text)] }) - MESSAGE_OVERHEAD_TOKENS;
        return tokens >= Math.ceil(text.length / 4) && tokens <= text.length;
      }),
    );
  });
});
