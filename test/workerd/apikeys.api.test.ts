/**
 * The API keys API: creation (the key is shown once and only its hash is stored), the role
 * ceiling, listings without secrets and narrowed to own keys for Developers and Auditors,
 * revocation taking effect on the very next call (API and gateway), and the audit rows.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../workers/auth/api-key.crypto';
import {
  addMember,
  adminAuditRows,
  apiKeyIdOf,
  call,
  createApiKeyVia,
  createConnection,
  createOrg,
  expectApiError,
  expectJson,
  mcp,
  putPolicy,
  rpcResult,
  type TestOrg,
} from './helpers';

interface ApiKeyDto {
  id: string;
  name: string;
  role: string;
  prefix: string;
  createdBy: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

let org: TestOrg;

beforeAll(async () => {
  org = await createOrg('owner');
});

async function listKeys(key: string) {
  return (await expectJson<{ apiKeys: ApiKeyDto[] }>(await call('GET', '/api/v1/api-keys', { key }), 200))
    .apiKeys;
}

async function keyCount(orgId: string) {
  const row = await env.DB.prepare('SELECT count(*) AS n FROM api_keys WHERE org_id = ?')
    .bind(orgId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

describe('POST /api/v1/api-keys', () => {
  it('returns the key once, stores only its hash and prefix, and audits without the key', async () => {
    const res = await call('POST', '/api/v1/api-keys', { key: org.key, body: { name: 'ci key' } });
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const created = await expectJson<Record<string, unknown>>(res, 201);
    expect(Object.keys(created).sort()).toEqual(['createdAt', 'id', 'key', 'name', 'prefix', 'role']);
    const key = created.key as string;
    expect(key).toMatch(/^ig_[A-Za-z0-9_-]{43}$/);
    expect(created).toMatchObject({ name: 'ci key', role: 'owner', prefix: key.slice(0, 10) });
    expect(created.id).toMatch(/^key_/);

    const row = await env.DB.prepare('SELECT * FROM api_keys WHERE id = ?')
      .bind(created.id)
      .first<Record<string, unknown>>();
    expect(row).toMatchObject({
      org_id: org.orgId,
      created_by: org.userId,
      name: 'ci key',
      role: 'owner',
      prefix: key.slice(0, 10),
      hash: await hashApiKey(key),
      revoked_at: null,
    });
    expect(JSON.stringify(row)).not.toContain(key);

    const audit = (await adminAuditRows(org.orgId, 'api_key.create')).filter(
      (r) => (r.details as { apiKeyId: string }).apiKeyId === created.id,
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actor: `key:${await apiKeyIdOf(org.key)}`,
      details: { apiKeyId: created.id, name: 'ci key', role: 'owner', prefix: key.slice(0, 10) },
    });
    expect(JSON.stringify(audit)).not.toContain(key);

    // The new key works, in the same organization.
    const current = await expectJson<{ id: string; role: string }>(
      await call('GET', '/api/v1/organizations/current', { key }),
      200,
    );
    expect(current).toMatchObject({ id: org.orgId, role: 'owner' });
  });

  it.each([
    ['owner', ['owner', 'admin', 'developer', 'auditor']],
    ['admin', ['admin', 'developer', 'auditor']],
    ['developer', ['developer', 'auditor']],
    ['auditor', ['auditor']],
  ] as const)('a %s may create keys up to its own role, defaulting to it', async (role, allowed) => {
    const member = await addMember(org.orgId, role);
    const defaulted = await createApiKeyVia(member.key, `${role} default`);
    expect(defaulted.role).toBe(role);
    for (const wanted of allowed) {
      expect((await createApiKeyVia(member.key, `${role}→${wanted}`, wanted)).role).toBe(wanted);
    }
  });

  it.each([
    ['admin', 'owner'],
    ['developer', 'admin'],
    ['developer', 'owner'],
    ['auditor', 'developer'],
  ] as const)(
    'a %s may not create a %s key: 403 naming the permission, nothing written',
    async (role, wanted) => {
      const member = await addMember(org.orgId, role);
      const before = await keyCount(org.orgId);
      const auditBefore = (await adminAuditRows(org.orgId, 'api_key.create')).length;
      const err = await expectApiError(
        await call('POST', '/api/v1/api-keys', {
          key: member.key,
          body: { name: 'too strong', role: wanted },
        }),
        403,
        'forbidden',
      );
      expect(err.message).toContain('apikeys:write');
      expect(err.details).toMatchObject({ permission: 'apikeys:write', role, requestedRole: wanted });
      expect(await keyCount(org.orgId)).toBe(before);
      expect((await adminAuditRows(org.orgId, 'api_key.create')).length).toBe(auditBefore);
    },
  );

  it("caps the ceiling at the key's effective role, not the creator's membership", async () => {
    // An owner's developer-role key acts as a developer, so it cannot mint an owner key.
    const devKeyOfOwner = await createApiKeyVia(org.key, 'reduced', 'developer');
    const err = await expectApiError(
      await call('POST', '/api/v1/api-keys', { key: devKeyOfOwner.key, body: { name: 'x', role: 'owner' } }),
      403,
      'forbidden',
    );
    expect(err.message).toContain('apikeys:write');
    expect((await createApiKeyVia(devKeyOfOwner.key, 'same')).role).toBe('developer');
  });

  it('a key acts with at most its own role', async () => {
    const auditorKey = await createApiKeyVia(org.key, 'read only', 'auditor');
    const err = await expectApiError(
      await call('PATCH', '/api/v1/organizations/current', { key: auditorKey.key, body: { name: 'x' } }),
      403,
      'forbidden',
    );
    expect(err.message).toContain('org:write');
  });

  it.each([
    ['no name', {}, 'name'],
    ['an empty name', { name: '  ' }, 'name'],
    ['a too long name', { name: 'x'.repeat(201) }, 'name'],
    ['an unknown role', { name: 'k', role: 'superuser' }, 'role'],
    ['an unknown field', { name: 'k', hash: 'abc' }, ''],
  ])('refuses %s with 400 and writes nothing', async (_label, body, path) => {
    const before = await keyCount(org.orgId);
    const err = await expectApiError(
      await call('POST', '/api/v1/api-keys', { key: org.key, body }),
      400,
      'validation_failed',
    );
    expect(err.details!.issues).toContainEqual(expect.objectContaining({ location: 'body', path }));
    expect(await keyCount(org.orgId)).toBe(before);
  });

  it('requires authentication', async () => {
    await expectApiError(
      await call('POST', '/api/v1/api-keys', { key: null, body: { name: 'k' } }),
      401,
      'unauthorized',
    );
  });
});

describe('GET /api/v1/api-keys', () => {
  let team: TestOrg;
  let admin: TestOrg;
  let developer: TestOrg;
  let auditor: TestOrg;

  beforeAll(async () => {
    team = await createOrg('owner');
    admin = await addMember(team.orgId, 'admin');
    developer = await addMember(team.orgId, 'developer');
    auditor = await addMember(team.orgId, 'auditor');
    await createApiKeyVia(developer.key, 'dev second');
    await createApiKeyVia(auditor.key, 'auditor second');
  });

  it('lists every key of the organization for owners and admins, never a secret', async () => {
    for (const caller of [team, admin]) {
      const keys = await listKeys(caller.key);
      expect(keys.length).toBe(6);
      for (const k of keys) {
        expect(Object.keys(k).sort()).toEqual(
          ['createdAt', 'createdBy', 'id', 'lastUsedAt', 'name', 'prefix', 'revokedAt', 'role'].sort(),
        );
      }
      const text = JSON.stringify(keys);
      for (const secret of [team.key, admin.key, developer.key, auditor.key]) {
        expect(text).not.toContain(secret);
        expect(text).not.toContain(await hashApiKey(secret));
      }
    }
  });

  it.each(['developer', 'auditor'] as const)('shows a %s only the keys they created', async (role) => {
    const member = role === 'developer' ? developer : auditor;
    const keys = await listKeys(member.key);
    expect(keys).toHaveLength(2);
    expect(keys.every((k) => k.createdBy === member.userId)).toBe(true);
  });

  it('records last use', async () => {
    // team.key has been used by the tests above; last use is written off the hot path (waitUntil),
    // so it is polled, with room for a loaded machine (expect.poll gives up after 1 s by default).
    await expect
      .poll(async () => (await listKeys(team.key)).find((k) => k.createdBy === team.userId)?.lastUsedAt, {
        timeout: 10_000,
      })
      .toMatch(/^\d{4}-/);
  });
});

describe('DELETE /api/v1/api-keys/:id', () => {
  it('revokes: the very next API call and gateway call with the key get 401', async () => {
    await createConnection('revoke-gw', { key: org.key });
    await putPolicy('revoke-gw', [{ tool: '*', action: 'allow' }], org.key);
    const victim = await createApiKeyVia(org.key, 'to revoke');
    expect((await mcp('revoke-gw', 'tools/list', {}, { key: victim.key })).status).toBe(200);
    await expectJson(await call('GET', '/api/v1/connections', { key: victim.key }), 200);

    const revoked = await expectJson<ApiKeyDto>(
      await call('DELETE', `/api/v1/api-keys/${victim.id}`, { key: org.key }),
      200,
    );
    expect(revoked).toMatchObject({ id: victim.id, name: 'to revoke', prefix: victim.prefix });
    expect(revoked.revokedAt).not.toBeNull();
    expect(JSON.stringify(revoked)).not.toContain(victim.key);

    const api = await call('GET', '/api/v1/connections', { key: victim.key });
    await expectApiError(api, 401, 'unauthorized');
    expect(api.headers.get('WWW-Authenticate')).toMatch(/^Bearer /);

    const gw = await mcp('revoke-gw', 'tools/list', {}, { key: victim.key });
    expect(gw.status).toBe(401);
    expect((await rpcResult(gw)).error?.data?.code).toBe('unauthorized');

    const audit = (await adminAuditRows(org.orgId, 'api_key.revoke')).filter(
      (r) => (r.details as { apiKeyId: string }).apiKeyId === victim.id,
    );
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit)).not.toContain(victim.key);

    // Listed as revoked, still without secrets.
    const listed = (await listKeys(org.key)).find((k) => k.id === victim.id);
    expect(listed?.revokedAt).toBe(revoked.revokedAt);
  });

  it('is idempotent: revoking again changes and writes nothing', async () => {
    const victim = await createApiKeyVia(org.key, 'twice');
    const first = await expectJson<ApiKeyDto>(
      await call('DELETE', `/api/v1/api-keys/${victim.id}`, { key: org.key }),
      200,
    );
    const second = await expectJson<ApiKeyDto>(
      await call('DELETE', `/api/v1/api-keys/${victim.id}`, { key: org.key }),
      200,
    );
    expect(second.revokedAt).toBe(first.revokedAt);
    const audit = (await adminAuditRows(org.orgId, 'api_key.revoke')).filter(
      (r) => (r.details as { apiKeyId: string }).apiKeyId === victim.id,
    );
    expect(audit).toHaveLength(1);
  });

  it('a key may revoke itself', async () => {
    const self = await createApiKeyVia(org.key, 'self');
    await expectJson(await call('DELETE', `/api/v1/api-keys/${self.id}`, { key: self.key }), 200);
    await expectApiError(await call('GET', '/api/v1/api-keys', { key: self.key }), 401, 'unauthorized');
  });

  it('answers an unknown id with 404', async () => {
    const err = await expectApiError(
      await call('DELETE', '/api/v1/api-keys/key_doesnotexist0000000', { key: org.key }),
      404,
      'not_found',
    );
    expect(err.details).toEqual({ location: 'path', path: 'id' });
  });

  it("a developer revokes their own keys but gets 403 naming the permission on others'", async () => {
    const developer = await addMember(org.orgId, 'developer');
    const own = await createApiKeyVia(developer.key, 'own');
    const ownerKey = await createApiKeyVia(org.key, 'owners');
    const err = await expectApiError(
      await call('DELETE', `/api/v1/api-keys/${ownerKey.id}`, { key: developer.key }),
      403,
      'forbidden',
    );
    expect(err.message).toContain('apikeys:write');
    expect(err.details).toMatchObject({ permission: 'apikeys:write', scope: 'own' });
    await expectJson(await call('GET', '/api/v1/api-keys', { key: ownerKey.key }), 200);
    await expectJson(await call('DELETE', `/api/v1/api-keys/${own.id}`, { key: developer.key }), 200);
    await expectApiError(await call('GET', '/api/v1/api-keys', { key: own.key }), 401, 'unauthorized');
  });

  it("an auditor gets 403 on others' keys too", async () => {
    const auditor = await addMember(org.orgId, 'auditor');
    const ownerKey = await createApiKeyVia(org.key, 'owners 2');
    const err = await expectApiError(
      await call('DELETE', `/api/v1/api-keys/${ownerKey.id}`, { key: auditor.key }),
      403,
      'forbidden',
    );
    expect(err.message).toContain('apikeys:write');
  });

  it('an admin revokes keys created by others', async () => {
    const admin = await addMember(org.orgId, 'admin');
    const developer = await addMember(org.orgId, 'developer');
    await expectJson(
      await call('DELETE', `/api/v1/api-keys/${await apiKeyIdOf(developer.key)}`, { key: admin.key }),
      200,
    );
    await expectApiError(await call('GET', '/api/v1/members', { key: developer.key }), 401, 'unauthorized');
  });
});
