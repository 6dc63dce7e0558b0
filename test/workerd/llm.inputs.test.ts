/**
 * What the LLM gateway accepts as a request, inside workerd against the real fake provider
 * (global-setup.ts), which records every request it receives: a multipart transcription upload is
 * decided on exactly one `model` field — never decided on one and forwarded with another.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, createOrg, flushAudit, putPolicy, type TestOrg } from './helpers';

const SLUG = `llm-in-${Date.now().toString(36)}`;
let org: TestOrg;

/** What the fake provider received on a path (read over HTTP: it runs in the runner's Node process). */
async function providerSaw(path: string, marker: string): Promise<number> {
  const res = await fetch(`${env.LLM_FAKE_URL}/__fake/requests`);
  const requests = (await res.json()) as Array<{ path: string; body: unknown }>;
  return requests.filter((r) => r.path === path && JSON.stringify(r.body).includes(marker)).length;
}

beforeAll(async () => {
  org = await createOrg('owner');
  const created = await call('POST', '/api/v1/connections', {
    key: org.key,
    body: {
      slug: SLUG,
      name: SLUG,
      type: 'llm',
      upstreamUrl: `${env.LLM_FAKE_URL}/v1`,
      credential: env.LLM_FAKE_KEY,
      settings: { provider: 'openai-compatible' },
    },
  });
  expect(created.status).toBe(201);
  await putPolicy(
    SLUG,
    [
      { model: 'gpt-4o-transcribe*', action: 'deny', reason: 'no 4o transcription' },
      { tool: '*', action: 'allow' },
    ],
    org.key,
  );
});

describe('multipart transcription uploads: exactly one model field', () => {
  async function transcribe(fields: Array<[string, string | Blob]>, trace: string) {
    const form = new FormData();
    for (const [name, value] of fields) form.append(name, value);
    // The form's own serialization (boundary in its Content-Type), sent as the SDKs send it.
    const upload = new Request('http://form.test', { method: 'POST', body: form });
    return call('POST', `/llm/${SLUG}/v1/audio/transcriptions`, {
      key: org.key,
      rawBody: await upload.text(),
      headers: { 'Content-Type': upload.headers.get('Content-Type')!, 'X-Igris-Trace-Id': trace },
    });
  }

  it.each([
    [
      'two model fields',
      [
        ['model', 'whisper-1'],
        ['model', 'gpt-4o-transcribe'],
      ],
    ],
    ['a file part named model', [['model', new Blob(['gpt-4o-transcribe'])]]],
    ['no model field', []],
  ] as Array<[string, Array<[string, string | Blob]>]>)(
    'refuses %s: 400 in the OpenAI shape, audited, never forwarded',
    async (label, fields) => {
      const trace = `llm-in-${label.replace(/\W/g, '_')}-${Date.now().toString(36)}`;
      const marker = `audio-${trace}`;
      const res = await transcribe([...fields, ['file', new Blob([marker], { type: 'audio/wav' })]], trace);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        error: {
          message: 'multipart/form-data body must carry exactly one text "model" field',
          type: 'invalid_request_error',
          param: 'model',
          code: 'validation_failed',
          details: { location: 'body', path: 'model' },
        },
      });
      expect(await providerSaw('/v1/audio/transcriptions', marker)).toBe(0);
      await flushAudit();
      const row = await env.DB.prepare('SELECT action, error_code FROM audit_events WHERE trace_id = ?')
        .bind(trace)
        .first();
      expect(row).toEqual({ action: 'error', error_code: 'validation_failed' });
    },
  );

  it('decides one model field as usual: gpt-4o-transcribe denied, whisper-1 forwarded', async () => {
    const denied = await transcribe(
      [
        ['model', 'gpt-4o-transcribe'],
        ['file', new Blob(['a'])],
      ],
      'llm-in-4o',
    );
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { error: { code: string } }).error.code).toBe('policy_denied');
    const marker = `audio-whisper-${Date.now().toString(36)}`;
    const allowed = await transcribe(
      [
        ['model', 'whisper-1'],
        ['file', new Blob([marker])],
      ],
      'llm-in-w1',
    );
    await allowed.text(); // the fake provider has no transcription route: its 404 passes through
    expect(await providerSaw('/v1/audio/transcriptions', marker)).toBe(1);
  });
});
