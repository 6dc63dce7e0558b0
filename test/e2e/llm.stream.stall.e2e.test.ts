/**
 * An LLM upstream that stalls after its headers (docs/llm-gateway.md#stream-timeouts), end to end:
 * the official `openai` and `@anthropic-ai/sdk` clients streaming through the local runtime against
 * the real fake provider, whose `fake-gap-…` models stall (test/e2e/llm.fake-provider.gaps.ts), on
 * connections with a 1 s `streamIdleTimeoutMs`:
 *   - relayed (`pass`): the OpenAI SDK yields the chunk that came, then raises an APIError with
 *     code `upstream_timeout` while iterating — the stream's end, as a kill switch's;
 *   - held (`hold`): the Anthropic SDK raises GatewayTimeoutError (504) before yielding anything,
 *     without retrying (its default is two retries of a 5xx; the 504 says `x-should-retry: false`);
 *   - the rows record `upstream_timeout`.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKey, gatewayUrl, waitForAudit } from './helpers';
import { type FakeProvider, startFakeProvider } from './llm.fake-provider.ts';
import { createLlmConnection, openaiClient } from './llm.fixtures.ts';

const RUN = Date.now().toString(36);
const PASS_SLUG = `stall-pass-e2e-${RUN}`;
const HOLD_SLUG = `stall-hold-e2e-${RUN}`;
const PROVIDER_KEY = `sk-provider-${RUN}-secret`;
const IDLE_MS = 1_000;

let fake: FakeProvider;

const createConnection = (slug: string, settings: Record<string, unknown>) =>
  createLlmConnection(slug, {
    upstreamUrl: `${fake.url}/v1`,
    credential: PROVIDER_KEY,
    settings: { streamIdleTimeoutMs: IDLE_MS, ...settings },
  });

beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: PROVIDER_KEY });
  await createConnection(PASS_SLUG, { provider: 'openai-compatible' });
  await createConnection(HOLD_SLUG, {
    provider: 'anthropic',
    inspection: { packs: ['llm-standard-security'], streamMode: 'hold' },
  });
});
afterAll(() => fake?.close());

async function errorCodeOf(trace: string): Promise<string | null | undefined> {
  const rows = await waitForAudit<{ id: string; errorCode: string | null }>(
    `traceId=${trace}`,
    (r) => r[0]?.errorCode === 'upstream_timeout',
  );
  return rows[0]?.errorCode;
}

describe('SDKs streaming from an upstream that stalls', () => {
  it('OpenAI, relayed: the chunk that came, then APIError upstream_timeout while iterating', async () => {
    const trace = `stall-pass-e2e-${RUN}`;
    const openai = openaiClient(PASS_SLUG);
    const stream = await openai.chat.completions.create(
      { model: 'fake-gap-stall', stream: true, messages: [{ role: 'user', content: trace }] },
      { headers: { 'X-Igris-Trace-Id': trace }, timeout: 10_000 },
    );
    const said: string[] = [];
    let error: unknown;
    try {
      for await (const chunk of stream) said.push(chunk.choices[0]?.delta.content ?? '');
    } catch (err) {
      error = err;
    }
    expect(said).toEqual(['Thinking']);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('upstream_timeout');
    expect(await errorCodeOf(trace)).toBe('upstream_timeout');
  });

  it('Anthropic, held: GatewayTimeoutError (504) before any event, not retried', async () => {
    const trace = `stall-hold-e2e-${RUN}`;
    // The SDK's default retries (two, for a 5xx): the generation must be sent once.
    const anthropic = new Anthropic({ apiKey: adminKey(), baseURL: `${gatewayUrl()}/llm/${HOLD_SLUG}` });
    const events: unknown[] = [];
    let error: unknown;
    try {
      const stream = await anthropic.messages.create(
        {
          model: 'fake-gap-silent',
          max_tokens: 64,
          stream: true,
          messages: [{ role: 'user', content: trace }],
        },
        { headers: { 'X-Igris-Trace-Id': trace }, timeout: 10_000 },
      );
      for await (const event of stream) events.push(event);
    } catch (err) {
      error = err;
    }
    expect(events).toEqual([]);
    expect(error).toBeInstanceOf(Anthropic.GatewayTimeoutError);
    expect((error as InstanceType<typeof Anthropic.APIError>).status).toBe(504);
    expect(await errorCodeOf(trace)).toBe('upstream_timeout');
    // Every attempt was made before the SDK threw; each is a row of this trace once flushed.
    await new Promise((r) => setTimeout(r, 2_000));
    const rows = await waitForAudit<{ id: string }>(`traceId=${trace}`, (r) => r.length > 0);
    expect(rows).toHaveLength(1);
  });
});
