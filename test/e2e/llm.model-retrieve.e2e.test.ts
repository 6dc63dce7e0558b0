/**
 * `models.retrieve` of the official `openai` and `@anthropic-ai/sdk` clients through the gateway,
 * against the real local fake provider: the SDK percent-encodes the id into the path
 * (`GET /models/<id>`), and the gateway judges it as it judges a body's model (hidden characters,
 * docs/llm-gateway.md#model-names): the SDK raises its BadRequestError, nothing reaches the
 * provider. A plain id, and one holding a slash (encoded by the SDK), are forwarded as sent.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeProvider, startFakeProvider } from './llm.fake-provider.ts';
import { createLlmPair } from './llm.fixtures.ts';

const RUN = Date.now().toString(36);
const OPENAI_SLUG = `llm-retr-oai-${RUN}`;
const ANTHROPIC_SLUG = `llm-retr-ant-${RUN}`;
const PROVIDER_KEY = `sk-provider-${RUN}-secret`;

let fake: FakeProvider;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: PROVIDER_KEY });
  ({ openai, anthropic } = await createLlmPair(
    { openai: OPENAI_SLUG, anthropic: ANTHROPIC_SLUG },
    {
      upstreamUrl: `${fake.url}/v1`,
      credential: PROVIDER_KEY,
    },
  ));
});
afterAll(() => fake?.close());
beforeEach(() => fake.reset());

describe('models.retrieve through the gateway', () => {
  it('an id with a hidden character raises the OpenAI SDK’s BadRequestError and reaches no provider', async () => {
    for (const id of ['fake-gpt ', 'fake-gpt\u200b', '\tfake-gpt']) {
      const err = await openai.models.retrieve(id).catch((e: unknown) => e);
      expect(err, JSON.stringify(id)).toBeInstanceOf(OpenAI.BadRequestError);
      const bad = err as InstanceType<typeof OpenAI.BadRequestError>;
      expect([bad.status, bad.code]).toEqual([400, 'validation_failed']);
    }
    expect(fake.requests).toHaveLength(0);
  });

  it('and the Anthropic SDK’s BadRequestError, in Anthropic’s shape', async () => {
    const err = await anthropic.models.retrieve('claude-fake\u00a0').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    const bad = err as InstanceType<typeof Anthropic.BadRequestError>;
    expect(bad.status).toBe(400);
    expect((bad.error as { type: string; error: { type: string } }).error.type).toBe('invalid_request_error');
    expect(fake.requests).toHaveLength(0);
  });

  it('a plain id and one holding a slash are forwarded as the SDK encoded them', async () => {
    for (const id of ['fake-gpt', 'meta-llama/Llama-3.1-8B']) {
      await openai.models.retrieve(id).catch(() => undefined); // the fake serves fake-gpt; the other is a 404
    }
    expect(fake.requests.map((r) => [r.method, r.path])).toEqual([
      ['GET', '/v1/models/fake-gpt'],
      ['GET', '/v1/models/meta-llama%2FLlama-3.1-8B'],
    ]);
  });
});
