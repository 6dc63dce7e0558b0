/**
 * The connections API end to end inside workerd, who may do what: the role rules (Developer: own
 * only; Auditor: read only; Admin: everything), and the public API reference served without
 * authentication.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { renderApiDocs } from '../../workers/api/api.docs';
import {
  type ConnectionDto,
  connectionRow,
  create,
  createBody,
  setUpConnections,
} from './connections.fixtures';
import { addMember, call, createOrg, expectApiError, expectJson, putPolicy, type TestOrg } from './helpers';

beforeAll(setUpConnections);

afterEach(() => {
  vi.restoreAllMocks();
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
