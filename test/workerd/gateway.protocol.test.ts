/**
 * Streamable HTTP through the gateway, inside workerd, against the real SDK-built upstream
 * (scripts/demo-mcp-server.ts): what clients and servers actually send must come out the other
 * side unchanged — statuses, bodies, session and version headers, SSE event by event.
 */
import { env, exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ACCEPT_BOTH,
  auditFor,
  messages,
  openSession,
  patchSettings,
  post,
  postDirect,
  SseReader,
  sleep,
  traceId,
} from './gateway.fixtures';
import { bootstrapDefault, call, createConnection, json, putPolicy } from './helpers';

interface RpcError {
  jsonrpc: '2.0';
  id: string | number | null;
  error: {
    code: number;
    message: string;
    data: { code: string; traceId?: string; details?: Record<string, unknown> };
  };
}

const SESSIONS = 'proto-sessions';
const STATELESS = 'proto-stateless';

beforeAll(async () => {
  await bootstrapDefault();
  await createConnection(SESSIONS, { upstreamPath: '/mcp', credential: 'proto-secret' });
  await createConnection(STATELESS, { upstreamPath: '/stateless', credential: 'proto-secret' });
  await putPolicy(SESSIONS, [{ tool: '*', action: 'allow' }]);
  await putPolicy(STATELESS, [{ tool: '*', action: 'allow' }]);
});

function whoamiHeaders(result: Record<string, unknown>): Record<string, string> {
  const text = (result.result as { content: Array<{ text: string }> }).content[0]!.text;
  return JSON.parse(text) as Record<string, string>;
}

describe('POST of a request', () => {
  it('streams an SSE answer event by event: every progress notification, then the result, in order', async () => {
    const session = await openSession(SESSIONS);
    const res = await post(
      SESSIONS,
      {
        jsonrpc: '2.0',
        id: 11,
        method: 'tools/call',
        params: { name: 'progress', arguments: { steps: 4 }, _meta: { progressToken: 'p1' } },
      },
      session.headers,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('Mcp-Session-Id')).toBe(session.id);
    expect(res.headers.get('Content-Length')).toBeNull();
    const all = await messages(res);
    expect(all.map((m) => (m.method as string) ?? `result:${m.id}`)).toEqual([
      'notifications/progress',
      'notifications/progress',
      'notifications/progress',
      'notifications/progress',
      'result:11',
    ]);
    expect(all.slice(0, 4).map((m) => (m.params as { progress: number }).progress)).toEqual([1, 2, 3, 4]);
  });

  it('carries Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID, Mcp-Param-* and traceparent upstream', async () => {
    const session = await openSession(SESSIONS, '2025-06-18');
    expect(session.version).toBe('2025-06-18');
    const res = await post(
      SESSIONS,
      { jsonrpc: '2.0', id: 12, method: 'tools/call', params: { name: 'whoami', arguments: {} } },
      {
        ...session.headers,
        'Last-Event-ID': 'evt-41',
        'Mcp-Param-Region': '=?base64?SGVsbG8sIOS4lueVjA==?=',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      },
    );
    expect(res.status).toBe(200);
    const seen = whoamiHeaders((await messages(res))[0]!);
    expect(seen['mcp-session-id']).toBe(session.id);
    expect(seen['mcp-protocol-version']).toBe('2025-06-18');
    expect(seen['last-event-id']).toBe('evt-41');
    expect(seen['mcp-param-region']).toBe('=?base64?SGVsbG8sIOS4lueVjA==?=');
    expect(seen.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(seen.authorization).toBe('Bearer proto-secret');
  });

  it('never forwards the caller key, cookies, Origin, identity or hop-by-hop headers', async () => {
    const res = await post(
      STATELESS,
      { jsonrpc: '2.0', id: 13, method: 'tools/call', params: { name: 'whoami', arguments: {} } },
      {
        Cookie: 'igris.session_token=abc; other=1',
        Origin: 'http://gateway.test',
        'X-Igris-User': 'alice',
        'X-Igris-Metadata': '{"role":"dev"}',
        Connection: 'keep-alive, Mcp-Param-Hop',
        'Keep-Alive': 'timeout=5',
        'Mcp-Param-Hop': 'must not pass',
        'Proxy-Authorization': 'Basic eDp5',
        Upgrade: 'h2c',
      },
    );
    expect(res.status).toBe(200);
    const seen = whoamiHeaders((await messages(res))[0]!);
    const names = Object.keys(seen);
    for (const name of [
      'cookie',
      'origin',
      'x-igris-user',
      'x-igris-metadata',
      'keep-alive',
      'mcp-param-hop',
      'proxy-authorization',
      'upgrade',
    ]) {
      expect(names).not.toContain(name);
    }
    expect(JSON.stringify(seen)).not.toContain(env.ADMIN_API_KEY);
    expect(seen.authorization).toBe('Bearer proto-secret');
  });
});

describe('POST of notifications and responses', () => {
  it('passes the upstream 202 through for a notification; a response to no server request is refused', async () => {
    const session = await openSession(SESSIONS);
    const note = await post(
      SESSIONS,
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 999, reason: 'test' } },
      session.headers,
    );
    expect(note.status).toBe(202);
    expect(await note.text()).toBe('');
    // This server sent no request: the response is unsolicited, refused with no body (it was
    // forwarded before; a response to a relayed server request still gets the upstream's 202:
    // test/workerd/gateway.responses.test.ts).
    const response = await post(SESSIONS, { jsonrpc: '2.0', id: 'srv-1', result: {} }, session.headers);
    expect(response.status).toBe(400);
    expect(await response.text()).toBe('');
  });
});

describe('GET: the server stream', () => {
  it('delivers a server notification on the GET stream as it arrives (the stream itself never ends)', async () => {
    const session = await openSession(SESSIONS);
    const stream = await call('GET', `/v1/mcp/${SESSIONS}`, {
      headers: { Accept: 'text/event-stream', ...session.headers },
    });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('Content-Type')).toMatch(/^text\/event-stream/);
    expect(stream.headers.get('X-Igris-Trace-Id')).toEqual(expect.any(String));
    // Reading one event of a stream that never ends proves it is passed on as it arrives.
    const reader = new SseReader(stream);
    const first = reader.next();
    let event: Awaited<typeof first> = null;
    // notify_later writes to the GET stream 100 ms after answering; ask again (bounded) if needed.
    for (let attempt = 0; attempt < 10 && event === null; attempt++) {
      const trigger = await post(
        SESSIONS,
        {
          jsonrpc: '2.0',
          id: 21 + attempt,
          method: 'tools/call',
          params: { name: 'notify_later', arguments: {} },
        },
        session.headers,
      );
      expect(trigger.status).toBe(200);
      await trigger.text();
      event = await Promise.race([first, sleep(1000).then(() => null)]);
    }
    expect(JSON.parse(event!.data)).toMatchObject({
      method: 'notifications/message',
      params: { level: 'info', data: 'hello from the server stream' },
    });
    await reader.cancel();
  });

  it('passes the upstream answer to a GET without a session through unchanged', async () => {
    const direct = await fetch(`${env.UPSTREAM_URL}/mcp`, { headers: { Accept: 'text/event-stream' } });
    const viaGateway = await call('GET', `/v1/mcp/${SESSIONS}`, { headers: { Accept: 'text/event-stream' } });
    expect(viaGateway.status).toBe(direct.status);
    expect(await viaGateway.text()).toBe(await direct.text());
  });
});

describe('DELETE: ending a session', () => {
  it('ends the upstream session; later calls on it get exactly what the upstream answers', async () => {
    const session = await openSession(SESSIONS);
    const trace = traceId('delete');
    const del = await call('DELETE', `/v1/mcp/${SESSIONS}`, {
      headers: { ...session.headers, 'X-Igris-Trace-Id': trace },
    });
    expect(del.status).toBe(200);
    const [row] = await auditFor(trace);
    expect(row).toMatchObject({
      action: 'pass',
      method: null,
      mcp_session_id: session.id,
      upstream_status: 200,
    });
    expect(JSON.parse(row!.details!)).toEqual({ http: 'DELETE' });
    const body = { jsonrpc: '2.0', id: 31, method: 'tools/list' };
    const direct = await postDirect('/mcp', body, session.headers);
    const viaGateway = await post(SESSIONS, body, session.headers);
    expect(viaGateway.status).toBe(direct.status);
    expect(viaGateway.status).toBeGreaterThanOrEqual(400);
    expect(await viaGateway.text()).toBe(await direct.text());
  });
});

describe('upstream 4xx answers', () => {
  it('pass through with status and body unchanged (clients negotiate on them)', async () => {
    const body = { jsonrpc: '2.0', id: 41, method: 'tools/list' };
    const direct = await postDirect('/mcp', body);
    const viaGateway = await post(SESSIONS, body);
    expect(direct.status).toBe(400);
    expect(viaGateway.status).toBe(400);
    expect(viaGateway.headers.get('Content-Type')).toBe(direct.headers.get('Content-Type'));
    expect(await viaGateway.text()).toBe(await direct.text());
  });

  it('passes the upstream 406 for a POST that does not accept SSE', async () => {
    const body = { jsonrpc: '2.0', id: 42, method: 'tools/list' };
    const direct = await postDirect('/stateless', body, { Accept: 'application/json' });
    const viaGateway = await post(STATELESS, body, { Accept: 'application/json' });
    expect(direct.status).toBe(406);
    expect(viaGateway.status).toBe(406);
    expect(await viaGateway.text()).toBe(await direct.text());
  });
});

describe('Origin validation (DNS-rebinding protection)', () => {
  const list = { jsonrpc: '2.0', id: 51, method: 'tools/list' };

  it('refuses a browser Origin that is not allowed with 403 and a JSON-RPC error, and audits it', async () => {
    const trace = traceId('origin');
    const res = await post(STATELESS, list, { Origin: 'https://evil.example', 'X-Igris-Trace-Id': trace });
    expect(res.status).toBe(403);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBeNull();
    const body = await json<RpcError>(res);
    expect(body.error.data.code).toBe('origin_forbidden');
    expect(body.id).toBeNull();
    const rows = await auditFor(trace);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ action: 'error', error_code: 'origin_forbidden' });
  });

  it('refuses the literal null origin', async () => {
    expect((await post(STATELESS, list, { Origin: 'null' })).status).toBe(403);
  });

  it('accepts the gateway’s own origin and the connection’s allowedOrigins, with CORS headers', async () => {
    const own = await post(STATELESS, list, { Origin: 'http://gateway.test' });
    expect(own.status).toBe(200);
    expect(own.headers.get('Access-Control-Allow-Origin')).toBe('http://gateway.test');
    await own.text();

    expect((await post(STATELESS, list, { Origin: 'https://app.example.com' })).status).toBe(403);
    await patchSettings(STATELESS, { allowedOrigins: ['https://app.example.com'] });
    try {
      const allowed = await post(STATELESS, list, { Origin: 'https://app.example.com' });
      expect(allowed.status).toBe(200);
      expect(allowed.headers.get('Access-Control-Allow-Origin')).toBe('https://app.example.com');
      expect(allowed.headers.get('Access-Control-Expose-Headers')).toContain('Mcp-Session-Id');
      await allowed.text();
    } finally {
      await patchSettings(STATELESS, { allowedOrigins: [] });
    }
  });

  it('lets requests without an Origin through (non-browser clients)', async () => {
    const res = await post(STATELESS, list);
    expect(res.status).toBe(200);
    await res.text();
  });

  it('answers a CORS preflight without authentication', async () => {
    const res = await call('OPTIONS', `/v1/mcp/${STATELESS}`, {
      key: null,
      headers: {
        Origin: 'https://app.example.com',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization, content-type, mcp-session-id',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('Access-Control-Allow-Headers')).toBe(
      'authorization, content-type, mcp-session-id',
    );
  });
});

describe('body limits and JSON-RPC shape', () => {
  const big = (bytes: number) => ({
    jsonrpc: '2.0',
    id: 61,
    method: 'tools/call',
    params: { name: 'echo', arguments: { message: 'x'.repeat(bytes) } },
  });

  it('refuses a body over the default 1 MB with 413 and a JSON-RPC error', async () => {
    const res = await post(STATELESS, big(1024 * 1024));
    expect(res.status).toBe(413);
    const body = await json<RpcError>(res);
    expect(body.error.code).toBe(-32600);
    expect(body.error.data).toMatchObject({ code: 'payload_too_large', details: { maxBytes: 1024 * 1024 } });
  });

  it('applies the connection’s maxBodyBytes, also to a streamed body without Content-Length', async () => {
    await patchSettings(STATELESS, { maxBodyBytes: 2048 });
    try {
      expect((await post(STATELESS, big(2500))).status).toBe(413);
      const small = await post(STATELESS, big(100));
      expect(small.status).toBe(200);
      await small.text();
      const text = JSON.stringify(big(4000));
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          const bytes = new TextEncoder().encode(text);
          for (let i = 0; i < bytes.length; i += 512) controller.enqueue(bytes.slice(i, i + 512));
          controller.close();
        },
      });
      const res = await exports.default.fetch(
        new Request(`http://gateway.test/v1/mcp/${STATELESS}`, {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${env.ADMIN_API_KEY}`,
            'Content-Type': 'application/json',
            Accept: ACCEPT_BOTH,
          },
          body: stream,
        }),
      );
      expect(res.status).toBe(413);
      expect((await json<RpcError>(res)).error.data.details).toEqual({ maxBytes: 2048 });
    } finally {
      await patchSettings(STATELESS, { maxBodyBytes: 1024 * 1024 });
    }
  });

  it('refuses an empty batch and a batch with a malformed item with -32600 naming the item', async () => {
    const empty = await post(STATELESS, []);
    expect(empty.status).toBe(400);
    expect((await json<RpcError>(empty)).error.code).toBe(-32600);
    const bad = await post(STATELESS, [
      { jsonrpc: '2.0', id: 1, method: 'tools/list' },
      { jsonrpc: '1.0', id: 2 },
    ]);
    expect(bad.status).toBe(400);
    const body = await json<RpcError>(bad);
    expect(body.error.code).toBe(-32600);
    expect(body.error.data.details).toMatchObject({ path: '[1]' });
  });

  it('refuses a non-JSON Content-Type with 415', async () => {
    const res = await call('POST', `/v1/mcp/${STATELESS}`, {
      rawBody: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
      headers: { 'Content-Type': 'text/plain', Accept: ACCEPT_BOTH },
    });
    expect(res.status).toBe(415);
  });

  it('answers other HTTP methods with 405 and Allow, like an MCP server', async () => {
    const res = await call('PUT', `/v1/mcp/${STATELESS}`, { body: {} });
    expect(res.status).toBe(405);
    expect(res.headers.get('Allow')).toContain('POST');
    expect((await json<RpcError>(res)).error.code).toBe(-32600);
    const head = await call('HEAD', `/v1/mcp/${SESSIONS}`);
    expect(head.status).toBe(405);
  });
});

describe('mirrored headers (Mcp-Method / Mcp-Name / MCP-Protocol-Version)', () => {
  const META = {
    'io.modelcontextprotocol/protocolVersion': '2026-07-28',
    'io.modelcontextprotocol/clientCapabilities': {},
  };
  const call2026 = (name: string) => ({
    jsonrpc: '2.0',
    id: 71,
    method: 'tools/call',
    params: { name, arguments: { message: 'm' }, _meta: META },
  });

  it.each([
    [
      'Mcp-Name names another tool',
      { 'MCP-Protocol-Version': '2026-07-28', 'Mcp-Method': 'tools/call', 'Mcp-Name': 'echo' },
      'delete_records',
    ],
    [
      'Mcp-Method names another method',
      { 'MCP-Protocol-Version': '2026-07-28', 'Mcp-Method': 'tools/list', 'Mcp-Name': 'echo' },
      'echo',
    ],
    [
      'the required Mcp-Name is missing',
      { 'MCP-Protocol-Version': '2026-07-28', 'Mcp-Method': 'tools/call' },
      'echo',
    ],
    [
      'the required MCP-Protocol-Version is missing',
      { 'Mcp-Method': 'tools/call', 'Mcp-Name': 'echo' },
      'echo',
    ],
    [
      'MCP-Protocol-Version disagrees with _meta',
      { 'MCP-Protocol-Version': '2025-11-25', 'Mcp-Method': 'tools/call', 'Mcp-Name': 'echo' },
      'echo',
    ],
  ])('refuses with 400 and -32020 when %s, before any decision', async (_label, headers, tool) => {
    const trace = traceId('mismatch');
    const res = await post(STATELESS, call2026(tool), { ...headers, 'X-Igris-Trace-Id': trace });
    expect(res.status).toBe(400);
    const body = await json<RpcError>(res);
    expect(body.id).toBe(71);
    expect(body.error.code).toBe(-32020);
    expect(body.error.message).toMatch(/^Header mismatch: /);
    expect(body.error.data.code).toBe('header_mismatch');
    const rows = await auditFor(trace);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      action: 'error',
      error_code: 'header_mismatch',
      rule_index: null,
      method: 'tools/call',
    });
  });
});
