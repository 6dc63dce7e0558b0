/**
 * The SDK inside workerd — a runtime with no Node APIs (wrangler.toml has no nodejs_compat, so
 * there is no `process`, no Buffer, no node:crypto) — talking to the real Worker through a
 * custom fetch, as a Worker would through a service binding: management calls, a gateway call
 * built only from the SDK's config, and the identity it carried read back from the audit API.
 */
import { exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_BASE_URL,
  gatewayHeaders,
  Igris,
  IgrisApiError,
  IgrisMetadataError,
  newTraceId,
} from '../../sdk/src/index';
import { ADMIN_KEY, BASE, bootstrapDefault, flushAudit, rpcResult } from './helpers';

const SLUG = 'sdk-workerd';
const workerFetch: typeof fetch = (input, init) => exports.default.fetch(new Request(input, init));
const igris = new Igris({ apiKey: ADMIN_KEY, baseUrl: BASE, fetch: workerFetch });

/** One tools/call through the gateway, configured only by the SDK's config. */
async function callTool(config: ReturnType<Igris['getMcpConfig']>, name: string) {
  const res = await workerFetch(config.baseUrl, {
    method: 'POST',
    headers: {
      ...gatewayHeaders(config),
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: {} } }),
  });
  expect(res.status).toBe(200);
  return rpcResult(res);
}

describe('the SDK in workerd', () => {
  beforeAll(async () => {
    await bootstrapDefault();
  });

  it('needs no process: defaults apply without one, or with one that throws', () => {
    // The test pool itself enables nodejs_compat, so `process` is removed here for the duration
    // of this synchronous block (no await: nothing else runs meanwhile), as in a Worker without it.
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'process');
    try {
      Reflect.deleteProperty(globalThis, 'process');
      expect('process' in globalThis).toBe(false);
      expect(new Igris({ apiKey: ADMIN_KEY }).baseUrl).toBe(DEFAULT_BASE_URL);
      Object.defineProperty(globalThis, 'process', {
        configurable: true,
        get() {
          throw new Error('no process here');
        },
      });
      expect(new Igris({ apiKey: ADMIN_KEY }).getMcpConfig(SLUG).baseUrl).toBe(
        `${DEFAULT_BASE_URL}/v1/mcp/${SLUG}`,
      );
    } finally {
      if (saved) Object.defineProperty(globalThis, 'process', saved);
      else Reflect.deleteProperty(globalThis, 'process');
    }
  });

  it('builds configs with Web Crypto and validates metadata', () => {
    const config = igris.getMcpConfig(SLUG, { user: 'ada@example.com', metadata: { role: 'intern' } });
    expect(config).toEqual({
      baseUrl: `${BASE}/v1/mcp/${SLUG}`,
      apiKey: ADMIN_KEY,
      headers: {
        'X-Igris-Trace-Id': expect.stringMatching(/^ig_trace_[0-9a-f]{32}$/),
        'X-Igris-User': 'ada@example.com',
        'X-Igris-Metadata': '{"role":"intern"}',
      },
    });
    expect(() => igris.getMcpConfig(SLUG, { metadata: { a: { b: { c: { d: 1 } } } } })).toThrow(
      IgrisMetadataError,
    );
  });

  it('manages connections and policies, and maps API errors', async () => {
    const { UPSTREAM_URL } = (await import('cloudflare:workers')).env;
    const created = await igris.connections.create({
      slug: SLUG,
      name: 'SDK in workerd',
      upstreamUrl: `${UPSTREAM_URL}/stateless`,
      authType: 'none',
    });
    expect(created.gatewayUrl).toBe(`${BASE}/v1/mcp/${SLUG}`);
    const policy = await igris.policies.put(SLUG, [
      { tool: 'delete_*', action: 'deny', conditions: { 'metadata.role': 'intern' } },
      { tool: '*', action: 'allow' },
    ]);
    expect(policy.version).toBe(1);
    const simulated = await igris.policies.simulate(SLUG, {
      tool: 'delete_records',
      metadata: { role: 'intern' },
    });
    expect(simulated).toMatchObject({ decision: 'deny', ruleIndex: 0 });

    const missing = await igris.connections.get('no-such-connection').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(IgrisApiError);
    expect(missing).toMatchObject({ status: 404, code: 'not_found' });
  });

  it('carries user, trace id and metadata to the gateway, its policy and the audit trail', async () => {
    const traceId = newTraceId();
    const intern = igris.connectHttp(SLUG, {
      user: 'ada@example.com',
      traceId,
      metadata: { role: 'intern', team: { name: 'Zürich' } },
    });
    const developer = igris.connectHttp(SLUG, {
      user: 'bob@example.com',
      traceId,
      metadata: { role: 'developer' },
    });

    const denied = await callTool(intern, 'delete_records');
    expect(denied.error).toMatchObject({ data: { code: 'policy_denied' } });
    const allowed = await callTool(developer, 'delete_records');
    expect(allowed.error).toBeUndefined();
    expect(allowed.result).toBeDefined();

    await flushAudit();
    const trace = await igris.audit.trace(traceId);
    const calls = trace.events.filter((e) => e.type === 'tool_call' && e.tool === 'delete_records');
    expect(
      calls.map((e) => ({
        user: e.user,
        action: e.action,
        metadata: e.metadata,
        metadataError: e.metadataError,
      })),
    ).toEqual([
      {
        user: 'ada@example.com',
        action: 'deny',
        metadata: { role: 'intern', team: { name: 'Zürich' } },
        metadataError: null,
      },
      { user: 'bob@example.com', action: 'allow', metadata: { role: 'developer' }, metadataError: null },
    ]);
  });
});
