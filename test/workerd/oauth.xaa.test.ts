/**
 * Cross App Access (experimental) inside workerd: the admin API (IdPs, revocations, stats; owners
 * and admins only; https IdP URLs), the jwt-bearer grant in the RFC 8414 metadata, and the
 * refusals made before the IdP's JWKS is fetched (a client the organization did not allow, an
 * issuer nobody trusts), each with its reason in the audit row. The exchange itself needs the IdP's
 * JWKS over https, which this pool cannot trust (docs/oauth.md#cross-app-access-experimental): it
 * runs end to end in test/e2e/oauth.xaa.e2e.test.ts.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomId } from '../../workers/lib/ids';
import { withFailingAudit } from './audit.fail';
import {
  addMember,
  call,
  createConnection,
  createOrg,
  expectApiError,
  expectJson,
  type TestOrg,
} from './helpers';
import { fetchWorker, OAUTH_BASE, randomAddress, resourceFor } from './oauth.helpers';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const IDP = `https://idp-${randomId('i').slice(-8).toLowerCase()}.example.com`;

let owner: TestOrg;
let slug: string;
let allowed: { id: string; secret: string };

async function confidentialClient(): Promise<{ id: string; secret: string }> {
  const res = await fetchWorker('/register', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'CF-Connecting-IP': randomAddress() },
    body: JSON.stringify({
      client_name: 'XAA app',
      redirect_uris: ['https://app.example/callback'],
      token_endpoint_auth_method: 'client_secret_basic',
    }),
  });
  const body = await expectJson<{ client_id: string; client_secret: string }>(res, 201);
  return { id: body.client_id, secret: body.client_secret };
}

const b64 = (value: unknown) =>
  btoa(JSON.stringify(value)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');

/** An unsigned-looking ID-JAG: these refusals happen before any signature is checked. */
function assertion(iss: string, clientId: string, jti = randomId('jti')): string {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss,
    sub: 'idp-subject',
    aud: OAUTH_BASE,
    client_id: clientId,
    jti,
    iat: now,
    exp: now + 120,
    resource: resourceFor(slug),
  };
  return `${b64({ alg: 'RS256', typ: 'oauth-id-jag+jwt', kid: 'k1' })}.${b64(claims)}.c2ln`;
}

function exchange(jwt: string, client: { id: string; secret: string }): Promise<Response> {
  return fetchWorker('/token', {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: `Basic ${btoa(`${client.id}:${client.secret}`)}`,
    },
    body: new URLSearchParams({
      grant_type: JWT_BEARER,
      assertion: jwt,
      resource: resourceFor(slug),
    }).toString(),
  });
}

async function xaaRow(jti: string) {
  const row = await env.DB.prepare(
    `SELECT action, details FROM audit_events WHERE org_id = ? AND action LIKE 'auth.xaa_%'
       AND json_extract(details, '$.jti') = ?`,
  )
    .bind(owner.orgId, jti)
    .first<{ action: string; details: string }>();
  return row ? { action: row.action, details: JSON.parse(row.details) as Record<string, unknown> } : null;
}

beforeAll(async () => {
  owner = await createOrg('owner');
  slug = `xaa-${randomId('x').slice(-8).toLowerCase()}`;
  await createConnection(slug, { key: owner.key });
  allowed = await confidentialClient();
  await expectJson(
    await call('POST', '/api/v1/xaa/issuers', {
      key: owner.key,
      body: { issuer: IDP, jwksUri: `${IDP}/jwks`, clients: [allowed.id] },
    }),
    201,
  );
});

describe('Cross App Access: the admin API', () => {
  it('lists the trusted IdP, and replaces it when posted again', async () => {
    await expectJson(
      await call('POST', '/api/v1/xaa/issuers', {
        key: owner.key,
        body: { issuer: IDP, jwksUri: `${IDP}/keys`, algorithms: ['ES256'], clients: [allowed.id] },
      }),
      201,
    );
    const { issuers } = await expectJson<{ issuers: Array<Record<string, unknown>> }>(
      await call('GET', '/api/v1/xaa/issuers', { key: owner.key }),
      200,
    );
    expect(issuers).toEqual([
      expect.objectContaining({
        issuer: IDP,
        jwksUri: `${IDP}/keys`,
        algorithms: ['ES256'],
        clients: [allowed.id],
      }),
    ]);
  });

  it('takes https IdP URLs only, and is for owners and admins', async () => {
    await expectApiError(
      await call('POST', '/api/v1/xaa/issuers', {
        key: owner.key,
        body: { issuer: 'http://idp.example.com', jwksUri: 'http://idp.example.com/jwks', clients: ['c'] },
      }),
      400,
      'validation_failed',
    );
    const developer = await addMember(owner.orgId, 'developer');
    await expectApiError(await call('GET', '/api/v1/xaa/issuers', { key: developer.key }), 403, 'forbidden');
    await expectApiError(
      await call('POST', '/api/v1/xaa/revocations', {
        key: developer.key,
        body: { issuer: IDP, subject: 's' },
      }),
      403,
      'forbidden',
    );
  });

  it('records revocations (by jti or subject, exactly one) with an audit row', async () => {
    await expectApiError(
      await call('POST', '/api/v1/xaa/revocations', { key: owner.key, body: { issuer: IDP } }),
      400,
      'validation_failed',
    );
    const revoked = await expectJson<{ revokedGrants: number }>(
      await call('POST', '/api/v1/xaa/revocations', {
        key: owner.key,
        body: { issuer: IDP, subject: 'gone' },
      }),
      201,
    );
    expect(revoked.revokedGrants).toBe(0);
    const { revocations } = await expectJson<{ revocations: Array<Record<string, unknown>> }>(
      await call('GET', '/api/v1/xaa/revocations', { key: owner.key }),
      200,
    );
    expect(revocations).toEqual([expect.objectContaining({ issuer: IDP, kind: 'subject', value: 'gone' })]);
    const row = await env.DB.prepare(
      "SELECT details FROM audit_events WHERE org_id = ? AND action = 'auth.xaa_revoke'",
    )
      .bind(owner.orgId)
      .first<{ details: string }>();
    expect(JSON.parse(row!.details)).toMatchObject({ issuer: IDP, kind: 'subject', value: 'gone' });
  });

  it('records a revocation and its audit row in one transaction: a failed record stores no revocation', async () => {
    const revoke = () =>
      call('POST', '/api/v1/xaa/revocations', { key: owner.key, body: { issuer: IDP, subject: 'atomic' } });
    const values = async () =>
      (
        await expectJson<{ revocations: Array<{ value: string }> }>(
          await call('GET', '/api/v1/xaa/revocations', { key: owner.key }),
          200,
        )
      ).revocations.map((r) => r.value);

    const refused = await withFailingAudit(owner.orgId, 'auth.xaa_revoke', revoke);
    expect(refused.status).toBe(500);
    expect(await values()).not.toContain('atomic');

    await expectJson(await revoke(), 201);
    expect(await values()).toContain('atomic');
  });
});

describe('Cross App Access: /token', () => {
  it('lists the jwt-bearer grant in the authorization server metadata while the flag is on', async () => {
    const metadata = await expectJson<{ grant_types_supported: string[] }>(
      await fetchWorker('/.well-known/oauth-authorization-server'),
      200,
    );
    expect(metadata.grant_types_supported).toContain(JWT_BEARER);
  });

  it('refuses a client the organization did not allow, before fetching anything, with the reason audited', async () => {
    const other = await confidentialClient();
    const jti = randomId('jti');
    const res = await exchange(assertion(IDP, other.id, jti), other);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_grant');
    expect(await xaaRow(jti)).toMatchObject({
      action: 'auth.xaa_refused',
      details: { reason: 'client_not_allowed', issuer: IDP, clientId: other.id, subject: 'idp-subject', jti },
    });
  });

  it('refuses an issuer nobody trusts (no organization to audit it in)', async () => {
    const jti = randomId('jti');
    const res = await exchange(assertion('https://stranger.example.com', allowed.id, jti), allowed);
    expect(res.status).toBe(400);
    expect(await xaaRow(jti)).toBeNull();
  });

  it('counts the refusals in the stats', async () => {
    const stats = await expectJson<{ refused: number; refusedByReason: Record<string, number> }>(
      await call('GET', '/api/v1/xaa/stats?days=1', { key: owner.key }),
      200,
    );
    expect(stats.refusedByReason).toEqual({ client_not_allowed: 1 });
    expect(stats.refused).toBe(1);
  });
});
