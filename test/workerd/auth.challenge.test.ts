/**
 * Issue 12, items 16 and 7d, as issue 18 changed them: a wrong or missing key gets a 401 that says
 * what is wrong; on an MCP connection's route it now also names the route's OAuth protected-resource
 * metadata (the gateway is an OAuth authorization server since issue 18, docs/oauth.md), while the
 * management API's 401 still names only the scheme. Unknown paths answer JSON 404 (never the
 * dashboard); sign-up and organization creation are rate-limited per client.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { Browser, randomIp, uniqueEmail } from './auth.helpers';
import { addMember, bootstrapDefault, call, createConnection, json, putPolicy } from './helpers';

const SLUG = 'challenge-conn';

type RpcError = { error: { code: number; message: string; data: { code: string } } };
type RestError = { error: { code: string; message: string } };

let revokedKey: string;

beforeAll(async () => {
  const orgId = await bootstrapDefault();
  await createConnection(SLUG);
  await putPolicy(SLUG, [{ tool: '*', action: 'allow' }]);
  const member = await addMember(orgId, 'developer');
  await env.DB.prepare('UPDATE api_keys SET revoked_at = ? WHERE created_by = ?')
    .bind(Date.now(), member.userId)
    .run();
  revokedKey = member.key;
});

const CASES: Array<[string, Record<string, string>, RegExp]> = [
  [
    'no Authorization header',
    {},
    /Authentication required: send your Igris API key as "Authorization: Bearer ig_…"/,
  ],
  ['a Basic header', { Authorization: 'Basic dXNlcjpwYXNz' }, /must be "Bearer ig_…"/],
  ['a Bearer token that is not an ig_ key', { Authorization: 'Bearer sk-live-123' }, /not an Igris API key/],
  [
    'an unknown ig_ key',
    { Authorization: 'Bearer ig_this_key_does_not_exist_0000000000' },
    /^Unknown API key/,
  ],
];

const GATEWAY_CHALLENGE = `Bearer realm="igris", resource_metadata="http://gateway.test/.well-known/oauth-protected-resource/v1/mcp/${SLUG}", scope="gateway:call"`;

describe('401 answers say what is wrong (item 16); the gateway also invites OAuth (issue 18)', () => {
  it.each(CASES)('gateway, %s', async (_label, headers, message) => {
    const res = await call('POST', `/v1/mcp/${SLUG}`, {
      key: null,
      headers: { Accept: 'application/json, text/event-stream', ...headers },
      body: { jsonrpc: '2.0', id: 1, method: 'tools/list' },
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toBe(GATEWAY_CHALLENGE);
    const body = await json<RpcError>(res);
    expect(body.error.data.code).toBe('unauthorized');
    expect(body.error.message).toMatch(message);
  });

  it.each(CASES)('management API, %s', async (_label, headers, message) => {
    const res = await call('GET', '/api/v1/connections', { key: null, headers });
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toBe('Bearer realm="igris"');
    const body = await json<RestError>(res);
    expect(body.error.code).toBe('unauthorized');
    expect(body.error.message).toMatch(message);
  });

  it('tells the holder of a revoked key that it was revoked', async () => {
    const gateway = await call('POST', `/v1/mcp/${SLUG}`, {
      key: revokedKey,
      headers: { Accept: 'application/json, text/event-stream' },
      body: { jsonrpc: '2.0', id: 1, method: 'tools/list' },
    });
    expect(gateway.status).toBe(401);
    expect((await json<RpcError>(gateway)).error.message).toMatch(/^API key revoked/);
    const api = await call('GET', '/api/v1/connections', { key: revokedKey });
    expect(api.status).toBe(401);
    expect((await json<RestError>(api)).error.message).toMatch(/^API key revoked/);
  });

  it('names the resource metadata in every gateway 401, and no OAuth error for an ig_ key problem', async () => {
    for (const [, headers] of CASES) {
      const res = await call('DELETE', `/v1/mcp/${SLUG}`, { key: null, headers });
      expect(res.headers.get('WWW-Authenticate')).toBe(GATEWAY_CHALLENGE);
      await res.text();
    }
  });

  it('never invites OAuth from the management API', async () => {
    for (const [, headers] of CASES) {
      const res = await call('GET', '/api/v1/connections', { key: null, headers });
      expect(res.headers.get('WWW-Authenticate') ?? '').not.toMatch(/invalid_token|resource_metadata|error=/);
      await res.text();
    }
  });
});

describe('unknown OAuth and API paths answer JSON 404 from the Worker (item 16)', () => {
  // /register, /token and the metadata documents are served since issue 18 (oauth.gateway.authorize.test.ts).
  it.each([
    ['GET', '/authorize'],
    ['GET', '/.well-known/oauth-protected-resource'],
    ['GET', '/.well-known/oauth-protected-resource/v1/unknown'],
    ['GET', '/.well-known/openid-configuration'],
    ['GET', '/api/v1/no-such-thing'],
    ['POST', '/v1/no-such-thing'],
  ])('%s %s', async (method, path) => {
    // With a valid key, so /api/v1 answers the route lookup rather than the 401.
    const res = await call(method, path, { body: method === 'POST' ? {} : undefined });
    expect(res.status).toBe(404);
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect((await json<RestError>(res)).error.code).toBe('not_found');
  });
});

describe('sign-up and organization creation are rate-limited per client (item 7d)', () => {
  it('allows 10 sign-ups an hour from one address, then 429 with Retry-After', async () => {
    const ip = randomIp();
    for (let i = 0; i < 10; i++) await new Browser(ip).signUp();
    const res = await new Browser(ip).fetch('POST', '/api/auth/sign-up', {
      body: { email: uniqueEmail(), password: 'correct horse battery staple' },
    });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('Retry-After'))).toBeGreaterThan(0);
    const body = await json<RestError>(res);
    expect(body.error.code).toBe('rate_limited');
    expect(body.error.message).toMatch(/Too many sign-ups/);
    // Another address is not affected.
    await new Browser(randomIp()).signUp();
  });

  it('allows 10 new organizations an hour per user, then 429 with Retry-After', async () => {
    const browser = new Browser();
    await browser.signUp();
    for (let i = 0; i < 10; i++) {
      const slug = `rl-${crypto.randomUUID().slice(0, 8)}`;
      const ok = await browser.fetch('POST', '/api/auth/organizations', { body: { name: slug, slug } });
      expect(ok.status).toBe(201);
      await ok.text();
    }
    const refused = await browser.fetch('POST', '/api/auth/organizations', {
      body: { name: 'one too many', slug: `rl-${crypto.randomUUID().slice(0, 8)}` },
    });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect((await json<RestError>(refused)).error.message).toMatch(/Too many new organizations/);
  });
});
