/**
 * The Igris-style LLM route judges the caller's key before it reads the body (the slug is in the
 * body), and the core authenticates the caller again with the connection. Both use one isolate
 * cache and the key is hashed once per call (gateway.callers.ts): counted here on the runtime's
 * own SHA-256 (the worker runs in this isolate). And a key revoked through the API is refused 401
 * by that pre-body check at once — its body not even parsed — not after the cache's age bound.
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { call, createApiKeyVia, createOrg, putPolicy, type TestOrg } from './helpers';

const SLUG = `llm-hash-${Date.now().toString(36)}`;
let org: TestOrg;

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
  await putPolicy(SLUG, [{ tool: '*', action: 'allow' }], org.key);
});

afterEach(() => vi.restoreAllMocks());

/** Counts SHA-256 digests of exactly `key` made while `run` runs. */
async function hashesOf(key: string, run: () => Promise<void>): Promise<number> {
  const wanted = new TextEncoder().encode(key);
  let count = 0;
  const digest = crypto.subtle.digest.bind(crypto.subtle);
  vi.spyOn(crypto.subtle, 'digest').mockImplementation((algorithm, data) => {
    const bytes = ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data as ArrayBuffer);
    if (bytes.length === wanted.length && bytes.every((b, i) => b === wanted[i])) count++;
    return digest(algorithm, data);
  });
  await run();
  vi.restoreAllMocks();
  return count;
}

const chat = (model: string) => ({ model, messages: [{ role: 'user', content: 'hi' }] });

describe('the caller’s key is hashed once per call', () => {
  it('on the Igris-style route (judged before the body, authenticated by the core), cold and warm', async () => {
    const { key } = await createApiKeyVia(org.key, 'hash-once');
    for (const label of ['cold', 'warm']) {
      const count = await hashesOf(key, async () => {
        const res = await call('POST', '/v1/chat/completions', { key, body: chat(`@${SLUG}/fake-gpt`) });
        expect(res.status, label).toBe(200);
        await res.text();
      });
      expect(count, label).toBe(1);
    }
  });

  it('on the native route, and for an unknown key refused 401 on the Igris-style route', async () => {
    const native = await hashesOf(org.key, async () => {
      const res = await call('POST', `/llm/${SLUG}/v1/chat/completions`, {
        key: org.key,
        body: chat('fake-gpt'),
      });
      expect(res.status).toBe(200);
      await res.text();
    });
    expect(native).toBe(1);
    const madeUp = 'ig_unknown_key_hash_once_000000000000000';
    const refused = await hashesOf(madeUp, async () => {
      const res = await call('POST', '/v1/chat/completions', { key: madeUp, rawBody: '{' });
      expect(res.status).toBe(401);
      await res.text();
    });
    expect(refused).toBe(1);
  });
});

describe('revocation reaches the pre-body check at once', () => {
  it('a key revoked through the API gets its 401 before its body is read, on a warm isolate', async () => {
    const created = await createApiKeyVia(org.key, 'revoke-me');
    // Warm: the key is cached as usable by the pre-body check and the core.
    const warm = await call('POST', '/v1/chat/completions', {
      key: created.key,
      body: chat(`@${SLUG}/fake-gpt`),
    });
    expect(warm.status).toBe(200);
    await warm.text();
    const parsed = await call('POST', '/v1/chat/completions', { key: created.key, rawBody: '{' });
    expect(parsed.status, 'a usable key’s body is read').toBe(400);
    await parsed.text();

    const revoked = await call('DELETE', `/api/v1/api-keys/${created.id}`, { key: org.key });
    expect(revoked.status).toBe(200);
    // An unparsable body: a 400 parse_error would mean the body was read for a revoked key.
    const res = await call('POST', '/v1/chat/completions', { key: created.key, rawBody: '{' });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe(
      'API key revoked: create a new one',
    );
    const native = await call('POST', '/v1/chat/completions', {
      key: created.key,
      body: chat(`@${SLUG}/fake-gpt`),
    });
    expect(native.status).toBe(401);
    await native.text();
  });
});
