/**
 * Secrets stay secret. Connections are created, patched and rotated with distinctive credentials,
 * API keys are created, used, misused and revoked, calls go through the gateway (allowed, denied,
 * refused), and then nothing the system emitted may contain a credential or a full API key:
 * no API or gateway response (body or header), no audit_events row, no live event, no log line,
 * and no stored row outside the vault's ciphertext and the key hashes.
 *
 * Two responses carry a secret by design and are not inspected: the one that creates an API key
 * (it shows the key once), and the upstream's own `whoami` answer (the test upstream echoes the
 * headers it received, which is how the injection is proven).
 */
import { env } from 'cloudflare:workers';
import { afterAll, beforeAll, describe, expect, it, type MockInstance, vi } from 'vitest';
import { randomId } from '../../workers/lib/ids';
import {
  ADMIN_KEY,
  addMember,
  type CallOptions,
  call,
  createApiKeyVia,
  createOrg,
  flushAudit,
  hubEvents,
  type TestOrg,
  whoami,
} from './helpers';

const tag = randomId('s', 8).slice(2);
const BEARER = `sekret-bearer-${tag}-A1`;
const HEADER = `sekret-header-${tag}-B2`;
const ROTATED = `sekret-rotated-${tag}-C3`;
const PATCHED = `sekret-patched-${tag}-D4`;
const REFUSED_NONE = `sekret-none-${tag}-E5`;
const REFUSED_HEADER = `sekret-badheader-${tag}-F6`;
const DUPLICATE = `sekret-duplicate-${tag}-G7`;
const URL_PASSWORD = `sekretpw${tag}H8`;
const UNREACHABLE = `sekret-unreachable-${tag}-J9`;
// authType "query": the credential travels in the upstream URL, so it is the one most at risk of
// reaching a log line (a runtime error quoting the URL) or an audit row.
const QUERY = env.QUERY_UPSTREAM_SECRET;
const QUERY_UNREACHABLE = `sekret-query-down-${tag}-K1`;
const QUERY_IN_URL = `sekretqueryurl${tag}L2`;
const QUERY_PATCHED = `sekret-query-patched-${tag}-M3`;

interface Seen {
  what: string;
  status: number;
  headers: string;
  body: string;
}

const seen: Seen[] = [];
const consoleSpies: MockInstance[] = [];
const logLines: string[] = [];
let org: TestOrg;
let developer: TestOrg;
let k1: string;
let k2: string;
let k2Id: string;

async function tracked(method: string, path: string, options: CallOptions = {}): Promise<Response> {
  const res = await call(method, path, options);
  const body = await res.clone().text();
  seen.push({
    what: `${method} ${path} → ${res.status}`,
    status: res.status,
    headers: JSON.stringify([...res.headers.entries()]),
    body,
  });
  return res;
}

async function rpc(slug: string, method: string, params: Record<string, unknown>, key: string) {
  return tracked('POST', `/v1/mcp/${slug}`, {
    key,
    headers: {
      Accept: 'application/json, text/event-stream',
      'X-Igris-User': 'secrets-test@example.com',
      'X-Igris-Metadata': '{"suite":"secrets"}',
    },
    body: { jsonrpc: '2.0', id: seen.length + 1, method, params },
  });
}

function secrets(): string[] {
  return [
    ADMIN_KEY,
    org.key,
    developer.key,
    k1,
    k2,
    BEARER,
    HEADER,
    ROTATED,
    PATCHED,
    REFUSED_NONE,
    REFUSED_HEADER,
    DUPLICATE,
    URL_PASSWORD,
    UNREACHABLE,
    QUERY,
    QUERY_UNREACHABLE,
    QUERY_IN_URL,
    QUERY_PATCHED,
  ];
}

function leaks(text: string): string[] {
  return secrets().filter((s) => text.includes(s));
}

const upstream = () => `${env.UPSTREAM_URL}/stateless`;

beforeAll(async () => {
  // Recorded into our own array: vitest clears mock.calls before every test (clearMocks).
  for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    const original = console[level].bind(console);
    consoleSpies.push(
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        logLines.push(args.map(String).join(' '));
        original(...args);
      }),
    );
  }

  org = await createOrg('owner');
  developer = await addMember(org.orgId, 'developer');
  // The creation responses show the keys once, by design: they are not tracked.
  k1 = (await createApiKeyVia(org.key, 'secrets k1')).key;
  const second = await createApiKeyVia(org.key, 'secrets k2', 'developer');
  k2 = second.key;
  k2Id = second.id;

  // Connections with distinctive credentials, and refusals that carry one.
  await tracked('POST', '/api/v1/connections', {
    key: k1,
    body: { slug: 'sec-bearer', name: 'bearer', upstreamUrl: upstream(), credential: BEARER },
  });
  await tracked('POST', '/api/v1/connections', {
    key: k1,
    body: {
      slug: 'sec-header',
      name: 'header',
      upstreamUrl: upstream(),
      authType: 'header',
      authHeaderName: 'X-Api-Key',
      credential: HEADER,
    },
  });
  await tracked('POST', '/api/v1/connections', {
    key: k1,
    body: {
      slug: 'sec-none',
      name: 'none',
      upstreamUrl: upstream(),
      authType: 'none',
      credential: REFUSED_NONE,
    },
  });
  await tracked('POST', '/api/v1/connections', {
    key: k1,
    body: {
      slug: 'sec-badheader',
      name: 'bad header',
      upstreamUrl: upstream(),
      authType: 'header',
      authHeaderName: 'Cookie',
      credential: REFUSED_HEADER,
    },
  });
  await tracked('POST', '/api/v1/connections', {
    key: k1,
    body: { slug: 'sec-bearer', name: 'duplicate', upstreamUrl: upstream(), credential: DUPLICATE },
  });
  await tracked('POST', '/api/v1/connections', {
    key: k1,
    body: {
      slug: 'sec-urlcreds',
      name: 'url creds',
      upstreamUrl: `http://agent:${URL_PASSWORD}@127.0.0.1:9/mcp`,
      credential: BEARER,
    },
  });
  await tracked('POST', '/api/v1/connections', {
    key: k1,
    rawBody: `{"slug":"sec-malformed","credential":"${BEARER}"`,
  });
  for (const slug of ['sec-bearer', 'sec-header']) {
    await tracked('PUT', `/api/v1/connections/${slug}/policy`, {
      key: k1,
      body: {
        rules: [
          { tool: 'delete_records', action: 'deny', reason: 'no deletes' },
          { tool: '*', action: 'allow' },
        ],
      },
    });
  }

  // Gateway traffic: allowed, denied, listed; the credential is really injected (whoami).
  expect((await whoami('sec-bearer', k1)).authorization).toBe(`Bearer ${BEARER}`);
  expect((await whoami('sec-header', k1))['x-api-key']).toBe(HEADER);
  for (const slug of ['sec-bearer', 'sec-header']) {
    await rpc(slug, 'tools/call', { name: 'echo', arguments: { message: 'hello' } }, k1);
    await rpc(slug, 'tools/call', { name: 'delete_records', arguments: { table: 'users' } }, k1);
    await rpc(slug, 'tools/list', {}, k1);
  }

  // An upstream that cannot be reached: the failure is logged, the credential must not be.
  await tracked('POST', '/api/v1/connections', {
    key: k1,
    body: { slug: 'sec-down', name: 'down', upstreamUrl: 'http://127.0.0.1:9/mcp', credential: UNREACHABLE },
  });
  await tracked('PUT', '/api/v1/connections/sec-down/policy', {
    key: k1,
    body: { rules: [{ tool: '*', action: 'allow' }] },
  });
  await rpc('sec-down', 'tools/call', { name: 'echo', arguments: { message: 'x' } }, k1);

  // Query-parameter auth: a URL carrying the secret is refused; a query connection is used against
  // an upstream that requires the parameter, against an unreachable one (the failure is logged),
  // PATCHed with a new credential and rotated back.
  await tracked('POST', '/api/v1/connections', {
    key: k1,
    body: { slug: 'sec-query-url', name: 'q url', upstreamUrl: `${upstream()}?api_key=${QUERY_IN_URL}` },
  });
  await tracked('POST', '/api/v1/connections', {
    key: k1,
    body: {
      slug: 'sec-query',
      name: 'query',
      upstreamUrl: `${env.QUERY_UPSTREAM_URL}/stateless`,
      authType: 'query',
      authQueryParam: 'api_key',
      credential: QUERY,
    },
  });
  await tracked('PUT', '/api/v1/connections/sec-query/policy', {
    key: k1,
    body: {
      rules: [
        { tool: 'delete_records', action: 'deny', reason: 'no deletes' },
        { tool: '*', action: 'allow' },
      ],
    },
  });
  await rpc('sec-query', 'tools/call', { name: 'echo', arguments: { message: 'hello' } }, k1);
  await rpc('sec-query', 'tools/call', { name: 'delete_records', arguments: { table: 'users' } }, k1);
  await rpc('sec-query', 'tools/list', {}, k1);
  await tracked('PATCH', '/api/v1/connections/sec-query', { key: k1, body: { credential: QUERY_PATCHED } });
  await rpc('sec-query', 'tools/list', {}, k1); // the upstream refuses the wrong value (401)
  await tracked('POST', '/api/v1/connections/sec-query/rotate', { key: k1, body: { credential: QUERY } });
  await tracked('POST', '/api/v1/connections', {
    key: k1,
    body: {
      slug: 'sec-query-down',
      name: 'query down',
      upstreamUrl: 'http://127.0.0.1:9/mcp',
      authType: 'query',
      authQueryParam: 'token',
      credential: QUERY_UNREACHABLE,
    },
  });
  await tracked('PUT', '/api/v1/connections/sec-query-down/policy', {
    key: k1,
    body: { rules: [{ tool: '*', action: 'allow' }] },
  });
  await rpc('sec-query-down', 'tools/call', { name: 'echo', arguments: { message: 'x' } }, k1);

  // Rotation, PATCH with a credential, disable/enable.
  await tracked('POST', '/api/v1/connections/sec-bearer/rotate', { key: k1, body: { credential: ROTATED } });
  expect((await whoami('sec-bearer', k1)).authorization).toBe(`Bearer ${ROTATED}`);
  await tracked('PATCH', '/api/v1/connections/sec-header', { key: k1, body: { credential: PATCHED } });
  expect((await whoami('sec-header', k1))['x-api-key']).toBe(PATCHED);
  await tracked('POST', '/api/v1/connections/sec-bearer/disable', { key: k1 });
  await rpc('sec-bearer', 'tools/list', {}, k1);
  await tracked('POST', '/api/v1/connections/sec-bearer/enable', { key: k1 });

  // Keys: a developer key used, a developer refused, a key revoked and then used, garbage keys.
  await rpc('sec-bearer', 'tools/list', {}, k2);
  await tracked('GET', '/api/v1/connections/sec-bearer', { key: developer.key });
  await tracked('DELETE', `/api/v1/api-keys/${k2Id}`, { key: k1 });
  await rpc('sec-bearer', 'tools/list', {}, k2);
  await tracked('GET', '/api/v1/connections', { key: k2 });
  await tracked('GET', '/api/v1/connections', { key: `${k1}x` });
  await rpc('sec-bearer', 'tools/list', {}, `${k1}x`);

  // Everything readable.
  for (const path of [
    '/api/v1/connections',
    '/api/v1/connections/sec-bearer',
    '/api/v1/connections/sec-header',
    '/api/v1/connections/sec-bearer/policy',
    '/api/v1/connections/sec-bearer/policy/versions',
    '/api/v1/api-keys',
    '/api/v1/members',
    '/api/v1/organizations/current',
    '/api/v1/openapi.json',
    '/api/v1/docs',
  ]) {
    await tracked('GET', path, { key: k1 });
  }

  await flushAudit();
  // Live events are published off the hot path (waitUntil): wait for them, with room for a loaded
  // machine (vi.waitFor gives up after 1 s by default).
  await vi.waitFor(
    async () => {
      const events = await hubEvents(org.orgId);
      if (!events.some((e) => e.includes('"credential_rotated"')))
        throw new Error('events not published yet');
    },
    { timeout: 10_000, interval: 50 },
  );
});

afterAll(() => {
  for (const spy of consoleSpies) spy.mockRestore();
});

describe('no secret leaves the vault', () => {
  it('the scenario ran: refusals refused, calls made, rotation applied', () => {
    const statuses = seen.map((s) => s.what);
    expect(statuses).toContain('POST /api/v1/connections → 201');
    expect(statuses).toContain('POST /api/v1/connections → 400');
    expect(statuses).toContain('POST /api/v1/connections → 409');
    expect(statuses).toContain('POST /v1/mcp/sec-bearer → 200');
    expect(statuses).toContain('POST /v1/mcp/sec-bearer → 401');
    expect(statuses).toContain('POST /v1/mcp/sec-bearer → 403');
    expect(statuses).toContain('POST /api/v1/connections/sec-bearer/rotate → 200');
    expect(statuses).toContain('POST /v1/mcp/sec-down → 502');
    expect(statuses).toContain('POST /v1/mcp/sec-query → 200');
    expect(statuses).toContain('POST /v1/mcp/sec-query → 401');
    expect(statuses).toContain('POST /v1/mcp/sec-query-down → 502');
    expect(seen.length).toBeGreaterThan(30);
  });

  it('in no API or gateway response body or header', () => {
    for (const response of seen) {
      expect(leaks(response.body), `${response.what} body`).toEqual([]);
      expect(leaks(response.headers), `${response.what} headers`).toEqual([]);
    }
  });

  it('in no audit_events row', async () => {
    const { results } = await env.DB.prepare(
      'SELECT * FROM audit_events WHERE org_id = ? OR org_id IS NULL ORDER BY created_at',
    )
      .bind(org.orgId)
      .all();
    const text = JSON.stringify(results);
    const actions = results.map((r) => r.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        'api_key.create',
        'api_key.revoke',
        'connection.create',
        'connection.rotate',
        'connection.update',
        'allow',
        'deny',
        'unauthenticated',
      ]),
    );
    expect(leaks(text)).toEqual([]);
  });

  it('in no live event', async () => {
    const events = await hubEvents(org.orgId);
    expect(events.length).toBeGreaterThan(5);
    expect(leaks(events.join('\n'))).toEqual([]);
  });

  it('in no log line', () => {
    const lines = logLines;
    // The unreachable upstream was logged, so this is not vacuous.
    expect(lines.some((l) => l.includes('upstream_unreachable') || l.includes('gateway error'))).toBe(true);
    expect(leaks(lines.join('\n'))).toEqual([]);
  });

  it('in no stored row except as ciphertext or hash', async () => {
    const tables = [
      'organizations',
      'users',
      'members',
      'api_keys',
      'connections',
      'policies',
      'agent_sessions',
    ];
    for (const table of tables) {
      const { results } = await env.DB.prepare(`SELECT * FROM ${table}`).all();
      expect(leaks(JSON.stringify(results)), table).toEqual([]);
    }
    const kv = await env.POLICY_KV.list();
    for (const { name } of kv.keys) {
      expect(leaks(`${name} ${await env.POLICY_KV.get(name)}`), `kv ${name}`).toEqual([]);
    }
  });
});
