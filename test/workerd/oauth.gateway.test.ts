/**
 * Issue 18, gateway mode: Igris Edge as the OAuth 2.1 authorization server for MCP clients.
 * Metadata (RFC 8414 / RFC 9728), DCR, PKCE S256 required, `iss` in the authorization response,
 * tokens bound to one connection, refresh rotation, revocation, tenancy, and the token acting as
 * the member who consented (their current role, kill switches, leaving the organization).
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { bumpConfigEpoch, pushConfigEpoch } from '../../workers/config/config.epoch';
import { randomId } from '../../workers/lib/ids';
import {
  addMember,
  call,
  createConnection,
  createOrg,
  flushAudit,
  json,
  mcp,
  putPolicy,
  rpcResult,
  type TestOrg,
} from './helpers';
import {
  authorizeUrl,
  fetchWorker,
  mcpWithToken,
  OAUTH_BASE,
  obtainTokens,
  openConsent,
  pkce,
  REDIRECT_URI,
  registerClient,
  resourceFor,
  sessionCookie,
  submitConsent,
  tokenRequest,
} from './oauth.helpers';

/** What the API does after committing a change: bump the configuration epoch, push it to the guards. */
async function announce(orgId: string): Promise<void> {
  await pushConfigEpoch(env, orgId, (await bumpConfigEpoch(env.DB, orgId))!);
}

type RpcError = { error: { code: number; message: string; data: { code: string } } };

let owner: TestOrg;
let cookie: string;
let slugA: string;
let slugB: string;
let connA: string;

beforeAll(async () => {
  owner = await createOrg('owner');
  cookie = await sessionCookie(owner.userId, owner.orgId);
  slugA = `oa-${randomId('a').slice(-8).toLowerCase()}`;
  slugB = `ob-${randomId('b').slice(-8).toLowerCase()}`;
  connA = (await createConnection(slugA, { key: owner.key })).id;
  await createConnection(slugB, { key: owner.key });
  await putPolicy(slugA, [{ tool: '*', action: 'allow' }], owner.key);
  await putPolicy(slugB, [{ tool: '*', action: 'allow' }], owner.key);
});

describe('discovery metadata', () => {
  it('serves RFC 8414 authorization server metadata with the required fields', async () => {
    const res = await fetchWorker('/.well-known/oauth-authorization-server');
    expect(res.status).toBe(200);
    const meta = await json<Record<string, unknown>>(res);
    expect(meta.issuer).toBe(OAUTH_BASE);
    expect(meta.authorization_endpoint).toBe(`${OAUTH_BASE}/api/oauth/authorize`);
    expect(meta.token_endpoint).toBe(`${OAUTH_BASE}/token`);
    expect(meta.registration_endpoint).toBe(`${OAUTH_BASE}/register`);
    expect(meta.revocation_endpoint).toBe(`${OAUTH_BASE}/token`);
    expect(meta.response_types_supported).toEqual(['code']);
    expect(meta.code_challenge_methods_supported).toEqual(['S256']);
    expect(meta.authorization_response_iss_parameter_supported).toBe(true);
    expect(meta.grant_types_supported).toEqual(
      expect.arrayContaining(['authorization_code', 'refresh_token']),
    );
    expect(meta.scopes_supported).toEqual(['gateway:call', 'offline_access']);
    // The per-request placeholder resource is not published.
    expect(meta.protected_resources).toBeUndefined();
  });

  it.each([
    ['mcp', '/v1/mcp/'],
    ['llm', '/llm/'],
  ])('serves RFC 9728 protected resource metadata for %s connections', async (_kind, prefix) => {
    const res = await fetchWorker(`/.well-known/oauth-protected-resource${prefix}${slugA}`);
    expect(res.status).toBe(200);
    const meta = await json<Record<string, unknown>>(res);
    expect(meta.resource).toBe(`${OAUTH_BASE}${prefix}${slugA}`);
    expect(meta.authorization_servers).toEqual([OAUTH_BASE]);
    expect(meta.scopes_supported).toEqual(['gateway:call']);
    expect(meta.bearer_methods_supported).toEqual(['header']);
  });

  it('points a 401 from /v1/mcp/<slug> at the resource metadata, keeping the clear message', async () => {
    const res = await fetchWorker(`/v1/mcp/${slugA}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toBe(
      `Bearer realm="igris", resource_metadata="${OAUTH_BASE}/.well-known/oauth-protected-resource/v1/mcp/${slugA}", scope="gateway:call"`,
    );
    expect((await json<RpcError>(res)).error.message).toMatch(/send your Igris API key/);
  });
});

describe('registration and authorization', () => {
  it('registers a public client dynamically (RFC 7591)', async () => {
    const res = await fetchWorker('/register', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        client_name: 'DCR test',
        redirect_uris: [REDIRECT_URI],
        token_endpoint_auth_method: 'none',
      }),
    });
    expect(res.status).toBe(201);
    const body = await json<Record<string, unknown>>(res);
    expect(typeof body.client_id).toBe('string');
    expect(body.redirect_uris).toEqual([REDIRECT_URI]);
  });

  it('requires PKCE with S256', async () => {
    const client = await registerClient();
    const page = await openConsent(authorizeUrl(client, slugA, null), cookie);
    expect(page.status).toBe(302);
    const location = new URL(page.headers.get('Location') ?? '');
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('state')).toBe('state-123');
    const plain = await openConsent(
      authorizeUrl(client, slugA, null, { code_challenge: 'x'.repeat(43), code_challenge_method: 'plain' }),
      cookie,
    );
    expect(plain.status).toBe(302);
    expect(new URL(plain.headers.get('Location') ?? '').searchParams.get('error')).toBe('invalid_request');
  });

  it('asks an anonymous visitor to sign in, and refuses a resource that is not a connection', async () => {
    const client = await registerClient();
    const { challenge } = await pkce();
    const anonymous = await openConsent(authorizeUrl(client, slugA, challenge), null);
    expect(anonymous.status).toBe(401);
    expect(anonymous.html).toMatch(/Sign in to continue/);
    const elsewhere = await openConsent(
      authorizeUrl(client, slugA, challenge, { resource: 'https://evil.test/v1/mcp/x' }),
      cookie,
    );
    expect(elsewhere.status).toBe(400);
  });

  it('renders an escaped, CSP-strict consent page naming the client, redirect host and choices', async () => {
    const client = await registerClient('<script>alert(1)</script>');
    const { challenge } = await pkce();
    const page = await openConsent(authorizeUrl(client, slugA, challenge), cookie);
    expect(page.status).toBe(200);
    expect(page.html).not.toContain('<script>');
    expect(page.html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(page.html).toContain('127.0.0.1');
    expect(page.html).toContain(`value="${connA}"`);
    expect(page.headers.get('Content-Security-Policy')).toMatch(/default-src 'none'/);
    expect(page.headers.get('Content-Security-Policy')).toMatch(/frame-ancestors 'none'/);
    expect(page.cookies.some((c) => c.startsWith('__Host-'))).toBe(true);
    // Browsers send `Origin: null` with a form POSTed from a `no-referrer` page, which the consent
    // POST's Origin check refuses (found by test/e2e/oauth.dashboard.e2e.test.ts in Chromium).
    expect(page.headers.get('Referrer-Policy')).toBe('same-origin');
  });

  it('refuses a consent form posted from another origin (CSRF)', async () => {
    const client = await registerClient();
    const { challenge } = await pkce();
    const page = await openConsent(authorizeUrl(client, slugA, challenge), cookie);
    const forged = await submitConsent(
      page,
      cookie,
      { decision: 'approve', connection: connA },
      'https://evil.test',
    );
    expect(forged.status).toBe(403);
    // Without the browser-bound consent cookie the handle is refused too.
    const noCookie = await submitConsent({ ...page, cookies: [] }, cookie, {
      decision: 'approve',
      connection: connA,
    });
    expect(noCookie.status).toBe(400);
  });

  it('redirects with code, state and iss; deny redirects with access_denied', async () => {
    const client = await registerClient();
    const { challenge } = await pkce();
    const page = await openConsent(authorizeUrl(client, slugA, challenge), cookie);
    const approved = await submitConsent(page, cookie, {
      decision: 'approve',
      connection: connA,
      scope: 'gateway:call',
    });
    expect(approved.status).toBe(302);
    const location = new URL(approved.headers.get('Location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
    expect(location.searchParams.get('code')).toBeTruthy();
    expect(location.searchParams.get('state')).toBe('state-123');
    expect(location.searchParams.get('iss')).toBe(OAUTH_BASE);
    // The grant is on the organization's audit trail, naming the person, client and connection.
    const audited = await env.DB.prepare(
      "SELECT actor, user, details FROM audit_events WHERE org_id = ? AND action = 'auth.oauth_grant' AND details LIKE ?",
    )
      .bind(owner.orgId, `%${client}%`)
      .first<{ actor: string; user: string; details: string }>();
    expect(audited?.actor).toBe(`user:${owner.userId}`);
    expect(audited?.user).toBe(`${owner.userId}@test.local`);
    expect(JSON.parse(audited?.details ?? '{}')).toMatchObject({
      clientId: client,
      connectionId: connA,
      scope: ['gateway:call'],
    });

    const again = await openConsent(authorizeUrl(client, slugA, challenge), cookie);
    const denied = await submitConsent(again, cookie, { decision: 'deny' });
    expect(denied.status).toBe(302);
    expect(new URL(denied.headers.get('Location') ?? '').searchParams.get('error')).toBe('access_denied');
  });

  it('refuses a code exchanged with the wrong PKCE verifier', async () => {
    const client = await registerClient();
    const { challenge } = await pkce();
    const page = await openConsent(authorizeUrl(client, slugA, challenge), cookie);
    const approved = await submitConsent(page, cookie, {
      decision: 'approve',
      connection: connA,
      scope: 'gateway:call',
    });
    const code = new URL(approved.headers.get('Location') ?? '').searchParams.get('code') ?? '';
    const res = await tokenRequest({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      client_id: client,
      code_verifier: (await pkce()).verifier,
    });
    expect(res.status).toBe(400);
    expect((await json<{ error: string }>(res)).error).toBe('invalid_grant');
  });
});

describe('authorization codes and redirect URIs', () => {
  async function approvedCode(client: string, challenge: string): Promise<string> {
    const page = await openConsent(authorizeUrl(client, slugA, challenge), cookie);
    const approved = await submitConsent(page, cookie, {
      decision: 'approve',
      connection: connA,
      scope: 'gateway:call',
    });
    return new URL(approved.headers.get('Location') ?? '').searchParams.get('code') ?? '';
  }

  it('redeems a code once: a second exchange, even with the right verifier, is invalid_grant', async () => {
    const client = await registerClient();
    const { verifier, challenge } = await pkce();
    const code = await approvedCode(client, challenge);
    const exchange = () =>
      tokenRequest({
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT_URI,
        client_id: client,
        code_verifier: verifier,
      });
    expect((await exchange()).status).toBe(200);
    const again = await exchange();
    expect(again.status).toBe(400);
    expect((await json<{ error: string }>(again)).error).toBe('invalid_grant');
  });

  it('matches redirect_uri exactly: never redirects to an unregistered one, and /token refuses another', async () => {
    const client = await registerClient();
    const { verifier, challenge } = await pkce();
    for (const other of [
      'http://127.0.0.1:4567/callback/../evil',
      'http://127.0.0.1:4567/callback?next=https://evil.example',
      'http://127.0.0.1:4567/callbackx',
      'https://evil.example/callback',
    ]) {
      const res = await fetchWorker(authorizeUrl(client, slugA, challenge, { redirect_uri: other }), {
        headers: { Cookie: cookie },
      });
      expect(res.status, other).not.toBe(302);
      expect(res.headers.get('Location'), other).toBeNull();
      await res.body?.cancel();
    }
    const code = await approvedCode(client, challenge);
    const res = await tokenRequest({
      grant_type: 'authorization_code',
      code,
      redirect_uri: 'http://127.0.0.1:4567/other',
      client_id: client,
      code_verifier: verifier,
    });
    expect(res.status).toBe(400);
    expect((await json<{ error: string }>(res)).error).toBe('invalid_grant');
  });
});

describe('tokens at the gateway', () => {
  it('calls a tool with the access token; the audit row names the person who consented', async () => {
    const tokens = await obtainTokens(slugA, cookie, connA);
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.resource).toBe(resourceFor(slugA));
    const traceId = `trace-${randomId('t')}`;
    // X-Igris-User cannot make an OAuth call someone else's: the person is the one who consented.
    const res = await mcpWithToken(slugA, tokens.access_token, 'tools/list', {
      'X-Igris-User': 'somebody-else',
      'X-Igris-Trace-Id': traceId,
    });
    expect(res.status).toBe(200);
    const body = await rpcResult(res);
    expect(body.error).toBeUndefined();
    expect(Array.isArray(body.result?.tools)).toBe(true);
    await flushAudit();
    const row = await env.DB.prepare('SELECT actor, user, api_key_id FROM audit_events WHERE trace_id = ?')
      .bind(traceId)
      .first<{ actor: string; user: string; api_key_id: string | null }>();
    expect(row).toEqual({
      actor: `user:${owner.userId}`,
      user: `${owner.userId}@test.local`,
      api_key_id: null,
    });
  });

  it('refuses a token for connection A on connection B (audience)', async () => {
    const tokens = await obtainTokens(slugA, cookie, connA);
    const res = await mcpWithToken(slugB, tokens.access_token);
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toMatch(/error="invalid_token"/);
    expect(res.headers.get('WWW-Authenticate')).toContain(
      `/.well-known/oauth-protected-resource/v1/mcp/${slugB}`,
    );
    expect((await json<RpcError>(res)).error.message).toMatch(/issued for another connection/);
  });

  it('keeps ig_ keys working on the same connection', async () => {
    const res = await mcp(slugA, 'tools/list', {}, { key: owner.key });
    expect(res.status).toBe(200);
    expect((await rpcResult(res)).error).toBeUndefined();
  });

  it('rotates refresh tokens: the new pair works, a superseded refresh token does not', async () => {
    const first = await obtainTokens(slugA, cookie, connA);
    const refresh = (token: string) =>
      tokenRequest({ grant_type: 'refresh_token', refresh_token: token, client_id: first.clientId });
    const second = await refresh(first.refresh_token!);
    expect(second.status).toBe(200);
    const pair2 = await json<{ access_token: string; refresh_token: string }>(second);
    expect(pair2.refresh_token).not.toBe(first.refresh_token);
    expect((await mcpWithToken(slugA, pair2.access_token)).status).toBe(200);
    // Using the new refresh token retires the old one for good.
    const third = await refresh(pair2.refresh_token);
    expect(third.status).toBe(200);
    await third.text();
    const replay = await refresh(first.refresh_token!);
    expect(replay.status).toBe(400);
    expect((await json<{ error: string }>(replay)).error).toBe('invalid_grant');
  });

  it('refuses an access token after revocation (RFC 7009)', async () => {
    const tokens = await obtainTokens(slugA, cookie, connA);
    expect((await mcpWithToken(slugA, tokens.access_token)).status).toBe(200);
    const revoked = await tokenRequest({ token: tokens.access_token, client_id: tokens.clientId });
    expect(revoked.status).toBe(200);
    await revoked.text();
    const res = await mcpWithToken(slugA, tokens.access_token);
    expect(res.status).toBe(401);
    expect((await json<RpcError>(res)).error.message).toMatch(/revoked/);
  });
});

describe('scopes and LLM routes', () => {
  it('refuses a token without gateway:call with 403 insufficient_scope', async () => {
    const tokens = await obtainTokens(slugA, cookie, connA, { scope: ['offline_access'] });
    const res = await mcpWithToken(slugA, tokens.access_token);
    expect(res.status).toBe(403);
    expect(res.headers.get('WWW-Authenticate')).toMatch(/error="insufficient_scope", scope="gateway:call"/);
    expect((await json<RpcError>(res)).error.message).toMatch(/lacks the "gateway:call" scope/);
  });

  it('takes a token for an LLM connection on /llm/<slug>, and refuses an MCP token there', async () => {
    const slug = `ol-${randomId('l').slice(-8).toLowerCase()}`;
    const created = await call('POST', '/api/v1/connections', {
      key: owner.key,
      body: {
        slug,
        name: slug,
        type: 'llm',
        upstreamUrl: `${env.LLM_FAKE_URL}/v1`,
        credential: env.LLM_FAKE_KEY,
        settings: { provider: 'openai-compatible' },
      },
    });
    expect(created.status).toBe(201);
    const { id } = await json<{ id: string }>(created);
    await putPolicy(slug, [{ tool: '*', action: 'allow' }], owner.key);
    const chat = (token: string | null) =>
      fetchWorker(`/llm/${slug}/v1/chat/completions`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ model: 'fake-gpt', messages: [{ role: 'user', content: 'hi' }] }),
      });
    const anonymous = await chat(null);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('WWW-Authenticate')).toContain(
      `/.well-known/oauth-protected-resource/llm/${slug}`,
    );
    await anonymous.text();

    const tokens = await obtainTokens(slug, cookie, id, { resource: `${OAUTH_BASE}/llm/${slug}` });
    const res = await chat(tokens.access_token);
    expect(res.status).toBe(200);
    expect((await json<{ choices: unknown[] }>(res)).choices.length).toBeGreaterThan(0);

    const mcpToken = await obtainTokens(slugA, cookie, connA);
    const refused = await chat(mcpToken.access_token);
    expect(refused.status).toBe(401);
    await refused.text();
  });
});

describe('the token acts as the member who consented', () => {
  it('follows the member: demoted to auditor is refused (connections:use), removed is 401', async () => {
    const member = await addMember(owner.orgId, 'admin');
    const memberCookie = await sessionCookie(member.userId, owner.orgId);
    const tokens = await obtainTokens(slugA, memberCookie, connA);
    expect((await mcpWithToken(slugA, tokens.access_token)).status).toBe(200);

    // Written as the API writes it, and announced as its middleware does (gateways cache tokens).
    await env.DB.prepare("UPDATE members SET role = 'auditor' WHERE org_id = ? AND user_id = ?")
      .bind(owner.orgId, member.userId)
      .run();
    await announce(owner.orgId);
    const demoted = await mcpWithToken(slugA, tokens.access_token);
    expect(demoted.status).toBe(403);
    expect((await json<RpcError>(demoted)).error.data.code).toBe('connection_forbidden');

    await env.DB.prepare('DELETE FROM members WHERE org_id = ? AND user_id = ?')
      .bind(owner.orgId, member.userId)
      .run();
    await announce(owner.orgId);
    const gone = await mcpWithToken(slugA, tokens.access_token);
    expect(gone.status).toBe(401);
    expect((await json<RpcError>(gone)).error.message).toMatch(/left the organization/);
  });

  it('is stopped by a kill switch on the person', async () => {
    const member = await addMember(owner.orgId, 'admin');
    const tokens = await obtainTokens(slugA, await sessionCookie(member.userId, owner.orgId), connA);
    await env.DB.prepare(
      "INSERT INTO kill_switches (id, org_id, scope, target, reason, created_by, created_at) VALUES (?, ?, 'user', ?, 'test', ?, ?)",
    )
      .bind(randomId('ks'), owner.orgId, `${member.userId}@test.local`, owner.userId, Date.now())
      .run();
    const res = await mcpWithToken(slugA, tokens.access_token);
    expect(res.status).toBe(403);
    expect((await json<RpcError>(res)).error.data.code).toBe('principal_killed');
  });
});

describe('tenancy', () => {
  it("offers no consent for another organization's connection, and ignores a forged choice", async () => {
    const other = await createOrg('owner');
    const otherSlug = `ot-${randomId('o').slice(-8).toLowerCase()}`;
    const otherConn = (await createConnection(otherSlug, { key: other.key })).id;
    const client = await registerClient();
    const { challenge } = await pkce();
    // The owner of the first organization has no connection with this slug.
    const none = await openConsent(authorizeUrl(client, otherSlug, challenge), cookie);
    expect(none.status).toBe(403);
    // On their own slug, a form naming the other organization's connection grants nothing.
    const page = await openConsent(authorizeUrl(client, slugA, challenge), cookie);
    const forged = await submitConsent(page, cookie, {
      decision: 'approve',
      connection: otherConn,
      scope: 'gateway:call',
    });
    expect(forged.status).toBe(302);
    const location = new URL(forged.headers.get('Location') ?? '');
    expect(location.searchParams.get('error')).toBe('access_denied');
    expect(location.searchParams.get('code')).toBeNull();
  });

  it('binds the token to the connection chosen, not to whatever holds the slug later', async () => {
    const slug = `re-${randomId('r').slice(-8).toLowerCase()}`;
    const first = await createConnection(slug, { key: owner.key });
    await putPolicy(slug, [{ tool: '*', action: 'allow' }], owner.key);
    const tokens = await obtainTokens(slug, cookie, first.id);
    expect((await mcpWithToken(slug, tokens.access_token)).status).toBe(200);
    const removed = await call('DELETE', `/api/v1/connections/${slug}`, { key: owner.key });
    expect(removed.status).toBeLessThan(300);
    await removed.text();
    await createConnection(slug, { key: owner.key });
    await putPolicy(slug, [{ tool: '*', action: 'allow' }], owner.key);
    expect((await mcpWithToken(slug, tokens.access_token)).status).toBe(401);
  });
});
