import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isUsageOnlyChunk, mayCarryUsage, UsageMeter } from './llm.usage.ts';

function meter(family: 'openai' | 'anthropic', messages: unknown[]) {
  const m = new UsageMeter(family);
  for (const message of messages) m.observe(message);
  return m.result();
}

const chunk = (content: string) => ({
  id: 'c1',
  object: 'chat.completion.chunk',
  choices: [{ index: 0, delta: { content }, finish_reason: null }],
  usage: null,
});

describe('UsageMeter, OpenAI chat', () => {
  it('reads a JSON answer with cached and reasoning tokens', () => {
    expect(
      meter('openai', [
        {
          object: 'chat.completion',
          choices: [],
          usage: {
            prompt_tokens: 100,
            completion_tokens: 40,
            total_tokens: 140,
            prompt_tokens_details: { cached_tokens: 64 },
            completion_tokens_details: { reasoning_tokens: 12 },
          },
        },
      ]),
    ).toEqual({
      inputTokens: 100,
      cachedInputTokens: 64,
      cacheWriteInputTokens: 0,
      outputTokens: 40,
      reasoningTokens: 12,
      totalTokens: 140,
    });
  });

  it('reads the usage chunk at the end of a stream, ignoring usage: null chunks', () => {
    const usage = meter('openai', [
      chunk('he'),
      chunk('llo'),
      {
        object: 'chat.completion.chunk',
        choices: [],
        usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 },
      },
    ]);
    expect(usage).toMatchObject({ inputTokens: 9, outputTokens: 2, totalTokens: 11, reasoningTokens: null });
  });

  it("reads Groq's x_groq.usage and embeddings usage", () => {
    expect(
      meter('openai', [{ x_groq: { usage: { prompt_tokens: 3, completion_tokens: 4 } } }]),
    ).toMatchObject({
      inputTokens: 3,
      outputTokens: 4,
      totalTokens: 7,
    });
    expect(
      meter('openai', [{ object: 'list', data: [], usage: { prompt_tokens: 8, total_tokens: 8 } }]),
    ).toMatchObject({
      inputTokens: 8,
      outputTokens: 0,
      totalTokens: 8,
    });
  });

  it('is final once a report came, and not before', () => {
    const m = new UsageMeter('openai');
    m.observe(chunk('a'));
    expect(m.final()).toBe(false);
    m.observe({
      object: 'chat.completion.chunk',
      choices: [],
      usage: { prompt_tokens: 3, completion_tokens: 2 },
    });
    expect(m.final()).toBe(true);
  });

  it('is null when no usage was reported (a stream cut short)', () => {
    expect(meter('openai', [chunk('a'), 'garbage', null, 3, [1]])).toBeNull();
  });

  it('never reports negative or fractional counts', () => {
    expect(meter('openai', [{ usage: { prompt_tokens: -5, completion_tokens: 1.5 } }])).toBeNull();
    expect(
      meter('openai', [
        { usage: { prompt_tokens: 5, completion_tokens: 1, prompt_tokens_details: { cached_tokens: 99 } } },
      ]),
    ).toMatchObject({ cachedInputTokens: 5 });
  });
});

describe('UsageMeter, OpenAI Responses', () => {
  const usage = {
    input_tokens: 50,
    input_tokens_details: { cached_tokens: 10 },
    output_tokens: 20,
    output_tokens_details: { reasoning_tokens: 5 },
    total_tokens: 70,
  };
  const expected = {
    inputTokens: 50,
    cachedInputTokens: 10,
    cacheWriteInputTokens: 0,
    outputTokens: 20,
    reasoningTokens: 5,
    totalTokens: 70,
  };

  it('reads a JSON answer', () => {
    expect(meter('openai', [{ object: 'response', status: 'completed', usage }])).toEqual(expected);
  });

  it('reads the response.completed event of a stream', () => {
    expect(
      meter('openai', [
        { type: 'response.created', response: { usage: null } },
        { type: 'response.output_text.delta', delta: 'x' },
        { type: 'response.completed', response: { status: 'completed', usage } },
      ]),
    ).toEqual(expected);
  });

  it('reads response.incomplete too', () => {
    expect(meter('openai', [{ type: 'response.incomplete', response: { usage } }])).toEqual(expected);
  });
});

describe('UsageMeter, Anthropic Messages', () => {
  it('reads a JSON answer, counting cache reads and writes into the input', () => {
    expect(
      meter('anthropic', [
        {
          type: 'message',
          usage: {
            input_tokens: 10,
            cache_read_input_tokens: 100,
            cache_creation_input_tokens: 20,
            output_tokens: 7,
          },
        },
      ]),
    ).toEqual({
      inputTokens: 130,
      cachedInputTokens: 100,
      cacheWriteInputTokens: 20,
      outputTokens: 7,
      reasoningTokens: null,
      totalTokens: 137,
    });
  });

  it('merges message_start and the cumulative message_delta of a stream', () => {
    expect(
      meter('anthropic', [
        {
          type: 'message_start',
          message: {
            usage: {
              input_tokens: 25,
              cache_read_input_tokens: 5,
              cache_creation_input_tokens: 0,
              output_tokens: 1,
            },
          },
        },
        { type: 'content_block_delta', delta: { type: 'text_delta', text: 'hi' } },
        { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 15 } },
        { type: 'message_delta', delta: {}, usage: { output_tokens: 31 } },
        { type: 'message_stop' },
      ]),
    ).toMatchObject({ inputTokens: 30, cachedInputTokens: 5, outputTokens: 31, totalTokens: 61 });
  });

  it('takes input fields from message_delta when present (newer API versions)', () => {
    expect(
      meter('anthropic', [
        { type: 'message_start', message: { usage: { input_tokens: 25, output_tokens: 1 } } },
        { type: 'message_delta', usage: { input_tokens: 26, output_tokens: 9 } },
      ]),
    ).toMatchObject({ inputTokens: 26, outputTokens: 9 });
  });

  it('is final only once message_delta (or a whole message) came: message_start has output 1', () => {
    const m = new UsageMeter('anthropic');
    m.observe({ type: 'message_start', message: { usage: { input_tokens: 25, output_tokens: 1 } } });
    m.observe({ type: 'content_block_stop', index: 0 });
    expect(m.result()).toMatchObject({ inputTokens: 25, outputTokens: 1 });
    expect(m.final()).toBe(false); // a caller hanging up here has the whole answer
    m.observe({ type: 'message_delta', usage: { output_tokens: 31 } });
    expect(m.final()).toBe(true);
    const whole = new UsageMeter('anthropic');
    whole.observe({ type: 'message', usage: { input_tokens: 5, output_tokens: 2 } });
    expect(whole.final()).toBe(true);
  });

  it('ignores OpenAI shapes on the anthropic family and vice versa', () => {
    expect(meter('anthropic', [{ usage: { prompt_tokens: 1, completion_tokens: 1 } }])).toBeNull();
    expect(meter('anthropic', [{ input_tokens: 5 }])).toBeNull(); // count_tokens answer: not a billed call
  });
});

describe('helpers', () => {
  it('isUsageOnlyChunk spots the include_usage chunk only', () => {
    expect(isUsageOnlyChunk({ choices: [], usage: { prompt_tokens: 1 } })).toBe(true);
    expect(isUsageOnlyChunk(chunk('x'))).toBe(false);
    expect(isUsageOnlyChunk({ choices: [], usage: null })).toBe(false);
    expect(isUsageOnlyChunk({ choices: [{}], usage: { prompt_tokens: 1 } })).toBe(false);
  });

  it('mayCarryUsage is true for every usage-bearing event', () => {
    expect(mayCarryUsage(JSON.stringify({ choices: [], usage: { prompt_tokens: 1 } }))).toBe(true);
    expect(mayCarryUsage(JSON.stringify({ type: 'message_delta', usage: { output_tokens: 1 } }))).toBe(true);
    expect(mayCarryUsage('{"type":"content_block_delta","delta":{"text":"hi"}}')).toBe(false);
  });

  it('mayCarryUsage spares the chunks of an include_usage stream that report none (`"usage":null`)', () => {
    expect(mayCarryUsage(JSON.stringify(chunk('hi')))).toBe(false);
    expect(mayCarryUsage(JSON.stringify(chunk('hi'), null, 2))).toBe(false); // `"usage": null`
    expect(mayCarryUsage('{"choices":[],"usage" \t:\r\n null}')).toBe(false);
    // Any other value, anywhere, is parsed and read.
    expect(mayCarryUsage('{"usage":null,"x_groq":{"usage":{"prompt_tokens":1}}}')).toBe(true);
    expect(mayCarryUsage('{"usage":{"prompt_tokens":1},"usage":null}')).toBe(true);
    expect(mayCarryUsage('{"usage":nul}')).toBe(true);
    expect(mayCarryUsage('{"usage":0}')).toBe(true);
    // The word in a text is not a key: no parse for it.
    expect(mayCarryUsage(JSON.stringify(chunk('"usage": {"prompt_tokens": 1}')))).toBe(false);
    // An escape that may spell a key: parsed, as before.
    expect(mayCarryUsage('{"usage":null,"\\u0075sage":{"prompt_tokens":1}}')).toBe(true);
  });

  it('an event mayCarryUsage spares reports no usage and is no usage-only chunk (property)', () => {
    // Counts as every family spells them, so that any usage object the meter reaches reports some.
    const counts = fc.record({
      prompt_tokens: fc.nat(),
      completion_tokens: fc.nat(),
      input_tokens: fc.nat(),
      output_tokens: fc.nat(),
    });
    const usage = fc.oneof(fc.constant(null), counts, fc.nat());
    // 'us%ESC%ge': a `usage` key spelt with an escape (`"us\u0061ge"`), put in after stringify.
    const usageKey = fc.constantFrom('usage', 'usage', 'us%ESC%ge');
    // The shapes the meter reads, in any order and combination, with texts that mention usage.
    const entry = fc.oneof(
      fc.tuple(usageKey, usage),
      fc.tuple(
        fc.constantFrom('message', 'response', 'x_groq'),
        fc.dictionary(usageKey, usage, { maxKeys: 2 }),
      ),
      fc.tuple(
        fc.constant('type'),
        fc.constantFrom(
          'message_start',
          'message_delta',
          'message',
          'response.completed',
          'response.failed',
          'x',
        ),
      ),
      fc.tuple(
        fc.constant('choices'),
        fc.constantFrom([], [{ delta: { content: '"usage":{"prompt_tokens":1}' } }]),
      ),
    );
    const event = fc.array(entry, { maxLength: 6 }).map((entries) => Object.fromEntries(entries));
    fc.assert(
      fc.property(event, fc.constantFrom(undefined, 1, '\t'), (e, indent) => {
        const raw = JSON.stringify(e, null, indent).replaceAll('us%ESC%ge', 'us\\u0061ge');
        if (mayCarryUsage(raw)) return true;
        const parsed = JSON.parse(raw) as unknown;
        for (const family of ['openai', 'anthropic'] as const) {
          const m = new UsageMeter(family);
          m.observe(parsed);
          if (m.result() !== null || m.final()) return false;
        }
        return !isUsageOnlyChunk(parsed);
      }),
      { numRuns: 2000 },
    );
  });

  it('the last report wins and counts are never negative (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 1, maxLength: 8 }), (reports) => {
        const m = new UsageMeter('openai');
        for (const [p, c] of reports)
          m.observe({ choices: [], usage: { prompt_tokens: p, completion_tokens: c } });
        const [p, c] = reports.at(-1)!;
        const r = m.result()!;
        return r.inputTokens === p && r.outputTokens === c && r.totalTokens === p + c;
      }),
    );
  });
});
