/**
 * The shared set-up of the transparency tests (protocol.clients.e2e.test.ts,
 * protocol.streams.e2e.test.ts): the servers started here (protocol.servers.ts), the connections to
 * them and to server-everything and the demo server, and the direct/gateway routes and v1 client
 * both files use.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { inject } from 'vitest';
import { adminKey, ensureConnection, gatewayUrl, setPolicy } from './helpers.ts';
import { startModernServer, startResumableServer, type TestServer } from './protocol.servers.ts';

export const ACCEPT = 'application/json, text/event-stream';
export const EVERYTHING = 'proto-everything';
export const DEMO = 'proto-demo';
// Unique per test file: each file starts its own v2 and resumable servers, and ensureConnection
// keeps an existing connection's upstream, so these two slugs must not be shared between files.
const RUN = Math.random().toString(36).slice(2, 8);
export const MODERN = `proto-modern-${RUN}`;
export const RESUMABLE = `proto-resumable-${RUN}`;

// Live bindings: set by setUpProtocol, read by the test files after their beforeAll.
export let modern: TestServer;
export let resumable: TestServer;

export const viaGateway = (slug: string) => `${gatewayUrl()}/v1/mcp/${slug}`;
export const auth = () => ({ Authorization: `Bearer ${adminKey()}` });
export const everythingUrl = () => `${inject('everythingUrl')}/mcp`;
export const demoUrl = () => `${inject('upstreamUrl')}/mcp`;

/** The two ways to reach a server: straight, and through the gateway with the caller's key. */
export function routes(direct: string, slug: string) {
  return [
    { name: 'direct', url: direct, headers: {} as Record<string, string> },
    { name: 'gateway', url: viaGateway(slug), headers: auth() },
  ];
}

/** Starts the v2 and resumable servers and makes the four allow-all connections (each file's beforeAll). */
export async function setUpProtocol(): Promise<void> {
  modern = await startModernServer();
  resumable = await startResumableServer();
  await ensureConnection(EVERYTHING, everythingUrl(), null);
  await ensureConnection(DEMO, demoUrl(), 'proto-demo-credential');
  await ensureConnection(MODERN, modern.url, 'proto-modern-credential');
  await ensureConnection(RESUMABLE, resumable.url, 'proto-resumable-credential');
  for (const slug of [EVERYTHING, DEMO, MODERN, RESUMABLE])
    await setPolicy(slug, [{ tool: '*', action: 'allow' }]);
}

export async function v1Client(url: string, headers: Record<string, string>, capabilities = {}) {
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
  const client = new Client({ name: 'gateway-e2e-v1', version: '1.0.0' }, { capabilities });
  return { client, transport };
}
