/**
 * The organization and members API: reading and changing the current organization, listing
 * members, role changes and removals with the owner rules (only an owner touches the owner role;
 * the last owner stays), keys of removed or demoted members, and the audit rows.
 */
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { assertOwnerRemains } from '../../workers/orgs/orgs.service';
import {
  addMember,
  adminAuditRows,
  call,
  createApiKeyVia,
  createConnection,
  createOrg,
  expectApiError,
  expectJson,
  mcp,
  memberIdOf,
  putPolicy,
  rpcResult,
  type TestOrg,
} from './helpers';

interface OrganizationDto {
  id: string;
  slug: string;
  name: string;
  role: string;
  settings: { retentionDays: number; defaultFailMode: string };
}

interface MemberDto {
  id: string;
  userId: string;
  email: string;
  name: string;
  role: string;
  createdAt: string;
}

async function currentOrg(key: string) {
  return expectJson<OrganizationDto>(await call('GET', '/api/v1/organizations/current', { key }), 200);
}

async function patchOrg(key: string, body: unknown) {
  return call('PATCH', '/api/v1/organizations/current', { key, body });
}

async function storedOrg(orgId: string) {
  return env.DB.prepare('SELECT name, settings FROM organizations WHERE id = ?')
    .bind(orgId)
    .first<{ name: string; settings: string }>();
}

async function memberRole(orgId: string, userId: string) {
  const row = await env.DB.prepare('SELECT role FROM members WHERE org_id = ? AND user_id = ?')
    .bind(orgId, userId)
    .first<{ role: string }>();
  return row?.role ?? null;
}

async function owners(orgId: string) {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM members WHERE org_id = ? AND role = 'owner'")
    .bind(orgId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

describe('GET /api/v1/organizations/current', () => {
  it("returns the organization, the caller's role and the default settings", async () => {
    const org = await createOrg('owner', 'acme-get');
    const dto = await currentOrg(org.key);
    expect(dto).toEqual({
      id: org.orgId,
      slug: 'acme-get',
      name: 'acme-get',
      role: 'owner',
      settings: { retentionDays: 90, defaultFailMode: 'closed' },
    });
    for (const role of ['admin', 'developer', 'auditor'] as const) {
      const member = await addMember(org.orgId, role);
      expect((await currentOrg(member.key)).role).toBe(role);
    }
  });

  it('falls back to defaults for invalid stored settings', async () => {
    const org = await createOrg('owner');
    await env.DB.prepare('UPDATE organizations SET settings = ? WHERE id = ?')
      .bind('{"retentionDays": -5, "defaultFailMode": "sideways"}', org.orgId)
      .run();
    expect((await currentOrg(org.key)).settings).toEqual({ retentionDays: 90, defaultFailMode: 'closed' });
  });
});

describe('PATCH /api/v1/organizations/current', () => {
  let org: TestOrg;
  beforeEach(async () => {
    org = await createOrg('owner');
  });

  it('renames and changes settings, merging field by field and keeping unknown stored fields', async () => {
    await env.DB.prepare('UPDATE organizations SET settings = ? WHERE id = ?')
      .bind('{"anomaly": {"rateSpike": 3}}', org.orgId)
      .run();
    const renamed = await expectJson<OrganizationDto>(await patchOrg(org.key, { name: '  Acme Inc  ' }), 200);
    expect(renamed.name).toBe('Acme Inc');
    const first = await expectJson<OrganizationDto>(
      await patchOrg(org.key, { settings: { retentionDays: 30 } }),
      200,
    );
    expect(first.settings).toEqual({ retentionDays: 30, defaultFailMode: 'closed' });
    const second = await expectJson<OrganizationDto>(
      await patchOrg(org.key, { settings: { defaultFailMode: 'open' } }),
      200,
    );
    expect(second.settings).toEqual({ retentionDays: 30, defaultFailMode: 'open' });
    expect(JSON.parse((await storedOrg(org.orgId))!.settings)).toEqual({
      anomaly: { rateSpike: 3 },
      retentionDays: 30,
      defaultFailMode: 'open',
    });
    expect(await currentOrg(org.key)).toMatchObject({ name: 'Acme Inc', role: 'owner' });

    const audit = await adminAuditRows(org.orgId, 'organization.update');
    expect(audit.map((r) => r.details)).toEqual([
      { organizationId: org.orgId, changed: { name: 'Acme Inc' } },
      { organizationId: org.orgId, changed: { 'settings.retentionDays': 30 } },
      { organizationId: org.orgId, changed: { 'settings.defaultFailMode': 'open' } },
    ]);
  });

  it.each([1, 3650])('accepts retentionDays %i', async (days) => {
    const dto = await expectJson<OrganizationDto>(
      await patchOrg(org.key, { settings: { retentionDays: days } }),
      200,
    );
    expect(dto.settings.retentionDays).toBe(days);
  });

  it.each([
    ['retentionDays 0', { settings: { retentionDays: 0 } }, 'settings.retentionDays'],
    ['retentionDays 3651', { settings: { retentionDays: 3651 } }, 'settings.retentionDays'],
    ['fractional retentionDays', { settings: { retentionDays: 1.5 } }, 'settings.retentionDays'],
    ['string retentionDays', { settings: { retentionDays: '30' } }, 'settings.retentionDays'],
    ['an unknown fail mode', { settings: { defaultFailMode: 'sideways' } }, 'settings.defaultFailMode'],
    ['an unknown setting', { settings: { anomaly: true } }, 'settings'],
    ['an empty name', { name: '' }, 'name'],
    ['an unknown field', { slug: 'renamed' }, ''],
  ])('refuses %s with 400 naming the field, and writes nothing', async (_label, body, path) => {
    const before = await storedOrg(org.orgId);
    const err = await expectApiError(await patchOrg(org.key, body), 400, 'validation_failed');
    expect(err.details!.issues).toContainEqual(expect.objectContaining({ location: 'body', path }));
    expect(await storedOrg(org.orgId)).toEqual(before);
    expect(await adminAuditRows(org.orgId, 'organization.update')).toEqual([]);
  });

  it('an empty patch changes and writes nothing', async () => {
    const dto = await expectJson<OrganizationDto>(await patchOrg(org.key, {}), 200);
    expect(dto.id).toBe(org.orgId);
    expect(await adminAuditRows(org.orgId, 'organization.update')).toEqual([]);
  });

  it('an admin may change the organization', async () => {
    const admin = await addMember(org.orgId, 'admin');
    await expectJson(await patchOrg(admin.key, { settings: { retentionDays: 7 } }), 200);
  });

  it.each(['developer', 'auditor'] as const)('a %s gets 403 naming org:write', async (role) => {
    const member = await addMember(org.orgId, role);
    const before = await storedOrg(org.orgId);
    const err = await expectApiError(await patchOrg(member.key, { name: 'hijacked' }), 403, 'forbidden');
    expect(err.message).toContain('org:write');
    expect(err.details).toMatchObject({ permission: 'org:write', role });
    expect(await storedOrg(org.orgId)).toEqual(before);
  });
});

describe('GET /api/v1/members', () => {
  it('lists every member with email and role, for every role', async () => {
    const org = await createOrg('owner');
    const admin = await addMember(org.orgId, 'admin');
    const developer = await addMember(org.orgId, 'developer');
    const auditor = await addMember(org.orgId, 'auditor');
    for (const caller of [org, admin, developer, auditor]) {
      const { members } = await expectJson<{ members: MemberDto[] }>(
        await call('GET', '/api/v1/members', { key: caller.key }),
        200,
      );
      expect(members.map((m) => [m.userId, m.role])).toEqual([
        [org.userId, 'owner'],
        [admin.userId, 'admin'],
        [developer.userId, 'developer'],
        [auditor.userId, 'auditor'],
      ]);
      const first = members[0]!;
      expect(first).toEqual({
        id: await memberIdOf(org.orgId, org.userId),
        userId: org.userId,
        email: `${org.userId}@test.local`,
        name: '',
        role: 'owner',
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
    }
  });
});

describe('PATCH /api/v1/members/:id', () => {
  let org: TestOrg;
  beforeEach(async () => {
    org = await createOrg('owner');
  });

  async function patchMember(key: string, id: string, body: unknown) {
    return call('PATCH', `/api/v1/members/${id}`, { key, body });
  }

  it("an owner changes a member's role; the change is audited", async () => {
    const developer = await addMember(org.orgId, 'developer');
    const id = await memberIdOf(org.orgId, developer.userId);
    const dto = await expectJson<MemberDto>(await patchMember(org.key, id, { role: 'admin' }), 200);
    expect(dto).toMatchObject({ id, userId: developer.userId, role: 'admin' });
    expect(await memberRole(org.orgId, developer.userId)).toBe('admin');
    expect((await adminAuditRows(org.orgId, 'member.update')).map((r) => r.details)).toEqual([
      { memberId: id, userId: developer.userId, from: 'developer', to: 'admin' },
    ]);
  });

  it("a demoted member's keys are demoted at once", async () => {
    const admin = await addMember(org.orgId, 'admin');
    await expectJson(await patchOrg(admin.key, { name: 'ok while admin' }), 200);
    await expectJson(
      await patchMember(org.key, await memberIdOf(org.orgId, admin.userId), { role: 'developer' }),
      200,
    );
    const err = await expectApiError(await patchOrg(admin.key, { name: 'not any more' }), 403, 'forbidden');
    expect(err.message).toContain('org:write');
    expect((await currentOrg(admin.key)).role).toBe('developer');
  });

  it('an admin changes non-owner roles, including granting admin', async () => {
    const admin = await addMember(org.orgId, 'admin');
    const auditor = await addMember(org.orgId, 'auditor');
    const id = await memberIdOf(org.orgId, auditor.userId);
    await expectJson(await patchMember(admin.key, id, { role: 'developer' }), 200);
    await expectJson(await patchMember(admin.key, id, { role: 'admin' }), 200);
    expect(await memberRole(org.orgId, auditor.userId)).toBe('admin');
  });

  it('only an owner grants the owner role or changes an owner: 403 naming members:write', async () => {
    const admin = await addMember(org.orgId, 'admin');
    const developer = await addMember(org.orgId, 'developer');
    const grant = await expectApiError(
      await patchMember(admin.key, await memberIdOf(org.orgId, developer.userId), { role: 'owner' }),
      403,
      'forbidden',
    );
    expect(grant.message).toContain('members:write');
    expect(grant.details).toMatchObject({ permission: 'members:write', role: 'admin', scope: 'owner' });
    // Not even for themselves.
    await expectApiError(
      await patchMember(admin.key, await memberIdOf(org.orgId, admin.userId), { role: 'owner' }),
      403,
      'forbidden',
    );
    const change = await expectApiError(
      await patchMember(admin.key, await memberIdOf(org.orgId, org.userId), { role: 'developer' }),
      403,
      'forbidden',
    );
    expect(change.message).toContain('members:write');
    expect(await memberRole(org.orgId, developer.userId)).toBe('developer');
    expect(await memberRole(org.orgId, org.userId)).toBe('owner');
    expect(await memberRole(org.orgId, admin.userId)).toBe('admin');
    expect(await adminAuditRows(org.orgId, 'member.update')).toEqual([]);

    // An owner may.
    await expectJson(
      await patchMember(org.key, await memberIdOf(org.orgId, developer.userId), { role: 'owner' }),
      200,
    );
    expect(await owners(org.orgId)).toBe(2);
  });

  it.each(['developer', 'auditor'] as const)('a %s gets 403 naming members:write', async (role) => {
    const member = await addMember(org.orgId, role);
    const other = await addMember(org.orgId, 'auditor');
    const err = await expectApiError(
      await patchMember(member.key, await memberIdOf(org.orgId, other.userId), { role: 'developer' }),
      403,
      'forbidden',
    );
    expect(err.message).toContain('members:write');
    expect(await memberRole(org.orgId, other.userId)).toBe('auditor');
  });

  it('the last owner cannot be demoted (409); with two owners one may be', async () => {
    const ownId = await memberIdOf(org.orgId, org.userId);
    const err = await expectApiError(await patchMember(org.key, ownId, { role: 'admin' }), 409, 'conflict');
    expect(err.message).toMatch(/last owner/);
    expect(await memberRole(org.orgId, org.userId)).toBe('owner');
    expect(await adminAuditRows(org.orgId, 'member.update')).toEqual([]);

    const second = await addMember(org.orgId, 'owner');
    await expectJson(await patchMember(second.key, ownId, { role: 'admin' }), 200);
    expect(await owners(org.orgId)).toBe(1);
    await expectApiError(
      await patchMember(second.key, await memberIdOf(org.orgId, second.userId), { role: 'developer' }),
      409,
      'conflict',
    );
  });

  it('two owners demoting each other at once leave one owner', async () => {
    const second = await addMember(org.orgId, 'owner');
    const [a, b] = await Promise.all([
      patchMember(org.key, await memberIdOf(org.orgId, second.userId), { role: 'admin' }),
      patchMember(second.key, await memberIdOf(org.orgId, org.userId), { role: 'admin' }),
    ]);
    const statuses = [a.status, b.status].sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.every((s) => [200, 403, 409].includes(s))).toBe(true);
    expect(await owners(org.orgId)).toBe(1);
    expect(await adminAuditRows(org.orgId, 'member.update')).toHaveLength(1);
  });

  it('the in-batch owner guard rolls back a change that would leave no owner', async () => {
    // What protects concurrent demotions whose up-front checks both passed.
    await expect(
      env.DB.batch([
        env.DB.prepare("UPDATE members SET role = 'admin' WHERE org_id = ?").bind(org.orgId),
        assertOwnerRemains(env.DB, org.orgId),
      ]),
    ).rejects.toThrow(/NOT NULL constraint failed: members\./);
    expect(await owners(org.orgId)).toBe(1);
    const ok = await env.DB.batch([
      env.DB.prepare('UPDATE members SET role = role WHERE org_id = ?').bind(org.orgId),
      assertOwnerRemains(env.DB, org.orgId),
    ]).catch((err: unknown) => err);
    expect(ok).not.toBeInstanceOf(Error);
  });

  it('setting the same role is a no-op', async () => {
    const developer = await addMember(org.orgId, 'developer');
    await expectJson(
      await patchMember(org.key, await memberIdOf(org.orgId, developer.userId), { role: 'developer' }),
      200,
    );
    expect(await adminAuditRows(org.orgId, 'member.update')).toEqual([]);
  });

  it.each([
    ['an unknown role', { role: 'superuser' }, 'role'],
    ['no role', {}, 'role'],
    ['an unknown field', { role: 'admin', userId: 'x' }, ''],
  ])('refuses %s with 400', async (_label, body, path) => {
    const developer = await addMember(org.orgId, 'developer');
    const err = await expectApiError(
      await patchMember(org.key, await memberIdOf(org.orgId, developer.userId), body),
      400,
      'validation_failed',
    );
    expect(err.details!.issues).toContainEqual(expect.objectContaining({ location: 'body', path }));
    expect(await memberRole(org.orgId, developer.userId)).toBe('developer');
  });

  it('answers an unknown member with 404', async () => {
    const err = await expectApiError(
      await patchMember(org.key, 'mem_doesnotexist000000000', { role: 'admin' }),
      404,
      'not_found',
    );
    expect(err.details).toEqual({ location: 'path', path: 'id' });
  });
});

describe('DELETE /api/v1/members/:id', () => {
  let org: TestOrg;
  beforeEach(async () => {
    org = await createOrg('owner');
  });

  async function removeMember(key: string, id: string) {
    return call('DELETE', `/api/v1/members/${id}`, { key });
  }

  it('removes a member; their keys stop working at once, on the API and the gateway', async () => {
    const developer = await addMember(org.orgId, 'developer');
    const extra = await createApiKeyVia(developer.key, 'second key');
    await createConnection('members-gw', { key: developer.key });
    await putPolicy('members-gw', [{ tool: '*', action: 'allow' }], developer.key);
    expect((await mcp('members-gw', 'tools/list', {}, { key: extra.key })).status).toBe(200);

    const id = await memberIdOf(org.orgId, developer.userId);
    const admin = await addMember(org.orgId, 'admin');
    const res = await expectJson<{ deleted: boolean; member: MemberDto; revokedKeys: number }>(
      await removeMember(admin.key, id),
      200,
    );
    expect(res).toMatchObject({ deleted: true, member: { id, userId: developer.userId }, revokedKeys: 2 });

    for (const key of [developer.key, extra.key]) {
      await expectApiError(await call('GET', '/api/v1/connections', { key }), 401, 'unauthorized');
      const gw = await mcp('members-gw', 'tools/list', {}, { key });
      expect(gw.status).toBe(401);
      expect((await rpcResult(gw)).error?.data?.code).toBe('unauthorized');
    }
    const { members } = await expectJson<{ members: MemberDto[] }>(
      await call('GET', '/api/v1/members', { key: org.key }),
      200,
    );
    expect(members.map((m) => m.userId)).not.toContain(developer.userId);
    expect((await adminAuditRows(org.orgId, 'member.remove')).map((r) => r.details)).toEqual([
      { memberId: id, userId: developer.userId, role: 'developer' },
    ]);
  });

  it('a key whose creator is no longer a member is refused even if not revoked', async () => {
    // The authentication check itself, independent of the revocation done on removal.
    const developer = await addMember(org.orgId, 'developer');
    await expectJson(await call('GET', '/api/v1/members', { key: developer.key }), 200);
    await env.DB.prepare('DELETE FROM members WHERE org_id = ? AND user_id = ?')
      .bind(org.orgId, developer.userId)
      .run();
    await expectApiError(await call('GET', '/api/v1/members', { key: developer.key }), 401, 'unauthorized');
  });

  it('re-adding a removed person does not revive their old keys', async () => {
    const developer = await addMember(org.orgId, 'developer');
    await expectJson(await removeMember(org.key, await memberIdOf(org.orgId, developer.userId)), 200);
    await env.DB.prepare(
      "INSERT INTO members (id, org_id, user_id, role) VALUES ('mem_readded', ?, ?, 'developer')",
    )
      .bind(org.orgId, developer.userId)
      .run();
    await expectApiError(await call('GET', '/api/v1/members', { key: developer.key }), 401, 'unauthorized');
  });

  it('the last owner cannot be removed (409); with two owners one may be', async () => {
    const ownId = await memberIdOf(org.orgId, org.userId);
    const err = await expectApiError(await removeMember(org.key, ownId), 409, 'conflict');
    expect(err.message).toMatch(/last owner/);
    expect(await memberRole(org.orgId, org.userId)).toBe('owner');
    await expectJson(await call('GET', '/api/v1/members', { key: org.key }), 200);

    const second = await addMember(org.orgId, 'owner');
    await expectJson(await removeMember(second.key, ownId), 200);
    await expectApiError(await call('GET', '/api/v1/members', { key: org.key }), 401, 'unauthorized');
    await expectApiError(
      await removeMember(second.key, await memberIdOf(org.orgId, second.userId)),
      409,
      'conflict',
    );
    expect(await owners(org.orgId)).toBe(1);
  });

  it('an admin cannot remove an owner: 403 naming members:write', async () => {
    const admin = await addMember(org.orgId, 'admin');
    await addMember(org.orgId, 'owner');
    const err = await expectApiError(
      await removeMember(admin.key, await memberIdOf(org.orgId, org.userId)),
      403,
      'forbidden',
    );
    expect(err.message).toContain('members:write');
    expect(await memberRole(org.orgId, org.userId)).toBe('owner');
    expect(await adminAuditRows(org.orgId, 'member.remove')).toEqual([]);
  });

  it.each(['developer', 'auditor'] as const)('a %s gets 403 naming members:write', async (role) => {
    const member = await addMember(org.orgId, role);
    const other = await addMember(org.orgId, 'developer');
    const err = await expectApiError(
      await removeMember(member.key, await memberIdOf(org.orgId, other.userId)),
      403,
      'forbidden',
    );
    expect(err.message).toContain('members:write');
    expect(await memberRole(org.orgId, other.userId)).toBe('developer');
    await expectJson(await call('GET', '/api/v1/members', { key: other.key }), 200);
  });

  it('answers an unknown member with 404', async () => {
    await expectApiError(await removeMember(org.key, 'mem_doesnotexist000000000'), 404, 'not_found');
  });
});
