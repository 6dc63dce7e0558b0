/**
 * A model the connection does not allow is not shown, on any route that shows one (docs/llm-gateway.md
 * "Model visibility"): `GET /models/<id>` (the SDKs' `models.retrieve`) is decided like a call on that
 * model — allowedModels, then the policy — and refused as the provider answers a model that does not
 * exist (404 in its own shape), in every spelling of the id (percent-encoding, case); the provider's
 * own list (`GET /models`) comes back without the models allowedModels or the policy hides. Against
 * the real fake provider, which serves fake-gpt, fake-claude and fake-embed and records what it got.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { call, createOrg, type TestOrg } from './helpers';
import { auditRowOf, llmConnection, providerSaw } from './llm.governance.fixtures';

const RUN = Date.now().toString(36);
const OPENAI = `llm-vis-${RUN}`;
const ANTHROPIC = `llm-vis-ant-${RUN}`;
const ANTHROPIC_HEADERS = { 'anthropic-version': '2023-06-01' };
let org: TestOrg;

const RULES = [
  { model: 'fake-embed', action: 'deny', reason: 'no embeddings here' },
  { tool: '*', action: 'allow' },
];

beforeAll(async () => {
  org = await createOrg('owner');
  await llmConnection(org, OPENAI, 'openai-compatible', RULES, {
    allowedModels: ['fake-gpt*', 'fake-embed'],
  });
  await llmConnection(org, ANTHROPIC, 'anthropic', RULES, { allowedModels: ['fake-claude'] });
});

async function retrieve(slug: string, id: string, headers: Record<string, string> = {}) {
  const trace = `vis-${Math.random().toString(36).slice(2)}`;
  const res = await call('GET', `/llm/${slug}/v1/models/${id}`, {
    key: org.key,
    headers: { ...headers, 'X-Igris-Trace-Id': trace },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, trace };
}

describe('GET /models/<id> of a model the connection does not allow', () => {
  it('answers 404 in OpenAI’s shape, in every spelling of the id, and reaches no provider', async () => {
    for (const id of ['fake-claude', 'fake%2Dclaude', 'FAKE-CLAUDE', 'fake-embed', 'Fake-Embed', 'gpt-4o']) {
      const before = await providerSaw('GET', `/v1/models/${id}`);
      const hidden = await retrieve(OPENAI, id);
      expect(hidden.status, id).toBe(404);
      expect(hidden.body, id).toEqual({
        error: {
          message: expect.stringMatching(/^The model ".+" does not exist or you do not have access to it$/),
          type: 'not_found_error',
          param: null,
          code: 'not_found',
          details: { reason: 'model_not_available', location: 'path', path: 'model' },
        },
      });
      expect(await providerSaw('GET', `/v1/models/${id}`), id).toBe(before);
    }
    // Its row: a deny, and why (allowedModels or the policy's rule), never a plain error.
    const byPolicy = await retrieve(OPENAI, 'fake-embed');
    const row = await auditRowOf(byPolicy.trace);
    expect([row?.action, row?.error_code, row?.model, row?.method]).toEqual([
      'deny',
      'not_found',
      'fake-embed',
      'models',
    ]);
    expect(JSON.parse(row?.details ?? '{}')).toMatchObject({
      reason: 'no embeddings here',
      findings: [expect.objectContaining({ kind: 'model_hidden', detail: { reason: 'no embeddings here' } })],
    });
  });

  it('and in Anthropic’s shape on an Anthropic connection; an allowed model is retrieved as before', async () => {
    const hidden = await retrieve(ANTHROPIC, 'fake-gpt', ANTHROPIC_HEADERS);
    expect(hidden.status).toBe(404);
    expect(hidden.body).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    const shown = await retrieve(ANTHROPIC, 'fake-claude', ANTHROPIC_HEADERS);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({ type: 'model', id: 'fake-claude' });
    // An allowed model is retrieved from the provider as before.
    const before = await providerSaw('GET', '/v1/models/fake-gpt');
    const allowed = await retrieve(OPENAI, 'fake-gpt');
    expect(allowed.status).toBe(200);
    expect(allowed.body).toMatchObject({ id: 'fake-gpt', object: 'model' });
    expect(await providerSaw('GET', '/v1/models/fake-gpt')).toBe(before + 1);
  });
});

describe('the provider’s model list (GET /models)', () => {
  it('comes back without the models allowedModels or the policy hides', async () => {
    const openai = await call('GET', `/llm/${OPENAI}/v1/models`, { key: org.key });
    expect(openai.status).toBe(200);
    const shown = (await openai.json()) as { object: string; data: Array<{ id: string }> };
    expect([shown.object, shown.data.map((m) => m.id)]).toEqual(['list', ['fake-gpt']]);
    const anthropic = await call('GET', `/llm/${ANTHROPIC}/v1/models`, {
      key: org.key,
      headers: ANTHROPIC_HEADERS,
    });
    expect(anthropic.status).toBe(200);
    const list = (await anthropic.json()) as { data: Array<{ id: string }>; has_more: boolean };
    expect(list.data.map((m) => m.id)).toEqual(['fake-claude']);
    expect(list.has_more).toBe(false);
  });
});
