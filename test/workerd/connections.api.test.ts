/**
 * The connections API end to end inside workerd: every endpoint's success and failure paths, the
 * validation rules as the API reports them, rotation and disabling as the gateway sees them, the
 * role rules (Developer: own only; Auditor: read only), malformed bodies, and the public API
 * reference. The pure URL/header/slug rules are covered exhaustively in
 * workers/connections/connection.rules.unit.test.ts; here only their wiring is checked.
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { renderApiDocs } from '../../workers/api/api.docs';
import {
  addMember,
  adminAuditRows,
  BASE,
  call,
  createOrg,
  expectApiError,
  expectJson,
  mcp,
  putPolicy,
  rpcResult,
  type TestOrg,
  whoami,
} from './helpers';

interface ConnectionDto {
  id: string;
  slug: string;
  name: string;
  type: string;
  upstreamUrl: string;
  authType: string;
  authHeaderName: string | null;
  hasCredential: boolean;
  enabled: boolean;
  settings: Record<string, unknown>;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
  lastUsedAt: string | null;
  gatewayUrl: string;
}

const upstream = (path = '/stateless') => `${env.UPSTREAM_URL}${path}`;

let owner: TestOrg;

function createBody(slug: string, extra: Record<string, unknown> = {}) {
  return { slug, name: `Connection ${slug}`, upstreamUrl: upstream(), credential: `cred-${slug}`, ...extra };
}

async function create(slug: string, extra: Record<string, unknown> = {}, key = owner.key) {
  return call('POST', '/api/v1/connections', { key, body: createBody(slug, extra) });
}

async function connectionRow(orgId: string, slug: string) {
  return env.DB.prepare('SELECT * FROM connections WHERE org_id = ? AND slug = ?')
    .bind(orgId, slug)
    .first<Record<string, unknown>>();
}

async function issues(res: Response) {
  const err = await expectApiError(res, 400, 'validation_failed');
  return err.details!.issues!;
}

beforeAll(async () => {
  owner = await createOrg('owner');
});

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

  describe('upstream URL rules (the full table is in connection.rules.unit.test.ts)', () => {
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

describe('GET /api/v1/connections and /:slug', () => {
  it('lists the organization’s connections and gets one', async () => {
    await expectJson(await create('list-me'), 201);
    const list = await expectJson<{ connections: ConnectionDto[] }>(
      await call('GET', '/api/v1/connections', { key: owner.key }),
      200,
    );
    expect(list.connections.map((c) => c.slug)).toContain('list-me');
    const one = await expectJson<ConnectionDto>(
      await call('GET', '/api/v1/connections/list-me', { key: owner.key }),
      200,
    );
    expect(one.slug).toBe('list-me');
    expect(JSON.stringify(list)).not.toContain('cred-list-me');
  });

  it('answers an unknown slug with 404', async () => {
    const err = await expectApiError(
      await call('GET', '/api/v1/connections/does-not-exist', { key: owner.key }),
      404,
      'not_found',
    );
    expect(err.details).toEqual({ location: 'path', path: 'slug' });
  });

  it.each([
    ['no key', null],
    ['an unknown key', 'ig_unknown_key_000000000000000000000'],
    ['a malformed key', 'not-an-igris-key'],
  ])('answers %s with 401 and WWW-Authenticate', async (_label, key) => {
    const res = await call('GET', '/api/v1/connections', { key });
    await expectApiError(res, 401, 'unauthorized');
    expect(res.headers.get('WWW-Authenticate')).toMatch(/^Bearer /);
  });
});

describe('PATCH /api/v1/connections/:slug', () => {
  it('updates fields, audits the field names only', async () => {
    const created = await expectJson<ConnectionDto>(await create('patch-me'), 201);
    const dto = await expectJson<ConnectionDto>(
      await call('PATCH', '/api/v1/connections/patch-me', {
        key: owner.key,
        body: { name: 'Renamed', settings: { upstreamTimeoutMs: 5000 }, credential: 'patched-cred-1' },
      }),
      200,
    );
    expect(dto).toMatchObject({ name: 'Renamed', hasCredential: true });
    expect(dto.settings.upstreamTimeoutMs).toBe(5000);
    const audit = (await adminAuditRows(owner.orgId, 'connection.update')).filter(
      (r) => r.connection_id === created.id,
    );
    expect(audit).toHaveLength(1);
    expect((audit[0]!.details as { changed: string[] }).changed.sort()).toEqual(
      ['credential', 'name', 'settings'].sort(),
    );
    expect(JSON.stringify(audit)).not.toContain('patched-cred-1');
  });

  it('switching to authType none drops the stored credential', async () => {
    await expectJson(await create('patch-to-none'), 201);
    const dto = await expectJson<ConnectionDto>(
      await call('PATCH', '/api/v1/connections/patch-to-none', {
        key: owner.key,
        body: { authType: 'none' },
      }),
      200,
    );
    expect(dto).toMatchObject({ authType: 'none', hasCredential: false });
    expect((await connectionRow(owner.orgId, 'patch-to-none'))?.credential_ciphertext).toBeNull();
  });

  it('refuses invalid changes with 400 and writes nothing', async () => {
    await expectJson(await create('patch-invalid'), 201);
    const before = await connectionRow(owner.orgId, 'patch-invalid');
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ upstreamUrl: 'ftp://example.com/' }, 'upstreamUrl'],
      [{ authType: 'header' }, 'authHeaderName'],
      [{ authType: 'header', authHeaderName: 'Cookie' }, 'authHeaderName'],
      [{ name: '' }, 'name'],
      [{ slug: 'renamed' }, ''],
      [{ settings: { maxBodyBytes: 1 } }, 'settings.maxBodyBytes'],
    ];
    for (const [body, path] of cases) {
      const found = await issues(
        await call('PATCH', '/api/v1/connections/patch-invalid', { key: owner.key, body }),
      );
      expect(found.map((i) => i.path)).toContain(path);
    }
    expect(await connectionRow(owner.orgId, 'patch-invalid')).toEqual(before);
  });

  it('answers an unknown slug with 404', async () => {
    await expectApiError(
      await call('PATCH', '/api/v1/connections/nope-nope', { key: owner.key, body: { name: 'x' } }),
      404,
      'not_found',
    );
  });
});

describe('DELETE /api/v1/connections/:slug', () => {
  it('deletes the connection and its policies; the gateway then answers 404', async () => {
    const created = await expectJson<ConnectionDto>(await create('delete-me'), 201);
    await putPolicy('delete-me', [{ tool: '*', action: 'allow' }], owner.key);
    expect(
      await expectJson(await call('DELETE', '/api/v1/connections/delete-me', { key: owner.key }), 200),
    ).toEqual({ deleted: true, slug: 'delete-me' });
    await expectApiError(
      await call('GET', '/api/v1/connections/delete-me', { key: owner.key }),
      404,
      'not_found',
    );
    const policies = await env.DB.prepare('SELECT count(*) AS n FROM policies WHERE connection_id = ?')
      .bind(created.id)
      .first<{ n: number }>();
    expect(policies?.n).toBe(0);
    const gw = await mcp('delete-me', 'tools/list', {}, { key: owner.key });
    expect(gw.status).toBe(404);
    expect((await rpcResult(gw)).error?.data?.code).toBe('not_found');
    expect(
      (await adminAuditRows(owner.orgId, 'connection.delete')).some((r) => r.connection_id === created.id),
    ).toBe(true);
    await expectApiError(
      await call('DELETE', '/api/v1/connections/delete-me', { key: owner.key }),
      404,
      'not_found',
    );
  });
});

describe('POST /api/v1/connections/:slug/rotate', () => {
  it('takes effect on the very next gateway call', async () => {
    await expectJson(await create('rotate-me', { credential: 'rotate-old-credential' }), 201);
    await putPolicy('rotate-me', [{ tool: '*', action: 'allow' }], owner.key);
    expect((await whoami('rotate-me', owner.key)).authorization).toBe('Bearer rotate-old-credential');

    const dto = await expectJson<ConnectionDto>(
      await call('POST', '/api/v1/connections/rotate-me/rotate', {
        key: owner.key,
        body: { credential: 'rotate-new-credential' },
      }),
      200,
    );
    expect(dto).toMatchObject({ slug: 'rotate-me', hasCredential: true });
    expect(JSON.stringify(dto)).not.toContain('rotate-new-credential');

    expect((await whoami('rotate-me', owner.key)).authorization).toBe('Bearer rotate-new-credential');

    const audit = (await adminAuditRows(owner.orgId, 'connection.rotate')).filter(
      (r) => r.connection_slug === 'rotate-me',
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]!.details).toEqual({ credential: 'rotated' });
    expect(JSON.stringify(audit)).not.toMatch(/rotate-(old|new)-credential/);
  });

  it('refuses a connection with authType none, an empty credential, and an unknown slug', async () => {
    await expectJson(
      await call('POST', '/api/v1/connections', {
        key: owner.key,
        body: { slug: 'rotate-none', name: 'n', upstreamUrl: upstream(), authType: 'none' },
      }),
      201,
    );
    const none = await issues(
      await call('POST', '/api/v1/connections/rotate-none/rotate', {
        key: owner.key,
        body: { credential: 'x' },
      }),
    );
    expect(none[0]).toMatchObject({ path: 'credential' });
    await expectJson(await create('rotate-empty'), 201);
    const empty = await issues(
      await call('POST', '/api/v1/connections/rotate-empty/rotate', {
        key: owner.key,
        body: { credential: '' },
      }),
    );
    expect(empty[0]).toMatchObject({ path: 'credential' });
    await expectApiError(
      await call('POST', '/api/v1/connections/rotate-unknown/rotate', {
        key: owner.key,
        body: { credential: 'x' },
      }),
      404,
      'not_found',
    );
  });
});

describe('POST /api/v1/connections/:slug/disable and /enable', () => {
  function upstreamFetches(spy: { mock: { calls: unknown[][] } }): number {
    return spy.mock.calls.filter(([input]) => {
      const url = input instanceof Request ? input.url : String(input);
      return url.startsWith(env.UPSTREAM_URL);
    }).length;
  }

  it('refuses gateway calls with connection_disabled and forwards nothing; enable restores them', async () => {
    await expectJson(await create('toggle-me', { credential: 'toggle-credential' }), 201);
    await putPolicy('toggle-me', [{ tool: '*', action: 'allow' }], owner.key);
    expect((await whoami('toggle-me', owner.key)).authorization).toBe('Bearer toggle-credential');

    const disabled = await expectJson<ConnectionDto>(
      await call('POST', '/api/v1/connections/toggle-me/disable', { key: owner.key }),
      200,
    );
    expect(disabled.enabled).toBe(false);

    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    const refused = await mcp(
      'toggle-me',
      'tools/call',
      { name: 'whoami', arguments: {} },
      { key: owner.key },
    );
    expect(refused.status).toBe(403);
    const body = await rpcResult(refused);
    expect(body.result).toBeUndefined();
    expect(body.error?.data?.code).toBe('connection_disabled');
    expect(JSON.stringify(body)).not.toContain('toggle-credential');
    expect(upstreamFetches(fetchSpy)).toBe(0);
    fetchSpy.mockRestore();

    const enabled = await expectJson<ConnectionDto>(
      await call('POST', '/api/v1/connections/toggle-me/enable', { key: owner.key }),
      200,
    );
    expect(enabled.enabled).toBe(true);
    expect((await whoami('toggle-me', owner.key)).authorization).toBe('Bearer toggle-credential');

    const actions = (await adminAuditRows(owner.orgId))
      .filter((r) => r.connection_slug === 'toggle-me')
      .map((r) => r.action);
    expect(actions).toEqual([
      'connection.create',
      'policy.update',
      'connection.disable',
      'connection.enable',
    ]);
  });

  it('PATCH enabled: false has the same effect', async () => {
    await expectJson(await create('toggle-patch'), 201);
    await putPolicy('toggle-patch', [{ tool: '*', action: 'allow' }], owner.key);
    await expectJson(
      await call('PATCH', '/api/v1/connections/toggle-patch', { key: owner.key, body: { enabled: false } }),
      200,
    );
    const res = await mcp('toggle-patch', 'tools/list', {}, { key: owner.key });
    expect(res.status).toBe(403);
    expect((await rpcResult(res)).error?.data?.code).toBe('connection_disabled');
  });

  it('answers an unknown slug with 404', async () => {
    for (const action of ['disable', 'enable']) {
      await expectApiError(
        await call('POST', `/api/v1/connections/nope-toggle/${action}`, { key: owner.key }),
        404,
        'not_found',
      );
    }
  });
});

describe('roles', () => {
  let admin: TestOrg;
  let developer: TestOrg;
  let otherDeveloper: TestOrg;
  let auditor: TestOrg;
  let org: TestOrg;

  beforeAll(async () => {
    org = await createOrg('owner');
    admin = await addMember(org.orgId, 'admin');
    developer = await addMember(org.orgId, 'developer');
    otherDeveloper = await addMember(org.orgId, 'developer');
    auditor = await addMember(org.orgId, 'auditor');
    await expectJson(await create('role-admins', {}, admin.key), 201);
    await putPolicy('role-admins', [{ tool: '*', action: 'allow' }], admin.key);
    await expectJson(await create('role-devs', {}, developer.key), 201);
  });

  describe('Developer', () => {
    it('creates and manages their own connections', async () => {
      await expectJson(await create('dev-own', {}, developer.key), 201);
      await expectJson(
        await call('PATCH', '/api/v1/connections/dev-own', { key: developer.key, body: { name: 'mine' } }),
        200,
      );
      await expectJson(
        await call('POST', '/api/v1/connections/dev-own/rotate', {
          key: developer.key,
          body: { credential: 'dev-rotated' },
        }),
        200,
      );
      await putPolicy('dev-own', [{ tool: '*', action: 'allow' }], developer.key);
      await expectJson(
        await call('POST', '/api/v1/connections/dev-own/disable', { key: developer.key }),
        200,
      );
      await expectJson(await call('POST', '/api/v1/connections/dev-own/enable', { key: developer.key }), 200);
      await expectJson(await call('DELETE', '/api/v1/connections/dev-own', { key: developer.key }), 200);
    });

    it('lists only their own connections', async () => {
      const list = await expectJson<{ connections: ConnectionDto[] }>(
        await call('GET', '/api/v1/connections', { key: developer.key }),
        200,
      );
      expect(list.connections.map((c) => c.slug)).toContain('role-devs');
      expect(list.connections.map((c) => c.slug)).not.toContain('role-admins');
      expect(list.connections.every((c) => c.createdBy === developer.userId)).toBe(true);
      const other = await expectJson<{ connections: ConnectionDto[] }>(
        await call('GET', '/api/v1/connections', { key: otherDeveloper.key }),
        200,
      );
      expect(other.connections).toEqual([]);
    });

    it.each([
      ['GET', '/api/v1/connections/role-admins', undefined, 'connections:read'],
      ['PATCH', '/api/v1/connections/role-admins', { name: 'taken' }, 'connections:write'],
      ['DELETE', '/api/v1/connections/role-admins', undefined, 'connections:write'],
      ['POST', '/api/v1/connections/role-admins/rotate', { credential: 'x' }, 'connections:write'],
      ['POST', '/api/v1/connections/role-admins/disable', undefined, 'connections:write'],
      ['POST', '/api/v1/connections/role-admins/enable', undefined, 'connections:write'],
      ['GET', '/api/v1/connections/role-admins/policy', undefined, 'policies:read'],
      ['GET', '/api/v1/connections/role-admins/policy/versions', undefined, 'policies:read'],
      ['PUT', '/api/v1/connections/role-admins/policy', { rules: [] }, 'policies:write'],
      ['POST', '/api/v1/connections/role-admins/policy/simulate', { tool: 'x' }, 'policies:read'],
      ['POST', '/api/v1/connections/role-admins/policy/rollback', { version: 1 }, 'policies:write'],
    ])(
      'gets 403 naming the permission for %s %s of another member',
      async (method, path, body, permission) => {
        const before = await connectionRow(org.orgId, 'role-admins');
        const err = await expectApiError(
          await call(method, path, { key: developer.key, body }),
          403,
          'forbidden',
        );
        expect(err.message).toContain(permission);
        expect(err.details).toMatchObject({ permission, role: 'developer', scope: 'own' });
        expect(await connectionRow(org.orgId, 'role-admins')).toEqual(before);
      },
    );
  });

  describe('Auditor', () => {
    it('reads every connection and policy', async () => {
      const list = await expectJson<{ connections: ConnectionDto[] }>(
        await call('GET', '/api/v1/connections', { key: auditor.key }),
        200,
      );
      expect(list.connections.map((c) => c.slug)).toEqual(
        expect.arrayContaining(['role-admins', 'role-devs']),
      );
      await expectJson(await call('GET', '/api/v1/connections/role-admins', { key: auditor.key }), 200);
      await expectJson(
        await call('GET', '/api/v1/connections/role-admins/policy', { key: auditor.key }),
        200,
      );
      await expectJson(
        await call('GET', '/api/v1/connections/role-admins/policy/versions', { key: auditor.key }),
        200,
      );
      await expectJson(
        await call('POST', '/api/v1/connections/role-admins/policy/simulate', {
          key: auditor.key,
          body: { tool: 'echo' },
        }),
        200,
      );
    });

    it.each([
      ['POST', '/api/v1/connections', createBody('auditor-new'), 'connections:write'],
      ['PATCH', '/api/v1/connections/role-admins', { name: 'x' }, 'connections:write'],
      ['DELETE', '/api/v1/connections/role-admins', undefined, 'connections:write'],
      ['POST', '/api/v1/connections/role-admins/rotate', { credential: 'x' }, 'connections:write'],
      ['POST', '/api/v1/connections/role-admins/disable', undefined, 'connections:write'],
      ['POST', '/api/v1/connections/role-admins/enable', undefined, 'connections:write'],
      ['PUT', '/api/v1/connections/role-admins/policy', { rules: [] }, 'policies:write'],
      ['POST', '/api/v1/connections/role-admins/policy/rollback', { version: 1 }, 'policies:write'],
    ])('gets 403 naming the permission for %s %s', async (method, path, body, permission) => {
      const before = await connectionRow(org.orgId, 'role-admins');
      const err = await expectApiError(
        await call(method, path, { key: auditor.key, body }),
        403,
        'forbidden',
      );
      expect(err.message).toContain(permission);
      expect(err.details).toMatchObject({ permission, role: 'auditor' });
      expect(await connectionRow(org.orgId, 'role-admins')).toEqual(before);
      expect(await connectionRow(org.orgId, 'auditor-new')).toBeNull();
    });
  });

  it('Admin manages connections created by others', async () => {
    await expectJson(
      await call('PATCH', '/api/v1/connections/role-devs', { key: admin.key, body: { name: 'by admin' } }),
      200,
    );
  });
});

describe('API reference (no authentication)', () => {
  it('GET /api/v1/openapi.json documents every management route', async () => {
    const doc = await expectJson<{ openapi: string; paths: Record<string, Record<string, unknown>> }>(
      await call('GET', '/api/v1/openapi.json', { key: null }),
      200,
    );
    expect(doc.openapi).toBe('3.1.0');
    const ops = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(ops).toEqual(
      expect.arrayContaining([
        'GET /connections',
        'POST /connections',
        'GET /connections/{slug}',
        'PATCH /connections/{slug}',
        'DELETE /connections/{slug}',
        'POST /connections/{slug}/rotate',
        'POST /connections/{slug}/disable',
        'POST /connections/{slug}/enable',
        'GET /connections/{slug}/policy',
        'PUT /connections/{slug}/policy',
        'GET /connections/{slug}/policy/versions',
        'POST /connections/{slug}/policy/rollback',
        'POST /connections/{slug}/policy/simulate',
        'GET /api-keys',
        'POST /api-keys',
        'DELETE /api-keys/{id}',
        'GET /organizations/current',
        'PATCH /organizations/current',
        'GET /members',
        'PATCH /members/{id}',
        'DELETE /members/{id}',
      ]),
    );
  });

  it('GET /api/v1/docs renders a self-contained HTML reference from the document', async () => {
    const res = await call('GET', '/api/v1/docs', { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/^text\/html/);
    expect(res.headers.get('Content-Security-Policy')).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).toMatch(/^<!doctype html>/i);
    // Nothing loaded from anywhere: no scripts, no stylesheets, no images, no frames.
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\ssrc=/i);
    for (const tag of ['Connections', 'Policies', 'API keys', 'Organizations', 'Members']) {
      expect(html).toContain(`>${tag}</h2>`);
    }
    expect(html).toContain('<code>/api/v1/connections/{slug}/rotate</code>');
    expect(html).toContain('<code>/api/v1/api-keys/{id}</code>');
    expect(html).toContain('Create an API key');
    // Request bodies and responses as readable JSON, with links to the component schemas.
    expect(html).toContain('href="#schema-CreateConnection"');
    expect(html).toContain('id="schema-CreateConnection"');
    expect(html).toContain('&quot;upstreamUrl&quot;');
    // Within the operation itself, the request body's fields are shown, not only a reference.
    const section = html.slice(html.indexOf('id="op-post-api-keys"'));
    const op = section.slice(0, section.indexOf('</section>'));
    expect(op).toContain('Request body (required)');
    expect(op).toContain('&quot;name&quot;');
    expect(op).toContain('&quot;key&quot;');
    expect(op).toContain('href="#schema-Error"');
  });

  it('escapes everything it takes from the document', () => {
    const html = renderApiDocs({
      openapi: '3.1.0',
      info: { title: '<script>alert(1)</script>', version: '"1' },
      servers: [{ url: '/x' }],
      paths: {
        '/a/{id}': {
          get: {
            tags: ['<b>tag</b>'],
            summary: '<img src=x onerror=alert(1)>',
            parameters: [{ name: '<i>', in: 'path', required: true, schema: { type: 'string' } }],
            responses: {
              200: {
                description: '</details>',
                content: { 'application/json': { schema: { const: '</pre><script>' } } },
              },
            },
          },
        },
      },
      components: { schemas: { 'Bad"><script>': { type: 'object' } } },
    });
    expect(html).not.toMatch(/<script|<img|<b>|<i>/);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('other API routes still require a key', async () => {
    await expectApiError(await call('GET', '/api/v1/members', { key: null }), 401, 'unauthorized');
    await expectApiError(await call('GET', '/api/v1/nope', { key: null }), 401, 'unauthorized');
  });
});

describe('organization default fail mode', () => {
  it('a connection created without failMode takes settings.defaultFailMode of its organization', async () => {
    const org = await createOrg('owner');
    const patched = await call('PATCH', '/api/v1/organizations/current', {
      key: org.key,
      body: { settings: { defaultFailMode: 'open' } },
    });
    expect(patched.status).toBe(200);
    const created = await call('POST', '/api/v1/connections', {
      key: org.key,
      body: {
        slug: 'fail-open-default',
        name: 'x',
        upstreamUrl: `${env.UPSTREAM_URL}/stateless`,
        authType: 'none',
      },
    });
    expect(created.status).toBe(201);
    expect(
      ((await created.json()) as ConnectionDto & { settings: { failMode: string } }).settings.failMode,
    ).toBe('open');
    const explicit = await call('POST', '/api/v1/connections', {
      key: org.key,
      body: {
        slug: 'explicit-closed',
        name: 'x',
        upstreamUrl: `${env.UPSTREAM_URL}/stateless`,
        authType: 'none',
        settings: { failMode: 'closed' },
      },
    });
    expect(((await explicit.json()) as { settings: { failMode: string } }).settings.failMode).toBe('closed');
  });
});
