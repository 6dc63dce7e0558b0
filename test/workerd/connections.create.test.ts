/**
 * The connections API end to end inside workerd, creation: POST /api/v1/connections success and
 * failure paths, the validation rules as the API reports them (slug, auth, upstream URL), and
 * malformed or missing bodies. The pure URL/header/slug rules are covered exhaustively in
 * workers/connections/connection.rules.*.unit.test.ts; here only their wiring is checked.
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type ConnectionDto,
  connectionRow,
  create,
  createBody,
  issues,
  owner,
  setUpConnections,
  upstream,
} from './connections.fixtures';
import {
  adminAuditRows,
  BASE,
  call,
  createOrg,
  expectApiError,
  expectJson,
  putPolicy,
  whoami,
} from './helpers';

beforeAll(setUpConnections);

afterEach(() => {
  vi.restoreAllMocks();
});

describe('POST /api/v1/connections', () => {
  it('creates a connection: 201, the full shape, no credential, and an audit row', async () => {
    const res = await create('create-shape', { credential: 'cred-create-shape-value' });
    const dto = await expectJson<ConnectionDto>(res, 201);
    expect(dto).toMatchObject({
      slug: 'create-shape',
      name: 'Connection create-shape',
      type: 'mcp',
      upstreamUrl: upstream(),
      authType: 'bearer',
      authHeaderName: null,
      hasCredential: true,
      enabled: true,
      settings: {
        maxBodyBytes: 1048576,
        failMode: 'closed',
        allowedOrigins: [],
        sharedWith: [],
        upstreamTimeoutMs: 60000,
      },
      createdBy: owner.userId,
      lastUsedAt: null,
      gatewayUrl: `${BASE}/v1/mcp/create-shape`,
    });
    expect(dto.id).toMatch(/^con_/);
    expect(Number.isNaN(Date.parse(dto.createdAt))).toBe(false);
    expect(dto).not.toHaveProperty('credential');
    expect(JSON.stringify(dto)).not.toContain('cred-create-shape-value');

    const row = await connectionRow(owner.orgId, 'create-shape');
    expect(row?.credential_ciphertext).toBeTruthy();
    expect(String(row?.credential_ciphertext)).not.toContain('cred-create-shape-value');

    const audit = await adminAuditRows(owner.orgId, 'connection.create');
    const mine = audit.filter((r) => r.connection_id === dto.id);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ actor: expect.stringMatching(/^key:/), connection_slug: 'create-shape' });
    expect(JSON.stringify(mine[0])).not.toContain('cred-create-shape-value');
  });

  describe('slug rules', () => {
    it.each([
      ['2 characters', 'ab', 'slug must be at least 3 characters'],
      ['65 characters', `a${'b'.repeat(64)}`, 'slug must be at most 64 characters'],
      ['uppercase', 'MyServer', 'slug may only contain lowercase letters, digits, "_" and "-"'],
      ['a leading "-"', '-abc', 'slug must start with a lowercase letter or digit'],
      ['a space', 'my server', 'slug may only contain lowercase letters, digits, "_" and "-"'],
    ])('refuses %s with 400 naming body.slug, and writes nothing', async (_label, slug, message) => {
      const res = await create(slug);
      const found = await issues(res);
      expect(found).toContainEqual({ location: 'body', path: 'slug', message });
      expect(await connectionRow(owner.orgId, slug)).toBeNull();
    });

    it.each([
      ['3 characters', 'abc'],
      ['64 characters', `a${'b'.repeat(63)}`],
      ['digits, "_" and "-"', '0-a_b-9'],
    ])('accepts %s', async (_label, slug) => {
      const dto = await expectJson<ConnectionDto>(await create(slug), 201);
      expect(dto.slug).toBe(slug);
    });
  });

  describe('auth rules', () => {
    it('authType header requires authHeaderName', async () => {
      const res = await create('hdr-missing-name', { authType: 'header' });
      expect(await issues(res)).toEqual([
        { location: 'body', path: 'authHeaderName', message: 'authType "header" requires authHeaderName' },
      ]);
      expect(await connectionRow(owner.orgId, 'hdr-missing-name')).toBeNull();
    });

    it.each(['Host', 'Content-Length', 'Transfer-Encoding', 'Connection', 'Cookie'])(
      'authType header refuses %s as the credential header',
      async (name) => {
        const slug = `hdr-${name.toLowerCase()}`;
        const res = await create(slug, { authType: 'header', authHeaderName: name });
        const found = await issues(res);
        expect(found).toHaveLength(1);
        expect(found[0]).toMatchObject({ location: 'body', path: 'authHeaderName' });
        expect(found[0]!.message).toContain(`header "${name}" cannot be used: `);
        expect(await connectionRow(owner.orgId, slug)).toBeNull();
      },
    );

    it('authType header refuses a name that is not an HTTP token', async () => {
      const res = await create('hdr-bad-token', { authType: 'header', authHeaderName: 'X Api Key' });
      const found = await issues(res);
      expect(found[0]).toMatchObject({ location: 'body', path: 'authHeaderName' });
      expect(found[0]!.message).toMatch(/HTTP token/);
    });

    it('authHeaderName is refused with authType bearer', async () => {
      const res = await create('bearer-with-name', { authHeaderName: 'X-Api-Key' });
      expect((await issues(res))[0]).toMatchObject({ path: 'authHeaderName' });
    });

    it('authType header with a valid name injects the credential under that name', async () => {
      await expectJson(
        await create('hdr-ok', {
          authType: 'header',
          authHeaderName: 'X-Api-Key',
          credential: 'hdr-ok-credential',
        }),
        201,
      );
      await putPolicy('hdr-ok', [{ tool: '*', action: 'allow' }], owner.key);
      const seen = await whoami('hdr-ok', owner.key);
      expect(seen['x-api-key']).toBe('hdr-ok-credential');
      expect(seen.authorization).toBeUndefined();
    });

    it.each([
      ['bearer', {}],
      ['header', { authHeaderName: 'X-Api-Key' }],
    ])('authType %s requires a credential', async (authType, extra) => {
      const slug = `nocred-${authType}`;
      const body = { ...createBody(slug, { authType, ...extra }) } as Record<string, unknown>;
      delete body.credential;
      const res = await call('POST', '/api/v1/connections', { key: owner.key, body });
      expect(await issues(res)).toEqual([
        { location: 'body', path: 'credential', message: `authType "${authType}" requires a credential` },
      ]);
      expect(await connectionRow(owner.orgId, slug)).toBeNull();
    });

    it('authType none refuses a credential', async () => {
      const res = await create('none-with-cred', { authType: 'none', credential: 'should-not-be-taken' });
      const found = await issues(res);
      expect(found).toEqual([
        { location: 'body', path: 'credential', message: 'authType "none" does not take a credential' },
      ]);
      expect(JSON.stringify(found)).not.toContain('should-not-be-taken');
      expect(await connectionRow(owner.orgId, 'none-with-cred')).toBeNull();
    });

    it('authType none without a credential is created with hasCredential false', async () => {
      const body = { slug: 'none-ok', name: 'none', upstreamUrl: upstream(), authType: 'none' };
      const dto = await expectJson<ConnectionDto>(
        await call('POST', '/api/v1/connections', { key: owner.key, body }),
        201,
      );
      expect(dto).toMatchObject({ authType: 'none', hasCredential: false });
    });

    it('refuses an empty credential', async () => {
      const found = await issues(await create('empty-cred', { credential: '' }));
      expect(found[0]).toMatchObject({ location: 'body', path: 'credential' });
    });
  });

  describe('upstream URL rules (the full table is in connection.rules.upstream.unit.test.ts)', () => {
    it('refuses ftp:// naming the scheme rule', async () => {
      const found = await issues(await create('url-ftp', { upstreamUrl: 'ftp://example.com/mcp' }));
      expect(found).toHaveLength(1);
      expect(found[0]).toMatchObject({ location: 'body', path: 'upstreamUrl', rule: 'scheme' });
      expect(found[0]!.message).toMatch(/https/);
      expect(await connectionRow(owner.orgId, 'url-ftp')).toBeNull();
    });

    it('refuses a URL with credentials naming the credentials rule, without echoing them', async () => {
      const res = await create('url-creds', { upstreamUrl: `http://alice:pw-in-url-9@127.0.0.1:1/mcp` });
      const text = await res.clone().text();
      const found = await issues(res);
      expect(found[0]).toMatchObject({ location: 'body', path: 'upstreamUrl', rule: 'credentials' });
      expect(text).not.toContain('pw-in-url-9');
      expect(text).not.toContain('alice');
      expect(await connectionRow(owner.orgId, 'url-creds')).toBeNull();
    });

    it('refuses an unparseable URL and a fragment', async () => {
      expect((await issues(await create('url-parse', { upstreamUrl: 'not a url' })))[0]).toMatchObject({
        path: 'upstreamUrl',
        rule: 'parse',
      });
      expect((await issues(await create('url-frag', { upstreamUrl: `${upstream()}#x` })))[0]).toMatchObject({
        path: 'upstreamUrl',
        rule: 'fragment',
      });
    });

    it('allows loopback http because ALLOW_PRIVATE_UPSTREAMS is "true" in tests', async () => {
      expect(env.ALLOW_PRIVATE_UPSTREAMS).toBe('true');
      await expectJson(await create('url-loopback'), 201);
    });
  });

  it('refuses unknown fields and wrong types', async () => {
    const found = await issues(await create('extra-field', { isAdmin: true, type: 'ftp' }));
    expect(found.map((i) => i.path).sort()).toEqual(['', 'type'].sort());
    expect(found.every((i) => i.location === 'body')).toBe(true);
    expect(await connectionRow(owner.orgId, 'extra-field')).toBeNull();
  });

  it('refuses a duplicate slug with 409 and writes nothing', async () => {
    await expectJson(await create('dup-slug'), 201);
    const auditBefore = (await adminAuditRows(owner.orgId, 'connection.create')).length;
    const err = await expectApiError(await create('dup-slug', { name: 'second' }), 409, 'conflict');
    expect(err.message).toContain('dup-slug');
    expect(err.details).toMatchObject({ location: 'body', path: 'slug' });
    const rows = await env.DB.prepare('SELECT name FROM connections WHERE org_id = ? AND slug = ?')
      .bind(owner.orgId, 'dup-slug')
      .all();
    expect(rows.results).toEqual([{ name: 'Connection dup-slug' }]);
    expect((await adminAuditRows(owner.orgId, 'connection.create')).length).toBe(auditBefore);
  });

  it('lets another organization use the same slug', async () => {
    await expectJson(await create('same-in-two-orgs'), 201);
    const other = await createOrg('owner');
    await expectJson(await create('same-in-two-orgs', {}, other.key), 201);
  });
});

describe('malformed and missing bodies', () => {
  it('answers {bad json with 400 parse_error at location body, in the standard shape', async () => {
    const res = await call('POST', '/api/v1/connections', { key: owner.key, rawBody: '{bad json' });
    const err = await expectApiError(res, 400, 'parse_error');
    expect(err.details).toEqual({ location: 'body' });
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
  });

  it('treats an empty body declared as JSON as malformed JSON', async () => {
    const res = await call('POST', '/api/v1/connections', {
      key: owner.key,
      rawBody: '',
      headers: { 'Content-Type': 'application/json' },
    });
    expect((await expectApiError(res, 400, 'parse_error')).details).toEqual({ location: 'body' });
  });

  it('answers no body and no Content-Type with 400 naming every missing field', async () => {
    const res = await call('POST', '/api/v1/connections', { key: owner.key });
    const found = await issues(res);
    expect(found.map((i) => i.path).sort()).toEqual(['name', 'slug', 'upstreamUrl']);
    expect(found.every((i) => i.location === 'body')).toBe(true);
  });

  it('answers a non-JSON Content-Type with 415 naming the header', async () => {
    const res = await call('POST', '/api/v1/connections', {
      key: owner.key,
      rawBody: JSON.stringify(createBody('text-plain')),
      headers: { 'Content-Type': 'text/plain' },
    });
    const err = await expectApiError(res, 415, 'unsupported_media_type');
    expect(err.details).toEqual({ location: 'header', path: 'Content-Type' });
    expect(await connectionRow(owner.orgId, 'text-plain')).toBeNull();
  });

  it.each([
    ['PATCH', '/api/v1/connections/malformed-target'],
    ['POST', '/api/v1/connections/malformed-target/rotate'],
    ['PUT', '/api/v1/connections/malformed-target/policy'],
    ['POST', '/api/v1/api-keys'],
    ['PATCH', '/api/v1/organizations/current'],
  ])('%s %s answers malformed JSON the same way', async (method, path) => {
    const res = await call(method, path, { key: owner.key, rawBody: '{"name": ' });
    expect((await expectApiError(res, 400, 'parse_error')).details).toEqual({ location: 'body' });
  });

  it('POST rotate without a body names the missing credential', async () => {
    await expectJson(await create('rotate-nobody'), 201);
    const found = await issues(
      await call('POST', '/api/v1/connections/rotate-nobody/rotate', { key: owner.key }),
    );
    expect(found).toEqual([expect.objectContaining({ location: 'body', path: 'credential' })]);
  });
});
