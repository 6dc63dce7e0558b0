/**
 * The connections API end to end inside workerd, after creation: get and list, PATCH, DELETE,
 * credential rotation, and disabling/enabling as the gateway sees them, plus the organization's
 * default fail mode for new connections.
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type ConnectionDto,
  connectionRow,
  create,
  issues,
  owner,
  setUpConnections,
  upstream,
} from './connections.fixtures';
import {
  adminAuditRows,
  call,
  createOrg,
  expectApiError,
  expectJson,
  mcp,
  putPolicy,
  rpcResult,
  whoami,
} from './helpers';

beforeAll(setUpConnections);

afterEach(() => {
  vi.restoreAllMocks();
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
