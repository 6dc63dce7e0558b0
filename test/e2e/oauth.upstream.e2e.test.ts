/**
 * Issue 18, upstream mode through the real runtime: a connection whose upstream MCP server wants
 * each person's own OAuth token. The official MCP SDK client, with the person's `ig_` key, is
 * told where to link their account; the person links it in the browser (the gateway ↔ provider
 * leg: authorization code + PKCE S256 against a local fake provider, test/shared/upstream-oauth.fake.ts),
 * and the same client then lists and calls tools, the upstream seeing that person's token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startUpstreamOAuthFake,
  UPSTREAM_OAUTH_CLIENT,
  type UpstreamOAuthLogEntry,
} from '../shared/upstream-oauth.fake';
import { connectClient, gatewayUrl } from './helpers';
import { signUp } from './sign-up.fixtures';

let fake: Awaited<ReturnType<typeof startUpstreamOAuthFake>>;
let cookie = '';
let csrf = '';
let key = '';
let connectionId = '';
const slug = `up-e2e-${crypto.randomUUID().slice(0, 8)}`;

const origin = () => new URL(gatewayUrl()).origin;

async function asPerson(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${gatewayUrl()}${path}`, {
    method,
    headers: {
      Cookie: cookie,
      'X-CSRF-Token': csrf,
      Origin: origin(),
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function ok<T>(res: Response, status: number, what: string): Promise<T> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`${what}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

beforeAll(async () => {
  fake = await startUpstreamOAuthFake();
  const email = `upstream-${crypto.randomUUID().slice(0, 8)}@example.test`;
  ({ cookie, csrf } = await signUp({ email, password: 'correct horse battery staple' }));
  const orgSlug = `up-${crypto.randomUUID().slice(0, 8)}`;
  await ok(await asPerson('POST', '/api/auth/organizations', { name: orgSlug, slug: orgSlug }), 201, 'org');
  key = (await ok<{ key: string }>(await asPerson('POST', '/api/v1/api-keys', { name: 'sdk' }), 201, 'key'))
    .key;
  const created = await asPerson('POST', '/api/v1/connections', {
    slug,
    name: slug,
    upstreamUrl: `${fake.url}/mcp`,
    authType: 'bearer',
    credential: UPSTREAM_OAUTH_CLIENT.clientSecret,
    settings: {
      upstreamOAuth: { issuer: fake.url, clientId: UPSTREAM_OAUTH_CLIENT.clientId, scopes: ['mcp:tools'] },
    },
  });
  connectionId = (await ok<{ id: string }>(created, 201, 'connection')).id;
  await ok(
    await asPerson('PUT', `/api/v1/connections/${slug}/policy`, { rules: [{ tool: '*', action: 'allow' }] }),
    200,
    'policy',
  );
});

afterAll(async () => {
  await fake?.close();
});

describe('OAuth upstream mode with the official MCP SDK client', () => {
  it('is told where to link, links with PKCE, then calls with the person’s own upstream token', async () => {
    // Not linked yet: the upstream is never asked, and the error names the link.
    await expect(connectClient(slug, {}, key)).rejects.toThrow(
      new RegExp(`/api/oauth/upstream/connect/${connectionId}`),
    );

    const start = await fetch(`${gatewayUrl()}/api/oauth/upstream/connect/${connectionId}`, {
      headers: { Cookie: cookie },
      redirect: 'manual',
    });
    expect(start.status).toBe(302);
    const authorize = new URL(start.headers.get('Location') ?? '');
    expect(authorize.origin).toBe(fake.url);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    authorize.searchParams.set('persona', 'alice');
    const back = await fetch(authorize, { redirect: 'manual' });
    expect(back.status).toBe(302);
    const done = await fetch(back.headers.get('Location') ?? '', {
      headers: { Cookie: cookie },
      redirect: 'manual',
    });
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('Connected');

    const { client } = await connectClient(slug, {}, key);
    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name)).toEqual(['whoami']);
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    expect(result.content).toEqual([{ type: 'text', text: 'alice' }]);
    await client.close();

    const log = (await (await fetch(`${fake.url}/_log`)).json()) as UpstreamOAuthLogEntry[];
    // The code was redeemed with the verifier; every upstream call carried alice's token.
    expect(log.filter((e) => e.at === 'token').map((e) => [e.grant, e.outcome])).toEqual([
      ['authorization_code', 'ok'],
    ]);
    const calls = log.filter((e) => e.at === 'mcp');
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.every((e) => e.outcome === 'ok' && e.persona === 'alice')).toBe(true);
  });
});
