/**
 * Policy in the gateway, end to end with the official SDK clients: each decision path as an
 * agent experiences it (results, McpErrors it can read, filtered tool lists) and the audit row it
 * leaves (read back through GET /api/v1/audit-events).
 */
import {
  Client as ClientV2,
  StreamableHTTPClientTransport as TransportV2,
} from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { adminKey, ensureConnection, gatewayUrl, setPolicy, waitForAudit } from './helpers.ts';
import { startModernServer, type TestServer } from './protocol.servers.ts';

const DEMO = 'gpol-demo';
const MODERN = 'gpol-modern';

const DEMO_RULES = [
  { tool: 'delete_*', action: 'deny', reason: 'destructive tools are blocked' },
  { tool: 'add', action: 'alert', reason: 'arithmetic is watched' },
  { tool: 'whoami', action: 'allow', conditions: { 'metadata.role': 'admin' } },
  { tool: 'echo', action: 'allow' },
];
const MODERN_RULES = [
  { tool: 'echo', action: 'allow' },
  { tool: 'slow', action: 'alert' },
  { tool: 'region', action: 'allow', conditions: { 'metadata.tenant': 'acme' } },
];

interface AuditEvent {
  id: string;
  type: string;
  traceId: string | null;
  user: string | null;
  apiKeyId: string | null;
  method: string | null;
  tool: string | null;
  action: string;
  ruleIndex: number | null;
  policyVersion: number | null;
  errorCode: string | null;
  metadata: unknown;
  metadataError: string | null;
  upstreamStatus: number | null;
  details: Record<string, unknown> | null;
}

let modern: TestServer;
let demoVersion: number;
let modernVersion: number;
let counter = 0;

const demoDirect = () => `${inject('upstreamUrl')}/mcp`;
const viaGateway = (slug: string) => `${gatewayUrl()}/v1/mcp/${slug}`;
const newTrace = (label: string) => `e2e-pol-${label}-${Date.now().toString(36)}-${++counter}`;

function identity(trace: string, extra: Record<string, string> = {}) {
  return {
    Authorization: `Bearer ${adminKey()}`,
    'X-Igris-Trace-Id': trace,
    'X-Igris-User': 'agent@example.com',
    ...extra,
  };
}

async function v1(url: string, headers: Record<string, string>) {
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
  const client = new Client({ name: 'gateway-policy-e2e', version: '1.0.0' });
  await client.connect(transport);
  return {
    client,
    close: async () => {
      await transport.terminateSession();
      await client.close();
    },
  };
}

async function modernClient(url: string, headers: Record<string, string>, fetchImpl?: typeof fetch) {
  const client = new ClientV2(
    { name: 'gateway-policy-e2e', version: '1.0.0' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  const transport = new TransportV2(new URL(url), {
    requestInit: { headers },
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
  });
  await client.connect(transport);
  return client;
}

/** The decision rows (tool calls, oldest first) of a trace, once `count` of them have been flushed. */
async function decisionRows(trace: string, count: number) {
  const calls = (rows: AuditEvent[]) => rows.filter((r) => r.type !== 'anomaly' && r.method === 'tools/call');
  const rows = await waitForAudit<AuditEvent>(
    `traceId=${encodeURIComponent(trace)}&limit=500`,
    (found) => calls(found).length >= count,
  );
  return calls(rows).reverse();
}

beforeAll(async () => {
  modern = await startModernServer();
  await ensureConnection(DEMO, demoDirect(), 'gpol-demo-credential');
  await ensureConnection(MODERN, modern.url, 'gpol-modern-credential');
  demoVersion = (await setPolicy(DEMO, DEMO_RULES)).version;
  modernVersion = (await setPolicy(MODERN, MODERN_RULES)).version;
});

afterAll(async () => {
  await modern?.close();
});

describe('allow and alert', () => {
  it('forward the call (same result as direct) and record allow / alert with rule index and policy version', async () => {
    const trace = newTrace('allow');
    const direct = await v1(demoDirect(), {});
    const gateway = await v1(viaGateway(DEMO), identity(trace, { 'X-Igris-Metadata': '{"team":"blue"}' }));
    for (const [name, args] of [
      ['echo', { message: 'allowed' }],
      ['add', { a: 20, b: 22 }],
    ] as const) {
      expect(await gateway.client.callTool({ name, arguments: args })).toEqual(
        await direct.client.callTool({ name, arguments: args }),
      );
    }
    await direct.close();
    await gateway.close();

    const rows = await decisionRows(trace, 2);
    expect(rows.map((r) => [r.tool, r.action, r.ruleIndex, r.policyVersion, r.upstreamStatus])).toEqual([
      ['echo', 'allow', 3, demoVersion, 200],
      ['add', 'alert', 1, demoVersion, 200],
    ]);
    for (const row of rows) {
      expect(row).toMatchObject({ traceId: trace, user: 'agent@example.com', metadata: { team: 'blue' } });
      expect(row.apiKeyId).toEqual(expect.any(String));
    }
  });
});

describe('deny and no match', () => {
  it('v1 client: a denied call rejects with an McpError naming the reason and the trace id', async () => {
    const trace = newTrace('deny');
    const gateway = await v1(viaGateway(DEMO), identity(trace));
    await expect(
      gateway.client.callTool({ name: 'delete_records', arguments: { table: 'users' } }),
    ).rejects.toMatchObject({
      code: -32006,
      message: expect.stringContaining(`Denied by policy: destructive tools are blocked (trace ${trace})`),
    });
    await expect(
      gateway.client.callTool({ name: 'progress', arguments: { steps: 1 } }),
    ).rejects.toMatchObject({
      code: -32006,
      message: expect.stringContaining(`Denied by policy: no rule matched (trace ${trace})`),
    });
    // The session is still usable after a denial.
    expect(await gateway.client.callTool({ name: 'echo', arguments: { message: 'still here' } })).toEqual({
      content: [{ type: 'text', text: 'still here' }],
    });
    await gateway.close();

    const rows = await decisionRows(trace, 3);
    expect(rows.map((r) => [r.tool, r.action, r.ruleIndex, r.policyVersion, r.errorCode])).toEqual([
      ['delete_records', 'deny', 0, demoVersion, 'policy_denied'],
      ['progress', 'deny', null, demoVersion, 'policy_denied'],
      ['echo', 'allow', 3, demoVersion, null],
    ]);
    expect(rows[1]!.details).toMatchObject({ reason: 'no rule matched' });
  });

  it('v2 client at 2026-07-28: a call no rule matches is refused the same way', async () => {
    const trace = newTrace('modern-deny');
    const client = await modernClient(viaGateway(MODERN), identity(trace));
    await expect(client.callTool({ name: 'delete_everything', arguments: {} })).rejects.toMatchObject({
      code: -32006,
      message: expect.stringContaining(`no rule matched (trace ${trace})`),
    });
    await client.close();
    const rows = await decisionRows(trace, 1);
    expect(rows[0]).toMatchObject({
      tool: 'delete_everything',
      action: 'deny',
      ruleIndex: null,
      policyVersion: modernVersion,
    });
  });
});

describe('missing field and bad metadata', () => {
  it('a rule on a missing metadata field is skipped; invalid metadata counts as absent and is recorded', async () => {
    const region = { name: 'region', arguments: { region: 'eu' } };
    const missing = newTrace('missing');
    const without = await modernClient(viaGateway(MODERN), identity(missing));
    await expect(without.callTool(region)).rejects.toMatchObject({ code: -32006 });
    await without.close();

    const good = newTrace('meta');
    const acme = await modernClient(
      viaGateway(MODERN),
      identity(good, { 'X-Igris-Metadata': '{"tenant":"acme"}' }),
    );
    expect((await acme.callTool(region)).content).toEqual([{ type: 'text', text: 'eu' }]);
    await acme.close();

    const bad = newTrace('badmeta');
    const broken = await modernClient(
      viaGateway(MODERN),
      identity(bad, { 'X-Igris-Metadata': '{"tenant":"acme"' }),
    );
    await expect(broken.callTool(region)).rejects.toMatchObject({ code: -32006 });
    await broken.close();

    expect((await decisionRows(missing, 1))[0]).toMatchObject({
      action: 'deny',
      ruleIndex: null,
      metadata: null,
      metadataError: null,
    });
    expect((await decisionRows(good, 1))[0]).toMatchObject({
      action: 'allow',
      ruleIndex: 2,
      metadata: { tenant: 'acme' },
    });
    expect((await decisionRows(bad, 1))[0]).toMatchObject({
      action: 'deny',
      ruleIndex: null,
      metadata: null,
      metadataError: 'metadata is not valid JSON',
      policyVersion: modernVersion,
    });
  });
});

describe('header/body mismatch', () => {
  it('a request whose Mcp-Name disagrees with its body is refused with -32020 and never reaches the server', async () => {
    const trace = newTrace('mismatch');
    // A client (or anything between it and us) that names an allowed tool in the header while
    // the body calls another one.
    const tampering: typeof fetch = async (input, init) => {
      const headers = new Headers(init?.headers);
      if (typeof init?.body === 'string' && init.body.includes('"delete_everything"'))
        headers.set('mcp-name', 'echo');
      return fetch(input, { ...init, headers });
    };
    const client = await modernClient(viaGateway(MODERN), identity(trace), tampering);
    const before = modern.requests.length;
    await expect(client.callTool({ name: 'delete_everything', arguments: {} })).rejects.toMatchObject({
      code: -32020,
    });
    // (The client may list tools first to learn their Mcp-Param headers; no call went upstream.)
    expect(modern.requests.slice(before).filter((r) => r.headers['mcp-method'] === 'tools/call')).toEqual([]);
    await client.close();
    const rows = await decisionRows(trace, 1);
    expect(rows[0]).toMatchObject({
      tool: 'delete_everything',
      action: 'error',
      errorCode: 'header_mismatch',
      ruleIndex: null,
    });
  });
});

describe('batches (sent with the v1 SDK transport)', () => {
  async function session(trace: string) {
    const transport = new StreamableHTTPClientTransport(new URL(viaGateway(DEMO)), {
      requestInit: { headers: identity(trace) },
    });
    const received: JSONRPCMessage[] = [];
    let waiter: { count: number; resolve: () => void } | null = null;
    transport.onmessage = (message) => {
      received.push(message);
      if (waiter && received.length >= waiter.count) waiter.resolve();
    };
    const until = (count: number) =>
      received.length >= count
        ? Promise.resolve()
        : new Promise<void>((resolve) => (waiter = { count, resolve }));
    await transport.start();
    await transport.send({
      jsonrpc: '2.0',
      id: 'init',
      method: 'initialize',
      params: {
        protocolVersion: '2025-03-26',
        capabilities: {},
        clientInfo: { name: 'batch', version: '1' },
      },
    });
    await until(1);
    transport.setProtocolVersion('2025-03-26');
    await transport.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    return { transport, received, until };
  }

  it('forwards a batch of allowed items; refuses a batch with a denied item, with an error per request', async () => {
    const trace = newTrace('batch');
    const { transport, received, until } = await session(trace);
    await transport.send([
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'a' } } },
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'add', arguments: { a: 1, b: 2 } } },
    ]);
    await until(3);
    expect(
      received.slice(1).sort((a, b) => Number((a as { id: number }).id) - Number((b as { id: number }).id)),
    ).toEqual([
      { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'a' }] } },
      { jsonrpc: '2.0', id: 2, result: { content: [{ type: 'text', text: '3' }] } },
    ]);

    await transport.send([
      { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'echo', arguments: { message: 'b' } } },
      {
        jsonrpc: '2.0',
        id: 4,
        method: 'tools/call',
        params: { name: 'delete_records', arguments: { table: 't' } },
      },
    ]);
    await until(5);
    expect(received.slice(3)).toMatchObject([
      {
        id: 3,
        error: {
          code: -32600,
          message: expect.stringMatching(/^Not forwarded: batch item \[1\] was refused/),
        },
      },
      {
        id: 4,
        error: { code: -32006, message: `Denied by policy: destructive tools are blocked (trace ${trace})` },
      },
    ]);
    await transport.terminateSession();
    await transport.close();

    const rows = await decisionRows(trace, 4);
    expect(rows.map((r) => [r.tool, r.action, r.ruleIndex, r.errorCode])).toEqual([
      ['echo', 'allow', 3, null],
      ['add', 'alert', 1, null],
      ['echo', 'error', 3, 'bad_request'],
      ['delete_records', 'deny', 0, 'policy_denied'],
    ]);
  });
});

describe('tools/list is filtered to what the caller could ever call', () => {
  it('SSE answer (v1 client, demo server) and JSON answer (v2 client at 2026-07-28)', async () => {
    const direct = await v1(demoDirect(), {});
    const directNames = (await direct.client.listTools()).tools.map((t) => t.name);
    await direct.close();
    expect(directNames).toEqual(['echo', 'add', 'whoami', 'progress', 'delete_records', 'notify_later']);
    // Lists are per caller (issue 17): whoami is allowed only with metadata.role=admin, so only an
    // admin caller sees it listed.
    const gateway = await v1(viaGateway(DEMO), identity(newTrace('list')));
    expect((await gateway.client.listTools()).tools.map((t) => t.name)).toEqual(['echo', 'add']);
    await gateway.close();
    const admin = await v1(
      viaGateway(DEMO),
      identity(newTrace('list-admin'), { 'X-Igris-Metadata': '{"role":"admin"}' }),
    );
    expect((await admin.client.listTools()).tools.map((t) => t.name)).toEqual(['echo', 'add', 'whoami']);
    await admin.close();

    const modernDirect = await modernClient(modern.url, {});
    const all = (await modernDirect.listTools()).tools;
    await modernDirect.close();
    expect(all.map((t) => t.name)).toEqual(['echo', 'slow', 'region', 'delete_everything']);
    const modernGateway = await modernClient(viaGateway(MODERN), identity(newTrace('list-modern')));
    const listed = (await modernGateway.listTools()).tools;
    await modernGateway.close();
    // region is allowed only for metadata.tenant=acme: listed for such a caller only.
    expect(listed).toEqual(all.filter((t) => t.name !== 'delete_everything' && t.name !== 'region'));
    const acme = await modernClient(
      viaGateway(MODERN),
      identity(newTrace('list-modern-acme'), { 'X-Igris-Metadata': '{"tenant":"acme"}' }),
    );
    const acmeListed = (await acme.listTools()).tools;
    await acme.close();
    expect(acmeListed).toEqual(all.filter((t) => t.name !== 'delete_everything'));
  });
});
