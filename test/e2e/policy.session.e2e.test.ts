/**
 * Issue 22, session facts end to end with the official MCP SDK client against a real local MCP
 * server (the v2 SDK's stateless handler):
 *   - tool labels defaulted from the *pinned* annotations: `fetch_page` declares
 *     `openWorldHint: true` (no explicit label anywhere); once its definition is approved, a
 *     session that called it is refused `send_email` by a `session.touched` rule, a fresh session
 *     is not;
 *   - `session.called`: `write_file` is refused after the session called a `read_*` tool;
 *   - across connections: `fetch_page` on connection A taints the agent session on connection B
 *     for the same key and X-Igris-Trace-Id, not for another trace id;
 *   - what-if replay on a connection that logs content: a draft with an argument condition flips
 *     exactly the recorded calls whose arguments match.
 */
import { createServer } from 'node:http';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { keepIdleConnections, type Listening, listen } from '../shared/local.server.ts';
import { adminKey, api, createConnectionWithPolicy, gatewayUrl, waitForAudit } from './helpers.ts';

const RUN = Date.now().toString(36);
const LABELS = `e2e-ses-labels-${RUN}`;
const CALLED = `e2e-ses-called-${RUN}`;
const SOURCE = `e2e-ses-src-${RUN}`;
const SINK = `e2e-ses-sink-${RUN}`;
const REPLAY = `e2e-ses-replay-${RUN}`;

/** What the upstream executed, in order. */
const executed: string[] = [];
let upstream: Listening;

function buildServer(): McpServer {
  const server = new McpServer({ name: 'policy-session-e2e', version: '1.0.0' });
  const tool = (
    name: string,
    inputSchema: z.ZodObject<z.ZodRawShape>,
    annotations?: Record<string, boolean>,
  ) =>
    server.registerTool(
      name,
      { description: name, inputSchema, ...(annotations ? { annotations } : {}) },
      async (args: Record<string, unknown>) => {
        executed.push(`${name} ${JSON.stringify(args)}`);
        return { content: [{ type: 'text', text: `${name} done` }] };
      },
    );
  // Reads the open world: by default (pinned annotations) it labels the session untrusted_input.
  tool('fetch_page', z.object({ url: z.string() }), { openWorldHint: true, readOnlyHint: true });
  tool('send_email', z.object({ to: z.string(), body: z.string() }));
  tool('read_crm', z.object({ id: z.string() }), { readOnlyHint: true });
  tool('write_file', z.object({ path: z.string(), content: z.string() }));
  tool('transfer', z.object({ amount: z.number() }));
  return server;
}

async function createConnection(slug: string, rules: unknown[], settings: Record<string, unknown> = {}) {
  const url = `${upstream.url}/mcp`;
  await createConnectionWithPolicy(slug, url, rules, settings);
}

/** An agent session: one SDK client with the given trace id (the session of a stateless server). */
async function session(slug: string, trace: string) {
  const transport = new StreamableHTTPClientTransport(new URL(`${gatewayUrl()}/v1/mcp/${slug}`), {
    requestInit: {
      headers: {
        Authorization: `Bearer ${adminKey()}`,
        'X-Igris-User': 'agent@example.com',
        'X-Igris-Trace-Id': `${trace}-${RUN}`,
      },
    },
  });
  const client = new Client({ name: 'policy-session-e2e', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

interface RpcError {
  code: number;
  message: string;
  data: { code: string; details?: Record<string, unknown> };
}

async function refused(client: Client, name: string, args: Record<string, unknown>): Promise<RpcError> {
  return (await client.callTool({ name, arguments: args }).then(
    (result) => {
      throw new Error(`expected ${name} to be refused, got ${JSON.stringify(result)}`);
    },
    (err: unknown) => err,
  )) as RpcError;
}

const DONE = (name: string) => ({ content: [{ type: 'text', text: `${name} done` }] });

/** Lists the tools through the gateway (recording them), then approves every listed definition. */
async function pinTools(slug: string): Promise<void> {
  const lister = await session(slug, 'lister');
  await lister.listTools();
  await lister.close();
  const deadline = Date.now() + 40_000;
  while (Date.now() < deadline) {
    const inventory = await api<{ items: unknown[] }>('GET', `/connections/${slug}/tools`);
    if (inventory.status === 200 && inventory.body.items.length >= 5) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const approved = await api('POST', `/connections/${slug}/tools/approve`, { all: true });
  expect(approved.status, JSON.stringify(approved.body)).toBe(200);
}

beforeAll(async () => {
  const handler = toNodeHandler(createMcpHandler(buildServer, { legacy: 'stateless' }));
  upstream = await listen(keepIdleConnections(createServer((req, res) => void handler(req, res))));
});

afterAll(async () => {
  await upstream.close();
});

const email = { to: 'boss@example.com', body: 'status' };

describe('tool labels from pinned annotations', () => {
  it('a session that called an openWorldHint tool is refused send_email; a fresh session is not', async () => {
    await createConnection(LABELS, [
      { tool: 'send_email', action: 'deny', conditions: { 'session.touched': ['untrusted_input'] } },
      { tool: '*', action: 'allow' },
    ]);
    await pinTools(LABELS);
    const tainted = await session(LABELS, 'labels-tainted');
    expect(await tainted.callTool({ name: 'send_email', arguments: email })).toEqual(DONE('send_email'));
    expect(
      await tainted.callTool({ name: 'fetch_page', arguments: { url: 'https://evil.example' } }),
    ).toEqual(DONE('fetch_page'));
    const before = executed.length;
    const error = await refused(tainted, 'send_email', email);
    expect(error.data.code).toBe('policy_denied');
    expect(error.message).toContain('untrusted_input');
    expect(executed.length).toBe(before);

    const fresh = await session(LABELS, 'labels-fresh');
    expect(await fresh.callTool({ name: 'send_email', arguments: email })).toEqual(DONE('send_email'));
    await tainted.close();
    await fresh.close();
  });
});

describe('session.called', () => {
  it('write_file is refused after the session called a read_* tool', async () => {
    await createConnection(CALLED, [
      { tool: 'write_file', action: 'deny', conditions: { 'session.called': ['read_*'] } },
      { tool: '*', action: 'allow' },
    ]);
    const write = { path: '/srv/work/a.txt', content: 'x' };
    const client = await session(CALLED, 'called');
    expect(await client.callTool({ name: 'write_file', arguments: write })).toEqual(DONE('write_file'));
    expect(await client.callTool({ name: 'read_crm', arguments: { id: 'c1' } })).toEqual(DONE('read_crm'));
    const error = await refused(client, 'write_file', write);
    expect(error.data.code).toBe('policy_denied');
    expect(error.message).toContain('called:read_crm');
    const fresh = await session(CALLED, 'called-fresh');
    expect(await fresh.callTool({ name: 'write_file', arguments: write })).toEqual(DONE('write_file'));
    await client.close();
    await fresh.close();
  });
});

describe('agent sessions across connections', () => {
  it('fetch_page on A taints the session on B for the same key and trace id, not for another trace id', async () => {
    await createConnection(SOURCE, [{ tool: '*', action: 'allow' }]);
    await pinTools(SOURCE);
    await createConnection(SINK, [
      // read_crm is the probe: facts travel from A's guard to the organization's store off A's path.
      { tool: 'read_crm', action: 'deny', conditions: { 'session.touched': ['untrusted_input'] } },
      { tool: 'send_email', action: 'deny', conditions: { 'session.touched': ['untrusted_input'] } },
      { tool: '*', action: 'allow' },
    ]);
    const onA = await session(SOURCE, 'cross');
    const onB = await session(SINK, 'cross');
    expect(await onB.callTool({ name: 'send_email', arguments: email })).toEqual(DONE('send_email'));
    expect(await onA.callTool({ name: 'fetch_page', arguments: { url: 'https://evil.example' } })).toEqual(
      DONE('fetch_page'),
    );
    const deadline = Date.now() + 20_000;
    let probe: unknown = null;
    while (Date.now() < deadline) {
      probe = await onB.callTool({ name: 'read_crm', arguments: { id: 'c1' } }).catch((err: unknown) => err);
      if ((probe as RpcError).data?.code === 'policy_denied') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((probe as RpcError).data?.code).toBe('policy_denied');
    const error = await refused(onB, 'send_email', email);
    expect(error.data.code).toBe('policy_denied');
    expect(error.message).toContain('untrusted_input');

    const other = await session(SINK, 'cross-other');
    expect(await other.callTool({ name: 'send_email', arguments: email })).toEqual(DONE('send_email'));
    for (const c of [onA, onB, other]) await c.close();
  });
});

describe('what-if replay with recorded arguments', () => {
  it('a draft with an argument condition flips exactly the calls whose recorded arguments match', async () => {
    await createConnection(REPLAY, [{ tool: '*', action: 'allow' }], { logContent: true });
    const client = await session(REPLAY, 'replay');
    for (const amount of [50, 5000, 20_000, 900]) {
      expect(await client.callTool({ name: 'transfer', arguments: { amount } })).toEqual(DONE('transfer'));
    }
    await client.close();
    await waitForAudit<{ id: string; tool: string | null }>(
      `connection=${REPLAY}&limit=50`,
      (events) => events.filter((e) => e.tool === 'transfer').length >= 4,
    );
    const draft = [
      { tool: 'transfer', action: 'deny', conditions: { 'args.amount': { gt: 1000 } } },
      { tool: '*', action: 'allow' },
    ];
    const res = await api<{
      evaluated: number;
      changed: number;
      unknownFields: number;
      examples: Array<{
        tool: string;
        before: { action: string };
        after: { action: string; ruleIndex: number };
      }>;
    }>('POST', `/connections/${REPLAY}/policy/replay`, { rules: draft });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.evaluated).toBe(4);
    expect(res.body.changed).toBe(2);
    expect(res.body.unknownFields).toBe(0);
    expect(
      res.body.examples.map((e) => [e.tool, e.before.action, e.after.action, e.after.ruleIndex]),
    ).toEqual([
      ['transfer', 'allow', 'deny', 0],
      ['transfer', 'allow', 'deny', 0],
    ]);
  });
});
