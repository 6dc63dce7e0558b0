/**
 * docs/permissions.md#sharing, docs/connections.md#read-and-list: a developer's GET /connections
 * holds their own connections whole and those shared with them (settings.sharedWith) as their
 * shared view — the same answer the connection's own GET gives them — and nothing else: not a
 * connection shared with someone else, never another organization's. Owners, admins and auditors
 * read every connection whole, as before. One connections query per list, links per caller.
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { UPSTREAM_OAUTH_CLIENT } from '../shared/upstream-oauth.fake';
import { addMember, call, createOrg, expectJson, type TestOrg } from './helpers';

type Item = Record<string, unknown> & { id: string; slug: string };

let owner: TestOrg;
let admin: TestOrg;
let auditor: TestOrg;
let dev: TestOrg;
let otherDev: TestOrg;
let foreign: TestOrg;
const ids = new Map<string, string>();
const run = Math.random().toString(36).slice(2, 8);
const slug = (name: string) => `shl-${run}-${name}`;

/** Created in this order, so the organization's list holds them in it (created_at, then rowid). */
const ORDER = ['a-shared', 'b-own', 'c-others', 'd-shared-up', 'e-own', 'f-shared'].map(slug);

function body(name: string, settings: Record<string, unknown> = {}, upstream = false) {
  return {
    slug: name,
    name: `Connection ${name}`,
    upstreamUrl: upstream ? `${env.UPSTREAM_OAUTH_URL}/mcp` : `${env.UPSTREAM_URL}/stateless`,
    authType: 'bearer',
    credential: upstream ? UPSTREAM_OAUTH_CLIENT.clientSecret : 'secret-credential-value',
    settings: upstream
      ? {
          upstreamOAuth: {
            issuer: env.UPSTREAM_OAUTH_URL,
            clientId: UPSTREAM_OAUTH_CLIENT.clientId,
            scopes: ['mcp:tools'],
          },
          ...settings,
        }
      : settings,
  };
}

async function create(key: string, payload: Record<string, unknown>): Promise<string> {
  const dto = await expectJson<{ id: string; slug: string }>(
    await call('POST', '/api/v1/connections', { key, body: payload }),
    201,
  );
  ids.set(dto.slug, dto.id);
  return dto.id;
}

async function list(key: string): Promise<Item[]> {
  const res = await call('GET', '/api/v1/connections', { key });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return (JSON.parse(text) as { connections: Item[] }).connections;
}

/** This run's items only (other test files share the database, never the organization). */
async function mine(key: string): Promise<Item[]> {
  return (await list(key)).filter((c) => c.slug.startsWith(`shl-${run}-`));
}

const SHARED_KEYS = [
  'access',
  'enabled',
  'gatewayUrl',
  'id',
  'llm',
  'name',
  'slug',
  'type',
  'upstreamLinked',
  'upstreamOAuth',
];

beforeAll(async () => {
  owner = await createOrg('owner');
  admin = await addMember(owner.orgId, 'admin');
  auditor = await addMember(owner.orgId, 'auditor');
  dev = await addMember(owner.orgId, 'developer');
  otherDev = await addMember(owner.orgId, 'developer');
  foreign = await createOrg('owner');
  await create(owner.key, body(ORDER[0]!, { sharedWith: [dev.userId] }));
  await create(dev.key, body(ORDER[1]!));
  await create(owner.key, body(ORDER[2]!, { sharedWith: [otherDev.userId] }));
  await create(owner.key, body(ORDER[3]!, { sharedWith: [otherDev.userId, dev.userId] }, true));
  await create(dev.key, body(ORDER[4]!));
  await create(admin.key, body(ORDER[5]!, { sharedWith: [dev.userId] }));
  // Another organization: one connection whose stored list names dev, one "created" by dev's user
  // id. Neither can be written through the API (sharedWith ids must be members, created_by is the
  // caller): written straight to D1, to prove the list query itself is scoped to the organization.
  const named = await create(foreign.key, body(slug('x-foreign-named')));
  await env.DB.prepare('UPDATE connections SET settings = ? WHERE id = ?')
    .bind(JSON.stringify({ sharedWith: [dev.userId] }), named)
    .run();
  const mimicked = await create(foreign.key, body(slug('y-foreign-created')));
  await env.DB.prepare('UPDATE connections SET created_by = ? WHERE id = ?').bind(dev.userId, mimicked).run();
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("a developer's connections list", () => {
  it('holds their own whole and those shared with them as their shared view, in the organization’s order', async () => {
    const items = await mine(dev.key);
    expect(items.map((c) => c.slug)).toEqual([ORDER[0], ORDER[1], ORDER[3], ORDER[4], ORDER[5]]);
    for (const item of items) {
      const own = item.slug === ORDER[1] || item.slug === ORDER[4];
      if (own) {
        expect(item).not.toHaveProperty('access');
        expect(item).toMatchObject({ createdBy: dev.userId, hasCredential: true });
        expect(item).toHaveProperty('health');
        continue;
      }
      // Exactly the shared view's keys: no settings, credential, creator, upstream, health or activity.
      expect(Object.keys(item).sort()).toEqual(SHARED_KEYS);
      expect(item.access).toBe('shared');
      // The same answer as the connection's own GET gives this developer.
      const detail = await expectJson<Item>(
        await call('GET', `/api/v1/connections/${item.slug}`, { key: dev.key }),
        200,
      );
      expect(item).toEqual(detail);
    }
    expect(items.find((c) => c.slug === ORDER[3])).toEqual({
      access: 'shared',
      id: ids.get(ORDER[3]!),
      slug: ORDER[3],
      name: `Connection ${ORDER[3]}`,
      type: 'mcp',
      enabled: true,
      gatewayUrl: `http://gateway.test/v1/mcp/${ORDER[3]}`,
      upstreamOAuth: { issuer: env.UPSTREAM_OAUTH_URL },
      upstreamLinked: false,
      llm: null,
    });
  });

  it('says nothing of the shared connections’ settings, credential, creator or other members', async () => {
    const shared = (await mine(dev.key)).filter((c) => c.access === 'shared');
    expect(shared.map((c) => c.slug)).toEqual([ORDER[0], ORDER[3], ORDER[5]]);
    const text = JSON.stringify(shared);
    for (const secret of [
      'secret-credential-value',
      UPSTREAM_OAUTH_CLIENT.clientId,
      UPSTREAM_OAUTH_CLIENT.clientSecret,
      otherDev.userId,
      owner.userId,
      admin.userId,
      `${env.UPSTREAM_URL}/stateless`,
      `${env.UPSTREAM_OAUTH_URL}/mcp`,
      'sharedWith',
    ]) {
      expect(text).not.toContain(secret);
    }
  });

  it('never holds another organization’s connection, whatever its row names', async () => {
    const slugs = (await list(dev.key)).map((c) => c.slug);
    // The list does read the stored access lists (of the developer's own organization)…
    expect(slugs).toContain(ORDER[0]);
    // …and never another organization's rows.
    expect(slugs).not.toContain(slug('x-foreign-named'));
    expect(slugs).not.toContain(slug('y-foreign-created'));
    // The foreign organization still sees both, whole.
    expect((await mine(foreign.key)).map((c) => c.slug)).toEqual([
      slug('x-foreign-named'),
      slug('y-foreign-created'),
    ]);
  });

  it('drops a connection at the next request once they are removed from its list, and holds it again when re-added', async () => {
    const target = ORDER[5]!;
    await expectJson(
      await call('PATCH', `/api/v1/connections/${target}`, {
        key: admin.key,
        body: { settings: { sharedWith: [] } },
      }),
      200,
    );
    expect((await mine(dev.key)).map((c) => c.slug)).not.toContain(target);
    await expectJson(
      await call('PATCH', `/api/v1/connections/${target}`, {
        key: admin.key,
        body: { settings: { sharedWith: [dev.userId] } },
      }),
      200,
    );
    expect((await mine(dev.key)).map((c) => c.slug)).toContain(target);
  });

  it('skips a stored list that is not JSON or not an array, and answers the rest', async () => {
    const broken = await create(owner.key, body(slug('z-broken')));
    const scalar = await create(owner.key, body(slug('z-scalar')));
    await env.DB.prepare('UPDATE connections SET settings = ? WHERE id = ?').bind('{not json', broken).run();
    await env.DB.prepare('UPDATE connections SET settings = ? WHERE id = ?')
      .bind(JSON.stringify({ sharedWith: dev.userId }), scalar)
      .run();
    try {
      const slugs = (await mine(dev.key)).map((c) => c.slug);
      expect(slugs).toEqual([ORDER[0], ORDER[1], ORDER[3], ORDER[4], ORDER[5]]);
    } finally {
      await env.DB.prepare('DELETE FROM connections WHERE id IN (?, ?)').bind(broken, scalar).run();
    }
  });

  it('reads its connections in one query and its links in one, and says only the caller’s own links', async () => {
    const prepare = vi.spyOn(env.DB, 'prepare');
    await list(dev.key);
    const sql = prepare.mock.calls.map(([text]) => text);
    expect(sql.filter((text) => /FROM connections\b/.test(text))).toHaveLength(1);
    const links = sql.filter((text) => text.includes('upstream_oauth_tokens'));
    expect(links).toHaveLength(1);
    expect(links[0]).toMatch(/user_id = \?/);
    vi.restoreAllMocks();

    await env.DB.prepare(
      `INSERT INTO upstream_oauth_tokens (org_id, connection_id, user_id, access_token_ciphertext,
         refresh_token_ciphertext, expires_at, scope, updated_at) VALUES (?, ?, ?, 'sealed', NULL, NULL, 'mcp:tools', ?)`,
    )
      .bind(owner.orgId, ids.get(ORDER[3]!), otherDev.userId, Date.now())
      .run();
    const linked = (key: string) =>
      mine(key).then((items) => items.find((c) => c.slug === ORDER[3])?.upstreamLinked);
    expect(await linked(otherDev.key)).toBe(true);
    expect(await linked(dev.key)).toBe(false);
  });
});

describe('owners’, admins’ and auditors’ lists', () => {
  it('hold every connection of the organization whole, the shared ones with their access list', async () => {
    for (const member of [owner, admin, auditor]) {
      const items = await mine(member.key);
      expect(items.map((c) => c.slug)).toEqual(ORDER);
      for (const item of items) {
        expect(item).not.toHaveProperty('access');
        expect(item).toHaveProperty('settings');
        expect(item).toHaveProperty('health');
        expect(item).toHaveProperty('authType');
      }
      expect(items.find((c) => c.slug === ORDER[3])).toMatchObject({
        createdBy: owner.userId,
        settings: { sharedWith: [otherDev.userId, dev.userId] },
      });
    }
  });
});
