/**
 * A passthrough call's model is held to the connection's `allowedModels` (llm.passthrough-model.ts,
 * docs/llm-gateway.md#passthrough-and-allowedmodels), against the real fake provider: the query's
 * `model`, a JSON body's top-level `model` (whatever the Content-Type), a form's `model` field. A
 * model outside the list, or one the gateway cannot read unambiguously, is refused (403
 * policy_denied, audited) and never reaches the provider; calls naming no model, or an allowed one,
 * are forwarded. The model read here never makes a policy `model` rule match.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { call, createOrg, type TestOrg } from './helpers';
import { auditRowOf, llmConnection, providerRequests } from './llm.governance.fixtures';

const RUN = Date.now().toString(36);
const LISTED = `llm-ptm-listed-${RUN}`;
const OPEN = `llm-ptm-open-${RUN}`;
const MODEL_RULE = `llm-ptm-rule-${RUN}`;
const LISTED_ANTHROPIC = `llm-ptm-anthropic-${RUN}`;
let org: TestOrg;

beforeAll(async () => {
  org = await createOrg('owner');
  const allowAll = [{ tool: '*', action: 'allow' }];
  await llmConnection(org, LISTED, 'openai-compatible', allowAll, { allowedModels: ['fake-gpt*'] });
  await llmConnection(org, OPEN, 'openai-compatible', allowAll);
  await llmConnection(org, LISTED_ANTHROPIC, 'anthropic', allowAll, { allowedModels: ['claude-ok*'] });
  // Only a model rule allows anything: chat with fake-gpt*; passthrough must stay denied.
  await llmConnection(org, MODEL_RULE, 'openai-compatible', [{ model: 'fake-gpt*', action: 'allow' }], {
    allowedModels: ['fake-gpt*'],
  });
});

interface Sent {
  path: string;
  body?: string;
  type?: string;
}

/** A multipart body of `fields` (name → values) and its Content-Type. */
async function multipart(fields: Array<[string, string | Blob]>): Promise<{ body: string; type: string }> {
  const form = new FormData();
  for (const [name, value] of fields) form.append(name, value);
  const res = new Response(form);
  return { body: await res.text(), type: res.headers.get('Content-Type')! };
}

let n = 0;
/**
 * Sends `sent` (POST when it has a body, else GET) through `slug`, marked with a query parameter of
 * its own (`ptm`) so that what reached the provider is counted for this call alone.
 */
async function send(slug: string, sent: Sent) {
  const marker = `${RUN}_${++n}`;
  const trace = `ig_trace_ptm_${marker}`;
  const path = `${sent.path}${sent.path.includes('?') ? '&' : '?'}ptm=${marker}`;
  const method = sent.body === undefined ? 'GET' : 'POST';
  const headers: Record<string, string> = { 'X-Igris-Trace-Id': trace };
  if (sent.type) headers['Content-Type'] = sent.type;
  const res = await call(method, `/llm/${slug}/v1${path}`, { key: org.key, rawBody: sent.body, headers });
  const text = await res.text();
  const seen = (await providerRequests()) as Array<{ query?: Record<string, string> }>;
  return { status: res.status, text, trace, hits: seen.filter((r) => r.query?.ptm === marker).length };
}

const json = (value: unknown) => ({ body: JSON.stringify(value), type: 'application/json' });

describe('passthrough and allowedModels', () => {
  it('refuses a model outside the list wherever a provider would read it, before forwarding', async () => {
    const image = new Blob([new Uint8Array([137, 80, 78, 71])], { type: 'image/png' });
    const cases: Array<[string, Sent]> = [
      // No training_file: a file the key did not upload is refused as not found
      // (llm-gateway.md#stored-objects) whatever the model, and the model is what this test is about.
      ['JSON body', { path: '/fine_tuning/jobs', ...json({ model: 'gpt-4o' }) }],
      [
        'JSON sent as text/plain',
        { path: '/fine_tuning/jobs', body: '{"model":"gpt-4o"}', type: 'text/plain' },
      ],
      [
        'escaped key',
        { path: '/fine_tuning/jobs', body: '{"mod\\u0065l":"gpt-4o"}', type: 'application/json' },
      ],
      ['model not text', { path: '/fine_tuning/jobs', ...json({ model: ['fake-gpt-4o'] }) }],
      ['invisible character', { path: '/fine_tuning/jobs', ...json({ model: 'fake-gpt-4o\u200b' }) }],
      [
        'multipart',
        {
          path: '/images/edits',
          ...(await multipart([
            ['model', 'gpt-image-1'],
            ['image', image],
          ])),
        },
      ],
      [
        'two multipart models',
        {
          path: '/images/edits',
          ...(await multipart([
            ['model', 'fake-gpt-4o'],
            ['model', 'gpt-image-1'],
          ])),
        },
      ],
      ['a file named model', { path: '/images/edits', ...(await multipart([['model', image]])) }],
      [
        'URL-encoded form',
        {
          path: '/audio/translations',
          body: 'model=whisper-1',
          type: 'application/x-www-form-urlencoded',
        },
      ],
      ['query', { path: '/realtime/sessions?model=gpt-4o-realtime' }],
      [
        'query and body disagree',
        { path: '/fine_tuning/jobs?model=fake-gpt-a', ...json({ model: 'fake-gpt-b' }) },
      ],
    ];
    for (const [what, sent] of cases) {
      const res = await send(LISTED, sent);
      expect(res.status, what).toBe(403);
      expect(JSON.parse(res.text).error, what).toMatchObject({
        type: 'permission_error',
        code: 'policy_denied',
      });
      expect(res.hits, what).toBe(0);
      const row = await auditRowOf(res.trace);
      expect(row, what).toMatchObject({ action: 'deny', method: 'passthrough' });
    }
    // The same calls on a connection without allowedModels are forwarded as before.
    for (const [what, sent] of cases.slice(0, 3)) {
      const res = await send(OPEN, sent);
      expect(res.status, what).not.toBe(403);
      expect(res.hits, what).toBe(1);
    }
  });

  it('forwards calls naming an allowed model, or none', async () => {
    // A batch file's lines are read too (below): this one's only line names an allowed model.
    const line = {
      custom_id: 'a',
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'fake-gpt-4o' },
    };
    const file = new Blob([`${JSON.stringify(line)}\n`], { type: 'application/jsonl' });
    const cases: Array<[string, Sent]> = [
      ['allowed JSON model', { path: '/fine_tuning/jobs', ...json({ model: 'fake-gpt-4o' }) }],
      [
        'allowed multipart model',
        { path: '/images/edits', ...(await multipart([['model', 'fake-gpt-image']])) },
      ],
      [
        'allowed in query and body',
        { path: '/fine_tuning/jobs?model=fake-gpt-4o', ...json({ model: 'fake-gpt-4o' }) },
      ],
      [
        'file upload, no model',
        {
          path: '/files',
          ...(await multipart([
            ['purpose', 'batch'],
            ['file', file],
          ])),
        },
      ],
      ['JSON without a model', { path: '/vector_stores', ...json({ name: 'docs' }) }],
      // Not `/uploads/…`: an upload's path names the caller's upload (llm-gateway.md#stored-objects).
      ['not JSON', { path: '/raw/text', body: 'model: gpt-4o', type: 'text/plain' }],
      ['a read', { path: '/batches' }],
    ];
    for (const [what, sent] of cases) {
      const res = await send(LISTED, sent);
      expect(res.status, what).not.toBe(403);
      expect(res.hits, what).toBe(1);
    }
  });

  it('holds every model a batch will run to the list: its requests, its input file, an upload in parts', async () => {
    const line = (model: unknown) =>
      JSON.stringify({
        custom_id: `c-${String(model)}`,
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model },
      });
    const batchFile = async (purpose: string, lines: string[]) =>
      multipart([
        ['purpose', purpose],
        ['file', new Blob([`${lines.join('\n')}\n`], { type: 'application/jsonl' })],
      ]);
    const requests = (...models: unknown[]) =>
      json({
        requests: models.map((model, i) => ({
          custom_id: `r${i}`,
          params: { model, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] },
        })),
      });
    const refused: Array<[string, string, Sent]> = [
      [
        'a batch file with one line outside the list',
        LISTED,
        { path: '/files', ...(await batchFile('batch', [line('fake-gpt-4o'), line('gpt-4o')])) },
      ],
      [
        'a batch file line naming no model',
        LISTED,
        { path: '/files', ...(await batchFile('batch', ['{}'])) },
      ],
      ['a batch file line not JSON', LISTED, { path: '/files', ...(await batchFile('batch', ['model: x'])) }],
      [
        'an upload in parts for a batch',
        LISTED,
        {
          path: '/uploads',
          ...json({ purpose: 'batch', filename: 'b.jsonl', bytes: 100, mime_type: 'text/jsonl' }),
        },
      ],
      [
        'a message batch asking for another model',
        LISTED_ANTHROPIC,
        { path: '/messages/batches', ...requests('claude-ok-1', 'claude-opus-x') },
      ],
      [
        'a message batch request without a model',
        LISTED_ANTHROPIC,
        { path: '/messages/batches', ...requests(null) },
      ],
    ];
    for (const [what, slug, sent] of refused) {
      const res = await send(slug, sent);
      expect(res.status, what).toBe(403);
      expect(res.text, what).toMatch(/permission_error/);
      expect(res.hits, what).toBe(0);
      expect(await auditRowOf(res.trace), what).toMatchObject({ action: 'deny', method: 'passthrough' });
    }
    const forwarded: Array<[string, string, Sent]> = [
      [
        'a batch file naming allowed models only',
        LISTED,
        { path: '/files', ...(await batchFile('batch', [line('fake-gpt-4o'), line('fake-gpt-mini')])) },
      ],
      // Not a batch input: the provider runs no model from it, so its lines are not read.
      ['a fine-tuning file', LISTED, { path: '/files', ...(await batchFile('fine-tune', ['{}'])) }],
      [
        'an upload in parts for fine-tuning',
        LISTED,
        { path: '/uploads', ...json({ purpose: 'fine-tune', filename: 'f.jsonl', bytes: 100 }) },
      ],
      [
        'a message batch of allowed models',
        LISTED_ANTHROPIC,
        { path: '/messages/batches', ...requests('claude-ok-1', 'claude-ok-2') },
      ],
    ];
    for (const [what, slug, sent] of forwarded) {
      const res = await send(slug, sent);
      expect(res.status, what).not.toBe(403);
      expect(res.hits, what).toBe(1);
    }
    // Without allowedModels nothing is read: the same batch goes to the provider.
    const open = await send(OPEN, { path: '/files', ...(await batchFile('batch', [line('gpt-4o')])) });
    expect(open.hits).toBe(1);
  });

  it('never lets the model make a policy model rule allow passthrough', async () => {
    const res = await send(MODEL_RULE, {
      path: '/fine_tuning/jobs',
      ...json({ model: 'fake-gpt-4o' }),
    });
    expect(res.status).toBe(403);
    expect(res.hits).toBe(0);
    const chat = await call('POST', `/llm/${MODEL_RULE}/v1/chat/completions`, {
      key: org.key,
      body: { model: 'fake-gpt-4o', messages: [{ role: 'user', content: 'hi' }] },
    });
    expect(chat.status).toBe(200);
    await chat.text();
  });
});
