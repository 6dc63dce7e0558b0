/**
 * Server requests and the client's responses end to end: the official MCP SDK client (v1) through
 * the gateway (the local runtime) to a real v1 SDK server with sessions whose tools ask the client
 * — `ask_model` sends `sampling/createMessage`, `ask_user` sends `elicitation/create` — and record
 * what came back. The gateway mints the server requests' ids and restores them on the client's
 * responses (the SDK server matches responses by id, so a tool finishing proves the restore);
 * a deny rule on `response:elicitation/create` keeps the user's answer from the server.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  CreateMessageResultSchema,
  ElicitRequestSchema,
  ElicitResultSchema,
  isInitializeRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keepIdleConnections, listen } from '../shared/local.server.ts';
import { adminKey, createConnectionWithPolicy, gatewayUrl, waitForAudit } from './helpers.ts';

const RUN = Date.now().toString(36);
const ALLOW = `resp-allow-${RUN}`;
const DENY = `resp-deny-${RUN}`;
const SECRET_NAME = `Ada-${RUN}`;

interface AskingServer {
  url: string;
  /** What the tools got back from the client. */
  answers: Array<{ tool: string; result: unknown }>;
  /** Every JSON-RPC message POSTed to the server. */
  posted: unknown[];
  close(): Promise<void>;
}

function buildServer(answers: AskingServer['answers']): McpServer {
  const server = new McpServer({ name: 'asking-server', version: '1.0.0' });
  // Each asks through the tool call's own stream (extra.sendRequest): a request not related to one
  // would go to the GET stream, which the client opens in the background and may not be there yet.
  server.registerTool('ask_model', { description: 'Asks the client’s model' }, async (extra) => {
    const result = await extra.sendRequest(
      {
        method: 'sampling/createMessage',
        params: { messages: [{ role: 'user', content: { type: 'text', text: 'Say hi' } }], maxTokens: 10 },
      },
      CreateMessageResultSchema,
    );
    answers.push({ tool: 'ask_model', result });
    const text = result.content.type === 'text' ? result.content.text : '';
    return { content: [{ type: 'text', text: `model said: ${text}` }] };
  });
  server.registerTool('ask_user', { description: 'Asks the user their name' }, async (extra) => {
    const result = await extra.sendRequest(
      {
        method: 'elicitation/create',
        params: {
          message: 'Your name?',
          requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
        },
      },
      ElicitResultSchema,
    );
    answers.push({ tool: 'ask_user', result });
    return { content: [{ type: 'text', text: `user said: ${JSON.stringify(result.content)}` }] };
  });
  return server;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

async function startAskingServer(): Promise<AskingServer> {
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const answers: AskingServer['answers'] = [];
  const posted: unknown[] = [];
  const http: Server = createServer((req, res) => {
    void (async () => {
      const sessionId = req.headers['mcp-session-id'];
      const existing = typeof sessionId === 'string' ? transports.get(sessionId) : undefined;
      if (req.method === 'POST') {
        const body = await readJson(req);
        posted.push(body);
        if (existing) return existing.handleRequest(req, res, body);
        if (!sessionId && isInitializeRequest(body)) {
          const transport = new StreamableHTTPServerTransport({
            sessionIdGenerator: () => randomUUID(),
            onsessioninitialized: (id) => {
              transports.set(id, transport);
            },
          });
          await buildServer(answers).connect(transport);
          return transport.handleRequest(req, res, body);
        }
        res.writeHead(400).end();
        return;
      }
      if (!existing) {
        res.writeHead(404).end();
        return;
      }
      return existing.handleRequest(req, res);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  const listening = await listen(keepIdleConnections(http));
  return {
    url: `${listening.url}/mcp`,
    answers,
    posted,
    close: async () => {
      for (const t of transports.values()) await t.close().catch(() => {});
      await listening.close();
    },
  };
}

let upstream: AskingServer;

beforeAll(async () => {
  upstream = await startAskingServer();
  await createConnectionWithPolicy(ALLOW, upstream.url, [{ tool: '*', action: 'allow' }]);
  await createConnectionWithPolicy(DENY, upstream.url, [
    { tool: 'response:elicitation/create', action: 'deny', reason: 'no user data to this server' },
    { tool: '*', action: 'allow' },
  ]);
});

afterAll(async () => {
  await upstream?.close();
});

/** The official client through the gateway, answering sampling and elicitation requests. */
async function connect(slug: string, name = SECRET_NAME) {
  const transport = new StreamableHTTPClientTransport(new URL(`${gatewayUrl()}/v1/mcp/${slug}`), {
    requestInit: { headers: { Authorization: `Bearer ${adminKey()}` } },
  });
  const client = new Client(
    { name: 'responses-e2e', version: '1.0.0' },
    { capabilities: { sampling: {}, elicitation: {} } },
  );
  const seenIds: unknown[] = [];
  client.setRequestHandler(CreateMessageRequestSchema, async (request, extra) => {
    seenIds.push(extra.requestId);
    expect(request.params.messages[0]?.content).toEqual({ type: 'text', text: 'Say hi' });
    return { model: 'fake-model', role: 'assistant', content: { type: 'text', text: 'hi there' } };
  });
  client.setRequestHandler(ElicitRequestSchema, async (_request, extra) => {
    seenIds.push(extra.requestId);
    return { action: 'accept', content: { name } };
  });
  const errors: Error[] = [];
  client.onerror = (err) => errors.push(err);
  await client.connect(transport);
  return { client, transport, seenIds, errors };
}

/** The responses (no method) the server received. */
const postedResponses = () =>
  upstream.posted.filter(
    (m): m is Record<string, unknown> => typeof m === 'object' && m !== null && !('method' in m),
  );

describe('sampling and elicitation through the gateway', () => {
  it('round-trip with an allow-all policy: the client sees minted ids, the server its own', async () => {
    const { client, transport, seenIds } = await connect(ALLOW);
    const sampled = await client.callTool({ name: 'ask_model', arguments: {} });
    expect(sampled.content).toEqual([{ type: 'text', text: 'model said: hi there' }]);
    const elicited = await client.callTool({ name: 'ask_user', arguments: {} });
    expect(elicited.content).toEqual([{ type: 'text', text: `user said: {"name":"${SECRET_NAME}"}` }]);
    // The client answered ids the gateway minted; the server got back the numbers it sent.
    expect(seenIds).toHaveLength(2);
    for (const id of seenIds) expect(String(id)).toMatch(/^igsr2\./);
    const responses = postedResponses();
    expect(responses).toHaveLength(2);
    for (const response of responses) expect(typeof response.id).toBe('number');
    expect(JSON.stringify(upstream.posted)).not.toContain('igsr2');
    // The same answer POSTed again in the session (a replay) is refused: each minted id is answered once.
    const replay = await fetch(`${gatewayUrl()}/v1/mcp/${ALLOW}`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${adminKey()}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        'Mcp-Session-Id': transport.sessionId!,
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: seenIds[0],
        result: { model: 'fake-model', role: 'assistant', content: { type: 'text', text: 'hi again' } },
      }),
    });
    expect(replay.status).toBe(400);
    expect(await replay.text()).toBe('');
    expect(postedResponses()).toHaveLength(2);
    await transport.terminateSession();
    await client.close();

    const rows = await waitForAudit<{ id: string; tool: string | null; action: string }>(
      `connection=${ALLOW}&limit=100`,
      (r) => r.some((row) => row.tool === 'response:elicitation/create'),
    );
    // The sampling answer was allowed once; its replay is the refused row.
    const sampling = rows.filter((row) => row.tool === 'response:sampling/createMessage');
    expect(sampling.map((row) => row.action).sort()).toEqual(['allow', 'error']);
    expect(rows.find((row) => row.tool === 'response:elicitation/create')?.action).toBe('allow');
  });

  it('a deny on response:elicitation/create keeps the elicitation result from the server', async () => {
    const before = upstream.answers.length;
    const postedBefore = upstream.posted.length;
    const withheld = `Grace-${RUN}`;
    const { client, transport, seenIds, errors } = await connect(DENY, withheld);
    // Sampling is still allowed on this connection.
    const sampled = await client.callTool({ name: 'ask_model', arguments: {} });
    expect(sampled.content).toEqual([{ type: 'text', text: 'model said: hi there' }]);
    // The client answers the elicitation, the gateway refuses the answer: the tool never finishes.
    await expect(
      client.callTool({ name: 'ask_user', arguments: {} }, undefined, { timeout: 3000 }),
    ).rejects.toThrow(/timed out/i);
    expect(seenIds).toHaveLength(2);
    // The client's POST of its answer was refused with an HTTP 403 (a response gets no JSON-RPC answer).
    expect(errors.some((e) => (e as { code?: unknown }).code === 403)).toBe(true);
    expect(upstream.answers.slice(before).map((a) => a.tool)).toEqual(['ask_model']);
    expect(JSON.stringify(upstream.posted.slice(postedBefore))).not.toContain(withheld);
    await transport.terminateSession();
    await client.close();

    const rows = await waitForAudit<{
      id: string;
      tool: string | null;
      action: string;
      errorCode: string | null;
    }>(`connection=${DENY}&limit=100`, (r) => r.some((row) => row.tool === 'response:elicitation/create'));
    expect(rows.find((row) => row.tool === 'response:elicitation/create')).toMatchObject({
      action: 'deny',
      errorCode: 'policy_denied',
    });
  });
});
