/**
 * Passthrough calls (paths outside the endpoint catalog that a rule allows) under budgets and
 * governed system prompts, and the free endpoints under budgets, against the real fake provider
 * and the real BudgetCounter objects (docs/budgets-and-prompts.md):
 *
 *   - a `block` budget refuses passthrough work (POST /v1/batches: 402) but lets the cancels through
 *     (llm.passthrough.ts: an exact allow-list; every other spelling of a cancel is refused and
 *     never reaches the provider), at $0
 *   - while a governed system prompt applies, passthrough work is refused (403 policy_denied,
 *     nothing forwarded); reads, removals and cancels pass
 *   - Anthropic count_tokens and OpenAI responses/input_tokens are free: no reservation, no charge,
 *     not refused under a `block` budget (even for a model without a price), and still decided by
 *     allowedModels and the policy; under a governed prompt they count it too
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { call, createApiKeyVia, createOrg, expectJson, type TestOrg } from './helpers';
import {
  budgetedKey,
  llmConnection,
  priceModel,
  providerRequests,
  providerSaw,
  settledBudget,
} from './llm.governance.fixtures';

const RUN = Date.now().toString(36);
const BUDGETED = `llm-pt-bud-${RUN}`;
const BUDGETED_ANT = `llm-pt-bud-ant-${RUN}`;
const PROMPTED = `llm-pt-prompt-${RUN}`;
const ANTHROPIC_HEADERS = { 'anthropic-version': '2023-06-01' };
const ALLOW_ALL = [
  { model: 'fake-claude-denied', action: 'deny' },
  { tool: '*', action: 'allow' },
];
let org: TestOrg;
let promptedId: string;

beforeAll(async () => {
  org = await createOrg('owner');
  // Assistants threads are among the calls refused here: these connections let their callers share
  // them (llm-gateway.md#stored-objects), so what refuses them is the budget or the prompt.
  await llmConnection(org, BUDGETED, 'openai-compatible', ALLOW_ALL, {
    allowedModels: ['fake-gpt*'],
    sharedProviderObjects: true,
  });
  await llmConnection(org, BUDGETED_ANT, 'anthropic', ALLOW_ALL, {
    allowedModels: ['fake-claude', 'fake-claude-unpriced', 'fake-claude-denied'],
  });
  promptedId = await llmConnection(org, PROMPTED, 'openai-compatible', ALLOW_ALL, {
    sharedProviderObjects: true,
  });
  await priceModel(org, 'anthropic', 'fake-claude');
});

/** A passthrough call; its status and body text. */
async function passthrough(method: string, slug: string, path: string, key: string, body?: unknown) {
  const res = await call(method, `/llm/${slug}/v1${path}`, {
    key,
    body,
    headers: slug.includes('-ant-') ? ANTHROPIC_HEADERS : {},
  });
  return { status: res.status, text: await res.text() };
}

describe('a block budget and passthrough calls', () => {
  it('lets the exact cancels through at $0, refuses every other spelling and all other work', async () => {
    // A fine-tuning job and a Message Batch are their creator's to cancel
    // (llm-gateway.md#stored-objects): the key makes them before its budget exists.
    const maker = await createApiKeyVia(org.key, `pt-cancel-jobs-${RUN}`);
    const made = await Promise.all([
      passthrough('POST', BUDGETED, '/fine_tuning/jobs', maker.key, { model: 'fake-gpt' }),
      passthrough('POST', BUDGETED_ANT, '/messages/batches', maker.key, { requests: [] }),
    ]);
    const [jobId, messageBatchId] = made.map((m) => (JSON.parse(m.text) as { id: string }).id);
    const { key, budgetId } = await budgetedKey(org, `pt-cancel-${RUN}`, 0.001, maker);
    for (const [slug, path] of [
      [BUDGETED, `/fine_tuning/jobs/${jobId}/cancel`],
      [BUDGETED_ANT, `/messages/batches/${messageBatchId}/cancel`],
    ] as const) {
      const res = await passthrough('POST', slug, path, key);
      expect(res.status, path).toBe(200);
      expect(JSON.parse(res.text), path).toMatchObject({ id: path.split('/').at(-2) });
      expect(await providerSaw('POST', `/v1${path}`), path).toBe(1);
    }
    for (const path of [
      `/batches/batch_${RUN}/cancel/`,
      `/batches/batch_${RUN}/Cancel`,
      `/Batches/batch_${RUN}/cancel`,
      `/batches/batch_${RUN}/%63ancel`,
      `/batches/batch%5F${RUN}/cancel`,
      `/batches/a%2F..%2F${RUN}/cancel`,
      `/batches//cancel`,
      `/batches/batch_${RUN}/cancel?after=x`,
      '/batches',
      '/threads/thread_1/runs',
      '/realtime/sessions',
    ]) {
      const seen = () => providerSaw('POST', `/v1${path.split('?')[0]}`);
      const before = await seen();
      const res = await passthrough('POST', BUDGETED, path, key, {});
      expect(res.status, path).toBe(402);
      expect(JSON.parse(res.text).error, path).toMatchObject({
        type: 'insufficient_quota',
        code: 'budget_exceeded',
      });
      expect(await seen(), path).toBe(before);
    }
    // A stored response's and a batch's cancel: only their creator may name them
    // (llm-gateway.md#stored-responses, #stored-objects), so the key creates them before its budget
    // exists, then cancels them under the block budget.
    const owner = await createApiKeyVia(org.key, `pt-cancel-resp-${RUN}`);
    const createdRes = await call('POST', `/llm/${BUDGETED}/v1/responses`, {
      key: owner.key,
      body: { model: 'fake-gpt', input: 'hello' },
    });
    const { id: responseId } = await expectJson<{ id: string }>(createdRes, 200);
    const createdBatch = await passthrough('POST', BUDGETED, '/batches', owner.key, {});
    expect(createdBatch.status).toBe(200);
    const batchId = (JSON.parse(createdBatch.text) as { id: string }).id;
    const ownerBudget = await call('POST', '/api/v1/budgets', {
      key: org.key,
      body: { scope: 'apiKey', scopeRef: owner.id, limitUsd: 0.001, name: `pt-cancel-resp-${RUN}` },
    });
    expect(ownerBudget.status).toBe(201);
    const cancelled = await passthrough('POST', BUDGETED, `/responses/${responseId}/cancel`, owner.key);
    expect(cancelled.status, cancelled.text).toBe(200);
    expect(JSON.parse(cancelled.text)).toMatchObject({ id: responseId });
    expect(await providerSaw('POST', `/v1/responses/${responseId}/cancel`)).toBe(1);
    const batchCancelled = await passthrough('POST', BUDGETED, `/batches/${batchId}/cancel`, owner.key);
    expect(batchCancelled.status, batchCancelled.text).toBe(200);
    expect(JSON.parse(batchCancelled.text)).toMatchObject({ id: batchId, status: 'cancelling' });
    expect(await providerSaw('POST', `/v1/batches/${batchId}/cancel`)).toBe(1);
    // The budget was in force for that key: its passthrough work is refused.
    expect((await passthrough('POST', BUDGETED, '/batches', owner.key, {})).status).toBe(402);
    // Another method is not a cancel: the LLM routes take only GET, POST and DELETE (405).
    expect((await passthrough('PATCH', BUDGETED, `/batches/batch_${RUN}/cancel`, key, {})).status).toBe(405);
    // Reads and removals were never refused, and still are not.
    expect((await passthrough('GET', BUDGETED, `/batches/batch_${RUN}`, key)).status).toBe(404);
    expect(await settledBudget(org, budgetId)).toMatchObject({ spentUsd: 0, reservedUsd: 0 });
  });
});

describe('a governed system prompt and passthrough calls', () => {
  it('refuses passthrough work (403, nothing forwarded); reads, removals and cancels pass', async () => {
    // A batch of the key's, made before the prompt applies (only its creator may name it).
    const made = await passthrough('POST', PROMPTED, '/batches', org.key, {});
    expect(made.status).toBe(200);
    const batchId = (JSON.parse(made.text) as { id: string }).id;
    const created = await call('POST', '/api/v1/system-prompts', {
      key: org.key,
      body: { name: `pt-prompt-${RUN}`, text: 'Never write malware.' },
    });
    const prompt = await expectJson<{ id: string }>(created, 201);
    const assigned = await call('POST', `/api/v1/system-prompts/${prompt.id}/assignments`, {
      key: org.key,
      body: { target: 'connection', targetId: promptedId },
    });
    await expectJson(assigned, 201);
    for (const [method, path] of [
      ['POST', '/batches'],
      ['POST', `/threads/thread_${RUN}/runs`],
      ['POST', '/threads/runs'],
      ['POST', '/realtime/sessions'],
      ['POST', `/batches/batch_${RUN}/cancel/`],
      ['POST', `/vector_stores/vs_${RUN}/file_batches`],
    ] as const) {
      const before = await providerSaw(method, `/v1${path}`);
      const res = await passthrough(method, PROMPTED, path, org.key, { model: 'fake-gpt', input: 'hi' });
      expect(res.status, path).toBe(403);
      const error = JSON.parse(res.text).error;
      expect(error, path).toMatchObject({
        type: 'permission_error',
        code: 'policy_denied',
        details: { reason: 'system_prompt_not_applicable', endpoint: 'passthrough' },
      });
      expect(error.message, path).toContain(
        `A governed system prompt applies to this call and ${method} /v1${path}`,
      );
      expect(await providerSaw(method, `/v1${path}`), path).toBe(before);
    }
    const cancel = await passthrough('POST', PROMPTED, `/batches/${batchId}/cancel`, org.key);
    expect(cancel.status).toBe(200);
    expect(await providerSaw('POST', `/v1/batches/${batchId}/cancel`)).toBe(1);
    expect((await passthrough('GET', PROMPTED, `/batches/${batchId}`, org.key)).status).toBe(200);
    const removal = await passthrough('DELETE', PROMPTED, `/batches/${batchId}`, org.key);
    expect(removal.status).toBe(404); // the provider's: it has no such route
    expect(await providerSaw('GET', `/v1/batches/${batchId}`)).toBe(1);
    expect(await providerSaw('DELETE', `/v1/batches/${batchId}`)).toBe(1);
    await call('DELETE', `/api/v1/system-prompts/${prompt.id}`, { key: org.key });
    // Without a prompt, the same creation is forwarded as before (an input_file_id would have to be
    // a file of the caller's: llm-gateway.md#stored-objects).
    expect(
      (await passthrough('POST', PROMPTED, '/batches', org.key, { endpoint: '/v1/embeddings' })).status,
    ).toBe(200);
  });
});

describe('Anthropic count_tokens under a block budget', () => {
  it('reserves and charges nothing, even for an unpriced model, and is still decided by allowedModels and the policy', async () => {
    const { key, budgetId } = await budgetedKey(org, `pt-count-${RUN}`, 0.001);
    const count = (model: string) =>
      call('POST', `/llm/${BUDGETED_ANT}/v1/messages/count_tokens`, {
        key,
        body: { model, messages: [{ role: 'user', content: 'How many tokens is this sentence, about?' }] },
        headers: ANTHROPIC_HEADERS,
      });
    // The estimate of this prompt at $0.001 a token is over the whole budget: reserving it would refuse.
    for (const model of ['fake-claude', 'fake-claude', 'fake-claude-unpriced']) {
      const res = await count(model);
      expect(res.status, model).toBe(200);
      expect(await res.json()).toEqual({ input_tokens: 12 });
    }
    for (const [model, status] of [
      ['fake-gpt', 403], // not in allowedModels
      ['fake-claude-denied', 403], // denied by the policy
    ] as const) {
      const res = await count(model);
      expect(res.status, model).toBe(status);
      expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
    }
    expect(await settledBudget(org, budgetId)).toMatchObject({ spentUsd: 0, reservedUsd: 0 });
    // A priced call still counts against the same budget (so the budget is live): over it, 402.
    const messages = await call('POST', `/llm/${BUDGETED_ANT}/v1/messages`, {
      key,
      body: { model: 'fake-claude', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] },
      headers: ANTHROPIC_HEADERS,
    });
    expect(messages.status).toBe(402);
    await messages.text();
  });
});

describe('OpenAI responses/input_tokens', () => {
  it('is an endpoint of its own: free under a block budget, decided by allowedModels, counts the governed prompt', async () => {
    const { key, budgetId } = await budgetedKey(org, `pt-input-${RUN}`, 0.001);
    const count = (slug: string, model: string, caller: string) =>
      call('POST', `/llm/${slug}/v1/responses/input_tokens`, {
        key: caller,
        body: { model, input: `count me ${RUN}` },
      });
    // fake-gpt has no price here: a counted call would be refused under the block budget.
    const free = await count(BUDGETED, 'fake-gpt', key);
    expect(free.status).toBe(200);
    expect(await free.json()).toEqual({ object: 'response.input_tokens', input_tokens: 12 });
    const before = await providerSaw('POST', '/v1/responses/input_tokens');
    const refused = await count(BUDGETED, 'gpt-4o', key);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('policy_denied');
    expect(await providerSaw('POST', '/v1/responses/input_tokens')).toBe(before);
    expect(await settledBudget(org, budgetId)).toMatchObject({ spentUsd: 0, reservedUsd: 0 });
    // Under a governed prompt it is counted with the prompt, as the model would see it.
    const created = await call('POST', '/api/v1/system-prompts', {
      key: org.key,
      body: { name: `pt-input-${RUN}`, text: 'Count me in.' },
    });
    const prompt = await expectJson<{ id: string }>(created, 201);
    await expectJson(
      await call('POST', `/api/v1/system-prompts/${prompt.id}/assignments`, {
        key: org.key,
        body: { target: 'connection', targetId: promptedId },
      }),
      201,
    );
    const counted = await count(PROMPTED, 'fake-gpt', org.key);
    expect(counted.status).toBe(200);
    await counted.text();
    const seen = (await providerRequests()).filter((r) => r.path === '/v1/responses/input_tokens').at(-1);
    expect(seen?.body).toMatchObject({ model: 'fake-gpt', instructions: 'Count me in.' });
    await call('DELETE', `/api/v1/system-prompts/${prompt.id}`, { key: org.key });
  });
});
