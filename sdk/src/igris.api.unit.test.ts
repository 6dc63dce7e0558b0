import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Schemas } from './api.types.ts';
import { fillPath, queryString } from './igris.api.ts';
import { Igris } from './igris.client.ts';
import { IgrisApiError, IgrisConfigError } from './igris.errors.ts';

const KEY = 'ig_unit_test_key_0123456789';
const BASE = 'https://igris.example.com';

interface Recorded {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
  redirect: RequestRedirect | undefined;
}

/** An Igris client whose fetch records each request and answers with `respond`. */
function client(respond: (req: Recorded) => Response | Promise<Response> = () => Response.json({})) {
  const requests: Recorded[] = [];
  const igris = new Igris({
    apiKey: KEY,
    baseUrl: BASE,
    fetch: async (input, init) => {
      const headers: Record<string, string> = {};
      new Headers(init?.headers).forEach((v, k) => {
        headers[k] = v;
      });
      const req: Recorded = {
        method: init?.method ?? 'GET',
        url: String(input),
        headers,
        body: typeof init?.body === 'string' ? JSON.parse(init.body) : init?.body,
        redirect: init?.redirect,
      };
      requests.push(req);
      return respond(req);
    },
  });
  return { igris, requests };
}

describe('resource helpers — method, URL and body of each call', () => {
  const cases: Array<[string, (igris: Igris) => Promise<unknown>, string, string, unknown]> = [
    ['connections.list', (i) => i.connections.list(), 'GET', '/connections', undefined],
    [
      'connections.get',
      (i) => i.connections.get('github-prod'),
      'GET',
      '/connections/github-prod',
      undefined,
    ],
    [
      'connections.create',
      (i) => i.connections.create({ slug: 'gh', name: 'GH', upstreamUrl: 'https://mcp.example.com' }),
      'POST',
      '/connections',
      { slug: 'gh', name: 'GH', upstreamUrl: 'https://mcp.example.com' },
    ],
    [
      'connections.update',
      (i) => i.connections.update('gh', { enabled: false }),
      'PATCH',
      '/connections/gh',
      { enabled: false },
    ],
    ['connections.delete', (i) => i.connections.delete('gh'), 'DELETE', '/connections/gh', undefined],
    [
      'connections.rotate',
      (i) => i.connections.rotate('gh', 'ghp_new'),
      'POST',
      '/connections/gh/rotate',
      { credential: 'ghp_new' },
    ],
    ['connections.disable', (i) => i.connections.disable('gh'), 'POST', '/connections/gh/disable', undefined],
    ['connections.enable', (i) => i.connections.enable('gh'), 'POST', '/connections/gh/enable', undefined],
    ['policies.get', (i) => i.policies.get('gh'), 'GET', '/connections/gh/policy', undefined],
    [
      'policies.put',
      (i) => i.policies.put('gh', [{ tool: '*', action: 'allow' }]),
      'PUT',
      '/connections/gh/policy',
      { rules: [{ tool: '*', action: 'allow' }] },
    ],
    [
      'policies.versions',
      (i) => i.policies.versions('gh'),
      'GET',
      '/connections/gh/policy/versions',
      undefined,
    ],
    [
      'policies.rollback',
      (i) => i.policies.rollback('gh', 2),
      'POST',
      '/connections/gh/policy/rollback',
      { version: 2 },
    ],
    [
      'policies.simulate',
      (i) => i.policies.simulate('gh', { tool: 'delete_repo', metadata: { role: 'intern' } }),
      'POST',
      '/connections/gh/policy/simulate',
      { tool: 'delete_repo', metadata: { role: 'intern' } },
    ],
    ['sessions.list', (i) => i.sessions.list(), 'GET', '/sessions', undefined],
    ['sessions.get', (i) => i.sessions.get('ses_1'), 'GET', '/sessions/ses_1', undefined],
    ['sessions.suspend', (i) => i.sessions.suspend('ses_1'), 'POST', '/sessions/ses_1/suspend', undefined],
    ['sessions.resume', (i) => i.sessions.resume('ses_1'), 'POST', '/sessions/ses_1/resume', undefined],
    [
      'audit.list',
      (i) => i.audit.list({ traceId: 'ig_trace_1', limit: 10 }),
      'GET',
      '/audit-events?traceId=ig_trace_1&limit=10',
      undefined,
    ],
    ['audit.get', (i) => i.audit.get('evt_1'), 'GET', '/audit-events/evt_1', undefined],
    ['audit.trace', (i) => i.audit.trace('req:abc.1'), 'GET', '/traces/req%3Aabc.1', undefined],
  ];
  for (const [label, call, method, path, body] of cases) {
    it(label, async () => {
      const { igris, requests } = client();
      await call(igris);
      expect(requests).toHaveLength(1);
      const [req] = requests;
      expect({ method: req!.method, url: req!.url, body: req!.body }).toEqual({
        method,
        url: `${BASE}/api/v1${path}`,
        body,
      });
      expect(req!.headers.authorization).toBe(`Bearer ${KEY}`);
      expect(req!.headers['content-type']).toBe(body === undefined ? undefined : 'application/json');
      // A redirect must not carry the key somewhere else.
      expect(req!.redirect).toBe('manual');
    });
  }

  it('audit.export returns the body as text', async () => {
    const { igris, requests } = client(
      () => new Response('{"id":"a"}\n{"id":"b"}\n', { headers: { 'Content-Type': 'application/x-ndjson' } }),
    );
    expect(await igris.audit.export({ format: 'ndjson', traceId: 't' })).toBe('{"id":"a"}\n{"id":"b"}\n');
    expect(requests[0]!.url).toBe(`${BASE}/api/v1/audit-events/export?format=ndjson&traceId=t`);
  });

  it('returns the parsed JSON body, and undefined for an empty one', async () => {
    const connection = { slug: 'gh' };
    expect(await client(() => Response.json(connection)).igris.connections.get('gh')).toEqual(connection);
    expect(
      await client(() => new Response(null, { status: 204 })).igris.connections.get('gh'),
    ).toBeUndefined();
  });
});

describe('igris.request — any operation, typed from the document', () => {
  it('fills path parameters and query strings', async () => {
    const { igris, requests } = client();
    await igris.request('get', '/connections/{slug}', { path: { slug: 'a b' } });
    await igris.request('delete', '/api-keys/{id}', { path: { id: 'key_1' } });
    expect(requests.map((r) => r.url)).toEqual([
      `${BASE}/api/v1/connections/a%20b`,
      `${BASE}/api/v1/api-keys/key_1`,
    ]);
  });

  it('refuses path parameters that URL parsing would turn into a different endpoint', () => {
    for (const slug of ['', '.', '..']) {
      expect(() => fillPath('/connections/{slug}', { slug }), JSON.stringify(slug)).toThrow(IgrisConfigError);
    }
    expect(() => fillPath('/connections/{slug}', {})).toThrow(/"slug" is required/);
    expect(fillPath('/connections/{slug}', { slug: '../admin' })).toBe('/connections/..%2Fadmin');
  });

  it('skips undefined and null query values and repeats arrays', () => {
    expect(queryString({ a: 'x', b: undefined, c: null, d: [1, 2], e: true })).toBe('?a=x&d=1&d=2&e=true');
    expect(queryString({})).toBe('');
  });

  it('has types from the OpenAPI document', () => {
    const { igris } = client();
    // A developer reading a connection shared with them gets its shared view (docs/permissions.md#sharing).
    expectTypeOf(igris.connections.get).returns.resolves.toEqualTypeOf<
      Schemas['Connection'] | Schemas['SharedConnection']
    >();
    // A developer's list holds the connections shared with them as their shared view too.
    expectTypeOf(igris.connections.list).returns.resolves.toEqualTypeOf<{
      connections: Array<Schemas['Connection'] | Schemas['SharedConnection']>;
    }>();
    expectTypeOf(igris.policies.simulate).returns.resolves.toEqualTypeOf<Schemas['Simulation']>();
    expectTypeOf(igris.audit.list).returns.resolves.toEqualTypeOf<Schemas['AuditEventPage']>();
    expectTypeOf(igris.audit.trace).returns.resolves.toEqualTypeOf<Schemas['Trace']>();
    // Compile-time checks (run by `tsc -p tsconfig.node.json`): wrong shapes do not type-check.
    const typeErrors = () => {
      // @ts-expect-error — slug is required by the operation
      void igris.request('get', '/connections/{slug}');
      // @ts-expect-error — not an operation of the document
      void igris.request('get', '/no-such-path', {});
      // @ts-expect-error — rotate's body is { credential: string }
      void igris.request('post', '/connections/{slug}/rotate', { path: { slug: 'x' }, body: { token: 'x' } });
      // @ts-expect-error — authType is an enum
      void igris.connections.create({ slug: 'x', name: 'x', upstreamUrl: 'https://x', authType: 'basic' });
    };
    expect(typeErrors).toBeTypeOf('function');
  });
});

describe('errors — IgrisApiError', () => {
  it('carries status, code, message and details from the API error body', async () => {
    const { igris } = client(() =>
      Response.json(
        {
          error: {
            code: 'validation_failed',
            message: 'Validation failed',
            details: [{ location: 'body', path: 'slug', message: 'slug must be at least 3 characters' }],
          },
        },
        { status: 400 },
      ),
    );
    const err = await igris.connections
      .create({ slug: 'x', name: 'x', upstreamUrl: 'https://x' })
      .catch((e) => e);
    expect(err).toBeInstanceOf(IgrisApiError);
    expect(err).toMatchObject({
      name: 'IgrisApiError',
      status: 400,
      code: 'validation_failed',
      message: 'Validation failed',
      method: 'POST',
      path: '/connections',
      details: [{ location: 'body', path: 'slug', message: 'slug must be at least 3 characters' }],
    });
  });

  it('reports a response that is not the API error shape as invalid_response, with the status', async () => {
    const { igris } = client(() => new Response('<html>Bad gateway</html>', { status: 502 }));
    const err = await igris.connections.list().catch((e) => e);
    expect(err).toMatchObject({ status: 502, code: 'invalid_response' });
    expect(err.message).toContain('HTTP 502');
  });

  it('treats a redirect as an error instead of following it with the key', async () => {
    const { igris } = client(
      () => new Response(null, { status: 302, headers: { Location: 'https://evil.example' } }),
    );
    await expect(igris.connections.list()).rejects.toMatchObject({ status: 302, code: 'invalid_response' });
  });

  it('reports a 2xx that is not JSON as invalid_response', async () => {
    const { igris } = client(() => new Response('not json', { status: 200 }));
    await expect(igris.connections.list()).rejects.toMatchObject({ status: 200, code: 'invalid_response' });
  });

  it('reports a failed fetch as network_error with status 0 and the cause', async () => {
    const cause = new TypeError('fetch failed');
    const { igris } = client(() => {
      throw cause;
    });
    const err = await igris.connections.list().catch((e) => e);
    expect(err).toBeInstanceOf(IgrisApiError);
    expect(err).toMatchObject({ status: 0, code: 'network_error' });
    expect(err.cause).toBe(cause);
  });

  it('names the base URL and the underlying reason in a network_error', async () => {
    const cause = new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:9') });
    const { igris } = client(() => {
      throw cause;
    });
    const err = await igris.connections.list().catch((e) => e);
    expect(err.message).toContain(`no response from the Igris gateway at ${BASE}`);
    expect(err.message).toContain('fetch failed: connect ECONNREFUSED 127.0.0.1:9');
    expect(err.message).toContain('IGRIS_BASE_URL');
  });
});
