/**
 * Transparency end to end: the official MCP SDK clients (v1 and v2) against real servers, each
 * exchange run twice in the same test — straight to the server, then through the gateway
 * (the local runtime) — and the two runs must be identical: results, notifications, streaming
 * behaviour, statuses.
 *
 * Servers: @modelcontextprotocol/server-everything, the SDK-built demo server (sessions, GET
 * stream) and a v2 SDK stateless server (2026-07-28) started here (protocol.servers.ts); set-up in
 * protocol.fixtures.ts.
 */
import {
  Client as ClientV2,
  StreamableHTTPClientTransport as TransportV2,
} from '@modelcontextprotocol/client';
import {
  CreateMessageRequestSchema,
  type LoggingMessageNotification,
  LoggingMessageNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACCEPT,
  auth,
  DEMO,
  demoUrl,
  EVERYTHING,
  everythingUrl,
  MODERN,
  modern,
  resumable,
  routes,
  setUpProtocol,
  v1Client,
  viaGateway,
} from './protocol.fixtures.ts';

beforeAll(setUpProtocol);

afterAll(async () => {
  await modern?.close();
  await resumable?.close();
});

describe('server-everything with the official v1 client (2025-11-25, sessions)', () => {
  it('gives the same results, progress over SSE, a sampling request mid-stream, and ends with DELETE', async () => {
    const run = async (url: string, headers: Record<string, string>) => {
      const { client, transport } = await v1Client(url, headers, { sampling: {} });
      // The server's sampling request arrives on the tool call's own SSE stream and the tool
      // only finishes once our answer (a separate POST) reaches it: a buffered stream deadlocks.
      client.setRequestHandler(CreateMessageRequestSchema, async () => ({
        model: 'fake-model',
        role: 'assistant',
        content: { type: 'text', text: 'sampled text' },
      }));
      await client.connect(transport);
      const progress: number[] = [];
      const out = {
        protocolVersion: transport.protocolVersion,
        server: client.getServerVersion(),
        tools: (await client.listTools()).tools.map((t) => t.name),
        echo: await client.callTool({ name: 'echo', arguments: { message: 'through' } }),
        sum: await client.callTool({ name: 'get-sum', arguments: { a: 2, b: 40 } }),
        long: await client.callTool(
          { name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 3 } },
          undefined,
          { onprogress: (p) => progress.push(p.progress) },
        ),
        sampling: await client.callTool({
          name: 'trigger-sampling-request',
          arguments: { prompt: 'hi', maxTokens: 5 },
        }),
        progress,
      };
      const sessionId = transport.sessionId!;
      await transport.terminateSession();
      await client.close();
      // After DELETE the session is gone upstream: the next call on it gets the server's refusal.
      const after = await fetch(url, {
        method: 'POST',
        headers: {
          ...headers,
          Accept: ACCEPT,
          'Content-Type': 'application/json',
          'Mcp-Session-Id': sessionId,
          'MCP-Protocol-Version': out.protocolVersion!,
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
      });
      return { ...out, afterDelete: { status: after.status, body: await after.text() } };
    };
    const [direct, gateway] = [await run(everythingUrl(), {}), await run(viaGateway(EVERYTHING), auth())];
    expect(gateway).toEqual(direct);
    expect(direct.protocolVersion).toBe('2025-11-25');
    expect(direct.progress).toEqual([1, 2, 3]);
    expect(JSON.stringify(direct.sampling)).toContain('sampled text');
    expect(direct.afterDelete.status).toBe(400);
  });
});

describe('the demo server with the official v1 client', () => {
  it('delivers a server notification on the GET stream and progress on the POST stream, like direct', async () => {
    const run = async (url: string, headers: Record<string, string>) => {
      const { client, transport } = await v1Client(url, headers);
      const logs: Array<LoggingMessageNotification['params']> = [];
      let notified: () => void = () => {};
      client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
        logs.push(n.params);
        notified();
      });
      await client.connect(transport); // the client opens the GET stream by itself after initialize
      // notify_later writes to the GET stream 100 ms after answering; the client opens that
      // stream in the background, so ask again (a bounded number of times) until it is there.
      for (let attempt = 0; attempt < 10 && logs.length === 0; attempt++) {
        const arrived = new Promise<void>((resolve) => {
          notified = resolve;
          setTimeout(resolve, 1000);
        });
        await client.callTool({ name: 'notify_later', arguments: {} });
        await arrived;
      }
      const progress: number[] = [];
      const result = await client.callTool({ name: 'progress', arguments: { steps: 5 } }, undefined, {
        onprogress: (p) => progress.push(p.progress),
      });
      await transport.terminateSession();
      await client.close();
      return { log: logs[0], result, progress };
    };
    const [direct, gateway] = [await run(demoUrl(), {}), await run(viaGateway(DEMO), auth())];
    expect(gateway).toEqual(direct);
    expect(direct.log).toEqual({ level: 'info', data: 'hello from the server stream' });
    expect(direct.progress).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('every protocol revision with the official v2 client', () => {
  const servers = () => [
    { label: 'server-everything', direct: everythingUrl(), slug: EVERYTHING },
    { label: 'demo server', direct: demoUrl(), slug: DEMO },
    { label: 'v2 server (legacy fallback)', direct: modern.url, slug: MODERN },
  ];

  for (const version of ['2025-03-26', '2025-06-18', '2025-11-25'] as const) {
    it(`${version}: initialize, list, call and end the session identically on each server`, async () => {
      for (const server of servers()) {
        const runs = [];
        for (const route of routes(server.direct, server.slug)) {
          const client = new ClientV2(
            { name: 'gateway-e2e-v2', version: '1.0.0' },
            { supportedProtocolVersions: [version] },
          );
          const transport = new TransportV2(new URL(route.url), { requestInit: { headers: route.headers } });
          await client.connect(transport);
          const tools = (await client.listTools()).tools.map((t) => t.name);
          const echo = await client.callTool({ name: 'echo', arguments: { message: `v ${version}` } });
          const hadSession = transport.sessionId !== undefined;
          if (hadSession) await transport.terminateSession();
          await client.close();
          runs.push({ protocolVersion: transport.protocolVersion, hadSession, tools, echo });
        }
        expect(runs[1], `${server.label} at ${version}`).toEqual(runs[0]);
        expect(runs[0]!.protocolVersion).toBe(version);
      }
    });
  }

  it('2026-07-28: a stateless exchange (no session, no GET, mirrored headers) is identical', async () => {
    const runs = [];
    for (const route of routes(modern.url, MODERN)) {
      const mark = modern.requests.length;
      const client = new ClientV2(
        { name: 'gateway-e2e-v2', version: '1.0.0' },
        { versionNegotiation: { mode: { pin: '2026-07-28' } } },
      );
      const transport = new TransportV2(new URL(route.url), { requestInit: { headers: route.headers } });
      await client.connect(transport);
      const progress: number[] = [];
      const run = {
        protocolVersion: transport.protocolVersion,
        sessionId: transport.sessionId ?? null,
        tools: (await client.listTools()).tools,
        echo: await client.callTool({ name: 'echo', arguments: { message: 'modern' } }),
        slow: await client.callTool(
          { name: 'slow', arguments: { steps: 3 } },
          { onprogress: (p) => progress.push(p.progress) },
        ),
        // A non-ASCII argument mirrored in Mcp-Param-Region (base64 sentinel): the server checks it.
        region: await client.callTool({ name: 'region', arguments: { region: 'Hello, 世界' } }),
        progress,
        upstreamSaw: modern.requests.slice(mark).map((r) => ({
          method: r.method,
          mcpMethod: r.headers['mcp-method'],
          mcpName: r.headers['mcp-name'] ?? null,
          version: r.headers['mcp-protocol-version'],
          param: r.headers['mcp-param-region'] ?? null,
          session: r.headers['mcp-session-id'] ?? null,
        })),
      };
      await client.close();
      runs.push(run);
      if (route.name === 'gateway') {
        const authorizations = modern.requests.slice(mark).map((r) => r.headers.authorization);
        expect(new Set(authorizations)).toEqual(new Set(['Bearer proto-modern-credential']));
      }
    }
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[0]!.protocolVersion).toBe('2026-07-28');
    expect(runs[0]!.sessionId).toBeNull();
    expect(runs[0]!.progress).toEqual([1, 2, 3]);
    expect(runs[0]!.region.content).toEqual([{ type: 'text', text: 'Hello, 世界' }]);
    expect(runs[0]!.upstreamSaw.map((r) => r.method)).not.toContain('GET');
    expect(runs[0]!.upstreamSaw).toContainEqual({
      method: 'POST',
      mcpMethod: 'tools/call',
      mcpName: 'region',
      version: '2026-07-28',
      param: '=?base64?SGVsbG8sIOS4lueVjA==?=',
      session: null,
    });
  });

  it('2026-07-28: the server’s own refusals (405 GET, -32020 Mcp-Param mismatch, -32022 version) pass unchanged', async () => {
    const meta = (version: string) => ({
      'io.modelcontextprotocol/protocolVersion': version,
      'io.modelcontextprotocol/clientCapabilities': {},
    });
    const cases: Array<{ method: string; headers: Record<string, string>; body?: unknown }> = [
      { method: 'GET', headers: { Accept: 'text/event-stream', 'MCP-Protocol-Version': '2026-07-28' } },
      {
        method: 'POST',
        headers: {
          'MCP-Protocol-Version': '2026-07-28',
          'Mcp-Method': 'tools/call',
          'Mcp-Name': 'region',
          'Mcp-Param-Region': 'elsewhere',
        },
        body: {
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'region', arguments: { region: 'here' }, _meta: meta('2026-07-28') },
        },
      },
      {
        method: 'POST',
        headers: { 'MCP-Protocol-Version': '2027-01-01', 'Mcp-Method': 'tools/call', 'Mcp-Name': 'echo' },
        body: {
          jsonrpc: '2.0',
          id: 2,
          method: 'tools/call',
          params: { name: 'echo', arguments: { message: 'x' }, _meta: meta('2027-01-01') },
        },
      },
    ];
    for (const c of cases) {
      const answers = [];
      for (const route of routes(modern.url, MODERN)) {
        const res = await fetch(route.url, {
          method: c.method,
          headers: { Accept: ACCEPT, 'Content-Type': 'application/json', ...c.headers, ...route.headers },
          body: c.body === undefined ? undefined : JSON.stringify(c.body),
        });
        answers.push({ status: res.status, type: res.headers.get('Content-Type'), body: await res.text() });
      }
      expect(answers[1], `${c.method} ${JSON.stringify(c.headers)}`).toEqual(answers[0]);
      expect(answers[0]!.status).toBeGreaterThanOrEqual(400);
    }
  });
});
