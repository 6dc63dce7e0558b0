/**
 * Issue 18, gateway mode, the tokens: bound to one connection, refresh rotation, revocation, scopes
 * and LLM routes, tenancy, and the token acting as the member who consented (their current role,
 * kill switches, leaving the organization).
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
} from './helpers';
import {
  connA,
  cookie,
  owner,
  type RpcError,
  setUpOAuthGateway,
  slugA,
  slugB,
} from './oauth.gateway.fixtures';
import {
  authorizeUrl,
  fetchWorker,
  mcpWithToken,
  OAUTH_BASE,
  obtainTokens,
  openConsent,
  pkce,
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

beforeAll(setUpOAuthGateway);

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
