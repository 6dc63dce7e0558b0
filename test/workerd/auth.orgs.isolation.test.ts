/**
 * Organizations for people: leave and remove, and tenant isolation: a session in organization A sees
 * nothing of B through any endpoint (404, exactly like an API key of A).
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { Browser, PASSWORD, type SessionBody, tokenFromMail, uniqueEmail } from './auth.helpers';
import { type Invitation, invite } from './auth.orgs.fixtures';
import { expectApiError, expectJson } from './helpers';

describe('leaving and removing', () => {
  it('a member leaves; their keys there are revoked; the last owner cannot leave', async () => {
    const owner = new Browser();
    const ownerSession = await owner.signUp();
    const orgId = ownerSession.activeOrganization!.id;
    const email = uniqueEmail('leaver');
    await owner.fetch('POST', '/api/auth/invitations', { body: { email, role: 'developer' } });
    const member = new Browser();
    const memberSession = await member.signUp(email, PASSWORD, {
      invitationToken: await tokenFromMail(email),
    });
    const key = await member.fetch('POST', '/api/v1/api-keys', { body: { name: 'leaver key' } });
    const { key: apiKey } = await expectJson<{ key: string }>(key, 201);

    const left = await member.fetch('POST', `/api/auth/organizations/${orgId}/leave`);
    expect(await expectJson(left, 200)).toEqual({ left: true, activeOrganization: null });
    const after = await member.session();
    expect(after.organizations).toEqual([]);
    await expectApiError(await member.fetch('GET', '/api/v1/connections'), 403, 'forbidden');
    const byKey = await new Browser().fetch('GET', '/api/v1/connections', {
      headers: { Authorization: `Bearer ${apiKey}` },
    });
    await expectApiError(byKey, 401, 'unauthorized');
    expect(memberSession.user.id).toBeDefined();

    const last = await owner.fetch('POST', `/api/auth/organizations/${orgId}/leave`);
    await expectApiError(last, 409, 'conflict');
    await expectApiError(
      await member.fetch('POST', `/api/auth/organizations/${orgId}/leave`),
      404,
      'not_found',
    );
  });

  it('leaving the active organization moves the session to the next one', async () => {
    const browser = new Browser();
    const first = await browser.signUp();
    const ownerOfOther = new Browser();
    await ownerOfOther.signUp();
    const email = first.user.email;
    await ownerOfOther.fetch('POST', '/api/auth/invitations', { body: { email, role: 'auditor' } });
    const joined = await browser.fetch('POST', '/api/auth/invitations/accept', {
      body: { token: await tokenFromMail(email) },
    });
    const otherOrg = (await expectJson<{ organization: { id: string } }>(joined, 200)).organization.id;
    expect((await browser.session()).activeOrganization?.id).toBe(otherOrg);
    const left = await browser.fetch('POST', `/api/auth/organizations/${otherOrg}/leave`);
    const body = await expectJson<{ activeOrganization: { id: string } }>(left, 200);
    expect(body.activeOrganization.id).toBe(first.activeOrganization!.id);
    expect((await browser.session()).activeOrganization?.id).toBe(first.activeOrganization!.id);
  });

  it('an owner removes a member, who is refused in that organization on their next request', async () => {
    const owner = new Browser();
    await owner.signUp();
    const email = uniqueEmail('removed');
    await owner.fetch('POST', '/api/auth/invitations', { body: { email, role: 'admin' } });
    const member = new Browser();
    const session = await member.signUp(email, PASSWORD, { invitationToken: await tokenFromMail(email) });
    expect((await member.fetch('GET', '/api/v1/connections')).status).toBe(200);

    // An admin may not remove the owner.
    const ownerId = (await owner.session()).user.id;
    await expectApiError(await member.fetch('DELETE', `/api/auth/members/${ownerId}`), 403, 'forbidden');

    const removed = await owner.fetch('DELETE', `/api/auth/members/${session.user.id}`);
    expect(await expectJson(removed, 200)).toEqual({ removed: true, userId: session.user.id, role: 'admin' });
    await expectApiError(await member.fetch('GET', '/api/v1/connections'), 403, 'forbidden');
    expect((await member.session()).activeOrganization).toBeNull();
    await expectApiError(
      await owner.fetch('DELETE', `/api/auth/members/${session.user.id}`),
      404,
      'not_found',
    );
  });

  it('the last owner cannot remove themselves', async () => {
    const owner = new Browser();
    const session = await owner.signUp();
    await expectApiError(
      await owner.fetch('DELETE', `/api/auth/members/${session.user.id}`),
      409,
      'conflict',
    );
  });
});

describe('tenant isolation for cookie sessions', () => {
  let a: Browser;
  let b: Browser;
  let bSession: SessionBody;
  let bInvitation: Invitation;
  let bKeyId: string;
  let bMemberId: string;

  beforeAll(async () => {
    a = new Browser();
    await a.signUp();
    b = new Browser();
    bSession = await b.signUp();
    const created = await b.fetch('POST', '/api/v1/connections', {
      body: {
        slug: 'b-private',
        name: 'B',
        upstreamUrl: `${env.UPSTREAM_URL}/stateless`,
        authType: 'bearer',
        credential: 'b-secret-credential',
      },
    });
    expect(created.status).toBe(201);
    expect(
      (
        await b.fetch('PUT', '/api/v1/connections/b-private/policy', {
          body: { rules: [{ tool: '*', action: 'allow' }] },
        })
      ).status,
    ).toBe(200);
    bKeyId = (
      await expectJson<{ id: string }>(
        await b.fetch('POST', '/api/v1/api-keys', { body: { name: 'b key' } }),
        201,
      )
    ).id;
    bInvitation = (await invite(b, uniqueEmail('b-invitee'), 'developer')).invitation;
    const member = await env.DB.prepare('SELECT id FROM members WHERE user_id = ?')
      .bind(bSession.user.id)
      .first<{ id: string }>();
    bMemberId = member!.id;
  });

  it("A's session gets 404 for B's connection and policy on every verb, and never lists them", async () => {
    for (const [method, path, body] of [
      ['GET', '/api/v1/connections/b-private', undefined],
      ['PATCH', '/api/v1/connections/b-private', { name: 'pwned' }],
      ['DELETE', '/api/v1/connections/b-private', undefined],
      ['POST', '/api/v1/connections/b-private/rotate', { credential: 'attacker' }],
      ['POST', '/api/v1/connections/b-private/disable', undefined],
      ['GET', '/api/v1/connections/b-private/policy', undefined],
      ['PUT', '/api/v1/connections/b-private/policy', { rules: [{ tool: '*', action: 'deny' }] }],
      ['GET', '/api/v1/connections/b-private/policy/versions', undefined],
    ] as const) {
      const res = await a.fetch(method, path, body === undefined ? {} : { body });
      await expectApiError(res, 404, 'not_found').catch((err: Error) => {
        throw new Error(`${method} ${path}: ${err.message}`);
      });
    }
    const list = await expectJson<{ connections: Array<{ slug: string }> }>(
      await a.fetch('GET', '/api/v1/connections'),
      200,
    );
    expect(list.connections.map((c) => c.slug)).not.toContain('b-private');
    // B's connection is untouched.
    const mine = await expectJson<{ name: string; enabled: boolean }>(
      await b.fetch('GET', '/api/v1/connections/b-private'),
      200,
    );
    expect(mine).toMatchObject({ name: 'B', enabled: true });
  });

  it("A's session cannot see or touch B's keys, members, audit, invitations or organization", async () => {
    const keys = await expectJson<{ apiKeys?: Array<{ id: string }>; keys?: Array<{ id: string }> }>(
      await a.fetch('GET', '/api/v1/api-keys'),
      200,
    );
    expect(JSON.stringify(keys)).not.toContain(bKeyId);
    await expectApiError(await a.fetch('DELETE', `/api/v1/api-keys/${bKeyId}`), 404, 'not_found');

    const members = await a.fetch('GET', '/api/v1/members');
    expect(JSON.stringify(await expectJson(members, 200))).not.toContain(bSession.user.id);
    await expectApiError(
      await a.fetch('PATCH', `/api/v1/members/${bMemberId}`, { body: { role: 'auditor' } }),
      404,
      'not_found',
    );
    await expectApiError(await a.fetch('DELETE', `/api/v1/members/${bMemberId}`), 404, 'not_found');
    await expectApiError(await a.fetch('DELETE', `/api/auth/members/${bSession.user.id}`), 404, 'not_found');

    const audit = await a.fetch('GET', '/api/v1/audit-events');
    expect(JSON.stringify(await expectJson(audit, 200))).not.toContain(bSession.activeOrganization!.id);

    const invitations = await a.fetch('GET', '/api/auth/invitations');
    expect(JSON.stringify(await expectJson(invitations, 200))).not.toContain(bInvitation.id);
    await expectApiError(
      await a.fetch('DELETE', `/api/auth/invitations/${bInvitation.id}`),
      404,
      'not_found',
    );

    await expectApiError(
      await a.fetch('POST', '/api/auth/organizations/switch', {
        body: { organizationId: bSession.activeOrganization!.id },
      }),
      404,
      'not_found',
    );
    await expectApiError(
      await a.fetch('POST', `/api/auth/organizations/${bSession.activeOrganization!.id}/leave`),
      404,
      'not_found',
    );
    const current = await expectJson<{ id: string }>(
      await a.fetch('GET', '/api/v1/organizations/current'),
      200,
    );
    expect(current.id).not.toBe(bSession.activeOrganization!.id);
    // B's invitation is still live.
    const bList = await expectJson<{ invitations: Invitation[] }>(
      await b.fetch('GET', '/api/auth/invitations'),
      200,
    );
    expect(bList.invitations.map((i) => i.id)).toContain(bInvitation.id);
  });
});
