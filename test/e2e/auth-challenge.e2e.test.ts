/**
 * Issue 12, items 16 and 11 through the real runtime (`npm start`'s, its asset server, the official
 * MCP SDK client, a real upstream over HTTP):
 *  - a wrong key gives the SDK client a clean 401 naming the problem; a client without an OAuth
 *    provider tries no discovery or registration (one with a provider does: the 401 names the
 *    route's resource metadata since issue 18 — test/e2e/oauth.mcp-sdk.e2e.test.ts);
 *  - OAuth paths answer JSON from the Worker (metadata, or a JSON 404 for unknown ones), never the
 *    dashboard's index.html or the asset server's 405;
 *  - the upstream's CORS headers never reach the caller (the gateway owns CORS), and hop-by-hop
 *    headers are not forwarded.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { listen } from '../shared/local.server';
import { adminKey, ensureConnection, gatewayUrl, setPolicy } from './helpers';

const SLUG = 'e2e-challenge';
const CORS_SLUG = 'e2e-cors-upstream';

/** A minimal JSON-RPC upstream that answers every POST with the headers it received, plus CORS headers of its own. */
async function startCorsUpstream(): Promise<{ server: Server; url: string; seen: IncomingHttpHeaders[] }> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    req.on('end', () => {
      seen.push(req.headers);
      const id = (() => {
        try {
          return (JSON.parse(body) as { id?: unknown }).id ?? null;
        } catch {
          return null;
        }
      })();
      res.writeHead(200, {
        'Content-Type': 'application/json',
        'Access-Control-Allow-Origin': '*',
        'Access-Control-Allow-Credentials': 'true',
        'Access-Control-Allow-Headers': '*',
        'Access-Control-Expose-Headers': 'X-Upstream-Secret',
        'X-Upstream-Secret': 'visible-only-if-exposed',
      });
      res.end(JSON.stringify({ jsonrpc: '2.0', id, result: { tools: [] } }));
    });
  });
  const { url } = await listen(server);
  return { server, url: `${url}/mcp`, seen };
}

let upstream: Awaited<ReturnType<typeof startCorsUpstream>>;

beforeAll(async () => {
  await ensureConnection(SLUG, `${inject('upstreamUrl')}/stateless`, null);
  await setPolicy(SLUG, [{ tool: '*', action: 'allow' }]);
  upstream = await startCorsUpstream();
  await ensureConnection(CORS_SLUG, upstream.url, null);
  await setPolicy(CORS_SLUG, [{ tool: '*', action: 'allow' }]);
});

afterAll(async () => {
  await new Promise<void>((resolve) => upstream.server.close(() => resolve()));
});

describe('a wrong key with the official MCP SDK client (item 16)', () => {
  it('fails cleanly with the reason; without an OAuth provider it makes no discovery request', async () => {
    const requested: string[] = [];
    const transport = new StreamableHTTPClientTransport(new URL(`${gatewayUrl()}/v1/mcp/${SLUG}`), {
      requestInit: { headers: { Authorization: 'Bearer ig_this_key_does_not_exist_0000000000' } },
      fetch: (input, init) => {
        requested.push(new URL(input instanceof Request ? input.url : String(input)).pathname);
        return fetch(input, init);
      },
    });
    const client = new Client({ name: 'igris-e2e-bad-key', version: '1.0.0' });
    const error = await client.connect(transport).then(
      () => null,
      (err: unknown) => err as Error & { code?: number },
    );
    expect(error).not.toBeNull();
    expect(error!.code).toBe(401);
    expect(error!.message).toContain('Unknown API key');
    expect(requested.length).toBeGreaterThan(0);
    expect(requested.every((path) => path === `/v1/mcp/${SLUG}`)).toBe(true);
    await transport.close();
  });

  it('answers a missing key with what to send', async () => {
    const res = await fetch(`${gatewayUrl()}/v1/mcp/${SLUG}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.status).toBe(401);
    // Issue 18: the challenge names the route's OAuth protected-resource metadata.
    expect(res.headers.get('WWW-Authenticate')).toBe(
      `Bearer realm="igris", resource_metadata="${gatewayUrl()}/.well-known/oauth-protected-resource/v1/mcp/${SLUG}", scope="gateway:call"`,
    );
    const body = (await res.json()) as { error: { message: string } };
    expect(body.error.message).toContain('Authorization: Bearer ig_');
  });
});

describe('OAuth and API paths never fall back to the dashboard (item 16)', () => {
  it.each([
    ['GET', `/.well-known/oauth-protected-resource/v1/mcp/${SLUG}`, 200],
    ['GET', '/.well-known/oauth-authorization-server', 200],
    ['POST', '/register', 400],
    ['POST', '/token', 400],
  ])('%s %s → JSON %i from the authorization server (issue 18)', async (method, path, status) => {
    const res = await fetch(`${gatewayUrl()}${path}`, {
      method,
      headers: { 'Content-Type': 'application/json' },
      body: method === 'POST' ? '{}' : undefined,
    });
    expect(res.status).toBe(status);
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
    await res.json();
  });

  it.each([
    ['GET', '/authorize'],
    ['GET', '/.well-known/oauth-protected-resource'],
    ['GET', '/.well-known/openid-configuration'],
    ['POST', '/v1/unknown'],
    ['GET', '/api/unknown'],
  ])('%s %s → JSON 404', async (method, path) => {
    const res = await fetch(`${gatewayUrl()}${path}`, {
      method,
      headers: { Authorization: `Bearer ${adminKey()}`, 'Content-Type': 'application/json' },
      body: method === 'POST' ? '{}' : undefined,
    });
    expect(res.status).toBe(404);
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('still serves the dashboard for its own paths', async () => {
    const res = await fetch(`${gatewayUrl()}/observe`);
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/text\/html/);
    await res.text();
  });
});

describe('forwarding headers (item 11)', () => {
  const call = (headers: Record<string, string> = {}) =>
    fetch(`${gatewayUrl()}/v1/mcp/${CORS_SLUG}`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${adminKey()}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        ...headers,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list' }),
    });

  it('strips the upstream’s CORS headers: none without an Origin', async () => {
    const res = await call();
    expect(res.status).toBe(200);
    const cors = [...res.headers.keys()].filter((name) => name.startsWith('access-control-'));
    expect(cors).toEqual([]);
    await res.text();
  });

  it('answers an allowed Origin with the gateway’s own CORS headers only', async () => {
    const origin = new URL(gatewayUrl()).origin;
    const res = await call({ Origin: origin });
    expect(res.status).toBe(200);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe(origin);
    expect(res.headers.get('Access-Control-Allow-Credentials')).toBeNull();
    expect(res.headers.get('Access-Control-Expose-Headers')).not.toContain('X-Upstream-Secret');
    await res.text();
  });

  it('forwards no hop-by-hop header, and none named in Connection', async () => {
    const before = upstream.seen.length;
    const url = new URL(`${gatewayUrl()}/v1/mcp/${CORS_SLUG}`);
    const body = JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'tools/list' });
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        url,
        {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${adminKey()}`,
            'Content-Type': 'application/json',
            Accept: 'application/json, text/event-stream',
            Connection: 'keep-alive, X-Hop-Secret',
            'X-Hop-Secret': 'for this hop only',
            'Keep-Alive': 'timeout=5',
            TE: 'trailers',
            'Proxy-Authorization': 'Basic c2VjcmV0',
            'Content-Length': String(Buffer.byteLength(body)),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(status).toBe(200);
    const forwarded = upstream.seen.slice(before).at(-1)!;
    for (const name of ['x-hop-secret', 'keep-alive', 'te', 'proxy-authorization', 'authorization']) {
      expect(forwarded[name]).toBeUndefined();
    }
  });
});
