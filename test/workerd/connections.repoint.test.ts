/**
 * Where a connection's credential may go (issue 12, items 3, 10 and the slug rule of 11):
 *   - PATCH upstreamUrl to another origin needs the new host's credential in the same request, or
 *     an owner's explicit keepCredential: true; the old credential never reaches the new host, and
 *     the audit row records the old and new URL;
 *   - secrets in an upstream URL (query string, userinfo) are refused at save time, pointing to
 *     authType "query", which injects the credential as a named query parameter — proven against a
 *     real upstream that refuses calls without it;
 *   - a slug may not look like a connection id.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  adminAuditRows,
  call,
  createOrg,
  expectApiError,
  expectJson,
  type FieldIssue,
  mcp,
  putPolicy,
  rpcResult,
  type TestOrg,
} from './helpers';
import { receivedBy, recordedUpstream, uniqueAgent } from './upstream.log';

interface ConnectionDto {
  id: string;
  slug: string;
  upstreamUrl: string;
  authType: string;
  authHeaderName: string | null;
  authQueryParam: string | null;
  hasCredential: boolean;
}

let owner: TestOrg;
let admin: TestOrg;
let developer: TestOrg;

const original = (path = '/stateless') => `${env.UPSTREAM_URL}${path}`;

async function createVia(key: string, body: Record<string, unknown>) {
  return call('POST', '/api/v1/connections', { key, body: { name: String(body.slug), ...body } });
}

async function patch(slug: string, key: string, body: Record<string, unknown>) {
  return call('PATCH', `/api/v1/connections/${slug}`, { key, body });
}

async function fieldIssues(res: Response): Promise<FieldIssue[]> {
  return (await expectApiError(res, 400, 'validation_failed')).details!.issues!;
}

async function row(orgId: string, slug: string) {
  return env.DB.prepare('SELECT * FROM connections WHERE org_id = ? AND slug = ?')
    .bind(orgId, slug)
    .first<Record<string, unknown>>();
}

/** A bearer connection on the original upstream, open to every tool. */
async function bearerConnection(slug: string, credential: string, key = owner.key) {
  await expectJson(await createVia(key, { slug, upstreamUrl: original(), credential }), 201);
  await putPolicy(slug, [{ tool: '*', action: 'allow' }], key);
}

/** One tools/call through the gateway, tagged with a User-Agent the recorder can find. */
async function echoThrough(slug: string, agent: string, key = owner.key) {
  return mcp(
    slug,
    'tools/call',
    { name: 'echo', arguments: { message: 'hi' } },
    { key, headers: { 'User-Agent': agent } },
  );
}

beforeAll(async () => {
  owner = await createOrg('owner');
  admin = await addMember(owner.orgId, 'admin');
  developer = await addMember(owner.orgId, 'developer');
});

describe('PATCH upstreamUrl to another origin', () => {
  it('without a credential is refused naming the credential field; nothing changes and nothing reaches the new host', async () => {
    await bearerConnection('repoint-refused', 'old-cred-refused');
    const before = await row(owner.orgId, 'repoint-refused');
    const found = await fieldIssues(
      await patch('repoint-refused', owner.key, { upstreamUrl: recordedUpstream() }),
    );
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      location: 'body',
      path: 'credential',
      rule: 'credential_required_for_new_origin',
    });
    expect(found[0]!.message).toMatch(/another origin/);
    expect(await row(owner.orgId, 'repoint-refused')).toEqual(before);

    const agent = uniqueAgent('repoint-refused');
    expect((await echoThrough('repoint-refused', agent)).status).toBe(200);
    expect(await receivedBy(agent)).toEqual([]); // still the old upstream
  });

  it('with a new credential: the new host receives only the new one, and the audit row has old and new URL', async () => {
    await bearerConnection('repoint-new-cred', 'old-cred-must-not-travel');
    const dto = await expectJson<ConnectionDto>(
      await patch('repoint-new-cred', owner.key, {
        upstreamUrl: recordedUpstream(),
        credential: 'new-cred-for-new-host',
      }),
      200,
    );
    expect(dto.upstreamUrl).toBe(recordedUpstream());

    const agent = uniqueAgent('repoint-new-cred');
    const res = await echoThrough('repoint-new-cred', agent);
    expect(res.status).toBe(200);
    expect((await rpcResult(res)).result).toBeDefined();
    const received = await receivedBy(agent);
    expect(received.length).toBeGreaterThan(0);
    for (const request of received) {
      expect(request.headers.authorization).toBe('Bearer new-cred-for-new-host');
      expect(JSON.stringify(request)).not.toContain('old-cred-must-not-travel');
    }

    const audit = (await adminAuditRows(owner.orgId, 'connection.update')).filter(
      (r) => r.connection_id === dto.id,
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]!.details).toMatchObject({
      upstreamUrl: { from: original(), to: recordedUpstream() },
      originChanged: true,
      credential: 'replaced',
    });
    expect(JSON.stringify(audit)).not.toMatch(/old-cred-must-not-travel|new-cred-for-new-host/);
  });

  it('keepCredential: true is refused for an admin (403 naming the field) and honoured for an owner', async () => {
    await bearerConnection('repoint-keep', 'kept-cred-owner-approved');
    const before = await row(owner.orgId, 'repoint-keep');
    const err = await expectApiError(
      await patch('repoint-keep', admin.key, { upstreamUrl: recordedUpstream(), keepCredential: true }),
      403,
      'forbidden',
    );
    expect(err.details).toMatchObject({ location: 'body', path: 'keepCredential', role: 'admin' });
    expect(await row(owner.orgId, 'repoint-keep')).toEqual(before);

    const dto = await expectJson<ConnectionDto>(
      await patch('repoint-keep', owner.key, { upstreamUrl: recordedUpstream(), keepCredential: true }),
      200,
    );
    expect(dto.hasCredential).toBe(true);
    const agent = uniqueAgent('repoint-keep');
    expect((await echoThrough('repoint-keep', agent)).status).toBe(200);
    const received = await receivedBy(agent);
    expect(received.length).toBeGreaterThan(0);
    expect(received[0]!.headers.authorization).toBe('Bearer kept-cred-owner-approved');
    const audit = (await adminAuditRows(owner.orgId, 'connection.update')).filter(
      (r) => r.connection_id === dto.id,
    );
    expect(audit.at(-1)!.details).toMatchObject({ originChanged: true, credential: 'kept' });
    expect((audit.at(-1)!.details as { changed: string[] }).changed).toEqual(['upstreamUrl']);
  });

  it('a developer may not keep the credential on their own connection either', async () => {
    await bearerConnection('repoint-dev', 'dev-cred', developer.key);
    await expectApiError(
      await patch('repoint-dev', developer.key, { upstreamUrl: recordedUpstream(), keepCredential: true }),
      403,
      'forbidden',
    );
    expect(
      (
        await fieldIssues(
          await patch('repoint-dev', developer.key, {
            upstreamUrl: recordedUpstream(),
            credential: 'x',
            keepCredential: true,
          }),
        )
      )[0],
    ).toMatchObject({ path: 'keepCredential' });
    await expectJson(
      await patch('repoint-dev', developer.key, { upstreamUrl: recordedUpstream(), credential: 'dev-new' }),
      200,
    );
  });

  it('a path change on the same origin needs neither, and a connection without a credential moves freely', async () => {
    await bearerConnection('repoint-path', 'same-origin-cred');
    const dto = await expectJson<ConnectionDto>(
      await patch('repoint-path', owner.key, { upstreamUrl: `${original()}?region=eu` }),
      200,
    );
    expect(dto.upstreamUrl).toBe(`${original()}?region=eu`);
    const audit = (await adminAuditRows(owner.orgId, 'connection.update')).filter(
      (r) => r.connection_id === dto.id,
    );
    expect(audit[0]!.details).toMatchObject({ originChanged: false });
    expect((audit[0]!.details as Record<string, unknown>).credential).toBeUndefined();

    await expectJson(
      await createVia(owner.key, { slug: 'repoint-none', upstreamUrl: original(), authType: 'none' }),
      201,
    );
    await expectJson(await patch('repoint-none', owner.key, { upstreamUrl: recordedUpstream() }), 200);
  });
});

describe('secrets in the upstream URL and authType "query"', () => {
  it('refuses a credential-looking query parameter at create and PATCH, pointing to authType "query"', async () => {
    const res = await createVia(owner.key, {
      slug: 'url-query-secret',
      upstreamUrl: `${original()}?api_key=s3cr3t-in-url`,
      credential: 'x',
    });
    const text = await res.clone().text();
    const found = await fieldIssues(res);
    expect(found[0]).toMatchObject({ location: 'body', path: 'upstreamUrl', rule: 'query-credential' });
    expect(found[0]!.message).toContain('authType "query"');
    expect(text).not.toContain('s3cr3t-in-url');
    expect(await row(owner.orgId, 'url-query-secret')).toBeNull();

    await bearerConnection('url-query-patch', 'cred');
    const patched = await fieldIssues(
      await patch('url-query-patch', owner.key, { upstreamUrl: `${original()}?token=s3cr3t` }),
    );
    expect(patched[0]).toMatchObject({ path: 'upstreamUrl', rule: 'query-credential' });
  });

  it('checks the auth fields of authType "query"', async () => {
    const base = { upstreamUrl: `${env.QUERY_UPSTREAM_URL}/stateless`, authType: 'query', credential: 'c' };
    expect((await fieldIssues(await createVia(owner.key, { slug: 'q-noparam', ...base })))[0]).toMatchObject({
      path: 'authQueryParam',
    });
    expect(
      (
        await fieldIssues(
          await createVia(owner.key, {
            slug: 'q-header',
            ...base,
            authQueryParam: 'k',
            authHeaderName: 'X-K',
          }),
        )
      )[0],
    ).toMatchObject({ path: 'authHeaderName' });
    expect(
      (
        await fieldIssues(
          await createVia(owner.key, { slug: 'q-bearer', ...base, authType: 'bearer', authQueryParam: 'k' }),
        )
      )[0],
    ).toMatchObject({ path: 'authQueryParam' });
    expect(
      (
        await fieldIssues(await createVia(owner.key, { slug: 'q-badname', ...base, authQueryParam: 'a&b' }))
      )[0],
    ).toMatchObject({ path: 'authQueryParam' });
    expect(
      (
        await fieldIssues(
          await createVia(owner.key, {
            slug: 'q-dupe',
            ...base,
            upstreamUrl: `${env.QUERY_UPSTREAM_URL}/stateless?k=1`,
            authQueryParam: 'k',
          }),
        )
      )[0],
    ).toMatchObject({ path: 'authQueryParam' });
    const noCred = { ...base, authQueryParam: 'k' } as Record<string, unknown>;
    delete noCred.credential;
    expect((await fieldIssues(await createVia(owner.key, { slug: 'q-nocred', ...noCred })))[0]).toMatchObject(
      {
        path: 'credential',
      },
    );
  });

  it('injects the credential as the named query parameter: a real upstream that requires it answers', async () => {
    const dto = await expectJson<ConnectionDto>(
      await createVia(owner.key, {
        slug: 'q-real',
        upstreamUrl: `${env.QUERY_UPSTREAM_URL}/stateless`,
        authType: 'query',
        authQueryParam: 'api_key',
        credential: env.QUERY_UPSTREAM_SECRET,
      }),
      201,
    );
    expect(dto).toMatchObject({ authType: 'query', authQueryParam: 'api_key', authHeaderName: null });
    expect(dto.upstreamUrl).toBe(`${env.QUERY_UPSTREAM_URL}/stateless`);
    expect((await row(owner.orgId, 'q-real'))!.auth_header_name).toBe('api_key');
    await putPolicy('q-real', [{ tool: '*', action: 'allow' }], owner.key);

    const ok = await mcp(
      'q-real',
      'tools/call',
      { name: 'echo', arguments: { message: 'via query' } },
      {
        key: owner.key,
      },
    );
    expect(ok.status).toBe(200);
    expect(JSON.stringify((await rpcResult(ok)).result)).toContain('via query');

    // The upstream really checks it: a wrong credential is refused by the upstream itself.
    await expectJson(
      await call('POST', '/api/v1/connections/q-real/rotate', {
        key: owner.key,
        body: { credential: 'wrong' },
      }),
      200,
    );
    const refused = await mcp(
      'q-real',
      'tools/call',
      { name: 'echo', arguments: { message: 'x' } },
      {
        key: owner.key,
      },
    );
    expect(refused.status).toBe(401);
    await refused.body?.cancel();

    // Back to the right one, by PATCH this time.
    await expectJson(await patch('q-real', owner.key, { credential: env.QUERY_UPSTREAM_SECRET }), 200);
    const again = await mcp('q-real', 'tools/list', {}, { key: owner.key });
    expect(again.status).toBe(200);
    const text = await again.text();
    expect(text).toContain('echo');
    expect(text).not.toContain(env.QUERY_UPSTREAM_SECRET);
  });

  it('switching a bearer connection to query auth on PATCH requires the parameter name', async () => {
    await bearerConnection('q-switch', 'switch-cred');
    expect((await fieldIssues(await patch('q-switch', owner.key, { authType: 'query' })))[0]).toMatchObject({
      path: 'authQueryParam',
    });
    const dto = await expectJson<ConnectionDto>(
      await patch('q-switch', owner.key, { authType: 'query', authQueryParam: 'key' }),
      200,
    );
    expect(dto).toMatchObject({
      authType: 'query',
      authQueryParam: 'key',
      authHeaderName: null,
      hasCredential: true,
    });
    const back = await expectJson<ConnectionDto>(
      await patch('q-switch', owner.key, { authType: 'bearer' }),
      200,
    );
    expect(back).toMatchObject({ authType: 'bearer', authQueryParam: null, authHeaderName: null });
    expect((await row(owner.orgId, 'q-switch'))!.auth_header_name).toBeNull();
  });
});

describe('slugs that look like ids', () => {
  it('refuses con_… and ses_… slugs with a field error', async () => {
    for (const slug of ['con_0123456789abcdefghij', 'ses_0123456789abcdefghij']) {
      const found = await fieldIssues(
        await createVia(owner.key, { slug, upstreamUrl: original(), credential: 'x' }),
      );
      expect(found[0]).toMatchObject({ location: 'body', path: 'slug' });
      expect(found[0]!.message).toMatch(/reserved/);
      expect(await row(owner.orgId, slug)).toBeNull();
    }
  });
});
