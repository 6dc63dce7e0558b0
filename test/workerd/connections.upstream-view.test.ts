/**
 * docs/oauth.md#upstream-mode, docs/permissions.md#sharing: what connection answers say about the
 * caller alone.
 *
 * - `upstreamLinked` on GET /connections (and a connection's GET): per caller, for the whole page
 *   in one D1 query, never about another member's link.
 * - A developer who may use a connection only because it is shared with them reads its shared
 *   view (what they need to call it) and changes nothing; a developer it is not shared with is
 *   refused as before, and another organization's members find nothing.
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateApiKey, hashApiKey } from '../../workers/auth/api-key.crypto';
import { randomId } from '../../workers/lib/ids';
import { UPSTREAM_OAUTH_CLIENT } from '../shared/upstream-oauth.fake';
import { addMember, call, createOrg, expectApiError, expectJson, putPolicy, type TestOrg } from './helpers';
import { upstreamModeConnection } from './oauth.helpers';

interface ListedConnection {
  id: string;
  slug: string;
  upstreamLinked?: boolean | null;
}

let owner: TestOrg;
let admin: TestOrg;
let auditor: TestOrg;
let sharee: TestOrg;
let otherSharee: TestOrg;
let stranger: TestOrg;
let foreign: TestOrg;
let foreignDeveloper: TestOrg;
const ids = new Map<string, string>();
const suffix = randomId('s').slice(-6).toLowerCase();
const up = (n: number) => `upv-${suffix}-${n}`;
const plain = `upv-${suffix}-plain`;
const shared = `upv-${suffix}-shared`;

const upstreamMode = (slug: string, settings: Record<string, unknown> = {}) =>
  upstreamModeConnection(slug, { name: `Connection ${slug}`, settings });

async function create(body: Record<string, unknown>, key = owner.key): Promise<void> {
  const dto = await expectJson<{ id: string; slug: string }>(
    await call('POST', '/api/v1/connections', { key, body }),
    201,
  );
  ids.set(dto.slug, dto.id);
}

/** A member's link as the callback stores it (the tokens' contents do not matter to these answers). */
async function linkRow(member: TestOrg, slug: string): Promise<void> {
  await env.DB.prepare(
    `INSERT INTO upstream_oauth_tokens (org_id, connection_id, user_id, access_token_ciphertext,
       refresh_token_ciphertext, expires_at, scope, updated_at) VALUES (?, ?, ?, 'sealed', NULL, NULL, 'mcp:tools', ?)`,
  )
    .bind(member.orgId, ids.get(slug), member.userId, Date.now())
    .run();
}

async function unlinkRow(member: TestOrg, slug: string): Promise<void> {
  await env.DB.prepare('DELETE FROM upstream_oauth_tokens WHERE connection_id = ? AND user_id = ?')
    .bind(ids.get(slug), member.userId)
    .run();
}

async function listText(key: string): Promise<string> {
  const res = await call('GET', '/api/v1/connections', { key });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return text;
}

/** slug → upstreamLinked, for this test's connections only. */
async function linkedBySlug(key: string): Promise<Record<string, boolean | null | undefined>> {
  const { connections } = JSON.parse(await listText(key)) as { connections: ListedConnection[] };
  return Object.fromEntries(
    connections.filter((c) => c.slug.startsWith(`upv-${suffix}-`)).map((c) => [c.slug, c.upstreamLinked]),
  );
}

beforeAll(async () => {
  owner = await createOrg('owner');
  admin = await addMember(owner.orgId, 'admin');
  auditor = await addMember(owner.orgId, 'auditor');
  sharee = await addMember(owner.orgId, 'developer');
  otherSharee = await addMember(owner.orgId, 'developer');
  stranger = await addMember(owner.orgId, 'developer');
  foreign = await createOrg('owner');
  foreignDeveloper = await addMember(foreign.orgId, 'developer');
  for (const n of [1, 2, 3]) await create(upstreamMode(up(n)));
  await create({ slug: plain, name: plain, upstreamUrl: `${env.UPSTREAM_URL}/stateless`, credential: 'c' });
  await create(upstreamMode(shared, { sharedWith: [sharee.userId, otherSharee.userId] }));
  await putPolicy(shared, [{ tool: '*', action: 'allow' }], owner.key);
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('upstreamLinked on the connections list', () => {
  it('says, per caller, which upstream-mode connections they linked (null where there is nothing to link)', async () => {
    await linkRow(owner, up(1));
    await linkRow(admin, up(2));
    expect(await linkedBySlug(owner.key)).toEqual({
      [up(1)]: true,
      [up(2)]: false,
      [up(3)]: false,
      [plain]: null,
      [shared]: false,
    });
    expect(await linkedBySlug(admin.key)).toEqual({
      [up(1)]: false,
      [up(2)]: true,
      [up(3)]: false,
      [plain]: null,
      [shared]: false,
    });
    // An auditor may not call any connection: nothing of theirs to link anywhere.
    expect(Object.values(await linkedBySlug(auditor.key)).every((v) => v === null)).toBe(true);
    // A key with no member behind it acts for nobody (upstream mode refuses its calls): nothing to link.
    const { key, prefix } = generateApiKey();
    await env.DB.prepare(
      'INSERT INTO api_keys (id, org_id, created_by, name, role, prefix, hash) VALUES (?, ?, NULL, ?, ?, ?, ?)',
    )
      .bind(randomId('key'), owner.orgId, 'system', 'owner', prefix, await hashApiKey(key))
      .run();
    expect(Object.values(await linkedBySlug(key)).every((v) => v === null)).toBe(true);
  });

  it('reads every link of the page in one query, and only the caller’s own', async () => {
    const prepare = vi.spyOn(env.DB, 'prepare');
    await listText(owner.key);
    const linkQueries = prepare.mock.calls
      .map(([sql]) => sql)
      .filter((sql) => sql.includes('upstream_oauth_tokens'));
    expect(linkQueries).toHaveLength(1);
    expect(linkQueries[0]).toMatch(/user_id = \?/);
  });

  it('tells member A nothing about member B’s link', async () => {
    const before = await listText(owner.key);
    await linkRow(admin, up(3));
    expect(await listText(owner.key)).toBe(before);
    expect((await linkedBySlug(admin.key))[up(3)]).toBe(true);
    await unlinkRow(admin, up(3));
    expect(await listText(owner.key)).toBe(before);
  });

  it('is on a connection’s own GET too, for that caller', async () => {
    const mine = await expectJson<ListedConnection>(
      await call('GET', `/api/v1/connections/${up(1)}`, { key: owner.key }),
      200,
    );
    const theirs = await expectJson<ListedConnection>(
      await call('GET', `/api/v1/connections/${up(1)}`, { key: admin.key }),
      200,
    );
    expect([mine.upstreamLinked, theirs.upstreamLinked]).toEqual([true, false]);
  });
});

describe('a connection shared with a developer', () => {
  it('answers the sharee its shared view: what they need to call it, nothing else', async () => {
    const res = await call('GET', `/api/v1/connections/${shared}`, { key: sharee.key });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const view = JSON.parse(text) as Record<string, unknown>;
    expect(view).toEqual({
      access: 'shared',
      id: ids.get(shared),
      slug: shared,
      name: `Connection ${shared}`,
      type: 'mcp',
      enabled: true,
      gatewayUrl: `http://gateway.test/v1/mcp/${shared}`,
      upstreamOAuth: { issuer: env.UPSTREAM_OAUTH_URL },
      upstreamLinked: false,
      llm: null,
    });
    // Not the gateway's client id, the other members on the list, the owner, or the upstream.
    for (const secret of [
      UPSTREAM_OAUTH_CLIENT.clientId,
      otherSharee.userId,
      owner.userId,
      `${env.UPSTREAM_OAUTH_URL}/mcp`,
    ]) {
      expect(text).not.toContain(secret);
    }
    await linkRow(sharee, shared);
    const linked = await expectJson<{ upstreamLinked: boolean }>(
      await call('GET', `/api/v1/connections/${shared}`, { key: sharee.key }),
      200,
    );
    expect(linked.upstreamLinked).toBe(true);
    // The other sharee's view says nothing of that link.
    const other = await expectJson<{ upstreamLinked: boolean }>(
      await call('GET', `/api/v1/connections/${shared}`, { key: otherSharee.key }),
      200,
    );
    expect(other.upstreamLinked).toBe(false);
  });

  it.each([
    ['PATCH', '', { name: 'taken' }, 'connections:write'],
    ['PATCH', '', { settings: { sharedWith: [] } }, 'connections:write'],
    ['DELETE', '', undefined, 'connections:write'],
    ['POST', '/rotate', { credential: 'stolen' }, 'connections:write'],
    ['POST', '/disable', undefined, 'connections:write'],
    ['POST', '/enable', undefined, 'connections:write'],
    ['GET', '/policy', undefined, 'policies:read'],
    ['PUT', '/policy', { rules: [] }, 'policies:write'],
    ['POST', '/policy/rollback', { version: 1 }, 'policies:write'],
  ])('refuses the sharee %s %s with 403 and changes nothing', async (method, path, body, permission) => {
    const row = () => env.DB.prepare('SELECT * FROM connections WHERE id = ?').bind(ids.get(shared)).first();
    const before = await row();
    const err = await expectApiError(
      await call(method, `/api/v1/connections/${shared}${path}`, { key: sharee.key, body }),
      403,
      'forbidden',
    );
    expect(err.details).toMatchObject({ permission, role: 'developer', scope: 'own' });
    expect(await row()).toEqual(before);
  });

  it('refuses a developer it is not shared with, as before, saying nothing of it', async () => {
    const err = await expectApiError(
      await call('GET', `/api/v1/connections/${shared}`, { key: stranger.key }),
      403,
      'forbidden',
    );
    expect(err.details).toEqual({ permission: 'connections:read', role: 'developer', scope: 'own' });
    // The same answer as for a connection not in upstream mode and shared with nobody.
    const plainErr = await expectApiError(
      await call('GET', `/api/v1/connections/${plain}`, { key: stranger.key }),
      403,
      'forbidden',
    );
    expect(err).toEqual(plainErr);
  });

  it('is not found for another organization’s members', async () => {
    for (const key of [foreign.key, foreignDeveloper.key]) {
      await expectApiError(await call('GET', `/api/v1/connections/${shared}`, { key }), 404, 'not_found');
      const { connections } = await expectJson<{ connections: ListedConnection[] }>(
        await call('GET', '/api/v1/connections', { key }),
        200,
      );
      expect(connections.map((c) => c.slug)).not.toContain(shared);
    }
  });
});
