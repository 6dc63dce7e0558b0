/**
 * Teams inside workerd: the API (CRUD, members of the three kinds, tenancy, audit) and `team`
 * policy conditions on an MCP connection — members by person (the key's creator), by key and by
 * X-Igris-User value.
 */
import { describe, expect, it } from 'vitest';
import {
  addMember,
  adminAuditRows,
  apiKeyIdOf,
  call,
  createConnection,
  createOrg,
  expectJson,
  mcp,
  putPolicy,
  rpcResult,
} from './helpers';

const RUN = Date.now().toString(36);

interface Team {
  id: string;
  name: string;
  members: { id: string; kind: string; ref: string }[];
}

describe('teams API', () => {
  it('creates, lists, renames and deletes teams with members of every kind; audited; 404 across organizations', async () => {
    const org = await createOrg('owner');
    const colleague = await addMember(org.orgId, 'developer');
    const team = await expectJson<Team>(
      await call('POST', '/api/v1/teams', { key: org.key, body: { name: 'platform' } }),
      201,
    );
    expect((await call('POST', '/api/v1/teams', { key: org.key, body: { name: 'platform' } })).status).toBe(
      409,
    );
    for (const body of [
      { userId: colleague.userId },
      { externalUser: 'alice@example.com' },
      { apiKeyId: await apiKeyIdOf(org.key) },
    ]) {
      expect((await call('POST', `/api/v1/teams/${team.id}/members`, { key: org.key, body })).status).toBe(
        201,
      );
    }
    const two = await call('POST', `/api/v1/teams/${team.id}/members`, {
      key: org.key,
      body: { userId: colleague.userId, apiKeyId: 'x' },
    });
    expect(two.status).toBe(400);
    const got = await expectJson<Team>(await call('GET', `/api/v1/teams/${team.id}`, { key: org.key }), 200);
    expect(got.members.map((m) => m.kind).sort()).toEqual(['api_key', 'external_user', 'user']);

    // Another organization sees nothing and can add nothing of its own.
    const other = await createOrg('owner');
    expect((await call('GET', `/api/v1/teams/${team.id}`, { key: other.key })).status).toBe(404);
    expect(
      (
        await call('POST', `/api/v1/teams/${team.id}/members`, {
          key: org.key,
          body: { apiKeyId: await apiKeyIdOf(other.key) },
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await call('POST', `/api/v1/teams/${team.id}/members`, {
          key: org.key,
          body: { userId: other.userId },
        })
      ).status,
    ).toBe(404);
    // Developers may read teams, not change them.
    expect((await call('GET', '/api/v1/teams', { key: colleague.key })).status).toBe(200);
    expect(
      (await call('PATCH', `/api/v1/teams/${team.id}`, { key: colleague.key, body: { name: 'x' } })).status,
    ).toBe(403);

    const renamed = await call('PATCH', `/api/v1/teams/${team.id}`, {
      key: org.key,
      body: { name: 'platform-2' },
    });
    expect((await expectJson<Team>(renamed, 200)).name).toBe('platform-2');
    const removed = await call('DELETE', `/api/v1/teams/${team.id}/members/${got.members[0]!.id}`, {
      key: org.key,
    });
    expect((await expectJson<Team>(removed, 200)).members).toHaveLength(2);
    expect((await call('DELETE', `/api/v1/teams/${team.id}`, { key: org.key })).status).toBe(200);
    expect((await call('GET', `/api/v1/teams/${team.id}`, { key: org.key })).status).toBe(404);
    const actions = (await adminAuditRows(org.orgId)).map((r) => r.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        'team.create',
        'team.member_add',
        'team.update',
        'team.member_remove',
        'team.delete',
      ]),
    );
  });
});

describe('`team` conditions on MCP calls', () => {
  it('deny rules for a team apply to its members — by person, by key and by X-Igris-User — and no one else', async () => {
    const org = await createOrg('owner');
    const slug = `teams-mcp-${RUN}`;
    await createConnection(slug, { key: org.key });
    const person = await addMember(org.orgId, 'admin');
    const outsider = await addMember(org.orgId, 'admin');
    const team = await expectJson<Team>(
      await call('POST', '/api/v1/teams', { key: org.key, body: { name: 'contractors' } }),
      201,
    );
    await call('POST', `/api/v1/teams/${team.id}/members`, { key: org.key, body: { userId: person.userId } });
    await call('POST', `/api/v1/teams/${team.id}/members`, { key: org.key, body: { externalUser: 'eve' } });
    await putPolicy(
      slug,
      [
        { tool: 'echo', action: 'deny', reason: 'no contractors', conditions: { team: 'contractors' } },
        { tool: '*', action: 'allow' },
      ],
      org.key,
    );
    const echo = async (key: string, headers: Record<string, string> = {}) =>
      rpcResult(await mcp(slug, 'tools/call', { name: 'echo', arguments: { text: 'hi' } }, { key, headers }));
    expect((await echo(person.key)).error?.message).toContain('no contractors');
    expect((await echo(outsider.key)).error).toBeUndefined();
    expect((await echo(outsider.key, { 'X-Igris-User': 'eve' })).error?.message).toContain('no contractors');
    // By team id as well as by name.
    await putPolicy(
      slug,
      [
        { tool: 'echo', action: 'deny', reason: 'by id', conditions: { team: { in: [team.id] } } },
        { tool: '*', action: 'allow' },
      ],
      org.key,
    );
    expect((await echo(person.key)).error?.message).toContain('by id');
  });
});
