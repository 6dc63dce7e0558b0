/**
 * A caller that sends a fresh `X-Igris-User` on every call must not grow its connection's guard
 * without bound, nor get around a `by: "user"` limit by doing so (durable-objects/rate.bound.ts).
 * The real guard is flooded with MAX_WINDOWS_PER_CALLER + 50 distinct users of one API key — as
 * admits on its stub, the round trip the gateway makes, with the rate check the gateway builds
 * (that is what keeps the test fast; the checks after it go through the gateway) — and then:
 * the windows it holds stay at the bound (SQLite, and again after an eviction); the flooder's
 * next new user is refused (its key's overflow window is full); a user counted before the bound
 * keeps its own window; another key of the same connection, and another organization, are
 * counted as before.
 *
 * Callers without an API key (OAuth access tokens) are bounded per member the token acts as, the
 * same way: one member flooding to its bound leaves another member's new windows their own quota
 * (they once shared one owner, `(none)`, and so one overflow window).
 */
import { evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { ConnectionGuard } from '../../durable-objects/connection-guard.do';
import { guardName } from '../../durable-objects/guard.contract';
import { MAX_WINDOWS_PER_CALLER } from '../../durable-objects/rate.bound';
import {
  addMember,
  apiKeyIdOf,
  createApiKeyVia,
  createConnection,
  createOrg,
  mcp,
  putPolicy,
  rpcResult,
  type TestOrg,
} from './helpers';
import { mcpWithToken, obtainTokens, sessionCookie } from './oauth.helpers';

const RUN = Date.now().toString(36);
const LIMIT = 2;
const rules = [
  { tool: 'echo', action: 'allow', rateLimit: { limit: LIMIT, windowSeconds: 600, by: 'user' } },
  { tool: '*', action: 'allow' },
];

async function setup(slug: string, org?: TestOrg) {
  const owner = org ?? (await createOrg('owner'));
  const conn = await createConnection(slug, { key: owner.key });
  const { version } = await putPolicy(slug, rules, owner.key);
  const guard = env.GUARD.getByName(guardName(owner.orgId, conn.id)) as DurableObjectStub<ConnectionGuard>;
  return { org: owner, conn, version, guard };
}

async function echo(slug: string, key: string, user: string) {
  const res = await mcp(
    slug,
    'tools/call',
    { name: 'echo', arguments: { message: 'hi' } },
    { key, headers: { 'X-Igris-User': user } },
  );
  const body = await rpcResult(res);
  return { status: res.status, code: body.error?.data?.code };
}

async function stored(guard: DurableObjectStub<ConnectionGuard>) {
  return runInDurableObject(guard, (_instance, state) => {
    const sql = state.storage.sql;
    return {
      windows: sql.exec<{ n: number }>('SELECT count(DISTINCT key) AS n FROM rate_hits').one().n,
      owners: sql.exec<{ n: number }>('SELECT count(*) AS n FROM rate_window_owners').one().n,
    };
  });
}

describe('the guard holds a bounded number of rate windows', () => {
  it('keeps a flood of distinct users bounded and limited, and leaves other callers alone', {
    timeout: 120_000,
  }, async () => {
    const slug = `wb-flood-${RUN}`;
    const { org, conn, version, guard } = await setup(slug);
    const flooderId = await apiKeyIdOf(org.key);
    const other = await createApiKeyVia(org.key, 'other key', 'developer');

    // The flood: one admitted call per distinct user, the first MAX_WINDOWS_PER_CALLER in windows
    // of their own, then LIMIT more in the key's overflow window, then refused.
    const admit = (i: number) =>
      guard.admit({
        orgId: org.orgId,
        connectionId: conn.id,
        caller: { apiKeyId: flooderId, user: `flood-${i}`, mcpSessionId: null },
        rateChecks: [
          { ruleIndex: 0, key: `v${version}:r0:user=flood-${i}`, limit: LIMIT, windowSeconds: 600 },
        ],
        audit: [],
        final: false,
      });
    const verdicts = new Map<string, number>();
    const tally = (verdict: string) => verdicts.set(verdict, (verdicts.get(verdict) ?? 0) + 1);
    for (let i = 0; i < MAX_WINDOWS_PER_CALLER + 50; i++) tally((await admit(i)).verdict);
    expect(Object.fromEntries(verdicts)).toEqual({ admit: MAX_WINDOWS_PER_CALLER + LIMIT, rate_limited: 48 });
    // One window per user up to the bound, plus the overflow window — in SQLite, and in memory
    // after an eviction reads them back (the flooder is still at its bound: see below).
    expect(await stored(guard)).toEqual({
      windows: MAX_WINDOWS_PER_CALLER + 1,
      owners: MAX_WINDOWS_PER_CALLER + 1,
    });
    await evictDurableObject(guard);

    // Through the gateway: the flooder's next new users are counted in its full overflow window.
    expect(await echo(slug, org.key, `fresh-${RUN}`)).toEqual({ status: 429, code: 'rate_limited' });
    expect(await echo(slug, org.key, `fresh2-${RUN}`)).toEqual({ status: 429, code: 'rate_limited' });
    // A user counted before the bound keeps its own window (one call in it, one more admitted).
    expect((await echo(slug, org.key, 'flood-0')).status).toBe(200);
    expect(await echo(slug, org.key, 'flood-0')).toEqual({ status: 429, code: 'rate_limited' });
    // Another key of the same connection: its users have windows of their own, as before.
    for (let i = 0; i < LIMIT; i++) expect((await echo(slug, other.key, `bob-${RUN}`)).status).toBe(200);
    expect(await echo(slug, other.key, `bob-${RUN}`)).toEqual({ status: 429, code: 'rate_limited' });
    expect((await echo(slug, other.key, `carol-${RUN}`)).status).toBe(200);
    // Nothing the gateway calls added grew the count past the bound.
    expect(await stored(guard)).toEqual({
      windows: MAX_WINDOWS_PER_CALLER + 3,
      owners: MAX_WINDOWS_PER_CALLER + 3,
    });

    // Another organization, same user names: untouched.
    const elsewhere = await setup(`wb-other-${RUN}`);
    for (let i = 0; i < LIMIT; i++) {
      expect((await echo(`wb-other-${RUN}`, elsewhere.org.key, `fresh-${RUN}`)).status).toBe(200);
    }
    expect((await echo(`wb-other-${RUN}`, elsewhere.org.key, `fresh-${RUN}`)).status).toBe(429);
    expect(await stored(elsewhere.guard)).toEqual({ windows: 1, owners: 1 });
  });
});

describe('key-less callers (OAuth access tokens) are bounded per member', () => {
  /** An echo call with an OAuth access token: `by: "user"` counts it under the member's email. */
  async function echoWithToken(slug: string, token: string) {
    const res = await mcpWithToken(
      slug,
      token,
      'tools/call',
      { 'X-Igris-User': `forged-${RUN}` },
      {
        name: 'echo',
        arguments: { message: 'hi' },
      },
    );
    const body = await rpcResult(res);
    return { status: res.status, code: body.error?.data?.code };
  }

  it('one member at its bound sends no other member into its overflow window', {
    timeout: 120_000,
  }, async () => {
    const slug = `wb-oauth-${RUN}`;
    const { org, conn, version, guard } = await setup(slug);
    const member = await addMember(org.orgId, 'admin');
    const flooder = await obtainTokens(slug, await sessionCookie(org.userId, org.orgId), conn.id);
    const other = await obtainTokens(slug, await sessionCookie(member.userId, org.orgId), conn.id);

    // The owner's token floods: its bound of windows in one admit (one RPC keeps the test fast;
    // the guard takes as many places as a call creates windows), then its overflow window filled.
    const admit = (keys: string[]) =>
      guard.admit({
        orgId: org.orgId,
        connectionId: conn.id,
        caller: { apiKeyId: null, user: null, mcpSessionId: null, actor: `user:${org.userId}` },
        rateChecks: keys.map((key) => ({ ruleIndex: 0, key, limit: LIMIT, windowSeconds: 600 })),
        audit: [],
        final: false,
      });
    const flood = Array.from({ length: MAX_WINDOWS_PER_CALLER }, (_, i) => `v${version}:r0:user=oa-${i}`);
    expect((await admit(flood)).verdict).toBe('admit');
    for (let i = 0; i < LIMIT; i++)
      expect((await admit([`v${version}:r0:user=oa-x${i}`])).verdict).toBe('admit');
    expect((await admit([`v${version}:r0:user=oa-y`])).verdict).toBe('rate_limited');

    // Through the gateway: the flooder's own token is counted in its full overflow window…
    expect(await echoWithToken(slug, flooder.access_token)).toEqual({ status: 429, code: 'rate_limited' });
    // …while another member's token has a window of its own (its email, not the forged header).
    for (let i = 0; i < LIMIT; i++) expect((await echoWithToken(slug, other.access_token)).status).toBe(200);
    expect(await echoWithToken(slug, other.access_token)).toEqual({ status: 429, code: 'rate_limited' });
    expect(await stored(guard)).toEqual({
      windows: MAX_WINDOWS_PER_CALLER + 2,
      owners: MAX_WINDOWS_PER_CALLER + 2,
    });
  });
});
