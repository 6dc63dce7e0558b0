/**
 * Extra real MCP servers for the protocol e2e tests, started in-process on free ports:
 *
 *   startModernServer()    — the v2 SDK's `createMcpHandler`: 2026-07-28 stateless, plus its
 *                            stateless fallback for 2025-era clients (GET/DELETE → 405).
 *   startResumableServer() — a v1 SDK server with sessions and the SDK's InMemoryEventStore,
 *                            so SSE events carry ids and a GET with Last-Event-ID replays them
 *                            (server-everything ships its own event store, which does not
 *                            replay correctly, and the demo server has none). Optionally it
 *                            holds a GET's response headers back, as servers that send them
 *                            only with the stream's first event or keep-alive do.
 *
 * Both record the headers of every HTTP request they receive, so tests can see exactly what the
 * gateway forwarded.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { InMemoryEventStore } from '@modelcontextprotocol/sdk/examples/shared/inMemoryEventStore.js';
import { McpServer as McpServerV1 } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import * as z from 'zod';
import { keepIdleConnections, listen } from '../shared/local.server.ts';

export interface RecordedRequest {
  method: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface TestServer {
  /** The MCP endpoint (…/mcp). */
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

function buildModern(): McpServer {
  const server = new McpServer({ name: 'gateway-e2e-modern', version: '1.0.0' });
  server.registerTool(
    'echo',
    { description: 'Echoes the message', inputSchema: z.object({ message: z.string() }) },
    async ({ message }) => ({ content: [{ type: 'text', text: message }] }),
  );
  server.registerTool(
    'slow',
    {
      description: 'Sends progress, then answers',
      inputSchema: z.object({ steps: z.number().int().min(1) }),
    },
    async ({ steps }, ctx) => {
      const token = ctx.mcpReq._meta?.progressToken;
      for (let i = 1; i <= steps; i++) {
        await new Promise((r) => setTimeout(r, 20));
        if (token !== undefined) {
          await ctx.mcpReq.notify({
            method: 'notifications/progress',
            params: { progressToken: token, progress: i, total: steps, message: `step ${i}` },
          });
        }
      }
      return { content: [{ type: 'text', text: `done ${steps}` }] };
    },
  );
  server.registerTool(
    'region',
    {
      description: 'Returns its region argument, which is mirrored in the Mcp-Param-Region header',
      inputSchema: z.object({ region: z.string().meta({ 'x-mcp-header': 'Region' }) }),
    },
    async ({ region }) => ({ content: [{ type: 'text', text: region }] }),
  );
  server.registerTool(
    'delete_everything',
    { description: 'A tool no policy should allow', inputSchema: z.object({}) },
    async () => ({ content: [{ type: 'text', text: 'deleted' }] }),
  );
  return server;
}

export async function startModernServer(): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const handler = toNodeHandler(createMcpHandler(buildModern, { legacy: 'stateless' }));
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', headers: { ...req.headers } });
    void handler(req, res);
  });
  const { url, close } = await listen(keepIdleConnections(server));
  return { url: `${url}/mcp`, requests, close };
}

function buildResumable(): McpServerV1 {
  const server = new McpServerV1({ name: 'gateway-e2e-resumable', version: '1.0.0' });
  server.registerTool(
    'slow',
    {
      description: 'Sends progress every delayMs, then answers',
      inputSchema: { steps: z.number().int().min(1), delayMs: z.number().int().min(0) },
    },
    async ({ steps, delayMs }, extra) => {
      const token = extra._meta?.progressToken;
      for (let i = 1; i <= steps; i++) {
        await new Promise((r) => setTimeout(r, delayMs));
        if (token !== undefined) {
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken: token, progress: i, total: steps },
          });
        }
      }
      return { content: [{ type: 'text', text: `done after ${steps} steps` }] };
    },
  );
  return server;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

export async function startResumableServer(
  options: { getHeadersDelayMs?: number } = {},
): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    requests.push({ method: req.method ?? '', headers: { ...req.headers } });
    if (req.method === 'GET' && options.getHeadersDelayMs) {
      await new Promise((r) => setTimeout(r, options.getHeadersDelayMs));
    }
    const sid = req.headers['mcp-session-id'];
    const existing = typeof sid === 'string' ? transports.get(sid) : undefined;
    if (req.method === 'POST') {
      const body = await readJson(req);
      if (existing) return existing.handleRequest(req, res, body);
      if (sid === undefined && isInitializeRequest(body)) {
        const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          eventStore: new InMemoryEventStore(),
          onsessioninitialized: (id) => {
            transports.set(id, transport);
          },
          onsessionclosed: (id) => {
            transports.delete(id);
          },
        });
        await buildResumable().connect(transport);
        return transport.handleRequest(req, res, body);
      }
    } else if (existing) {
      return existing.handleRequest(req, res);
    }
    res
      .writeHead(sid === undefined ? 400 : 404, { 'Content-Type': 'application/json' })
      .end(
        JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } }),
      );
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  const { url, close } = await listen(keepIdleConnections(server));
  return {
    url: `${url}/mcp`,
    requests,
    close: async () => {
      for (const t of transports.values()) await t.close().catch(() => {});
      await close();
    },
  };
}
