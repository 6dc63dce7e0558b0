/**
 * Issue 22, "done when" for approvals: end to end with the official MCP SDK client against a real
 * local MCP server (the v2 SDK's stateless handler) whose `transfer` tool counts what it executed.
 * A transfer over the limit (`args.amount gt 1000`, `action: "approve"`) is held with an McpError
 * naming the approval; once an owner approves it through the API, the identical call passes exactly
 * once (the upstream executes it once); a modified call does not; an expired approval fails (a
 * connection with a 5-second expiry). Approvals are read and decided through GET/POST /api/v1/approvals.
 */
import { createServer } from 'node:http';
import { ClientFactory, DefaultAgentCardResolver, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { JsonRpcTransportError } from '@a2a-js/sdk/errors';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { keepIdleConnections, type Listening, listen } from '../shared/local.server.ts';
import { startTestAgent, type TestAgent } from './a2a.agent.ts';
import { adminKey, api, createConnectionWithPolicy, gatewayUrl, setPolicy, waitForAudit } from './helpers.ts';

const RUN = Date.now().toString(36);
const BANK = `e2e-approve-${RUN}`;
const QUICK = `e2e-approve-quick-${RUN}`;
const RULES = [
  {
    tool: 'transfer',
    action: 'approve',
    conditions: { 'args.amount': { gt: 1000 } },
    reason: 'transfer over the limit',
  },
  { tool: '*', action: 'allow' },
];

/** Transfers the upstream actually executed, in order. */
const executed: Array<{ to: string; amount: number }> = [];
let upstream: Listening;
let agentKey: string;

function buildBank(): McpServer {
  const server = new McpServer({ name: 'approvals-e2e-bank', version: '1.0.0' });
  server.registerTool(
    'transfer',
    { description: 'Transfers an amount', inputSchema: z.object({ to: z.string(), amount: z.number() }) },
    async ({ to, amount }) => {
      executed.push({ to, amount });
      return { content: [{ type: 'text', text: `sent ${amount} to ${to}` }] };
    },
  );
  return server;
}

async function connect(slug: string) {
  const transport = new StreamableHTTPClientTransport(new URL(`${gatewayUrl()}/v1/mcp/${slug}`), {
    requestInit: { headers: { Authorization: `Bearer ${agentKey}`, 'X-Igris-User': 'agent@example.com' } },
  });
  const client = new Client({ name: 'approvals-e2e', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

interface HeldError {
  code: number;
  message: string;
  data: { code: string; approvalId: string; approvalUrl: string };
}

async function held(client: Client, args: { to: string; amount: number }): Promise<HeldError> {
  const error = (await client.callTool({ name: 'transfer', arguments: args }).then(
    (result) => {
      throw new Error(`expected the call to be held, got ${JSON.stringify(result)}`);
    },
    (err: unknown) => err,
  )) as HeldError;
  expect(error).toMatchObject({ code: -32015, data: { code: 'approval_required' } });
  return error;
}

async function approve(id: string) {
  const res = await api<{ status: string }>('POST', `/approvals/${id}/approve`, {});
  expect(res.status).toBe(200);
  expect(res.body.status).toBe('approved');
}

async function createConnection(slug: string, settings: Record<string, unknown> = {}) {
  const url = `${upstream.url}/mcp`;
  await createConnectionWithPolicy(slug, url, RULES, settings);
}

beforeAll(async () => {
  const handler = toNodeHandler(createMcpHandler(buildBank, { legacy: 'stateless' }));
  upstream = await listen(keepIdleConnections(createServer((req, res) => void handler(req, res))));
  await createConnection(BANK);
  await createConnection(QUICK, { approvals: { expirySeconds: 5 } });
  // The agent's own key: the key that makes a call may not approve it, the owner's may.
  const key = await api<{ key: string }>(
    'POST',
    '/api-keys',
    { name: `agent-${RUN}`, role: 'admin' },
    adminKey(),
  );
  expect(key.status).toBe(201);
  agentKey = key.body.key;
});

afterAll(async () => {
  await upstream.close();
});

describe('approvals with the official MCP SDK client', () => {
  it('a transfer over the limit needs approval; the approved identical call passes exactly once', async () => {
    const client = await connect(BANK);
    // Under the limit: no approval, executed.
    expect(await client.callTool({ name: 'transfer', arguments: { to: 'bob', amount: 10 } })).toEqual({
      content: [{ type: 'text', text: 'sent 10 to bob' }],
    });

    const first = await held(client, { to: 'bob', amount: 5000 });
    expect(first.message).toContain('Approval required: transfer over the limit');
    expect(first.data.approvalUrl).toBe(`${gatewayUrl()}/approvals/${first.data.approvalId}`);
    const id = first.data.approvalId;
    // The agent retries before anyone decided: still held, the same approval.
    expect((await held(client, { to: 'bob', amount: 5000 })).data.approvalId).toBe(id);
    // The agent's own key cannot approve its call.
    expect((await api('POST', `/approvals/${id}/approve`, {}, agentKey)).status).toBe(403);
    const pending = await api<{ approvals: Array<{ id: string; args: unknown }> }>(
      'GET',
      '/approvals?status=pending',
    );
    expect(pending.body.approvals.find((a) => a.id === id)).toMatchObject({
      args: { to: 'bob', amount: 5000 },
    });

    await approve(id);
    // A modified call is not covered by the approval.
    const modified = await held(client, { to: 'mallory', amount: 5000 });
    expect(modified.data.approvalId).not.toBe(id);
    // The identical call passes once (argument order does not matter: the hash is canonical)…
    expect(await client.callTool({ name: 'transfer', arguments: { amount: 5000, to: 'bob' } })).toEqual({
      content: [{ type: 'text', text: 'sent 5000 to bob' }],
    });
    // …and only once.
    const after = await held(client, { to: 'bob', amount: 5000 });
    expect(after.data.approvalId).not.toBe(id);
    expect(executed.filter((t) => t.amount === 5000)).toEqual([{ to: 'bob', amount: 5000 }]);
    expect((await api<{ status: string }>('GET', `/approvals/${id}`)).body.status).toBe('used');

    const rows = await waitForAudit<{ id: string; action: string; tool: string | null }>(
      `connection=${BANK}&limit=50`,
      (events) =>
        events.some((e) => e.action === 'approve') &&
        events.filter((e) => e.action === 'approval_required').length >= 4,
    );
    expect(rows.filter((e) => e.action === 'approve')).toHaveLength(1);
    await client.close();
  });

  it('an expired approval fails: the identical call is held again with a new approval', async () => {
    const client = await connect(QUICK);
    const first = await held(client, { to: 'carol', amount: 2000 });
    const id = first.data.approvalId;
    await approve(id);
    // Wait until the approval reads expired (5 s after it was requested).
    for (let i = 0; i < 100; i++) {
      if ((await api<{ status: string }>('GET', `/approvals/${id}`)).body.status === 'expired') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect((await api<{ status: string }>('GET', `/approvals/${id}`)).body.status).toBe('expired');
    const again = await held(client, { to: 'carol', amount: 2000 });
    expect(again.data.approvalId).not.toBe(id);
    expect(executed.filter((t) => t.to === 'carol')).toEqual([]);
    await client.close();
  });
});

describe('approvals on A2A', () => {
  let agent: TestAgent;
  afterAll(() => agent?.close());

  it('a held SendMessage answers a JSON-RPC error naming the approval; the agent never sees it', async () => {
    const slug = `e2e-approve-a2a-${RUN}`;
    const credential = `agent-secret-${RUN}`;
    agent = await startTestAgent(credential);
    const created = await api('POST', '/connections', {
      slug,
      name: slug,
      type: 'a2a',
      agentCardUrl: agent.url,
      credential,
    });
    expect(created.status).toBe(201);
    await setPolicy(slug, [{ tool: 'echo', action: 'approve', reason: 'a human reads first' }]);
    const fetchImpl: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set('Authorization', `Bearer ${agentKey}`);
      return fetch(input, { ...init, headers });
    };
    const factory = new ClientFactory({
      transports: [new JsonRpcTransportFactory({ fetchImpl })],
      cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
    });
    const client = await factory.createFromUrl(`${gatewayUrl()}/v1/a2a/${slug}/`);
    const before = agent.requests.length;
    const err = await client
      .sendMessage({
        message: {
          messageId: `m-${RUN}`,
          role: 1,
          parts: [{ content: { $case: 'text', value: 'hello' } }],
          metadata: { skillId: 'echo' },
        },
      } as never)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JsonRpcTransportError);
    expect((err as JsonRpcTransportError).envelopeCode).toBe(-32015);
    expect((err as JsonRpcTransportError).data).toMatchObject({
      code: 'approval_required',
      approvalId: expect.stringMatching(/^apr_/),
      approvalUrl: expect.stringContaining('/approvals/apr_'),
    });
    expect(agent.requests.length).toBe(before);
  });
});
