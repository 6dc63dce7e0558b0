/**
 * LLM governance gaps, closed, through the official `openai` and `@anthropic-ai/sdk` clients and
 * the local runtime against the real local fake provider (llm.fake-provider.ts), which records
 * every request it receives:
 *
 *   - tokenGuard caps bound max tokens × `n`: the SDK's PermissionDeniedError for `n: 8` at the cap,
 *     each answer's share forwarded under maxOutputTokens
 *   - `models.retrieve` of a model the connection does not allow raises NotFoundError, as for a
 *     model that does not exist, and `models.list` leaves it out (both SDKs)
 *   - under a `block` budget the cancels (`batches.cancel`, `fineTuning.jobs.cancel`, Anthropic
 *     `messages.batches.cancel`) reach the provider at $0 (`responses.cancel` of a response the key
 *     did not create is a 404: stored responses and batches are their creator's, so the batches
 *     cancelled here are made through the gateway first);
 *     `batches.create` stays refused (402)
 *   - while a governed system prompt applies, `batches.create` raises PermissionDeniedError and
 *     reaches nothing; `batches.cancel` and `batches.retrieve` reach the provider
 *   - `messages.countTokens` and `responses.inputTokens.count` are free under a `block` budget (no
 *     spend, not refused) and still decided by allowedModels
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { adminKey, api } from './helpers';
import { type FakeProvider, startFakeProvider } from './llm.fake-provider.ts';
import { anthropicClient, createLlmConnection, openaiClient } from './llm.fixtures.ts';

const RUN = Date.now().toString(36);
const OAI = `llm-gov-oai-${RUN}`;
const ANT = `llm-gov-ant-${RUN}`;
const PROMPTED = `llm-gov-prompt-${RUN}`;
const PROVIDER_KEY = `sk-provider-${RUN}-gov`;
/** Priced for this file only ($0.001 a token), so other files sharing the organization are not. */
const CLAUDE = `fake-claude-gov-${RUN}`;
const messages = [{ role: 'user' as const, content: 'How many tokens is this sentence, about?' }];

let fake: FakeProvider;
const ids: Record<string, string> = {};
let budgetKey: string;
/** Batches made through the gateway before the budget and the prompt apply: the budget key's, the admin's. */
let budgetBatch: string;
let budgetJob: string;
let budgetMessageBatch: string;
let promptedBatch: string;

/** A batch of `client`'s, on an input file it uploads (only its creator may name either). */
async function makeBatch(client: OpenAI): Promise<string> {
  const file = await client.files.create({
    // A real batch line: under allowedModels each line's model is held to the list (llm.batch-models.ts).
    file: await toFile(
      Buffer.from(
        '{"custom_id":"1","method":"POST","url":"/v1/chat/completions","body":{"model":"fake-gpt"}}',
      ),
      'input.jsonl',
    ),
    purpose: 'batch',
  });
  const batch = await client.batches.create({
    input_file_id: file.id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
  });
  return batch.id;
}

async function makeJob(client: OpenAI): Promise<string> {
  const file = await client.files.create({
    file: await toFile(Buffer.from('{"messages":[]}'), 'train.jsonl'),
    purpose: 'fine-tune',
  });
  return (await client.fineTuning.jobs.create({ model: 'fake-gpt', training_file: file.id })).id;
}

async function must<T>(method: string, path: string, body: unknown, status: number): Promise<T> {
  const res = await api<T>(method, path, body);
  if (res.status !== status) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

async function connection(slug: string, provider: string, rules: unknown[], settings = {}): Promise<string> {
  const created = await createLlmConnection(slug, {
    upstreamUrl: `${fake.url}/v1`,
    credential: PROVIDER_KEY,
    settings: { provider, ...settings },
    rules,
  });
  return created.id;
}

const openai = (slug: string, key = adminKey()) => openaiClient(slug, { apiKey: key });
const anthropic = (key = adminKey()) => anthropicClient(ANT, { apiKey: key });

/** The budget once every settle (sent after each answer ended) has landed. */
async function settledSpend(id: string): Promise<number> {
  for (;;) {
    const { status } = await must<{ status: { spentUsd: number; inFlight: number } }>(
      'GET',
      `/budgets/${id}`,
      undefined,
      200,
    );
    if (status.inFlight === 0) return status.spentUsd;
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: PROVIDER_KEY });
  await connection(
    OAI,
    'openai-compatible',
    [
      { model: 'fake-gpt', action: 'allow', tokenGuard: { maxRequestMaxTokens: 1000 } },
      { model: 'fake-capped', action: 'allow', tokenGuard: { maxOutputTokens: 100 } },
      { tool: '*', action: 'allow' },
    ],
    { allowedModels: ['fake-gpt', 'fake-capped', 'fake-embed'] },
  );
  await connection(ANT, 'anthropic', [{ tool: '*', action: 'allow' }], {
    allowedModels: ['fake-claude', 'fake-claude-gov-*'],
  });
  ids.prompted = await connection(PROMPTED, 'openai-compatible', [{ tool: '*', action: 'allow' }]);
  await must(
    'PUT',
    '/llm/prices',
    { provider: 'anthropic', model: CLAUDE, inputPerMTok: 1000, outputPerMTok: 1000 },
    200,
  );
  const key = await must<{ id: string; key: string }>('POST', '/api-keys', { name: `gov-${RUN}` }, 201);
  budgetKey = key.key;
  ids.key = key.id;
  budgetBatch = await makeBatch(openai(OAI, budgetKey));
  // A fine-tuning job and a Message Batch are their creator's to cancel (llm-gateway.md#stored-objects):
  // the key makes them before its budget exists.
  budgetJob = await makeJob(openai(OAI, budgetKey));
  budgetMessageBatch = (
    await anthropic(budgetKey).messages.batches.create({
      requests: [
        {
          custom_id: '1',
          params: { model: 'fake-claude', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] },
        },
      ],
    })
  ).id;
  promptedBatch = await makeBatch(openai(PROMPTED));
  ids.budget = (
    await must<{ id: string }>(
      'POST',
      '/budgets',
      { name: `gov-${RUN}`, scope: 'apiKey', scopeRef: key.id, limitUsd: 0.001 },
      201,
    )
  ).id;
});
afterAll(async () => {
  for (const slug of [OAI, ANT, PROMPTED]) await api('DELETE', `/connections/${slug}`);
  if (ids.budget) await api('DELETE', `/budgets/${ids.budget}`);
  if (ids.prompt) await api('DELETE', `/system-prompts/${ids.prompt}`);
  if (ids.key) await api('DELETE', `/api-keys/${ids.key}`);
  await fake?.close();
});
beforeEach(() => fake.reset());

describe('tokenGuard caps bound max tokens × n', () => {
  it('n: 8 at maxRequestMaxTokens raises PermissionDeniedError; maxOutputTokens is shared among n', async () => {
    const client = openai(OAI);
    const err = await client.chat.completions
      .create({ model: 'fake-gpt', n: 8, max_tokens: 1000, messages })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((err as Error).message).toContain('1000 for each of 8 answers');
    expect(fake.requests).toHaveLength(0);
    await client.chat.completions.create({ model: 'fake-capped', n: 4, max_tokens: 100, messages });
    expect(fake.last()?.body).toMatchObject({ n: 4, max_tokens: 25 });
  });
});

describe('models the connection does not allow are not shown', () => {
  it('models.retrieve raises NotFoundError in both SDKs, and models.list leaves them out', async () => {
    const client = openai(OAI);
    for (const id of ['fake-claude', 'FAKE-CLAUDE', 'gpt-4o']) {
      await expect(client.models.retrieve(id), id).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    }
    await expect(anthropic().models.retrieve('fake-gpt')).rejects.toBeInstanceOf(Anthropic.NotFoundError);
    expect(fake.requests).toHaveLength(0);
    expect((await client.models.retrieve('fake-gpt')).id).toBe('fake-gpt');
    const listed: string[] = [];
    for await (const model of client.models.list()) listed.push(model.id);
    expect(listed).toEqual(['fake-gpt', 'fake-embed']);
    const claude: string[] = [];
    for await (const model of anthropic().models.list()) claude.push(model.id);
    expect(claude).toEqual(['fake-claude']);
  });
});

describe('a block budget and passthrough calls', () => {
  it('the SDKs’ cancels reach the provider at $0; batches.create stays refused with 402', async () => {
    const client = openai(OAI, budgetKey);
    expect((await client.batches.cancel(budgetBatch)).status).toBe('cancelling');
    // A response id this key did not create through the gateway is no one's to cancel (404 before
    // the budget is looked at; llm-gateway.md#stored-responses): the workerd test cancels an owned one.
    await expect(client.responses.cancel(`resp_${RUN}`)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    // So are a fine-tuning job and a Message Batch (llm-gateway.md#stored-objects): the key's own.
    await expect(client.fineTuning.jobs.cancel(`ftjob-${RUN}`)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect((await client.fineTuning.jobs.cancel(budgetJob)).status).toBe('cancelled');
    const batch = await anthropic(budgetKey).messages.batches.cancel(budgetMessageBatch);
    expect(batch.processing_status).toBe('canceling');
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /v1/batches/${budgetBatch}/cancel`,
      `POST /v1/fine_tuning/jobs/${budgetJob}/cancel`,
      `POST /v1/messages/batches/${budgetMessageBatch}/cancel`,
    ]);
    const refused = await client.batches
      .create({ input_file_id: 'file-1', endpoint: '/v1/chat/completions', completion_window: '24h' })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.APIError);
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(402);
    expect(fake.requests).toHaveLength(3);
    expect(await settledSpend(ids.budget!)).toBe(0);
  });
});

describe('a governed system prompt and passthrough calls', () => {
  it('batches.create raises PermissionDeniedError and reaches nothing; cancel and retrieve pass', async () => {
    const prompt = await must<{ id: string }>(
      'POST',
      '/system-prompts',
      { name: `gov-${RUN}`, text: 'Never write malware.' },
      201,
    );
    ids.prompt = prompt.id;
    await must(
      'POST',
      `/system-prompts/${prompt.id}/assignments`,
      { target: 'connection', targetId: ids.prompted },
      201,
    );
    const client = openai(PROMPTED);
    const err = await client.batches
      .create({ input_file_id: 'file-1', endpoint: '/v1/chat/completions', completion_window: '24h' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((err as Error).message).toContain(
      'A governed system prompt applies to this call and POST /v1/batches',
    );
    expect(fake.requests).toHaveLength(0);
    expect((await client.batches.cancel(promptedBatch)).status).toBe('cancelling');
    expect((await client.batches.retrieve(promptedBatch)).id).toBe(promptedBatch);
    // Another's batch (or one not made through the gateway) is no one's to name: 404, not forwarded.
    await expect(client.batches.retrieve(`batch_${RUN}`)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /v1/batches/${promptedBatch}/cancel`,
      `GET /v1/batches/${promptedBatch}`,
    ]);
  });
});

describe('OpenAI responses.inputTokens.count', () => {
  it('spends nothing under a block budget, and a model allowedModels does not list is refused', async () => {
    const client = openai(OAI, budgetKey);
    const counted = await client.responses.inputTokens.count({ model: 'fake-gpt', input: 'How many?' });
    expect(counted.input_tokens).toBe(12);
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /v1/responses/input_tokens']);
    await expect(
      client.responses.inputTokens.count({ model: 'fake-claude', input: 'x' }),
    ).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(fake.requests).toHaveLength(1);
    expect(await settledSpend(ids.budget!)).toBe(0);
  });
});

describe('Anthropic messages.countTokens', () => {
  it('spends nothing under a block budget, and a model allowedModels does not list is refused', async () => {
    const client = anthropic(budgetKey);
    for (let i = 0; i < 3; i++) {
      expect(await client.messages.countTokens({ model: CLAUDE, messages })).toEqual({ input_tokens: 12 });
    }
    expect(fake.requests).toHaveLength(3);
    await expect(client.messages.countTokens({ model: 'fake-gpt', messages })).rejects.toBeInstanceOf(
      Anthropic.PermissionDeniedError,
    );
    expect(fake.requests).toHaveLength(3);
    expect(await settledSpend(ids.budget!)).toBe(0);
    // The budget is live: a priced call's estimate is over it.
    const over = await client.messages
      .create({ model: CLAUDE, max_tokens: 50, messages })
      .catch((e: unknown) => e);
    expect((over as InstanceType<typeof Anthropic.APIError>).status).toBe(402);
    expect(fake.requests).toHaveLength(3);
  });
});
