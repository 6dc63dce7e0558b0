/**
 * What the LLM gateway accepts as a request, inside workerd against the real fake provider
 * (global-setup.ts), which records every request it receives: a multipart transcription upload is
 * decided on exactly one `model` field — never decided on one and forwarded with another; the
 * Igris-style route (`"model": "@<slug>/…"`) judges the key before it reads the body, and holds the
 * body to the connection's `maxBodyBytes` as the native route does.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, createOrg, flushAudit, putPolicy, type TestOrg } from './helpers';

const SLUG = `llm-in-${Date.now().toString(36)}`;
/** A connection whose bodies may be at most 2 KiB. */
const SMALL = `llm-in-small-${Date.now().toString(36)}`;
let org: TestOrg;

/** What the fake provider received on a path (read over HTTP: it runs in the runner's Node process). */
async function providerSaw(path: string, marker: string): Promise<number> {
  const res = await fetch(`${env.LLM_FAKE_URL}/__fake/requests`);
  const requests = (await res.json()) as Array<{ path: string; body: unknown }>;
  return requests.filter((r) => r.path === path && JSON.stringify(r.body).includes(marker)).length;
}

async function createLlmConnection(slug: string, settings: Record<string, unknown> = {}) {
  const created = await call('POST', '/api/v1/connections', {
    key: org.key,
    body: {
      slug,
      name: slug,
      type: 'llm',
      upstreamUrl: `${env.LLM_FAKE_URL}/v1`,
      credential: env.LLM_FAKE_KEY,
      settings: { provider: 'openai-compatible', ...settings },
    },
  });
  expect(created.status).toBe(201);
}

beforeAll(async () => {
  org = await createOrg('owner');
  await createLlmConnection(SLUG);
  await createLlmConnection(SMALL, { maxBodyBytes: 2048 });
  await putPolicy(SMALL, [{ tool: '*', action: 'allow' }], org.key);
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

describe('the Igris-style route: the connection body limit, and the key before the body', () => {
  const chat = (model: string, text: string) => ({ model, messages: [{ role: 'user', content: text }] });

  it('answers a body over the connection’s maxBodyBytes 413, as the native route does, forwarding nothing', async () => {
    const marker = `big-${Date.now().toString(36)}`;
    const text = `${marker} ${'x'.repeat(20_000)}`;
    const native = await call('POST', `/llm/${SMALL}/v1/chat/completions`, {
      key: org.key,
      body: chat('fake-gpt', text),
    });
    const igris = await call('POST', '/v1/chat/completions', {
      key: org.key,
      body: chat(`@${SMALL}/fake-gpt`, text),
    });
    expect([native.status, igris.status]).toEqual([413, 413]);
    const answer = await igris.json();
    expect(answer).toEqual(await native.json());
    expect(answer).toMatchObject({ error: { code: 'payload_too_large', details: { maxBytes: 2048 } } });
    expect(await providerSaw('/v1/chat/completions', marker)).toBe(0);

    const small = await call('POST', '/v1/chat/completions', {
      key: org.key,
      body: chat(`@${SMALL}/fake-gpt`, 'hi'),
    });
    expect(small.status).toBe(200);
    await small.text();
  });

  it('refuses a made-up key 401 before reading the body (an unparsable body is not looked at)', async () => {
    const madeUp = 'ig_unknown_key_000000000000000000000000';
    const refusals = [];
    for (const path of ['/v1/chat/completions', `/llm/${SMALL}/v1/chat/completions`]) {
      const res = await call('POST', path, { key: madeUp, rawBody: '{' });
      refusals.push({ status: res.status, body: await res.json() });
    }
    expect(refusals[0]).toEqual({
      status: 401,
      body: {
        error: expect.objectContaining({
          message: 'Unknown API key: check that the key was copied whole',
          code: 'unauthorized',
        }),
      },
    });
    expect(refusals[0]).toEqual(refusals[1]);
    // A usable key's body is read and parsed as before.
    const parsed = await call('POST', '/v1/chat/completions', { key: org.key, rawBody: '{' });
    expect(parsed.status).toBe(400);
    expect(((await parsed.json()) as { error: { code: string } }).error.code).toBe('parse_error');
  });
});
