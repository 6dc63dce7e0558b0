/**
 * Cookie sessions on the management API: the session acts as the same Principal an API key does
 * (role from the member's role in the active organization), and every state-changing request made
 * with the cookie needs an allowed Origin AND the X-CSRF-Token. CORS lets only the dashboard read.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { randomId } from '../../workers/lib/ids';
import { Browser, DASHBOARD_ORIGIN, OWN_ORIGIN, uniqueEmail } from './auth.helpers';
import { addMember, call, expectApiError, expectJson } from './helpers';

function connectionBody(slug: string) {
  return { slug, name: slug, upstreamUrl: `${env.UPSTREAM_URL}/stateless`, authType: 'none' };
}

/** A signed-in person whose active organization gives them `role` (an extra membership, switched to). */
async function personWithRole(role: 'admin' | 'developer' | 'auditor') {
  const owner = new Browser();
  const ownerSession = await owner.signUp();
  const orgId = ownerSession.activeOrganization!.id;
  const browser = new Browser();
  const session = await browser.signUp();
  await env.DB.prepare('INSERT INTO members (id, org_id, user_id, role) VALUES (?, ?, ?, ?)')
    .bind(randomId('mem'), orgId, session.user.id, role)
    .run();
  const switched = await browser.fetch('POST', '/api/auth/organizations/switch', {
    body: { organizationId: orgId },
  });
  await expectJson(switched, 200);
  return { browser, owner, orgId, userId: session.user.id };
}

describe('cookie sessions on /api/v1', () => {
  it('reads with the cookie alone (GET needs no CSRF token), scoped to the active organization', async () => {
    const browser = new Browser();
    await browser.signUp();
    const res = await browser.fetch('GET', '/api/v1/connections', { csrf: false, origin: null });
    expect(await expectJson(res, 200)).toEqual({ connections: [] });
  });

  it('refuses a state-changing request without X-CSRF-Token, or with a wrong one', async () => {
    const browser = new Browser();
    await browser.signUp();
    const missing = await browser.fetch('POST', '/api/v1/connections', {
      body: connectionBody('csrf-a'),
      csrf: false,
    });
    const err = await expectApiError(missing, 403, 'csrf_failed');
    expect(err.details).toEqual({ location: 'header', path: 'X-CSRF-Token' });
    const wrong = await browser.fetch('POST', '/api/v1/connections', {
      body: connectionBody('csrf-a'),
      headers: { 'X-CSRF-Token': 'A'.repeat(43) },
    });
    await expectApiError(wrong, 403, 'csrf_failed');
    // Another session's token is no good either.
    const other = new Browser();
    const otherSession = await other.signUp();
    const crossed = await browser.fetch('POST', '/api/v1/connections', {
      body: connectionBody('csrf-a'),
      headers: { 'X-CSRF-Token': otherSession.csrfToken },
    });
    await expectApiError(crossed, 403, 'csrf_failed');
    const list = await expectJson<{ connections: unknown[] }>(
      await browser.fetch('GET', '/api/v1/connections'),
      200,
    );
    expect(list.connections).toEqual([]);
  });

  it('refuses a foreign or missing Origin even with the right token', async () => {
    const browser = new Browser();
    await browser.signUp();
    const evil = await browser.fetch('POST', '/api/v1/connections', {
      body: connectionBody('csrf-b'),
      origin: 'https://evil.test',
    });
    await expectApiError(evil, 403, 'origin_forbidden');
    const none = await browser.fetch('DELETE', '/api/v1/connections/csrf-b', { origin: null });
    await expectApiError(none, 403, 'origin_forbidden');
  });

  it('accepts the change from the Worker origin and from a DASHBOARD_ORIGINS origin, with the token', async () => {
    const browser = new Browser();
    await browser.signUp();
    const own = await browser.fetch('POST', '/api/v1/connections', {
      body: connectionBody('csrf-own'),
      origin: OWN_ORIGIN,
    });
    expect((await expectJson<{ slug: string }>(own, 201)).slug).toBe('csrf-own');
    const dash = await browser.fetch('POST', '/api/v1/connections', {
      body: connectionBody('csrf-dash'),
      origin: DASHBOARD_ORIGIN,
    });
    expect(dash.status).toBe(201);
    expect(dash.headers.get('Access-Control-Allow-Origin')).toBe(DASHBOARD_ORIGIN);
    expect(dash.headers.get('Access-Control-Allow-Credentials')).toBe('true');
  });

  it('leaves API keys alone: no Origin, no CSRF token needed; an Authorization header outranks the cookie', async () => {
    const res = await call('POST', '/api/v1/connections', {
      body: connectionBody(`key-${randomId('k', 6)}`),
    });
    expect(res.status).toBe(201);
    const browser = new Browser();
    await browser.signUp();
    const bogus = await browser.fetch('GET', '/api/v1/connections', {
      headers: { Authorization: 'Bearer nope' },
    });
    await expectApiError(bogus, 401, 'unauthorized');
  });

  it('judges a cookie session by the permission matrix exactly like an API key of the same role', async () => {
    const { browser, orgId } = await personWithRole('auditor');
    const auditorKey = (await addMember(orgId, 'auditor')).key;
    const bySession = await browser.fetch('POST', '/api/v1/connections', {
      body: connectionBody('matrix-1'),
    });
    const byKey = await call('POST', '/api/v1/connections', {
      key: auditorKey,
      body: connectionBody('matrix-1'),
    });
    const a = await expectApiError(bySession, 403, 'forbidden');
    const b = await expectApiError(byKey, 403, 'forbidden');
    expect(a).toEqual(b);
    expect(a.message).toContain('connections:write');
    // Reading is allowed for auditors either way.
    expect((await browser.fetch('GET', '/api/v1/connections')).status).toBe(200);
  });

  it("a developer session may create its own connection but not touch the owner's", async () => {
    const { browser, owner } = await personWithRole('developer');
    expect(
      (await owner.fetch('POST', '/api/v1/connections', { body: connectionBody('owners-conn') })).status,
    ).toBe(201);
    expect(
      (await browser.fetch('POST', '/api/v1/connections', { body: connectionBody('devs-conn') })).status,
    ).toBe(201);
    const patch = await browser.fetch('PATCH', '/api/v1/connections/owners-conn', {
      body: { name: 'mine now' },
    });
    await expectApiError(patch, 403, 'forbidden');
    const own = await browser.fetch('PATCH', '/api/v1/connections/devs-conn', { body: { name: 'renamed' } });
    expect(own.status).toBe(200);
  });

  it('writes admin audit rows naming the person (user:<id>), not a key', async () => {
    const browser = new Browser();
    const session = await browser.signUp();
    expect(
      (await browser.fetch('POST', '/api/v1/connections', { body: connectionBody('audited') })).status,
    ).toBe(201);
    const row = await env.DB.prepare(
      "SELECT actor, api_key_id FROM audit_events WHERE org_id = ? AND type = 'admin' AND connection_slug = 'audited'",
    )
      .bind(session.activeOrganization!.id)
      .first<{ actor: string; api_key_id: string | null }>();
    expect(row).toEqual({ actor: `user:${session.user.id}`, api_key_id: null });
  });
});

describe('CSRF on /api/auth', () => {
  it('refuses cookie-authenticated auth writes without the token (create organization, switch, invite)', async () => {
    const browser = new Browser();
    const session = await browser.signUp();
    const create = await browser.fetch('POST', '/api/auth/organizations', {
      body: { name: 'Nope' },
      csrf: false,
    });
    await expectApiError(create, 403, 'csrf_failed');
    const invite = await browser.fetch('POST', '/api/auth/invitations', {
      body: { email: uniqueEmail(), role: 'developer' },
      csrf: false,
    });
    await expectApiError(invite, 403, 'csrf_failed');
    const switched = await browser.fetch('POST', '/api/auth/organizations/switch', {
      body: { organizationId: session.activeOrganization!.id },
      origin: 'https://evil.test',
    });
    await expectApiError(switched, 403, 'origin_forbidden');
    const orgs = await expectJson<{ organizations: unknown[] }>(
      await browser.fetch('GET', '/api/auth/organizations'),
      200,
    );
    expect(orgs.organizations).toHaveLength(1);
  });

  it('refuses sign-in and sign-up posted from a foreign origin (login CSRF)', async () => {
    const email = uniqueEmail('logincsrf');
    await new Browser().signUp(email);
    const signIn = await new Browser().fetch('POST', '/api/auth/sign-in', {
      body: { email, password: 'correct horse battery staple' },
      origin: 'https://evil.test',
    });
    await expectApiError(signIn, 403, 'origin_forbidden');
    expect(signIn.headers.getSetCookie()).toEqual([]);
    const signUp = await new Browser().fetch('POST', '/api/auth/sign-up', {
      body: { email: uniqueEmail(), password: 'correct horse battery staple' },
      origin: 'https://evil.test',
    });
    await expectApiError(signUp, 403, 'origin_forbidden');
  });
});

describe('CORS', () => {
  it("answers the dashboard's preflight with credentials and the CSRF header allowed", async () => {
    const res = await new Browser().fetch('OPTIONS', '/api/v1/connections', {
      origin: DASHBOARD_ORIGIN,
      headers: {
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type,x-csrf-token',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe(DASHBOARD_ORIGIN);
    expect(res.headers.get('Access-Control-Allow-Credentials')).toBe('true');
    expect(res.headers.get('Access-Control-Allow-Headers')).toContain('X-CSRF-Token');
    expect(res.headers.get('Access-Control-Allow-Methods')).toContain('DELETE');
  });

  it('gives other origins nothing to read with', async () => {
    const preflight = await new Browser().fetch('OPTIONS', '/api/auth/session', {
      origin: 'https://evil.test',
      headers: { 'Access-Control-Request-Method': 'GET' },
    });
    expect(preflight.headers.get('Access-Control-Allow-Origin')).toBeNull();
    const browser = new Browser();
    await browser.signUp();
    const read = await browser.fetch('GET', '/api/auth/session', { origin: 'https://evil.test' });
    expect(read.headers.get('Access-Control-Allow-Origin')).toBeNull();
  });

  it('keeps CORS headers on error answers, so the dashboard can read 401/403/429 bodies', async () => {
    const res = await new Browser().fetch('GET', '/api/auth/session', { origin: DASHBOARD_ORIGIN });
    expect(res.status).toBe(401);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe(DASHBOARD_ORIGIN);
    expect(res.headers.get('Access-Control-Expose-Headers')).toContain('Retry-After');
  });
});
