/**
 * Issue 18, hybrid mode: owners and admins list and revoke their organization's OAuth grants and
 * clients; every grant, refresh and revocation is an audit row; `/register` is limited per client
 * address; per-connection OAuth settings (on/off, allowed scopes, open or approved-only clients)
 * hold at consent and at the gateway; A2A agents take OAuth tokens like MCP and LLM routes.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomId } from '../../workers/lib/ids';
import {
  addMember,
  call,
  createConnection,
  createOrg,
  flushAudit,
  json,
  putPolicy,
  type TestOrg,
} from './helpers';
import {
  authorizeUrl,
  fetchWorker,
  mcpWithToken,
  OAUTH_BASE,
  obtainTokens,
  obtainTokensWith,
  openConsent,
  pkce,
  registerClient,
  sessionCookie,
  tokenRequest,
} from './oauth.helpers';

let owner: TestOrg;
let cookie: string;
let slug: string;
let connId: string;

const newSlug = (p: string) => `${p}-${randomId('s').slice(-8).toLowerCase()}`;

async function authRows(orgId: string, action: string) {
  const { results } = await env.DB.prepare(
    "SELECT actor, user, details, connection_id FROM audit_events WHERE org_id = ? AND type = 'auth' AND action = ? ORDER BY created_at, id",
  )
    .bind(orgId, action)
    .all<{ actor: string; user: string | null; details: string; connection_id: string | null }>();
  return results.map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }));
}

async function setOAuth(s: string, oauth: Record<string, unknown>) {
  const res = await call('PATCH', `/api/v1/connections/${s}`, {
    key: owner.key,
    body: { settings: { oauth } },
  });
  expect(res.status, await res.clone().text()).toBe(200);
}

beforeAll(async () => {
  owner = await createOrg('owner');
  cookie = await sessionCookie(owner.userId, owner.orgId);
  slug = newSlug('adm');
  connId = (await createConnection(slug, { key: owner.key })).id;
  await putPolicy(slug, [{ tool: '*', action: 'allow' }], owner.key);
});

describe('admin API: grants and clients', () => {
  it('lists the organization’s grants and clients for admins, refuses developers', async () => {
    const tokens = await obtainTokens(slug, cookie, connId);
    const grants = await json<{ grants: Array<Record<string, unknown>> }>(
      await call('GET', '/api/v1/oauth/grants', { key: owner.key }),
    );
    const mine = grants.grants.find((g) => g.clientId === tokens.clientId);
    expect(mine).toMatchObject({
      clientName: 'Test client',
      userId: owner.userId,
      email: `${owner.userId}@test.local`,
      connectionId: connId,
      connectionSlug: slug,
      scope: ['gateway:call', 'offline_access'],
    });
    const clients = await json<{ clients: Array<Record<string, unknown>> }>(
      await call('GET', '/api/v1/oauth/clients', { key: owner.key }),
    );
    expect(clients.clients.find((c) => c.clientId === tokens.clientId)).toMatchObject({ grants: 1 });

    const dev = await addMember(owner.orgId, 'developer');
    expect((await call('GET', '/api/v1/oauth/grants', { key: dev.key })).status).toBe(403);
    expect((await call('DELETE', `/api/v1/oauth/grants/${mine!.id}`, { key: dev.key })).status).toBe(403);
    // Another organization sees none of them and cannot revoke them.
    const other = await createOrg('owner');
    const theirs = await json<{ grants: unknown[] }>(
      await call('GET', '/api/v1/oauth/grants', { key: other.key }),
    );
    expect(theirs.grants).toEqual([]);
    expect((await call('DELETE', `/api/v1/oauth/grants/${mine!.id}`, { key: other.key })).status).toBe(404);
    expect((await mcpWithToken(slug, tokens.access_token)).status).toBe(200);
  });

  it('revokes a grant: its tokens stop at once, and the revocation is audited', async () => {
    const member = await addMember(owner.orgId, 'admin');
    const tokens = await obtainTokens(slug, await sessionCookie(member.userId, owner.orgId), connId);
    const grants = await json<{ grants: Array<{ id: string; clientId: string }> }>(
      await call('GET', '/api/v1/oauth/grants', { key: owner.key }),
    );
    const grant = grants.grants.find((g) => g.clientId === tokens.clientId)!;
    const res = await call('DELETE', `/api/v1/oauth/grants/${grant.id}`, { key: owner.key });
    expect(res.status).toBe(200);
    expect((await mcpWithToken(slug, tokens.access_token)).status).toBe(401);
    const refreshed = await tokenRequest({
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token!,
      client_id: tokens.clientId,
    });
    expect(refreshed.status).toBe(400);
    const rows = (await authRows(owner.orgId, 'auth.oauth_revoke')).filter(
      (r) => r.details.grantId === grant.id,
    );
    expect(rows).toEqual([
      expect.objectContaining({
        actor: expect.stringMatching(/^key:/),
        connection_id: connId,
        details: expect.objectContaining({ by: 'admin', clientId: tokens.clientId, userId: member.userId }),
      }),
    ]);
  });

  it('revokes every grant a client holds in the organization', async () => {
    const client = await registerClient('Shared app');
    const a = await addMember(owner.orgId, 'admin');
    const b = await addMember(owner.orgId, 'admin');
    const viaClient = async (who: TestOrg) => {
      const { verifier, challenge } = await pkce();
      const page = await openConsent(
        authorizeUrl(client, slug, challenge),
        await sessionCookie(who.userId, owner.orgId),
      );
      const form = new URLSearchParams({ handle: page.handle, decision: 'approve', connection: connId });
      form.append('scope', 'gateway:call');
      const approved = await fetchWorker('/api/oauth/authorize', {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          Cookie: [await sessionCookie(who.userId, owner.orgId), ...page.cookies].join('; '),
          Origin: OAUTH_BASE,
        },
        body: form.toString(),
      });
      const code = new URL(approved.headers.get('Location')!).searchParams.get('code')!;
      const res = await tokenRequest({
        grant_type: 'authorization_code',
        code,
        redirect_uri: 'http://127.0.0.1:4567/callback',
        client_id: client,
        code_verifier: verifier,
      });
      return json<{ access_token: string; refresh_token?: string }>(res);
    };
    const ta = await viaClient(a);
    const tb = await viaClient(b);
    // The connection allows offline_access: a refresh token even though the client asked only for gateway:call.
    expect(ta.refresh_token).toBeDefined();
    const res = await call('DELETE', `/api/v1/oauth/clients/${client}`, { key: owner.key });
    expect(await json(res)).toEqual({ clientId: client, revokedGrants: 2 });
    expect((await mcpWithToken(slug, ta.access_token)).status).toBe(401);
    expect((await mcpWithToken(slug, tb.access_token)).status).toBe(401);
    expect((await call('DELETE', `/api/v1/oauth/clients/${client}`, { key: owner.key })).status).toBe(404);
  });
});

describe('the OAuth trail', () => {
  it('audits the grant, every refresh, and a revocation by the client', async () => {
    const member = await addMember(owner.orgId, 'admin');
    const tokens = await obtainTokens(slug, await sessionCookie(member.userId, owner.orgId), connId);
    const refreshed = await json<{ refresh_token: string }>(
      await tokenRequest({
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token!,
        client_id: tokens.clientId,
      }),
    );
    const revoked = await tokenRequest({ token: refreshed.refresh_token, client_id: tokens.clientId });
    expect(revoked.status).toBe(200);
    const email = `${member.userId}@test.local`;
    const ofMember = <T extends { actor: string }>(rows: T[]) =>
      rows.filter((r) => r.actor === `user:${member.userId}`);
    expect(ofMember(await authRows(owner.orgId, 'auth.oauth_grant'))).toEqual([
      expect.objectContaining({
        user: email,
        details: expect.objectContaining({ clientId: tokens.clientId, connectionId: connId }),
      }),
    ]);
    expect(ofMember(await authRows(owner.orgId, 'auth.oauth_refresh'))).toEqual([
      expect.objectContaining({
        user: email,
        details: expect.objectContaining({ clientId: tokens.clientId, connectionId: connId }),
      }),
    ]);
    expect(ofMember(await authRows(owner.orgId, 'auth.oauth_revoke'))).toEqual([
      expect.objectContaining({
        user: email,
        details: expect.objectContaining({ by: 'client', clientId: tokens.clientId }),
      }),
    ]);
    // Nothing secret in the trail.
    const all = JSON.stringify(await authRows(owner.orgId, 'auth.oauth_refresh'));
    expect(all).not.toContain(tokens.refresh_token!);
    expect(all).not.toContain(refreshed.refresh_token);
  });
});

describe('dynamic client registration limit', () => {
  it('refuses the 31st registration in an hour from one address with 429, not other addresses', async () => {
    const address = `192.0.2.${Math.floor(Math.random() * 250) + 1}`;
    for (let i = 0; i < 30; i++) await registerClient(`flood ${i}`, address);
    const res = await fetchWorker('/register', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'CF-Connecting-IP': address },
      body: JSON.stringify({
        client_name: 'one too many',
        redirect_uris: ['http://127.0.0.1:4567/callback'],
      }),
    });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect((await json<{ error: string }>(res)).error).toBe('rate_limited');
    expect(await registerClient('elsewhere')).toMatch(/.+/);
  });
});

describe('per-connection OAuth settings', () => {
  it('turned off: no consent is offered and existing tokens are refused; ig_ keys keep working', async () => {
    const s = newSlug('off');
    const id = (await createConnection(s, { key: owner.key })).id;
    await putPolicy(s, [{ tool: '*', action: 'allow' }], owner.key);
    const tokens = await obtainTokens(s, cookie, id);
    await setOAuth(s, { enabled: false });
    const refused = await mcpWithToken(s, tokens.access_token);
    expect(refused.status).toBe(403);
    expect((await json<{ error: { message: string } }>(refused)).error.message).toMatch(
      /OAuth is turned off/,
    );
    const { challenge } = await pkce();
    const page = await openConsent(authorizeUrl(await registerClient(), s, challenge), cookie);
    expect(page.status).toBe(403);
    const viaKey = await call('POST', `/v1/mcp/${s}`, {
      key: owner.key,
      headers: { Accept: 'application/json, text/event-stream' },
      body: { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} },
    });
    expect(viaKey.status).toBe(200);
  });

  it('approved clients only: others get no consent and lose access; allowed scopes bound the grant', async () => {
    const s = newSlug('apr');
    const id = (await createConnection(s, { key: owner.key })).id;
    await putPolicy(s, [{ tool: '*', action: 'allow' }], owner.key);
    const before = await obtainTokens(s, cookie, id);
    const approvedClient = await registerClient('Approved app');
    await setOAuth(s, {
      registration: 'approved',
      approvedClients: [approvedClient],
      scopes: ['gateway:call'],
    });
    // The client approved before the change is not on the list: its token stops.
    expect((await mcpWithToken(s, before.access_token)).status).toBe(403);
    const { challenge } = await pkce();
    expect(
      (await openConsent(authorizeUrl(await registerClient('Other'), s, challenge), cookie)).status,
    ).toBe(403);
    const approvedPage = await openConsent(authorizeUrl(approvedClient, s, challenge), cookie);
    expect(approvedPage.status).toBe(200);
    // offline_access is not allowed here: the grant is bounded to gateway:call, with no refresh token.
    const bounded = await json<{ grants: Array<{ clientId: string; scope: string[] }> }>(
      await call('GET', '/api/v1/oauth/grants', { key: owner.key }),
    );
    expect(bounded.grants.some((g) => g.clientId === approvedClient)).toBe(false);
    const after = await obtainTokensWith(approvedClient, s, id, { cookie });
    expect(after.scope).toBe('gateway:call');
    expect(after.refresh_token).toBeUndefined();
    expect((await mcpWithToken(s, after.access_token)).status).toBe(200);
    const clients = await json<{ clients: Array<{ clientId: string; approvedFor: string[] }> }>(
      await call('GET', '/api/v1/oauth/clients', { key: owner.key }),
    );
    expect(clients.clients.find((c) => c.clientId === approvedClient)?.approvedFor).toEqual([s]);
  });
});

describe('OAuth on A2A routes', () => {
  it('publishes protected-resource metadata and a challenge for /v1/a2a/<slug>', async () => {
    const meta = await json<{ resource: string; authorization_servers: string[] }>(
      await fetchWorker('/.well-known/oauth-protected-resource/v1/a2a/travel'),
    );
    expect(meta.resource).toBe(`${OAUTH_BASE}/v1/a2a/travel`);
    expect(meta.authorization_servers).toEqual([OAUTH_BASE]);
    const res = await fetchWorker('/v1/a2a/travel', { method: 'POST', body: '{}' });
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toContain(
      'resource_metadata="https://gateway.test/.well-known/oauth-protected-resource/v1/a2a/travel"',
    );
  });

  it('takes a token for the agent on its card and call routes; refuses an MCP token there', async () => {
    const s = newSlug('ag');
    const created = await call('POST', '/api/v1/connections', {
      key: owner.key,
      body: {
        slug: s,
        name: s,
        type: 'a2a',
        authType: 'bearer',
        credential: 'agent-cred',
        agentCard: {
          name: 'OAuth agent',
          description: 'An agent',
          version: '1.0.0',
          supportedInterfaces: [
            {
              url: 'https://agent.example.com/a2a',
              protocolBinding: 'JSONRPC',
              protocolVersion: '1.0',
              tenant: '',
            },
          ],
          capabilities: {},
          skills: [{ id: 'echo', name: 'Echo' }],
        },
      },
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const agentId = (await json<{ id: string }>(created)).id;
    const tokens = await obtainTokens(s, cookie, agentId, { resource: `${OAUTH_BASE}/v1/a2a/${s}` });
    const card = await fetchWorker(`/v1/a2a/${s}/.well-known/agent-card.json`, {
      headers: { Authorization: `Bearer ${tokens.access_token}` },
    });
    expect(card.status).toBe(200);
    expect((await json<{ name: string }>(card)).name).toBe('OAuth agent');
    // The call route takes it too: the audit row names the person (the agent itself is not
    // reachable from the test, so the call ends upstream — after authentication).
    const traceId = `trace-${randomId('t')}`;
    const called = await fetchWorker(`/v1/a2a/${s}`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${tokens.access_token}`,
        'Content-Type': 'application/json',
        'X-Igris-Trace-Id': traceId,
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'SendMessage',
        params: { message: { role: 'ROLE_USER', messageId: 'm1', parts: [{ text: 'hi' }] } },
      }),
    });
    expect(called.status).not.toBe(401);
    await flushAudit();
    const row = await env.DB.prepare('SELECT actor, user FROM audit_events WHERE trace_id = ?')
      .bind(traceId)
      .first<{ actor: string; user: string }>();
    expect(row).toEqual({ actor: `user:${owner.userId}`, user: `${owner.userId}@test.local` });
    const mcpToken = await obtainTokens(slug, cookie, connId);
    const refused = await fetchWorker(`/v1/a2a/${s}/.well-known/agent-card.json`, {
      headers: { Authorization: `Bearer ${mcpToken.access_token}` },
    });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('WWW-Authenticate')).toMatch(/error="invalid_token"/);
  });
});
