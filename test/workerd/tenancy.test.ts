/**
 * Tenant isolation: a key of organization A gets 404 — not 403, and no data — for every resource
 * of organization B, for reads, updates and deletes alike, and nothing of B changes. Listings of A
 * never include B's rows. Same slugs in both organizations stay separate.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  apiKeyIdOf,
  call,
  createApiKeyVia,
  createConnection,
  createOrg,
  expectJson,
  mcp,
  memberIdOf,
  putPolicy,
  rpcResult,
  type TestOrg,
  whoami,
} from './helpers';

let a: TestOrg;
let aAdmin: TestOrg;
let aDeveloper: TestOrg;
let b: TestOrg;
let bDeveloper: TestOrg;
let bKeyId: string;
let bMemberId: string;
const B_SLUG = 'tenant-b-only';
const SHARED_SLUG = 'tenant-shared';

/** Everything of B that a request could reveal or change. */
async function snapshotB() {
  const q = async (sql: string) => (await env.DB.prepare(sql).bind(b.orgId).all()).results;
  return JSON.stringify([
    await q('SELECT * FROM connections WHERE org_id = ? ORDER BY id'),
    await q('SELECT * FROM policies WHERE org_id = ? ORDER BY id'),
    await q('SELECT id, role, revoked_at FROM api_keys WHERE org_id = ? ORDER BY id'),
    await q('SELECT * FROM members WHERE org_id = ? ORDER BY id'),
    await q('SELECT name, settings FROM organizations WHERE id = ?'),
    await q("SELECT count(*) AS n FROM audit_events WHERE org_id = ? AND type = 'admin'"),
  ]);
}

beforeAll(async () => {
  a = await createOrg('owner');
  aAdmin = await addMember(a.orgId, 'admin');
  aDeveloper = await addMember(a.orgId, 'developer');
  b = await createOrg('owner');
  bDeveloper = await addMember(b.orgId, 'developer');
  await createConnection(B_SLUG, { key: b.key, credential: 'b-only-credential' });
  await putPolicy(B_SLUG, [{ tool: '*', action: 'allow' }], b.key);
  await createConnection(SHARED_SLUG, { key: b.key, credential: 'b-shared-credential' });
  await putPolicy(SHARED_SLUG, [{ tool: '*', action: 'allow' }], b.key);
  await createConnection(SHARED_SLUG, { key: a.key, credential: 'a-shared-credential' });
  await putPolicy(SHARED_SLUG, [{ tool: '*', action: 'allow' }], a.key);
  bKeyId = (await createApiKeyVia(b.key, 'b extra')).id;
  bMemberId = await memberIdOf(b.orgId, bDeveloper.userId);
});

const cases: Array<[string, string, () => string, unknown?]> = [
  ['read a connection', 'GET', () => `/api/v1/connections/${B_SLUG}`],
  ['update a connection', 'PATCH', () => `/api/v1/connections/${B_SLUG}`, { name: 'pwned' }],
  ['delete a connection', 'DELETE', () => `/api/v1/connections/${B_SLUG}`],
  ['rotate a credential', 'POST', () => `/api/v1/connections/${B_SLUG}/rotate`, { credential: 'a-writes' }],
  ['disable a connection', 'POST', () => `/api/v1/connections/${B_SLUG}/disable`],
  ['enable a connection', 'POST', () => `/api/v1/connections/${B_SLUG}/enable`],
  ['read a policy', 'GET', () => `/api/v1/connections/${B_SLUG}/policy`],
  ['replace a policy', 'PUT', () => `/api/v1/connections/${B_SLUG}/policy`, { rules: [] }],
  ['list policy versions', 'GET', () => `/api/v1/connections/${B_SLUG}/policy/versions`],
  ['roll a policy back', 'POST', () => `/api/v1/connections/${B_SLUG}/policy/rollback`, { version: 1 }],
  ['simulate a policy', 'POST', () => `/api/v1/connections/${B_SLUG}/policy/simulate`, { tool: 'echo' }],
  ['revoke an API key', 'DELETE', () => `/api/v1/api-keys/${bKeyId}`],
  ['change a member', 'PATCH', () => `/api/v1/members/${bMemberId}`, { role: 'auditor' }],
  ['remove a member', 'DELETE', () => `/api/v1/members/${bMemberId}`],
];

describe.each([
  ['owner', () => a],
  ['admin', () => aAdmin],
])("a key of organization A (%s) on organization B's resources", (_role, caller) => {
  it.each(cases)('%s: 404, no data, nothing changed', async (_label, method, path, body) => {
    const before = await snapshotB();
    const res = await call(method, path(), { key: caller().key, body });
    const text = await res.text();
    expect(res.status, text).toBe(404);
    expect(JSON.parse(text).error.code).toBe('not_found');
    for (const secret of [b.orgId, b.userId, bDeveloper.userId, 'b-only-credential', `${B_SLUG}"`]) {
      expect(text).not.toContain(secret);
    }
    expect(await snapshotB()).toBe(before);
  });
});

describe("a Developer of A (own-scoped) on B's connections", () => {
  it.each(cases.filter(([, , path]) => path().startsWith('/api/v1/connections')))(
    '%s: 404 (not 403)',
    async (_label, method, path, body) => {
      const before = await snapshotB();
      const res = await call(method, path(), { key: aDeveloper.key, body });
      expect(res.status).toBe(404);
      expect(await snapshotB()).toBe(before);
    },
  );
});

describe('the gateway', () => {
  it("answers A's key on B's slug with 404 and forwards nothing", async () => {
    const res = await mcp(B_SLUG, 'tools/call', { name: 'whoami', arguments: {} }, { key: a.key });
    expect(res.status).toBe(404);
    const body = await rpcResult(res);
    expect(body.error?.data?.code).toBe('not_found');
    expect(JSON.stringify(body)).not.toContain('b-only-credential');
  });

  it('resolves a slug both organizations use to the caller’s own connection', async () => {
    expect((await whoami(SHARED_SLUG, a.key)).authorization).toBe('Bearer a-shared-credential');
    expect((await whoami(SHARED_SLUG, b.key)).authorization).toBe('Bearer b-shared-credential');
  });

  it("changing A's connection with a shared slug leaves B's alone", async () => {
    await expectJson(
      await call('POST', `/api/v1/connections/${SHARED_SLUG}/rotate`, {
        key: a.key,
        body: { credential: 'a-rotated-credential' },
      }),
      200,
    );
    expect((await whoami(SHARED_SLUG, a.key)).authorization).toBe('Bearer a-rotated-credential');
    expect((await whoami(SHARED_SLUG, b.key)).authorization).toBe('Bearer b-shared-credential');
  });
});

describe('listings', () => {
  it("never include B's rows", async () => {
    const connections = await expectJson<{ connections: Array<{ id: string; slug: string }> }>(
      await call('GET', '/api/v1/connections', { key: a.key }),
      200,
    );
    expect(connections.connections.map((c) => c.slug)).not.toContain(B_SLUG);
    const bConnectionIds = (
      await env.DB.prepare('SELECT id FROM connections WHERE org_id = ?').bind(b.orgId).all<{ id: string }>()
    ).results.map((r) => r.id);
    for (const id of bConnectionIds) expect(JSON.stringify(connections)).not.toContain(id);

    const keys = await expectJson<{ apiKeys: Array<{ id: string }> }>(
      await call('GET', '/api/v1/api-keys', { key: a.key }),
      200,
    );
    const keyIds = keys.apiKeys.map((k) => k.id);
    expect(keyIds).not.toContain(bKeyId);
    expect(keyIds).not.toContain(await apiKeyIdOf(b.key));
    expect(keyIds).toContain(await apiKeyIdOf(a.key));

    const members = await expectJson<{ members: Array<{ userId: string }> }>(
      await call('GET', '/api/v1/members', { key: a.key }),
      200,
    );
    expect(members.members.map((m) => m.userId).sort()).toEqual(
      [a.userId, aAdmin.userId, aDeveloper.userId].sort(),
    );

    const org = await expectJson<{ id: string }>(
      await call('GET', '/api/v1/organizations/current', { key: a.key }),
      200,
    );
    expect(org.id).toBe(a.orgId);
  });

  it("A's organization change does not touch B", async () => {
    const before = await snapshotB();
    await expectJson(
      await call('PATCH', '/api/v1/organizations/current', {
        key: a.key,
        body: { name: 'A renamed', settings: { retentionDays: 5 } },
      }),
      200,
    );
    expect(await snapshotB()).toBe(before);
  });
});
