/**
 * Real local upstreams that answer a call with a JSON-RPC error inside an HTTP 200
 * (test/e2e/inspection.rpc-errors.e2e.test.ts), its message and data echoing a key and a card:
 *
 *   MCP  …/mcp-json   the MCP SDK's own server (v1 `Server`, stateless Streamable HTTP, JSON answers):
 *                     `tools/call` throws an McpError whose message and data carry the values.
 *        …/mcp-sse    the same server answering in SSE (`event: message`); a `scenario-slow` call
 *                     waits 300 ms first, so the gateway relays the stream rather than reading it whole.
 *        …/mcp-batch  a JSON-RPC batch answered item by item, every item such an error.
 *        …/mcp-asks   the MCP SDK's server with sessions, whose tool `ask` sends on the call's SSE
 *                     stream a log notification whose data holds the key, then a
 *                     `sampling/createMessage` request whose message holds the card, and answers
 *                     with what the client's model said (what the server sends on its own); its tool
 *                     `broadcast` sends that log notification related to no request: on the GET stream.
 *   A2A  GET …/.well-known/agent-card.json (streaming on); POST …/a2a: `SendMessage` answered with
 *        the error as JSON, `SendStreamingMessage` with one SSE event that is the error.
 *
 * `scenario-benign` in the call's text makes an error with nothing to find.
 */

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  CreateMessageResultSchema,
  ListToolsRequestSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import {
  bodyOf,
  type ErrorUpstream,
  errorAgentCard,
  LEAKED_CARD,
  LEAKED_KEY,
  serveWith,
} from './error-upstream.ts';

export const RPC_LEAK_MESSAGE = `lookup failed for key ${LEAKED_KEY}`;
export const BENIGN_MESSAGE = 'the record is locked, try again later';

/** The error object every upstream answers with (`code` -32603; the SDK server prefixes its message). */
export function rpcError(text: string): { code: number; message: string; data: unknown } {
  const leak = !text.includes('scenario-benign');
  return {
    code: -32603,
    message: leak ? RPC_LEAK_MESSAGE : BENIGN_MESSAGE,
    data: leak
      ? { detail: `card ${LEAKED_CARD} declined`, trace: ['at lookup()', `key=${LEAKED_KEY}`], status: 402 }
      : { detail: 'locked', status: 423 },
  };
}

function mcpServer(): Server {
  const server = new Server({ name: 'rpc-error-mcp', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [{ name: 'lookup', description: 'Fails', inputSchema: { type: 'object' } }],
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const text = JSON.stringify(request.params.arguments ?? {});
    if (text.includes('scenario-slow')) await new Promise((r) => setTimeout(r, 300));
    const error = rpcError(text);
    throw new McpError(error.code, error.message, error.data);
  });
  return server;
}

/** What `ask` sends the client: a log line with the key, a sampling request with the card. */
export const ASK_LOG = `cache warmed with key ${LEAKED_KEY}`;
export const ASK_PROMPT = `summarise the payment with card ${LEAKED_CARD}`;

function askingServer(): Server {
  const server = new Server(
    { name: 'asking-mcp', version: '1.0.0' },
    { capabilities: { tools: {}, logging: {} } },
  );
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [
      { name: 'ask', description: 'Asks the client', inputSchema: { type: 'object' } },
      { name: 'broadcast', description: 'Logs on the GET stream', inputSchema: { type: 'object' } },
    ],
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    if (request.params.name === 'broadcast') {
      // Related to no request: the SDK sends it on the session's GET stream.
      await server.notification({
        method: 'notifications/message',
        params: { level: 'info', logger: 'cache', data: { line: ASK_LOG } },
      });
      return { content: [{ type: 'text', text: 'sent' }] };
    }
    await extra.sendNotification({
      method: 'notifications/message',
      params: { level: 'info', logger: 'cache', data: { line: ASK_LOG } },
    });
    const sampled = await extra.sendRequest(
      {
        method: 'sampling/createMessage',
        params: { messages: [{ role: 'user', content: { type: 'text', text: ASK_PROMPT } }], maxTokens: 16 },
      },
      CreateMessageResultSchema,
    );
    const text = sampled.content.type === 'text' ? sampled.content.text : '';
    return { content: [{ type: 'text', text: `the model said: ${text}` }] };
  });
  return server;
}

/** Sessions of …/mcp-asks (the client's answer to the sampling request comes in a POST of its own). */
const asking = new Map<string, StreamableHTTPServerTransport>();

async function askingHandle(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
  const sid = req.headers['mcp-session-id'];
  const existing = typeof sid === 'string' ? asking.get(sid) : undefined;
  if (existing) return existing.handleRequest(req, res, body);
  const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    onsessioninitialized: (id) => void asking.set(id, transport),
  });
  await askingServer().connect(transport);
  return transport.handleRequest(req, res, body);
}

const card = (base: string) =>
  errorAgentCard(base, {
    name: 'Failing agent',
    description: 'Answers every message with a JSON-RPC error',
    streaming: true,
    skillDescription: 'Fails',
  });

const jsonRpcError = (id: unknown, text: string) => ({ jsonrpc: '2.0', id, error: rpcError(text) });

async function handle(req: IncomingMessage, res: ServerResponse, base: string): Promise<void> {
  const path = req.url ?? '/';
  if (req.method === 'GET' && path.endsWith('/.well-known/agent-card.json')) {
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(card(base)));
    return;
  }
  if (path.endsWith('/mcp-asks'))
    return askingHandle(req, res, req.method === 'POST' ? JSON.parse(await bodyOf(req)) : undefined);
  if (req.method !== 'POST') return void res.writeHead(405).end();
  if (path.endsWith('/mcp-json') || path.endsWith('/mcp-sse')) {
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: path.endsWith('/mcp-json'),
    });
    res.on('close', () => void transport.close());
    await mcpServer().connect(transport);
    return transport.handleRequest(req, res, JSON.parse(await bodyOf(req)));
  }
  const text = await bodyOf(req);
  const body = JSON.parse(text) as { id?: unknown; method?: string } | Array<{ id?: unknown }>;
  if (path.endsWith('/mcp-batch')) {
    const items = (Array.isArray(body) ? body : [body]).filter((m) => m.id !== undefined);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    return void res.end(JSON.stringify(items.map((m) => jsonRpcError(m.id, text))));
  }
  if (!path.endsWith('/a2a') || Array.isArray(body)) return void res.writeHead(404).end();
  const answer = JSON.stringify(jsonRpcError(body.id ?? null, text));
  if (body.method === 'SendStreamingMessage' || body.method === 'message/stream') {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    return void res.end(`data: ${answer}\n\n`);
  }
  res.writeHead(200, { 'Content-Type': 'application/json' }).end(answer);
}

/** Base URL (no trailing slash), and close. */
export type RpcErrorUpstream = ErrorUpstream;

export async function startRpcErrorUpstream(): Promise<RpcErrorUpstream> {
  const upstream = await serveWith(handle);
  return {
    url: upstream.url,
    close: async () => {
      for (const transport of asking.values()) await transport.close().catch(() => undefined);
      asking.clear();
      await upstream.close();
    },
  };
}
