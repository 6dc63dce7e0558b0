/**
 * Content inspection follows each text of an LLM answer on its own, end to end (docs/detections.md,
 * "What the gateway does"): the official `openai` and `@anthropic-ai/sdk` clients through the local
 * runtime against the real fake provider, whose `fake-split…` model cuts a secret (an AWS access key
 * id) in two pieces of ONE text with a piece of ANOTHER text of the same answer between them
 * (test/e2e/llm.fake-provider.split.ts):
 *   - chat completions, n = 2 and parallel tool calls, streamed: the key in choice 1's content and
 *     in tool call 1's arguments is found, each under its own path; JSON: tool_calls arguments;
 *   - Responses: function_call_arguments.delta of two calls interleaved; JSON: function_call arguments;
 *   - Messages: thinking_delta pieces (and a signature_delta, not content), also when the stream
 *     breaks off before the block ends; JSON: a thinking block;
 *   - an answer opening more texts than the gateway follows ends with the provider-shaped error
 *     event, which the SDK raises, and the row records upstream_too_large.
 * The SDKs still assemble the answers whole: inspection records (the rule's action is `redact`,
 * and the connections' `redactResults` is off, docs/detections.md), it does not change the answer.
 */
import type Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForAudit } from './helpers';
import { FAKE_SPLIT_SECRET, SPLIT_TEXTS } from './llm.fake-provider.split.ts';
import { type FakeProvider, startFakeProvider } from './llm.fake-provider.ts';
import { createLlmPair } from './llm.fixtures.ts';

const RUN = Date.now().toString(36);
const OPENAI_SLUG = `insp-split-oai-${RUN}`;
const ANTHROPIC_SLUG = `insp-split-ant-${RUN}`;
const PROVIDER_KEY = `sk-provider-${RUN}-secret`;
const RULE = 'secret.aws_access_key_id';
const TOOLS = [
  { type: 'function' as const, function: { name: 'weather', parameters: { type: 'object' } } },
  { type: 'function' as const, function: { name: 'lookup', parameters: { type: 'object' } } },
];

let fake: FakeProvider;
let openai: OpenAI;
let anthropic: Anthropic;

interface Row {
  id: string;
  errorCode: string | null;
  details: { findings?: Array<{ kind: string; detail?: { location?: string; where?: string } }> };
}

/** The (rule, location) of each completion finding on the call's row, once `count` have arrived. */
async function completionFindings(
  trace: string,
  count: number,
): Promise<Array<[string, string | undefined]>> {
  const pick = (rows: Row[]) =>
    (rows[0]?.details.findings ?? [])
      .filter((f) => f.detail?.where === 'completion')
      .map((f): [string, string | undefined] => [f.kind, f.detail?.location]);
  const rows = await waitForAudit<Row>(`traceId=${trace}`, (r) => pick(r).length >= count);
  return pick(rows);
}

const headers = (trace: string) => ({ headers: { 'X-Igris-Trace-Id': trace } });

beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: PROVIDER_KEY });
  ({ openai, anthropic } = await createLlmPair(
    { openai: OPENAI_SLUG, anthropic: ANTHROPIC_SLUG },
    {
      upstreamUrl: `${fake.url}/v1`,
      credential: PROVIDER_KEY,
      // redactResults off: these tests follow what is scanned and recorded; a JSON answer's redact
      // findings would otherwise be masked (test/e2e/inspection.answers.e2e.test.ts).
      settings: { inspection: { packs: ['llm-standard-security'], redactResults: false } },
    },
  ));
});
afterAll(() => fake?.close());

describe('OpenAI SDK, chat completions', () => {
  it('n = 2 and parallel tool calls streamed interleaved: the key cut in choice 1 and in call 1 is found', async () => {
    const trace = `insp-split-chat-${RUN}`;
    const final = await openai.chat.completions
      .stream(
        { model: 'fake-split', n: 2, tools: TOOLS, messages: [{ role: 'user', content: 'Hi' }] },
        headers(trace),
      )
      .finalChatCompletion();
    // The SDK assembled each choice and call as the provider sent it.
    const byIndex = Object.fromEntries(final.choices.map((c) => [c.index, c.message]));
    expect(byIndex[1]?.content).toBe(SPLIT_TEXTS.choice1);
    expect(byIndex[0]?.content).toBe(SPLIT_TEXTS.choice0);
    const calls = byIndex[0]?.tool_calls ?? [];
    expect(calls.map((c) => (c.type === 'function' ? c.function.arguments : null))).toEqual([
      SPLIT_TEXTS.args0,
      SPLIT_TEXTS.args1,
    ]);
    const found = await completionFindings(trace, 2);
    expect(found).toEqual(
      expect.arrayContaining([
        [RULE, '$.choices[1].message.content'],
        [RULE, '$.choices[0].message.tool_calls[1].function.arguments'],
      ]),
    );
    expect(found).toHaveLength(2);
  });

  it('a JSON answer: tool_calls arguments are scanned', async () => {
    const trace = `insp-split-chat-json-${RUN}`;
    const completion = await openai.chat.completions.create(
      { model: 'fake-split', tools: TOOLS, messages: [{ role: 'user', content: 'Hi' }] },
      headers(trace),
    );
    expect(completion.choices[0]?.message.tool_calls).toHaveLength(2);
    expect(await completionFindings(trace, 1)).toEqual([
      [RULE, '$.choices[0].message.tool_calls[1].function.arguments'],
    ]);
  });

  it('an answer opening more texts than the gateway follows ends with an error the SDK raises', async () => {
    const trace = `insp-split-many-${RUN}`;
    const stream = await openai.chat.completions.create(
      { model: 'fake-split-many', n: 2, messages: [{ role: 'user', content: 'Hi' }], stream: true },
      headers(trace),
    );
    let chunks = 0;
    const err = await (async () => {
      for await (const _ of stream) chunks++;
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(String((err as Error).message)).toMatch(/more than 128 texts/);
    expect(chunks).toBe(128);
    const rows = await waitForAudit<Row>(`traceId=${trace}`, (r) => r[0]?.errorCode === 'upstream_too_large');
    expect(rows[0]!.errorCode).toBe('upstream_too_large');
  });
});

describe('OpenAI SDK, Responses', () => {
  it('function_call_arguments.delta of two calls interleaved: the key cut in call 1 is found once', async () => {
    const trace = `insp-split-resp-${RUN}`;
    const final = await openai.responses
      .stream({ model: 'fake-split', input: 'Hi', tools: [] }, headers(trace))
      .finalResponse();
    const args = final.output.map((item) => (item.type === 'function_call' ? item.arguments : null));
    expect(args).toEqual([SPLIT_TEXTS.args0, SPLIT_TEXTS.args1]);
    // The .done events and the closing response repeat the deltas: not reported again.
    await new Promise((r) => setTimeout(r, 500));
    expect(await completionFindings(trace, 1)).toEqual([[RULE, '$.output[1].arguments']]);
  });

  it('a JSON response: function_call arguments are scanned', async () => {
    const trace = `insp-split-resp-json-${RUN}`;
    const response = await openai.responses.create({ model: 'fake-split', input: 'Hi' }, headers(trace));
    expect(response.output).toHaveLength(2);
    expect(await completionFindings(trace, 1)).toEqual([[RULE, '$.output[1].arguments']]);
  });
});

describe('Anthropic SDK', () => {
  const params = {
    model: 'fake-split',
    max_tokens: 64,
    messages: [{ role: 'user' as const, content: 'Hi' }],
  };

  it('thinking_delta pieces are scanned; the signature is not content', async () => {
    const trace = `insp-split-think-${RUN}`;
    const final = await anthropic.messages.stream(params, headers(trace)).finalMessage();
    expect(final.content[0]).toMatchObject({ type: 'thinking', thinking: SPLIT_TEXTS.thinking });
    expect(final.content[1]).toMatchObject({ type: 'text', text: SPLIT_TEXTS.text });
    expect(await completionFindings(trace, 1)).toEqual([[RULE, '$.content[0].thinking']]);
  });

  it('a stream broken off inside the thinking block: what it held is scanned at the end', async () => {
    const trace = `insp-split-broken-${RUN}`;
    // The provider sends half the events (the thinking deltas, no content_block_stop) and hangs up.
    fake.arm({ fail: 'disconnect' });
    const err = await anthropic.messages
      .stream(params, headers(trace))
      .finalMessage()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(await completionFindings(trace, 1)).toEqual([[RULE, '$.content[0].thinking']]);
  });

  it('a JSON message: thinking blocks are scanned', async () => {
    const trace = `insp-split-think-json-${RUN}`;
    const message = await anthropic.messages.create(params, headers(trace));
    expect(message.content[0]).toMatchObject({ type: 'thinking' });
    expect(JSON.stringify(message)).toContain(FAKE_SPLIT_SECRET);
    expect(await completionFindings(trace, 1)).toEqual([[RULE, '$.content[0].thinking']]);
  });
});
