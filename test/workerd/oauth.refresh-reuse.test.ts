/**
 * Refresh-token reuse detection (docs/oauth.md#refresh-token-rotation-and-reuse) inside workerd,
 * with real D1 and KV: a refresh token presented after it was rotated away revokes its grant
 * (every token of it), audited; the previous token is tolerated as a retry within the grace period
 * only; a token we never issued revokes nothing; one grant's reuse leaves the person's other grant
 * and another organization's grants alone.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../workers/lib/hex';
import { REFRESH_RETRY_GRACE_SECONDS } from '../../workers/oauth/oauth.refresh-reuse';
import { createConnection, createOrg, putPolicy, type TestOrg } from './helpers';
import { mcpWithToken, obtainTokens, sessionCookie, tokenRequest } from './oauth.helpers';

let owner: TestOrg;
let other: TestOrg;
let cookie: string;
let otherCookie: string;
let slug: string;
let otherSlug: string;
let conn: string;
let otherConn: string;

beforeAll(async () => {
  owner = await createOrg('owner');
  other = await createOrg('owner');
  cookie = await sessionCookie(owner.userId, owner.orgId);
  otherCookie = await sessionCookie(other.userId, other.orgId);
  slug = `rr-${crypto.randomUUID().slice(0, 8)}`;
  otherSlug = `rr-${crypto.randomUUID().slice(0, 8)}`;
  conn = (await createConnection(slug, { key: owner.key })).id;
  otherConn = (await createConnection(otherSlug, { key: other.key })).id;
  await putPolicy(slug, [{ tool: '*', action: 'allow' }], owner.key);
  await putPolicy(otherSlug, [{ tool: '*', action: 'allow' }], other.key);
});

type Pair = { access_token: string; refresh_token: string };

async function refresh(
  clientId: string,
  token: string,
): Promise<{ status: number; body: Record<string, string> }> {
  const res = await tokenRequest({ grant_type: 'refresh_token', refresh_token: token, client_id: clientId });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

async function rotate(clientId: string, token: string): Promise<Pair> {
  const got = await refresh(clientId, token);
  expect(got.status, JSON.stringify(got.body)).toBe(200);
  return got.body as unknown as Pair;
}

async function reuseRows(orgId: string): Promise<Array<{ details: string }>> {
  const { results } = await env.DB.prepare(
    "SELECT details FROM audit_events WHERE org_id = ? AND action = 'auth.oauth_refresh_reuse'",
  )
    .bind(orgId)
    .all<{ details: string }>();
  return results;
}

describe('refresh-token reuse', () => {
  it('a rotated-away token revokes the grant: the current refresh token and access token stop working', async () => {
    const first = await obtainTokens(slug, cookie, conn);
    const second = await rotate(first.clientId, first.refresh_token!);
    const third = await rotate(first.clientId, second.refresh_token);
    // A bystander grant of the same person, and another organization's grant, untouched below.
    const bystander = await obtainTokens(slug, cookie, conn);
    const foreign = await obtainTokens(otherSlug, otherCookie, otherConn);
    const before = (await reuseRows(owner.orgId)).length;

    // A token we never issued, with the live grant's prefix (anyone holding an access token can
    // write one), and the access token itself presented as a refresh token: refused, revoke nothing.
    const [userId, grantId] = third.access_token.split(':');
    expect((await refresh(first.clientId, `${userId}:${grantId}:not-a-token-we-issued`)).body.error).toBe(
      'invalid_grant',
    );
    expect((await refresh(first.clientId, third.access_token)).body.error).toBe('invalid_grant');
    expect((await mcpWithToken(slug, third.access_token)).status).toBe(200);
    expect(await reuseRows(owner.orgId)).toHaveLength(before);

    // A stale view of the grant (OAUTH_KV lags across locations): it names the token before `third`
    // as current, so `third` looks rotated away — but no newer token was issued, so nothing is
    // revoked (the library refuses it against that view, as it always did).
    const key = `grant:${userId}:${grantId}`;
    const live = await env.OAUTH_KV.get(key);
    const stale = JSON.parse(live!) as Record<string, unknown>;
    stale.refreshTokenId = stale.previousRefreshTokenId;
    stale.previousRefreshTokenId = await sha256Hex(first.refresh_token!);
    await env.OAUTH_KV.put(key, JSON.stringify(stale));
    expect((await refresh(first.clientId, third.refresh_token)).body.error).toBe('invalid_grant');
    await env.OAUTH_KV.put(key, live!);
    expect(await reuseRows(owner.orgId)).toHaveLength(before);
    expect((await mcpWithToken(slug, third.access_token)).status).toBe(200);

    const replay = await refresh(first.clientId, first.refresh_token!);
    expect(replay).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(replay.body.error_description).toMatch(/reuse/);

    expect((await refresh(first.clientId, third.refresh_token)).body.error).toBe('invalid_grant');
    expect((await mcpWithToken(slug, third.access_token)).status).toBe(401);
    const rows = await reuseRows(owner.orgId);
    expect(rows).toHaveLength(before + 1);
    expect(JSON.parse(rows.at(-1)!.details)).toMatchObject({
      reason: 'rotated_token_reused',
      connectionId: conn,
    });
    // Nothing secret on the trail.
    expect(rows.at(-1)!.details).not.toContain(first.refresh_token!.split(':')[2]);

    expect((await mcpWithToken(slug, bystander.access_token)).status).toBe(200);
    await rotate(bystander.clientId, bystander.refresh_token!);
    expect((await mcpWithToken(otherSlug, foreign.access_token)).status).toBe(200);
    await rotate(foreign.clientId, foreign.refresh_token!);
    expect(await reuseRows(other.orgId)).toHaveLength(0);
  });

  it('tolerates the previous token as a retry within the grace period; after it, the grant is revoked', async () => {
    const first = await obtainTokens(slug, cookie, conn);
    const second = await rotate(first.clientId, first.refresh_token!);
    // A lost answer: the client asks again with the token it still holds. Tolerated once the
    // library allows it (it was the previous token), and the unused `second` is now retired.
    const retried = await rotate(first.clientId, first.refresh_token!);
    expect(retried.refresh_token).not.toBe(second.refresh_token);
    expect((await mcpWithToken(slug, retried.access_token)).status).toBe(200);

    // The grace period passes (the first use is dated back): the previous token is now reuse.
    await env.DB.prepare(
      'UPDATE oauth_refresh_tokens SET used_at = used_at - ? WHERE user_id = ? AND grant_id = ?',
    )
      .bind((REFRESH_RETRY_GRACE_SECONDS + 1) * 1000, owner.userId, first.refresh_token!.split(':')[1])
      .run();
    const late = await refresh(first.clientId, first.refresh_token!);
    expect(late).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect((await refresh(first.clientId, retried.refresh_token)).body.error).toBe('invalid_grant');
    expect(JSON.parse((await reuseRows(owner.orgId)).at(-1)!.details)).toMatchObject({
      reason: 'previous_token_after_grace',
    });
  });
});
