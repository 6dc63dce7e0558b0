/**
 * The members API: role changes and removals with the owner rules (only an owner touches the owner
 * role; the last owner stays), keys of removed or demoted members, and the audit rows.
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
import { currentOrg, type MemberDto, patchOrg } from './orgs.api.fixtures';

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
