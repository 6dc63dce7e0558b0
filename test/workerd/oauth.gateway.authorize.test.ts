/**
 * Issue 18, gateway mode: Igris Edge as the OAuth 2.1 authorization server for MCP clients, up to
 * the code: metadata (RFC 8414 / RFC 9728), DCR, PKCE S256 required, `iss` in the authorization
 * response, single-use authorization codes and exact redirect URIs.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { json } from './helpers';
import { connA, cookie, owner, type RpcError, setUpOAuthGateway, slugA } from './oauth.gateway.fixtures';
import {
  authorizeUrl,
  fetchWorker,
  OAUTH_BASE,
  openConsent,
  pkce,
  REDIRECT_URI,
  registerClient,
  submitConsent,
  tokenRequest,
} from './oauth.helpers';

beforeAll(setUpOAuthGateway);

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
