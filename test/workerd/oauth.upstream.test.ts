/**
 * Issue 18, upstream mode: a connection whose upstream MCP server wants each person's own OAuth
 * token. Against a local fake authorization server + MCP resource (upstream-oauth.fake.ts):
 * discovery (RFC 8414), authorization code + PKCE S256 on the gateway ↔ provider leg, tokens
 * stored encrypted per member and connection, each member's calls carry their own token, an
 * expired token is refreshed transparently, and a member without a link gets the URL to link.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomId } from '../../workers/lib/ids';
import { UPSTREAM_OAUTH_CLIENT, type UpstreamOAuthLogEntry } from '../shared/upstream-oauth.fake';
import { withFailingAudit } from './audit.fail';
import {
  addMember,
  call,
  createOrg,
  flushAudit,
  json,
  mcp,
  putPolicy,
  rpcResult,
  type TestOrg,
} from './helpers';
import { fetchWorker, OAUTH_BASE, sessionCookie, upstreamModeConnection } from './oauth.helpers';

let owner: TestOrg;
let bob: TestOrg;
let slug: string;
let connectionId: string;

async function fakeLog(): Promise<UpstreamOAuthLogEntry[]> {
  return (await fetch(`${env.UPSTREAM_OAUTH_URL}/_log`)).json();
}

/** What a member does in the browser: open the connect link, sign in at the provider, come back. */
async function link(member: TestOrg, persona: string, connection = connectionId): Promise<Response> {
  const cookie = await sessionCookie(member.userId, member.orgId);
  const start = await fetchWorker(`/api/oauth/upstream/connect/${connection}`, {
    headers: { Cookie: cookie },
  });
  expect(start.status).toBe(302);
  const authorize = new URL(start.headers.get('Location')!);
  expect(authorize.origin).toBe(env.UPSTREAM_OAUTH_URL);
  expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
  expect(authorize.searchParams.get('redirect_uri')).toBe(`${OAUTH_BASE}/api/oauth/upstream/callback`);
  authorize.searchParams.set('persona', persona);
  const back = await fetch(authorize, { redirect: 'manual' });
  expect(back.status).toBe(302);
  return fetchWorker(back.headers.get('Location')!, { headers: { Cookie: cookie } });
}

async function whoami(key: string) {
  const res = await mcp(slug, 'tools/call', { name: 'whoami', arguments: {} }, { key });
  expect(res.status).toBe(200);
  return rpcResult(res);
}

beforeAll(async () => {
  owner = await createOrg('owner');
  bob = await addMember(owner.orgId, 'admin');
  slug = `up-${randomId('u').slice(-8).toLowerCase()}`;
  const res = await call('POST', '/api/v1/connections', {
    key: owner.key,
    body: upstreamModeConnection(slug),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  connectionId = (await json<{ id: string }>(res)).id;
  await putPolicy(slug, [{ tool: '*', action: 'allow' }], owner.key);
});

describe('OAuth upstream mode', () => {
  it('tells a member without a link where to link, and sends nothing upstream', async () => {
    const before = (await fakeLog()).length;
    const body = await whoami(owner.key);
    expect(body.error?.data?.code).toBe('upstream_auth_required');
    expect(body.error?.message).toContain(`/api/oauth/upstream/connect/${connectionId}`);
    expect(body.error?.data?.details).toMatchObject({
      connectUrl: `http://gateway.test/api/oauth/upstream/connect/${connectionId}`,
    });
    expect((await fakeLog()).slice(before).filter((e) => e.at === 'mcp')).toEqual([]);
  });

  it('links two members; each call reaches the upstream with the caller’s own token', async () => {
    const linked = await link(owner, 'alice');
    expect(linked.status).toBe(200);
    const page = await linked.text();
    expect(page).toContain('Connected');
    // The way back leads to the connection's page on the configured dashboard (DASHBOARD_ORIGINS),
    // not to wherever the request came from.
    expect(page).toContain(
      `<a href="https://dashboard.test/connections/${slug}">Back to ${slug} in the dashboard</a>`,
    );
    expect((await link(bob, 'bob')).status).toBe(200);
    // The code was redeemed with the PKCE verifier and the client secret.
    const grants = (await fakeLog()).filter((e) => e.at === 'token' && e.grant === 'authorization_code');
    expect(grants.map((g) => [g.persona, g.outcome])).toEqual([
      ['alice', 'ok'],
      ['bob', 'ok'],
    ]);

    expect((await whoami(owner.key)).result).toEqual({ content: [{ type: 'text', text: 'alice' }] });
    expect((await whoami(bob.key)).result).toEqual({ content: [{ type: 'text', text: 'bob' }] });

    // Stored encrypted: no token in the row, and the status API reveals none.
    const row = await env.DB.prepare(
      'SELECT access_token_ciphertext, refresh_token_ciphertext FROM upstream_oauth_tokens WHERE connection_id = ? AND user_id = ?',
    )
      .bind(connectionId, owner.userId)
      .first<{ access_token_ciphertext: string; refresh_token_ciphertext: string }>();
    expect(row?.access_token_ciphertext).toMatch(/^v1\./);
    expect(row?.refresh_token_ciphertext).toMatch(/^v1\./);
    expect(JSON.stringify(row)).not.toMatch(/at-alice|rt-alice/);
    const status = await call('GET', `/api/v1/connections/${slug}/upstream-oauth`, { key: owner.key });
    const text = await status.text();
    expect(JSON.parse(text)).toMatchObject({ connection: slug, linked: true, scope: 'mcp:tools' });
    expect(text).not.toMatch(/at-alice|rt-alice/);

    await flushAudit();
    const links = await env.DB.prepare(
      "SELECT actor FROM audit_events WHERE org_id = ? AND action = 'auth.oauth_upstream_link' ORDER BY created_at",
    )
      .bind(owner.orgId)
      .all<{ actor: string }>();
    expect(links.results.map((r) => r.actor)).toEqual([`user:${owner.userId}`, `user:${bob.userId}`]);
  });

  it('stores a link and its audit row in one transaction: a failed record stores no token', async () => {
    const erin = await addMember(owner.orgId, 'admin');
    const stored = async () =>
      env.DB.prepare('SELECT 1 AS ok FROM upstream_oauth_tokens WHERE connection_id = ? AND user_id = ?')
        .bind(connectionId, erin.userId)
        .first();
    const refused = await withFailingAudit(owner.orgId, 'auth.oauth_upstream_link', () => link(erin, 'erin'));
    expect(refused.status).toBe(500);
    expect(await refused.text()).not.toContain('Connected');
    expect(await stored()).toBeNull();

    expect((await link(erin, 'erin')).status).toBe(200);
    expect(await stored()).not.toBeNull();
  });

  it('refreshes an expired token transparently before the call', async () => {
    await env.DB.prepare(
      'UPDATE upstream_oauth_tokens SET expires_at = ? WHERE connection_id = ? AND user_id = ?',
    )
      .bind(Date.now() - 1000, connectionId, owner.userId)
      .run();
    const before = (await fakeLog()).length;
    expect((await whoami(owner.key)).result).toEqual({ content: [{ type: 'text', text: 'alice' }] });
    const after = (await fakeLog()).slice(before);
    expect(after.map((e) => [e.at, e.grant ?? null, e.persona, e.outcome])).toEqual([
      ['token', 'refresh_token', 'alice', 'ok'],
      ['mcp', null, 'alice', 'ok'],
    ]);
    const row = await env.DB.prepare(
      'SELECT expires_at FROM upstream_oauth_tokens WHERE connection_id = ? AND user_id = ?',
    )
      .bind(connectionId, owner.userId)
      .first<{ expires_at: number }>();
    expect(row!.expires_at).toBeGreaterThan(Date.now() + 30 * 60_000);
  });

  it('asks to link again once the provider refuses the refresh token', async () => {
    await fetch(`${env.UPSTREAM_OAUTH_URL}/_revoke`, {
      method: 'POST',
      body: JSON.stringify({ persona: 'bob' }),
    });
    await env.DB.prepare(
      'UPDATE upstream_oauth_tokens SET expires_at = ? WHERE connection_id = ? AND user_id = ?',
    )
      .bind(Date.now() - 1000, connectionId, bob.userId)
      .run();
    const body = await whoami(bob.key);
    expect(body.error?.data?.code).toBe('upstream_auth_required');
    expect(body.error?.message).toMatch(/revoked or expired/);
    const status = await json(
      await call('GET', `/api/v1/connections/${slug}/upstream-oauth`, { key: bob.key }),
    );
    expect(status.linked).toBe(false);
  });

  it('refuses a callback finished in another member’s session (no account planting)', async () => {
    const aliceCookie = await sessionCookie(owner.userId, owner.orgId);
    const start = await fetchWorker(`/api/oauth/upstream/connect/${connectionId}`, {
      headers: { Cookie: aliceCookie },
    });
    const authorize = new URL(start.headers.get('Location')!);
    authorize.searchParams.set('persona', 'mallory');
    const back = await fetch(authorize, { redirect: 'manual' });
    const res = await fetchWorker(back.headers.get('Location')!, {
      headers: { Cookie: await sessionCookie(bob.userId, owner.orgId) },
    });
    expect(res.status).toBe(400);
    const forged = await fetchWorker('/api/oauth/upstream/callback?code=x&state=v1.forged', {
      headers: { Cookie: aliceCookie },
    });
    expect(forged.status).toBe(400);
  });

  it('unlinks: the member’s next call asks to link again (audited)', async () => {
    const res = await call('DELETE', `/api/v1/connections/${slug}/upstream-oauth`, { key: owner.key });
    expect(await json(res)).toEqual({ unlinked: true });
    expect((await whoami(owner.key)).error?.data?.code).toBe('upstream_auth_required');
    const row = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM audit_events WHERE org_id = ? AND action = 'auth.oauth_upstream_unlink'",
    )
      .bind(owner.orgId)
      .first<{ n: number }>();
    expect(row?.n).toBe(1);
  });
});

describe('OAuth upstream mode without discovery (GitHub-style providers)', () => {
  it('uses the endpoints the connection names when the issuer publishes no metadata', async () => {
    const plain = `up-plain-${randomId('p').slice(-8).toLowerCase()}`;
    const base = {
      slug: plain,
      name: plain,
      upstreamUrl: `${env.UPSTREAM_OAUTH_URL}/mcp`,
      authType: 'bearer',
      credential: UPSTREAM_OAUTH_CLIENT.clientSecret,
    };
    // Only one of the two endpoints: refused.
    const half = await call('POST', '/api/v1/connections', {
      key: owner.key,
      body: {
        ...base,
        settings: {
          upstreamOAuth: {
            issuer: `${env.UPSTREAM_OAUTH_URL}/github-like`,
            clientId: UPSTREAM_OAUTH_CLIENT.clientId,
            tokenEndpoint: `${env.UPSTREAM_OAUTH_URL}/token`,
          },
        },
      },
    });
    expect(half.status).toBe(400);
    const res = await call('POST', '/api/v1/connections', {
      key: owner.key,
      body: {
        ...base,
        settings: {
          upstreamOAuth: {
            // Nothing is served under this issuer: discovery would fail.
            issuer: `${env.UPSTREAM_OAUTH_URL}/github-like`,
            clientId: UPSTREAM_OAUTH_CLIENT.clientId,
            authorizationEndpoint: `${env.UPSTREAM_OAUTH_URL}/authorize`,
            tokenEndpoint: `${env.UPSTREAM_OAUTH_URL}/token`,
          },
        },
      },
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const id = (await json<{ id: string }>(res)).id;
    await putPolicy(plain, [{ tool: '*', action: 'allow' }], owner.key);
    const linked = await link(owner, 'carol', id);
    expect(linked.status).toBe(200);
    const answer = await mcp(plain, 'tools/call', { name: 'whoami', arguments: {} }, { key: owner.key });
    expect((await rpcResult(answer)).result).toEqual({ content: [{ type: 'text', text: 'carol' }] });
  });
});

describe('OAuth upstream mode: the client secret and the members’ tokens stay with their provider', () => {
  it('refuses moving the provider to another origin without the credential, and forgets the old tokens once moved', async () => {
    const moving = `up-move-${randomId('m').slice(-8).toLowerCase()}`;
    const provider = {
      issuer: env.UPSTREAM_OAUTH_URL,
      clientId: UPSTREAM_OAUTH_CLIENT.clientId,
      scopes: ['mcp:tools'],
    };
    const created = await call('POST', '/api/v1/connections', {
      key: owner.key,
      body: {
        slug: moving,
        name: moving,
        upstreamUrl: `${env.UPSTREAM_OAUTH_URL}/mcp`,
        authType: 'bearer',
        credential: UPSTREAM_OAUTH_CLIENT.clientSecret,
        settings: { upstreamOAuth: provider },
      },
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const id = (await json<{ id: string }>(created)).id;
    expect((await link(owner, 'dave', id)).status).toBe(200);
    const stored = () =>
      env.DB.prepare(
        `SELECT c.settings, c.credential_ciphertext, (SELECT COUNT(*) FROM upstream_oauth_tokens t
           WHERE t.connection_id = c.id) AS tokens FROM connections c WHERE c.id = ?`,
      )
        .bind(id)
        .first<{ tokens: number }>();
    const before = await stored();
    expect(before?.tokens).toBe(1);

    // An admin points the provider elsewhere (issuer, or named endpoints): the client secret and
    // every member's refresh token would go there. Refused, nothing changes.
    const elsewhere = 'https://idp.attacker.example';
    for (const settings of [
      { upstreamOAuth: { ...provider, issuer: elsewhere } },
      {
        upstreamOAuth: {
          ...provider,
          authorizationEndpoint: `${elsewhere}/authorize`,
          tokenEndpoint: `${elsewhere}/token`,
        },
      },
    ]) {
      const res = await call('PATCH', `/api/v1/connections/${moving}`, { key: bob.key, body: { settings } });
      const text = await res.text();
      expect(res.status, text).toBe(400);
      expect(JSON.parse(text).error.details.issues[0]).toMatchObject({
        path: 'credential',
        rule: 'credential_required_for_new_origin',
      });
      expect(text).not.toContain(UPSTREAM_OAUTH_CLIENT.clientSecret);
      expect(await stored()).toEqual(before);
    }
    // An admin may not keep it either; the same origin keeps everything.
    const kept = await call('PATCH', `/api/v1/connections/${moving}`, {
      key: bob.key,
      body: { settings: { upstreamOAuth: { ...provider, issuer: elsewhere } }, keepCredential: true },
    });
    expect(kept.status).toBe(400);
    const samePath = await call('PATCH', `/api/v1/connections/${moving}`, {
      key: bob.key,
      body: { settings: { upstreamOAuth: { ...provider, scopes: ['mcp:tools', 'extra'] } } },
    });
    expect(samePath.status, await samePath.clone().text()).toBe(200);
    expect((await stored())?.tokens).toBe(1);

    // With the new provider's secret the move is made, and the old provider's tokens are forgotten.
    const moved = await call('PATCH', `/api/v1/connections/${moving}`, {
      key: bob.key,
      body: {
        settings: { upstreamOAuth: { ...provider, issuer: elsewhere } },
        credential: 'new-client-secret',
      },
    });
    expect(moved.status, await moved.clone().text()).toBe(200);
    expect((await stored())?.tokens).toBe(0);
    const row = await env.DB.prepare(
      "SELECT details FROM audit_events WHERE org_id = ? AND connection_id = ? AND action = 'connection.update' ORDER BY created_at DESC, rowid DESC LIMIT 1",
    )
      .bind(owner.orgId, id)
      .first<{ details: string }>();
    expect(JSON.parse(row!.details)).toMatchObject({
      changed: ['credential', 'settings'],
      upstreamOAuthTokens: 'deleted',
    });
    expect(row!.details).not.toContain('new-client-secret');
  });
});
