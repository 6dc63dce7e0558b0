/**
 * Issue 20 for OAuth callers: a call with an access token is resolved from isolate memory in the
 * steady state (no OAUTH_KV read, no D1 query — counted on the bindings the Worker is given), and
 * every way a token can become unusable reaches a warm isolate for the next call: revocation by
 * the client (RFC 7009 at /token, an access token or the refresh token after rotation), by an
 * admin (a grant, a client), removing or demoting the member, disabling the connection, and a
 * `user` kill switch naming the person by user id. Changes written straight to D1 are announced
 * as another isolate's API would (bump in D1, push to the guards): this isolate is never told.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { bumpConfigEpoch, pushConfigEpoch } from '../../workers/config/config.epoch';
import worker from '../../workers/index';
import { randomId } from '../../workers/lib/ids';
import { cachedOAuthCaller, oauthCacheKey, rememberOAuthCaller } from '../../workers/oauth/oauth.cache';
import {
  addMember,
  call,
  createConnection,
  createOrg,
  json,
  putPolicy,
  rpcResult,
  type TestOrg,
} from './helpers';
import { mcpWithToken, OAUTH_BASE, obtainTokens, sessionCookie, tokenRequest } from './oauth.helpers';

let member: TestOrg;
let memberCookie: string;
let owner: TestOrg;
let slug: string;
let connectionId: string;

beforeEach(async () => {
  owner = await createOrg('owner');
  member = await addMember(owner.orgId, 'admin');
  memberCookie = await sessionCookie(member.userId, owner.orgId);
  slug = `oc-${randomId('c').slice(-8).toLowerCase()}`;
  connectionId = (await createConnection(slug, { key: owner.key })).id;
  await putPolicy(slug, [{ tool: '*', action: 'allow' }], owner.key);
});

/** The status of a call, and the error code when refused. */
async function callWith(token: string): Promise<{ status: number; code: string | null }> {
  // tools/call, not tools/list: a list's first sight of the tools is a configuration change of
  // its own (tool integrity), which would refresh the caches whatever the change under test.
  const res = await mcpWithToken(
    slug,
    token,
    'tools/call',
    {},
    { name: 'echo', arguments: { message: 'hi' } },
  );
  const body = await rpcResult(res);
  const code = body.error?.data?.code;
  return { status: res.status, code: typeof code === 'string' ? code : null };
}

/** What another isolate's API does after committing a change: bump the epoch in D1, push it. */
async function announceElsewhere(): Promise<void> {
  const epoch = await bumpConfigEpoch(env.DB, owner.orgId);
  await pushConfigEpoch(env, owner.orgId, epoch!);
}

async function epochInD1(): Promise<number> {
  const row = await env.DB.prepare('SELECT config_epoch FROM organizations WHERE id = ?')
    .bind(owner.orgId)
    .first<{ config_epoch: number }>();
  return row?.config_epoch ?? 0;
}

/**
 * The token is warm (cached); `change` is made; every call sent after it completed, by 4 callers
 * that keep calling throughout, is returned.
 */
async function underLoad(
  token: string,
  change: () => Promise<void>,
): Promise<Array<{ status: number; code: string | null }>> {
  expect((await callWith(token)).status).toBe(200);
  let done = false;
  const after: Array<{ status: number; code: string | null }> = [];
  const caller = async () => {
    let mine = 0;
    while (mine < 3) {
      const sentAfter = done;
      const outcome = await callWith(token);
      if (sentAfter) {
        after.push(outcome);
        mine++;
      }
    }
  };
  const callers = Array.from({ length: 4 }, () => caller());
  await change();
  done = true;
  await Promise.all(callers);
  expect(after.length).toBeGreaterThanOrEqual(12);
  return after;
}

/** Round trips the Worker makes through its bindings: D1 statements and batches, OAUTH_KV reads. */
interface Counts {
  d1: number;
  oauthKv: number;
  policyKv: number;
}

function counted(counts: Counts): Env {
  const countStatement = (stmt: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(stmt, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (typeof value !== 'function') return value;
        if (prop === 'bind') return (...args: unknown[]) => countStatement(value.apply(target, args));
        if (prop === 'first' || prop === 'all' || prop === 'run' || prop === 'raw') counts.d1++;
        return value.bind(target);
      },
    });
  const db = new Proxy(env.DB, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop === 'prepare') return (sql: string) => countStatement(target.prepare(sql));
      if (prop === 'batch') counts.d1++;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const kv = (ns: KVNamespace, field: 'oauthKv' | 'policyKv'): KVNamespace =>
    new Proxy(ns, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (prop === 'get' || prop === 'getWithMetadata' || prop === 'list') counts[field]++;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  return { ...env, DB: db, OAUTH_KV: kv(env.OAUTH_KV, 'oauthKv'), POLICY_KV: kv(env.POLICY_KV, 'policyKv') };
}

/** One call through the Worker with counted bindings, waiting for its waitUntil work too. */
async function countedCall(token: string): Promise<Counts & { status: number }> {
  const counts: Counts = { d1: 0, oauthKv: 0, policyKv: 0 };
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`${OAUTH_BASE}/v1/mcp/${slug}`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${token}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'echo', arguments: { message: 'hi' } },
      }),
    }),
    counted(counts),
    ctx,
  );
  await res.text();
  await waitOnExecutionContext(ctx);
  return { ...counts, status: res.status };
}

describe('steady state', () => {
  it('makes no OAUTH_KV read and no D1 query per call once the token is resolved', async () => {
    const tokens = await obtainTokens(slug, memberCookie, connectionId);
    // The first call resolves the token from the source (the counters do count).
    const cold = await countedCall(tokens.access_token);
    expect(cold.status).toBe(200);
    expect(cold.oauthKv).toBeGreaterThanOrEqual(1);
    expect(cold.d1).toBeGreaterThanOrEqual(1);
    // Settle what a first call may cause elsewhere (tool integrity's first sight of the tools is
    // a configuration change of its own), so what follows is the steady state.
    expect((await countedCall(tokens.access_token)).status).toBe(200);
    for (let i = 0; i < 5; i++) {
      const warm = await countedCall(tokens.access_token);
      expect(warm).toEqual({ status: 200, d1: 0, oauthKv: 0, policyKv: 0 });
    }
  });

  it('never keeps an entry past the token expiry, and keys entries by a hash of the token', async () => {
    const token = `${member.userId}:grant:${randomId('s')}`;
    const key = await oauthCacheKey(token, `${OAUTH_BASE}/v1/mcp/${slug}`);
    expect(key).not.toContain(token);
    expect(key).not.toContain(token.split(':')[2]);
    const now = Date.now();
    const expiresAtSeconds = Math.floor(now / 1000) + 5;
    const connection = {
      id: connectionId,
      orgId: owner.orgId,
      slug,
      type: 'mcp' as const,
      upstreamUrl: 'http://upstream.invalid',
      authType: 'none' as const,
      authHeaderName: null,
      credentialCiphertext: null,
      enabled: true,
      settings: {} as never,
      createdBy: null,
    };
    const principal = {
      kind: 'oauth' as const,
      orgId: owner.orgId,
      role: 'admin' as const,
      userId: member.userId,
      apiKeyId: null,
      sessionId: null,
      actor: `user:${member.userId}`,
    };
    rememberOAuthCaller(key, { principal, connection, email: 'x@test.local' }, 1e9, expiresAtSeconds, now);
    expect(cachedOAuthCaller(env, key, now + 1000)).not.toBeNull();
    expect(cachedOAuthCaller(env, key, expiresAtSeconds * 1000)).toBeNull();
  });
});

describe('a revoked or no longer usable token is refused by the next call', () => {
  it('the cache is in use: a change written to D1 alone is not seen yet', async () => {
    const tokens = await obtainTokens(slug, memberCookie, connectionId);
    expect((await callWith(tokens.access_token)).status).toBe(200);
    await env.DB.prepare('UPDATE connections SET enabled = 0 WHERE id = ?').bind(connectionId).run();
    expect((await callWith(tokens.access_token)).status).toBe(200);
  });

  it('revoking the access token at /token (RFC 7009) announces the change', async () => {
    const tokens = await obtainTokens(slug, memberCookie, connectionId);
    const before = await epochInD1();
    const after = await underLoad(tokens.access_token, async () => {
      const res = await tokenRequest({ token: tokens.access_token, client_id: tokens.clientId });
      expect(res.status).toBe(200);
      await res.text();
    });
    expect(after.map((o) => o.status)).toEqual(after.map(() => 401));
    // Announced for every isolate, not only forgotten by this one.
    expect(await epochInD1()).toBeGreaterThan(before);
  });

  it('a revocation that revokes nothing is not announced', async () => {
    const tokens = await obtainTokens(slug, memberCookie, connectionId);
    const before = await epochInD1();
    const [userId, grantId] = tokens.access_token.split(':');
    const res = await tokenRequest({
      token: `${userId}:${grantId}:not-the-secret`,
      client_id: tokens.clientId,
    });
    expect(res.status).toBe(200);
    await res.text();
    expect(await epochInD1()).toBe(before);
    expect((await callWith(tokens.access_token)).status).toBe(200);
  });

  it('after refresh-token rotation, revoking the refresh token stops every access token of the grant', async () => {
    const first = await obtainTokens(slug, memberCookie, connectionId);
    expect((await callWith(first.access_token)).status).toBe(200);
    const rotated = await tokenRequest({
      grant_type: 'refresh_token',
      refresh_token: first.refresh_token!,
      client_id: first.clientId,
    });
    expect(rotated.status).toBe(200);
    const second = await json<{ access_token: string; refresh_token: string }>(rotated);
    expect((await callWith(second.access_token)).status).toBe(200);
    // Rotation leaves the earlier access token valid until it expires (the library's rule).
    expect((await callWith(first.access_token)).status).toBe(200);
    const before = await epochInD1();
    const after = await underLoad(first.access_token, async () => {
      const res = await tokenRequest({
        token: second.refresh_token,
        token_type_hint: 'refresh_token',
        client_id: first.clientId,
      });
      expect(res.status).toBe(200);
      await res.text();
    });
    expect(after.map((o) => o.status)).toEqual(after.map(() => 401));
    expect((await callWith(second.access_token)).status).toBe(401);
    expect(await epochInD1()).toBeGreaterThan(before);
  });

  it('an admin revoking the grant (/api/v1/oauth/grants)', async () => {
    const tokens = await obtainTokens(slug, memberCookie, connectionId);
    const grantId = tokens.access_token.split(':')[1];
    const after = await underLoad(tokens.access_token, async () => {
      const res = await call('DELETE', `/api/v1/oauth/grants/${grantId}`, { key: owner.key });
      expect(res.status).toBe(200);
      await res.text();
    });
    expect(after.map((o) => o.status)).toEqual(after.map(() => 401));
  });

  it("an admin revoking the client's grants (/api/v1/oauth/clients)", async () => {
    const tokens = await obtainTokens(slug, memberCookie, connectionId);
    const after = await underLoad(tokens.access_token, async () => {
      const res = await call('DELETE', `/api/v1/oauth/clients/${tokens.clientId}`, { key: owner.key });
      expect(res.status).toBe(200);
      await res.text();
    });
    expect(after.map((o) => o.status)).toEqual(after.map(() => 401));
  });

  it('removing the member (written elsewhere, announced)', async () => {
    const tokens = await obtainTokens(slug, memberCookie, connectionId);
    const after = await underLoad(tokens.access_token, async () => {
      await env.DB.prepare('DELETE FROM members WHERE org_id = ? AND user_id = ?')
        .bind(owner.orgId, member.userId)
        .run();
      await announceElsewhere();
    });
    expect(after.map((o) => o.status)).toEqual(after.map(() => 401));
  });

  it('demoting the member to auditor (written elsewhere, announced)', async () => {
    const tokens = await obtainTokens(slug, memberCookie, connectionId);
    const after = await underLoad(tokens.access_token, async () => {
      await env.DB.prepare("UPDATE members SET role = 'auditor' WHERE org_id = ? AND user_id = ?")
        .bind(owner.orgId, member.userId)
        .run();
      await announceElsewhere();
    });
    expect(after.map((o) => [o.status, o.code])).toEqual(after.map(() => [403, 'connection_forbidden']));
  });

  it('disabling the connection (written elsewhere, announced)', async () => {
    const tokens = await obtainTokens(slug, memberCookie, connectionId);
    const after = await underLoad(tokens.access_token, async () => {
      await env.DB.prepare('UPDATE connections SET enabled = 0 WHERE id = ?').bind(connectionId).run();
      await announceElsewhere();
    });
    expect(after.map((o) => [o.status, o.code])).toEqual(after.map(() => [403, 'connection_disabled']));
  });

  it('a user kill switch naming the person by user id (the API)', async () => {
    const tokens = await obtainTokens(slug, memberCookie, connectionId);
    const after = await underLoad(tokens.access_token, async () => {
      const res = await call('POST', '/api/v1/kill-switch', {
        key: owner.key,
        body: { scope: 'user', target: member.userId, reason: 'oauth cache test' },
      });
      expect(res.status).toBeLessThan(300);
      await res.text();
    });
    expect(after.map((o) => [o.status, o.code])).toEqual(after.map(() => [403, 'principal_killed']));
  });
});
