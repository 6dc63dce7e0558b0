/**
 * The LLM gateway end to end: the official `openai` and `@anthropic-ai/sdk` clients, pointed at
 * Igris Edge by base URL and key only, against the real local fake provider (llm.fake-provider.ts)
 * through the local runtime. Governance as for MCP: policy (model / endpoint rules, token guard),
 * request and token rate limits, the kill switch (also mid-stream), audit rows with usage and cost,
 * and neither key crossing to the other side.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { adminKey, api, gatewayUrl, setPolicy, waitForAudit } from './helpers';
import { FAKE_REPLY, FAKE_USAGE, type FakeProvider, startFakeProvider } from './llm.fake-provider.ts';
import { ALLOW_ALL, createLlmPair } from './llm.fixtures.ts';

const RUN = Date.now().toString(36);
const OPENAI_SLUG = `llm-oai-${RUN}`;
const ANTHROPIC_SLUG = `llm-ant-${RUN}`;
const PROVIDER_KEY = `sk-provider-${RUN}-secret`;
const messages = [{ role: 'user' as const, content: 'Say hello' }];

let fake: FakeProvider;
let openai: OpenAI;
let anthropic: Anthropic;

interface AuditRow {
  id: string;
  type: string;
  action: string;
  model: string | null;
  method: string | null;
  inputTokens: number | null;
  cachedInputTokens: number | null;
  outputTokens: number | null;
  costUsd: number | null;
  errorCode: string | null;
  upstreamStatus: number | null;
  traceId: string;
  details: Record<string, unknown> | null;
}

function traced(label: string): { trace: string; headers: Record<string, string> } {
  const trace = `llm-${label}-${RUN}`;
  return { trace, headers: { 'X-Igris-Trace-Id': trace } };
}

async function rowOf(trace: string, predicate: (row: AuditRow) => boolean = () => true): Promise<AuditRow> {
  const rows = await waitForAudit<AuditRow>(`traceId=${encodeURIComponent(trace)}`, (r) => r.some(predicate));
  return rows.find(predicate)!;
}

beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: PROVIDER_KEY });
  ({ openai, anthropic } = await createLlmPair(
    { openai: OPENAI_SLUG, anthropic: ANTHROPIC_SLUG },
    { upstreamUrl: `${fake.url}/v1`, credential: PROVIDER_KEY },
  ));
  const price = await api('PUT', '/llm/prices', {
    provider: 'openai-compatible',
    model: 'fake-gpt',
    inputPerMTok: 1,
    cachedInputPerMTok: 0.5,
    outputPerMTok: 2,
  });
  if (price.status !== 200) throw new Error(`price: ${price.status} ${JSON.stringify(price.body)}`);
});
afterAll(() => fake?.close());
beforeEach(() => fake.reset());

/** Every header and body the provider saw, as text: the caller's ig_ key must be in none. */
function providerSaw(): string {
  return JSON.stringify(fake.requests);
}

describe('OpenAI SDK through the gateway', () => {
  it('chat completion: answer, provider key injected, caller key stripped, usage and cost audited', async () => {
    const { trace, headers } = traced('chat');
    const completion = await openai.chat.completions.create({ model: 'fake-gpt', messages }, { headers });
    expect(completion.choices[0]?.message.content).toBe(FAKE_REPLY);
    expect(fake.last()).toMatchObject({ path: '/v1/chat/completions', auth: 'bearer' });
    expect(providerSaw()).not.toContain(adminKey());
    const row = await rowOf(trace, (r) => r.inputTokens !== null);
    expect(row).toMatchObject({
      type: 'llm_call',
      action: 'allow',
      model: 'fake-gpt',
      method: 'chat.completions',
      inputTokens: FAKE_USAGE.input,
      cachedInputTokens: FAKE_USAGE.cachedInput,
      outputTokens: FAKE_USAGE.output,
      upstreamStatus: 200,
    });
    // (12 − 4) × $1 + 4 × $0.5 + 6 × $2 per million tokens.
    expect(row.costUsd).toBeCloseTo(0.000022, 10);
    expect(JSON.stringify(row)).not.toContain(PROVIDER_KEY);
  });

  it('streams, asks the provider for usage, and hides the usage chunk the caller did not ask for', async () => {
    const { trace, headers } = traced('stream');
    const stream = await openai.chat.completions.create(
      { model: 'fake-gpt', messages, stream: true },
      { headers },
    );
    let text = '';
    let usageChunks = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usageChunks++;
    }
    expect(text).toBe(FAKE_REPLY);
    expect(usageChunks).toBe(0);
    expect(fake.last()?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    const row = await rowOf(trace, (r) => r.outputTokens !== null);
    expect(row.outputTokens).toBe(FAKE_USAGE.output);
  });

  it('keeps the usage chunk a caller asked for', async () => {
    const stream = await openai.chat.completions.create({
      model: 'fake-gpt',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: unknown = null;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    expect(usage).toMatchObject({ prompt_tokens: FAKE_USAGE.input, completion_tokens: FAKE_USAGE.output });
  });

  it('tool calls, the Responses API and embeddings', async () => {
    const tools = [
      {
        type: 'function' as const,
        function: {
          name: 'get_weather',
          parameters: { type: 'object', properties: { city: { type: 'string' } } },
        },
      },
    ];
    const called = await openai.chat.completions.create({ model: 'fake-gpt', messages, tools });
    expect(called.choices[0]?.message.tool_calls?.[0]).toMatchObject({ function: { name: 'get_weather' } });

    const { trace, headers } = traced('responses');
    const response = await openai.responses.create({ model: 'fake-gpt', input: 'Say hello' }, { headers });
    expect(response.output_text).toBe(FAKE_REPLY);
    expect((await rowOf(trace, (r) => r.inputTokens !== null)).method).toBe('responses');

    const embedded = await openai.embeddings.create({ model: 'fake-embed', input: 'hello' });
    expect(embedded.data[0]?.embedding.length).toBeGreaterThan(0);
  });

  it('the Igris route: "@slug/model" on /v1/chat/completions, and /v1/models lists what may be used', async () => {
    const igris = new OpenAI({ apiKey: adminKey(), baseURL: `${gatewayUrl()}/v1`, maxRetries: 0 });
    const completion = await igris.chat.completions.create({ model: `@${OPENAI_SLUG}/fake-gpt`, messages });
    expect(completion.choices[0]?.message.content).toBe(FAKE_REPLY);
    expect(fake.last()?.body).toMatchObject({ model: 'fake-gpt' });
    const models = await igris.models.list();
    expect(models.data.map((m) => m.id)).toContain(`@${OPENAI_SLUG}/fake-gpt`);
    await expect(
      igris.chat.completions.create({ model: '@no-such-connection/fake-gpt', messages }),
    ).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('a denied model raises the SDK’s PermissionDeniedError and never reaches the provider', async () => {
    await setPolicy(OPENAI_SLUG, [
      { model: 'fake-forbidden*', action: 'deny', reason: 'not this model' },
      ...ALLOW_ALL,
    ]);
    try {
      const { trace, headers } = traced('denied');
      const err = await openai.chat.completions
        .create({ model: 'fake-forbidden-1', messages }, { headers })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect((err as InstanceType<typeof OpenAI.PermissionDeniedError>).status).toBe(403);
      expect(fake.requests).toHaveLength(0);
      expect(await rowOf(trace)).toMatchObject({ action: 'deny', model: 'fake-forbidden-1' });
    } finally {
      await setPolicy(OPENAI_SLUG, ALLOW_ALL);
    }
  });

  it('a model name with a hidden character raises the SDK’s BadRequestError before any decision', async () => {
    await setPolicy(OPENAI_SLUG, [
      { model: 'fake-gpt', action: 'deny', reason: 'not this model' },
      ...ALLOW_ALL,
    ]);
    try {
      for (const [label, model] of [
        ['space', 'fake-gpt '],
        ['zwsp', 'fake-gpt\u200b'],
        ['nbsp', 'fake-gpt\u00a0'],
      ] as const) {
        const { trace, headers } = traced(`hidden-${label}`);
        const err = await openai.chat.completions
          .create({ model, messages }, { headers })
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(OpenAI.BadRequestError);
        const bad = err as InstanceType<typeof OpenAI.BadRequestError>;
        expect([bad.status, bad.code, bad.param]).toEqual([400, 'validation_failed', 'model']);
        expect(await rowOf(trace)).toMatchObject({ action: 'error', errorCode: 'validation_failed' });
      }
      expect(fake.requests).toHaveLength(0);
    } finally {
      await setPolicy(OPENAI_SLUG, ALLOW_ALL);
    }
  });

  it('token guard: refuses a request asking for too many tokens, caps the output of others', async () => {
    await setPolicy(OPENAI_SLUG, [
      { model: 'fake-gpt', action: 'allow', tokenGuard: { maxRequestMaxTokens: 1000, maxOutputTokens: 50 } },
    ]);
    try {
      const err = await openai.chat.completions
        .create({ model: 'fake-gpt', messages, max_tokens: 5000 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect(fake.requests).toHaveLength(0);
      await openai.chat.completions.create({ model: 'fake-gpt', messages, max_tokens: 500 });
      expect(fake.last()?.body).toMatchObject({ max_tokens: 50 });
    } finally {
      await setPolicy(OPENAI_SLUG, ALLOW_ALL);
    }
  });

  it('a request rate limit answers 429 in the SDK’s RateLimitError', async () => {
    await setPolicy(OPENAI_SLUG, [
      { tool: '*', action: 'allow', rateLimit: { limit: 2, windowSeconds: 60, by: 'apiKey' } },
    ]);
    try {
      await openai.chat.completions.create({ model: 'fake-gpt', messages });
      await openai.chat.completions.create({ model: 'fake-gpt', messages });
      const err = await openai.chat.completions
        .create({ model: 'fake-gpt', messages })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.RateLimitError);
      expect(fake.requests).toHaveLength(2);
    } finally {
      await setPolicy(OPENAI_SLUG, ALLOW_ALL);
    }
  });

  it('a token rate limit counts actual usage and refuses once it is spent', async () => {
    const total = FAKE_USAGE.input + FAKE_USAGE.output;
    await setPolicy(OPENAI_SLUG, [
      { tool: '*', action: 'allow', tokenLimit: { limit: total + 1, windowSeconds: 60, by: 'apiKey' } },
    ]);
    try {
      const { trace, headers } = traced('tpm-1');
      await openai.chat.completions.create({ model: 'fake-gpt', messages }, { headers });
      await rowOf(trace, (r) => r.inputTokens !== null); // usage recorded
      const { trace: trace2, headers: headers2 } = traced('tpm-2');
      await openai.chat.completions.create({ model: 'fake-gpt', messages }, { headers: headers2 });
      await rowOf(trace2, (r) => r.inputTokens !== null); // now 2 × total > limit
      const err = await openai.chat.completions
        .create({ model: 'fake-gpt', messages })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.RateLimitError);
      expect(fake.requests).toHaveLength(2);
    } finally {
      await setPolicy(OPENAI_SLUG, ALLOW_ALL);
    }
  });

  it('passes an upstream 429 through with its Retry-After', async () => {
    const err = await openai.chat.completions
      .create({ model: 'fake-fail-429', messages })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect((err as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('retry-after')).toBe('1');
  });

  it('an upstream that drops mid-stream ends the caller’s stream, and the row records it', async () => {
    const { trace, headers } = traced('disconnect');
    const stream = await openai.chat.completions.create(
      { model: 'fake-fail-disconnect', messages, stream: true },
      { headers },
    );
    const read = (async () => {
      for await (const _ of stream) {
        // drain
      }
    })();
    await expect(read).rejects.toThrow();
    const row = await rowOf(trace, (r) => r.errorCode !== null);
    expect(row.errorCode).toBe('upstream_broken');
  });

  it('a kill switch pulled mid-stream ends it with an error the SDK raises', async () => {
    const { trace, headers } = traced('kill');
    const stream = await openai.chat.completions.create(
      { model: 'fake-fail-stall', messages, stream: true },
      { headers },
    );
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next(); // the first chunk arrived; the provider now stalls
    const kill = await api<{ id: string }>('POST', '/kill-switch', {
      scope: 'connection',
      target: OPENAI_SLUG,
      reason: `llm e2e ${RUN}`,
    });
    expect(kill.status).toBe(201);
    try {
      await expect(
        (async () => {
          for (let r = await iterator.next(); !r.done; r = await iterator.next()) {
            // drain until the gateway ends the stream
          }
        })(),
      ).rejects.toThrow();
      const refused = await openai.chat.completions
        .create({ model: 'fake-gpt', messages })
        .catch((e: unknown) => e);
      expect((refused as { status?: number }).status).toBe(503);
    } finally {
      await api('DELETE', `/kill-switch/${kill.body.id}`);
    }
    expect((await rowOf(trace)).model).toBe('fake-fail-stall');
  });
});

describe('Anthropic SDK through the gateway', () => {
  it('messages, streamed and not, with x-api-key injected and usage audited', async () => {
    const { trace, headers } = traced('anthropic');
    const message = await anthropic.messages.create(
      { model: 'fake-claude', max_tokens: 100, messages },
      { headers },
    );
    expect(message.content[0]).toMatchObject({ type: 'text', text: FAKE_REPLY });
    expect(fake.last()).toMatchObject({ path: '/v1/messages', auth: 'x-api-key' });
    expect(fake.last()?.headers['anthropic-version']).toBeTruthy();
    expect(providerSaw()).not.toContain(adminKey());
    expect(await rowOf(trace, (r) => r.outputTokens !== null)).toMatchObject({
      type: 'llm_call',
      method: 'messages',
      outputTokens: FAKE_USAGE.output,
    });

    const { trace: streamTrace, headers: streamHeaders } = traced('anthropic-stream');
    const stream = anthropic.messages.stream(
      { model: 'fake-claude', max_tokens: 100, messages },
      { headers: streamHeaders },
    );
    expect(await stream.finalText()).toBe(FAKE_REPLY);
    expect((await rowOf(streamTrace, (r) => r.outputTokens !== null)).outputTokens).toBe(FAKE_USAGE.output);
  });

  it('a denied model is the SDK’s PermissionDeniedError in Anthropic’s error shape', async () => {
    await setPolicy(ANTHROPIC_SLUG, [
      { endpoint: 'messages', model: 'fake-claude', action: 'deny' },
      ...ALLOW_ALL,
    ]);
    try {
      const err = await anthropic.messages
        .create({ model: 'fake-claude', max_tokens: 10, messages })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.PermissionDeniedError);
    } finally {
      await setPolicy(ANTHROPIC_SLUG, ALLOW_ALL);
    }
  });
});
