/**
 * Organizations for people: create and switch, invite (single-use, expiring, bound to the address)
 * and accept.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { Browser, latestMail, PASSWORD, type SessionBody, tokenFromMail, uniqueEmail } from './auth.helpers';
import { type Invitation, invite } from './auth.orgs.fixtures';
import { expectApiError, expectJson } from './helpers';

describe('creating and switching organizations', () => {
  it('creates an organization owned by the creator, switches to it, and lists both', async () => {
    const browser = new Browser();
    const first = await browser.signUp();
    const res = await browser.fetch('POST', '/api/auth/organizations', {
      body: { name: 'Second Org', slug: `second-${Date.now()}` },
    });
    const created = await expectJson<{ id: string; role: string; name: string }>(res, 201);
    expect(created).toMatchObject({ name: 'Second Org', role: 'owner' });
    const now = await browser.session();
    expect(now.activeOrganization?.id).toBe(created.id);
    expect(now.organizations.map((o) => o.id).sort()).toEqual(
      [first.activeOrganization!.id, created.id].sort(),
    );
    const audit = await env.DB.prepare(
      "SELECT actor FROM audit_events WHERE org_id = ? AND action = 'organization.create'",
    )
      .bind(created.id)
      .first<{ actor: string }>();
    expect(audit?.actor).toBe(`user:${first.user.id}`);

    const back = await browser.fetch('POST', '/api/auth/organizations/switch', {
      body: { organizationId: first.activeOrganization!.id },
    });
    expect((await expectJson<SessionBody>(back, 200)).activeOrganization?.id).toBe(
      first.activeOrganization!.id,
    );
    expect((await browser.session()).activeOrganization?.id).toBe(first.activeOrganization!.id);
  });

  it('refuses a taken slug (409) and switching to an organization you are not in (404)', async () => {
    const a = new Browser();
    await a.signUp();
    const slug = `taken-${Date.now()}`;
    expect((await a.fetch('POST', '/api/auth/organizations', { body: { name: 'T', slug } })).status).toBe(
      201,
    );
    await expectApiError(
      await a.fetch('POST', '/api/auth/organizations', { body: { name: 'T', slug } }),
      409,
      'conflict',
    );
    const b = new Browser();
    const other = await b.signUp();
    const res = await a.fetch('POST', '/api/auth/organizations/switch', {
      body: { organizationId: other.activeOrganization!.id },
    });
    await expectApiError(res, 404, 'not_found');
  });
});

describe('invitations', () => {
  let owner: Browser;
  let orgId: string;
  beforeAll(async () => {
    owner = new Browser();
    orgId = (await owner.signUp(uniqueEmail('owner'), PASSWORD, { organizationName: 'Inviting Org' }))
      .activeOrganization!.id;
  });

  it('mails a single-use token (never in the API answer) and lists the pending invitation', async () => {
    const email = uniqueEmail('invitee');
    const res = await owner.fetch('POST', '/api/auth/invitations', { body: { email, role: 'developer' } });
    const text = await res.text();
    expect(res.status).toBe(201);
    const token = await tokenFromMail(email);
    expect(text).not.toContain(token);
    expect((await latestMail(email))!.subject).toBe('You are invited to Inviting Org on Igris');
    const list = await expectJson<{ invitations: Invitation[] }>(
      await owner.fetch('GET', '/api/auth/invitations'),
      200,
    );
    expect(list.invitations.map((i) => i.email)).toContain(email);
    const row = await env.DB.prepare('SELECT token_hash FROM invitations WHERE email = ?')
      .bind(email)
      .first<{ token_hash: string }>();
    expect(row!.token_hash).not.toBe(token);
  });

  it('lets the invited address accept once: membership with the role, session switched, address verified', async () => {
    const email = uniqueEmail('accept');
    const { token } = await invite(owner, email, 'developer');
    const invitee = new Browser();
    await invitee.signUp(email);
    const res = await invitee.fetch('POST', '/api/auth/invitations/accept', { body: { token } });
    const joined = await expectJson<{ organization: { id: string; role: string } }>(res, 200);
    expect(joined.organization).toMatchObject({ id: orgId, role: 'developer' });
    const session = await invitee.session();
    expect(session.activeOrganization).toMatchObject({ id: orgId, role: 'developer' });
    expect(session.user.emailVerified).toBe(true);
    // The role applies on the management API at once.
    const create = await invitee.fetch('POST', '/api/v1/connections', {
      body: { slug: 'dev-made', name: 'dev', upstreamUrl: `${env.UPSTREAM_URL}/stateless`, authType: 'none' },
    });
    expect(create.status).toBe(201);
    const rename = await invitee.fetch('PATCH', '/api/v1/organizations/current', {
      body: { name: 'taken over' },
    });
    expect((await expectApiError(rename, 403, 'forbidden')).message).toContain('org:write');

    const reused = await invitee.fetch('POST', '/api/auth/invitations/accept', { body: { token } });
    const err = await expectApiError(reused, 400, 'bad_request');
    expect(err.message).toBe('Invitation is invalid, expired or already used');
    const someoneElse = new Browser();
    await someoneElse.signUp(email.replace('@', '+2@'));
    await expectApiError(
      await someoneElse.fetch('POST', '/api/auth/invitations/accept', { body: { token } }),
      400,
      'bad_request',
    );
  });

  it('refuses the token to a different signed-in address, without using it up', async () => {
    const email = uniqueEmail('bound');
    const { token } = await invite(owner, email, 'auditor');
    const wrongPerson = new Browser();
    await wrongPerson.signUp();
    const res = await wrongPerson.fetch('POST', '/api/auth/invitations/accept', { body: { token } });
    await expectApiError(res, 403, 'forbidden');
    const right = new Browser();
    await right.signUp(email);
    expect((await right.fetch('POST', '/api/auth/invitations/accept', { body: { token } })).status).toBe(200);
  });

  it('refuses an expired invitation and a revoked one', async () => {
    const expiredEmail = uniqueEmail('expired');
    const { invitation, token } = await invite(owner, expiredEmail, 'developer');
    await env.DB.prepare('UPDATE invitations SET expires_at = ? WHERE id = ?')
      .bind(Date.now() - 1, invitation.id)
      .run();
    const late = new Browser();
    await late.signUp(expiredEmail);
    await expectApiError(
      await late.fetch('POST', '/api/auth/invitations/accept', { body: { token } }),
      400,
      'bad_request',
    );
    expect((await late.session()).organizations.map((o) => o.id)).not.toContain(orgId);

    const revokedEmail = uniqueEmail('revoked');
    const revoked = await invite(owner, revokedEmail, 'developer');
    const del = await owner.fetch('DELETE', `/api/auth/invitations/${revoked.invitation.id}`);
    expect((await expectJson<{ revoked: boolean }>(del, 200)).revoked).toBe(true);
    const person = new Browser();
    await person.signUp(revokedEmail);
    await expectApiError(
      await person.fetch('POST', '/api/auth/invitations/accept', { body: { token: revoked.token } }),
      400,
      'bad_request',
    );
  });

  it('a newer invitation to the same address replaces the older token', async () => {
    const email = uniqueEmail('twice');
    const first = await invite(owner, email, 'developer');
    const second = await invite(owner, email, 'auditor');
    const person = new Browser();
    await person.signUp(email);
    await expectApiError(
      await person.fetch('POST', '/api/auth/invitations/accept', { body: { token: first.token } }),
      400,
      'bad_request',
    );
    const ok = await person.fetch('POST', '/api/auth/invitations/accept', { body: { token: second.token } });
    expect((await expectJson<{ organization: { role: string } }>(ok, 200)).organization.role).toBe('auditor');
  });

  it('signs up straight into the inviting organization (no personal one), and refuses a used token there too', async () => {
    const email = uniqueEmail('signupinvite');
    const { token } = await invite(owner, email, 'admin');
    const person = new Browser();
    const session = await person.signUp(email, PASSWORD, { invitationToken: token });
    expect(session.organizations).toEqual([expect.objectContaining({ id: orgId, role: 'admin' })]);
    expect(session.user.emailVerified).toBe(true);
    const again = await new Browser().fetch('POST', '/api/auth/sign-up', {
      body: { email: email.replace('@', '+x@'), password: PASSWORD, invitationToken: token },
    });
    await expectApiError(again, 400, 'bad_request');
    // Nothing was created for the refused sign-up.
    expect(
      await env.DB.prepare('SELECT id FROM users WHERE email = ?').bind(email.replace('@', '+x@')).first(),
    ).toBeNull();
  });

  it('applies the permission matrix: developers cannot invite, admins cannot invite owners', async () => {
    const devEmail = uniqueEmail('dev');
    const dev = new Browser();
    await dev.signUp(devEmail, PASSWORD, {
      invitationToken: (await invite(owner, devEmail, 'developer')).token,
    });
    const byDev = await dev.fetch('POST', '/api/auth/invitations', {
      body: { email: uniqueEmail(), role: 'auditor' },
    });
    expect((await expectApiError(byDev, 403, 'forbidden')).message).toContain('members:write');

    const adminEmail = uniqueEmail('admin');
    const admin = new Browser();
    await admin.signUp(adminEmail, PASSWORD, {
      invitationToken: (await invite(owner, adminEmail, 'admin')).token,
    });
    await expectApiError(
      await admin.fetch('POST', '/api/auth/invitations', { body: { email: uniqueEmail(), role: 'owner' } }),
      403,
      'forbidden',
    );
    expect(
      (await admin.fetch('POST', '/api/auth/invitations', { body: { email: uniqueEmail(), role: 'admin' } }))
        .status,
    ).toBe(201);
    // Existing members cannot be invited again.
    await expectApiError(
      await owner.fetch('POST', '/api/auth/invitations', { body: { email: adminEmail, role: 'developer' } }),
      409,
      'conflict',
    );
  });
});
