/**
 * The organization API: reading and changing the current organization (validation, what may be
 * changed, the audit rows) and listing its members.
 */
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  addMember,
  adminAuditRows,
  call,
  createOrg,
  expectApiError,
  expectJson,
  memberIdOf,
  type TestOrg,
} from './helpers';
import { currentOrg, type MemberDto, type OrganizationDto, patchOrg } from './orgs.api.fixtures';

async function storedOrg(orgId: string) {
  return env.DB.prepare('SELECT name, settings FROM organizations WHERE id = ?')
    .bind(orgId)
    .first<{ name: string; settings: string }>();
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
