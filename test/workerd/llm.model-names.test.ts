/**
 * An LLM call's model is its governed name, judged as an MCP tool name is: a model holding
 * whitespace, control or invisible characters (`"gpt-4o "`, `"gpt-4o\u200b"`, a no-break space) is
 * refused 400 in the provider's own error shape before any decision, audited, and never reaches
 * the provider (the real fake provider records every request it receives) — on every route a
 * model is taken from: the JSON body, the Igris-style `"@<slug>/<model>"`, a multipart upload, and
 * the percent-encoded id of `GET /models/<id>` (the SDKs' `models.retrieve`).
 * Plain model names are decided as before.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, createOrg, flushAudit, putPolicy, type TestOrg } from './helpers';

const RUN = Date.now().toString(36);
const OPENAI = `llm-names-${RUN}`;
const ANTHROPIC = `llm-names-anth-${RUN}`;
let org: TestOrg;

/** The spellings of `gpt-4o` (denied below) that a lenient provider may read as `gpt-4o`. */
const SPELLINGS: Array<[string, string]> = [
  ['a trailing space', 'gpt-4o '],
  ['a leading tab', '\tgpt-4o'],
  ['a zero-width space', 'gpt-4o\u200b'],
  ['a no-break space', 'gpt-4o\u00a0'],
  ['a bidi override', 'gpt-4o\u202e'],
  ['a NUL', 'gpt-4o\u0000'],
  ['a soft hyphen', 'gpt\u00ad-4o'],
];

const FAULT = 'model contains whitespace, control or invisible characters: no model is named like that';

async function providerSaw(path: string, marker: string): Promise<number> {
  const res = await fetch(`${env.LLM_FAKE_URL}/__fake/requests`);
  const requests = (await res.json()) as Array<{ path: string; body: unknown }>;
  return requests.filter((r) => r.path === path && JSON.stringify(r.body).includes(marker)).length;
}

async function auditRow(trace: string) {
  await flushAudit();
  return env.DB.prepare('SELECT action, error_code FROM audit_events WHERE trace_id = ?').bind(trace).first();
}

async function llmConnection(slug: string, provider: string) {
  const created = await call('POST', '/api/v1/connections', {
    key: org.key,
    body: {
      slug,
      name: slug,
      type: 'llm',
      upstreamUrl: `${env.LLM_FAKE_URL}/v1`,
      credential: env.LLM_FAKE_KEY,
      settings: { provider },
    },
  });
  expect(created.status, await created.clone().text()).toBe(201);
  await putPolicy(
    slug,
    [
      { model: 'gpt-4o', action: 'deny', reason: 'no gpt-4o here' },
      { tool: '*', action: 'allow' },
    ],
    org.key,
  );
}

beforeAll(async () => {
  org = await createOrg('owner');
  await llmConnection(OPENAI, 'openai-compatible');
  await llmConnection(ANTHROPIC, 'anthropic');
});

const chat = (model: string, marker: string) => ({ model, messages: [{ role: 'user', content: marker }] });
const openAiRefusal = {
  error: {
    message: FAULT,
    type: 'invalid_request_error',
    param: 'model',
    code: 'validation_failed',
    details: { location: 'body', path: 'model' },
  },
};

describe('a model name with a hidden character is refused, audited, never forwarded', () => {
  it.each(SPELLINGS)('%s: the native OpenAI route (JSON body)', async (label, model) => {
    const trace = `names-oa-${label.replace(/\W/g, '_')}-${RUN}`;
    const res = await call('POST', `/llm/${OPENAI}/v1/chat/completions`, {
      key: org.key,
      body: chat(model, trace),
      headers: { 'X-Igris-Trace-Id': trace },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(openAiRefusal);
    expect(await providerSaw('/v1/chat/completions', trace)).toBe(0);
    expect(await auditRow(trace)).toEqual({ action: 'error', error_code: 'validation_failed' });
  });

  it.each(SPELLINGS)('%s: the Igris-style route ("@<slug>/<model>")', async (label, model) => {
    const trace = `names-ig-${label.replace(/\W/g, '_')}-${RUN}`;
    const res = await call('POST', '/v1/chat/completions', {
      key: org.key,
      body: chat(`@${OPENAI}/${model}`, trace),
      headers: { 'X-Igris-Trace-Id': trace },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(openAiRefusal);
    expect(await providerSaw('/v1/chat/completions', trace)).toBe(0);
    expect(await auditRow(trace)).toEqual({ action: 'error', error_code: 'validation_failed' });
  });

  it.each(SPELLINGS)('%s: the Anthropic route, in the Anthropic shape', async (label, model) => {
    const trace = `names-an-${label.replace(/\W/g, '_')}-${RUN}`;
    const res = await call('POST', `/llm/${ANTHROPIC}/v1/messages`, {
      key: org.key,
      body: { ...chat(model, trace), max_tokens: 16 },
      headers: { 'X-Igris-Trace-Id': trace, 'anthropic-version': '2023-06-01' },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      type: 'error',
      error: {
        type: 'invalid_request_error',
        message: FAULT,
        details: { location: 'body', path: 'model' },
      },
    });
    expect(await providerSaw('/v1/messages', trace)).toBe(0);
    expect(await auditRow(trace)).toEqual({ action: 'error', error_code: 'validation_failed' });
  });

  it.each(SPELLINGS)('%s: a multipart transcription upload', async (label, model) => {
    const trace = `names-mp-${label.replace(/\W/g, '_')}-${RUN}`;
    const form = new FormData();
    form.append('model', model);
    form.append('file', new Blob([`audio-${trace}`], { type: 'audio/wav' }));
    const upload = new Request('http://form.test', { method: 'POST', body: form });
    const res = await call('POST', `/llm/${OPENAI}/v1/audio/transcriptions`, {
      key: org.key,
      rawBody: await upload.text(),
      headers: { 'Content-Type': upload.headers.get('Content-Type')!, 'X-Igris-Trace-Id': trace },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(openAiRefusal);
    expect(await providerSaw('/v1/audio/transcriptions', `audio-${trace}`)).toBe(0);
    expect(await auditRow(trace)).toEqual({ action: 'error', error_code: 'validation_failed' });
  });

  it('refuses a model name over the governed-name cap in a multipart upload (no JSON schema caps it there)', async () => {
    const form = new FormData();
    form.append('model', 'm'.repeat(513));
    form.append('file', new Blob(['x']));
    const upload = new Request('http://form.test', { method: 'POST', body: form });
    const res = await call('POST', `/llm/${OPENAI}/v1/audio/transcriptions`, {
      key: org.key,
      rawBody: await upload.text(),
      headers: { 'Content-Type': upload.headers.get('Content-Type')! },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe(
      'model is longer than 512 bytes: no model is named like that',
    );
  });
});

/** Requests the fake provider received for a `GET /v1/models/<id>` whose id holds `marker`. */
async function retrievesSeen(marker: string): Promise<number> {
  const res = await fetch(`${env.LLM_FAKE_URL}/__fake/requests`);
  const requests = (await res.json()) as Array<{ method: string; path: string }>;
  return requests.filter(
    (r) => r.method === 'GET' && r.path.startsWith('/v1/models/') && r.path.includes(marker),
  ).length;
}

const pathRefusal = (message: string) => ({
  error: {
    message,
    type: 'invalid_request_error',
    param: null,
    code: 'validation_failed',
    details: { location: 'path', path: 'model' },
  },
});

describe('the model id of GET /models/<id> is checked the same way', () => {
  it.each(SPELLINGS)('%s (percent-encoded, as a URL carries it)', async (label, model) => {
    const trace = `names-get-${label.replace(/\W/g, '_')}-${RUN}`;
    const res = await call('GET', `/llm/${OPENAI}/v1/models/${encodeURIComponent(`${trace}${model}`)}`, {
      key: org.key,
      headers: { 'X-Igris-Trace-Id': trace },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(pathRefusal(FAULT));
    expect(await retrievesSeen(trace)).toBe(0);
    expect(await auditRow(trace)).toEqual({ action: 'error', error_code: 'validation_failed' });
  });

  it('refuses it in the Anthropic shape on an Anthropic connection', async () => {
    const trace = `names-get-anth-${RUN}`;
    const res = await call('GET', `/llm/${ANTHROPIC}/v1/models/${trace}%E2%80%8B`, {
      key: org.key,
      headers: { 'X-Igris-Trace-Id': trace, 'anthropic-version': '2023-06-01' },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      type: 'error',
      error: { type: 'invalid_request_error', message: FAULT, details: { location: 'path', path: 'model' } },
    });
    expect(await retrievesSeen(trace)).toBe(0);
  });

  it('refuses an id that is not percent-encoded UTF-8, or that decodes to an empty, "." or ".." part', async () => {
    for (const [id, message] of [
      ['x-%E2%80', 'model id in the path is not percent-encoded UTF-8'],
      ['x-%zz', 'model id in the path is not percent-encoded UTF-8'],
      [
        '%2E%2E%2Fchat%2Fcompletions',
        'model id in the path has an empty, "." or ".." segment: no model is named like that',
      ],
      ['org%2F%2Fx', 'model id in the path has an empty, "." or ".." segment: no model is named like that'],
      ['x%2F.', 'model id in the path has an empty, "." or ".." segment: no model is named like that'],
    ] as const) {
      const res = await call('GET', `/llm/${OPENAI}/v1/models/${id}`, { key: org.key });
      expect(res.status, id).toBe(400);
      expect(await res.json()).toEqual(pathRefusal(message));
    }
  });

  it('forwards a plain id, one with an encoded slash, and the list, as sent', async () => {
    for (const id of [
      `fake-gpt-${RUN}`,
      `meta-llama%2FLlama-3.1-8B-${RUN}`,
      `claude-3-5%3Abeta%402024.10-${RUN}`,
    ]) {
      const res = await call('GET', `/llm/${OPENAI}/v1/models/${id}`, { key: org.key });
      await res.text();
      expect(await retrievesSeen(id), id).toBe(1);
    }
    const list = await call('GET', `/llm/${OPENAI}/v1/models`, { key: org.key });
    expect(list.status).toBe(200);
    await list.text();
  });
});

describe('plain model names are decided as before', () => {
  it('forwards an allowed model and denies gpt-4o on every route', async () => {
    for (const [path, model] of [
      [`/llm/${OPENAI}/v1/chat/completions`, 'fake-gpt'],
      ['/v1/chat/completions', `@${OPENAI}/fake-gpt`],
      // A model name may hold a slash, a colon, an @ or a dot (provider ids do).
      [`/llm/${OPENAI}/v1/chat/completions`, 'org/fake-gpt:v1.2@latest'],
    ] as const) {
      const marker = `names-plain-${Math.random().toString(36).slice(2)}`;
      const ok = await call('POST', path, { key: org.key, body: chat(model, marker) });
      expect(ok.status, `${path} ${model}`).toBe(200);
      await ok.text();
      expect(await providerSaw('/v1/chat/completions', marker)).toBe(1);
    }
    for (const [path, model] of [
      [`/llm/${OPENAI}/v1/chat/completions`, 'gpt-4o'],
      ['/v1/chat/completions', `@${OPENAI}/gpt-4o`],
    ] as const) {
      const denied = await call('POST', path, { key: org.key, body: chat(model, 'x') });
      expect(denied.status).toBe(403);
      expect(((await denied.json()) as { error: { code: string } }).error.code).toBe('policy_denied');
    }
    const anthropic = await call('POST', `/llm/${ANTHROPIC}/v1/messages`, {
      key: org.key,
      body: { ...chat('fake-echo', 'hello'), max_tokens: 16 },
      headers: { 'anthropic-version': '2023-06-01' },
    });
    expect(anthropic.status).toBe(200);
    await anthropic.text();
  });
});
