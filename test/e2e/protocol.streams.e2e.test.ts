/**
 * Transparency end to end, streams: a GET stream whose headers come late is not cut by the header
 * timeout, a tool call's SSE stream cut and resumed with Last-Event-ID (a v1 SDK server with an
 * event store, started here: protocol.servers.ts) behaves the same direct and through the gateway,
 * and Origin validation with a real client. Set-up in protocol.fixtures.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, ensureConnection, setPolicy } from './helpers.ts';
import {
  ACCEPT,
  auth,
  DEMO,
  demoUrl,
  modern,
  RESUMABLE,
  resumable,
  routes,
  setUpProtocol,
  v1Client,
  viaGateway,
} from './protocol.fixtures.ts';
import { startResumableServer } from './protocol.servers.ts';

beforeAll(setUpProtocol);

afterAll(async () => {
  await modern?.close();
  await resumable?.close();
});

describe('the GET stream is not subject to the header timeout', () => {
  it('keeps a GET stream whose headers come after the connection’s 1 s header timeout', async () => {
    // Some servers send a GET stream's headers only with its first event or keep-alive
    // (server-everything has been seen to take ~15 s); this one holds them back 2.5 s.
    const slowGet = await startResumableServer({ getHeadersDelayMs: 2500 });
    try {
      const slug = 'proto-slow-get';
      await ensureConnection(slug, slowGet.url, 'x');
      expect(
        (await api('PATCH', `/connections/${slug}`, { settings: { upstreamTimeoutMs: 1000 } })).status,
      ).toBe(200);
      const url = viaGateway(slug);
      const post = (body: unknown, extra: Record<string, string> = {}) =>
        fetch(url, {
          method: 'POST',
          headers: { ...auth(), Accept: ACCEPT, 'Content-Type': 'application/json', ...extra },
          body: JSON.stringify(body),
        });
      const init = await post({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: {
          protocolVersion: '2025-11-25',
          capabilities: {},
          clientInfo: { name: 'get', version: '1' },
        },
      });
      expect(init.status).toBe(200);
      const session = {
        'Mcp-Session-Id': init.headers.get('Mcp-Session-Id')!,
        'MCP-Protocol-Version': '2025-11-25',
      };
      await init.text();
      expect((await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, session)).status).toBe(202);
      const stream = await fetch(url, { headers: { ...auth(), ...session, Accept: 'text/event-stream' } });
      expect(stream.status).toBe(200);
      expect(stream.headers.get('Content-Type')).toMatch(/^text\/event-stream/);
      await stream.body?.cancel();
    } finally {
      await slowGet.close();
    }
  });
});

describe('resumption with Last-Event-ID', () => {
  /** Cuts a tool call's SSE stream after its first progress event, then resumes it with GET. */
  async function cutAndResume(url: string, headers: Record<string, string>) {
    const post = (body: unknown, extra: Record<string, string> = {}, signal?: AbortSignal) =>
      fetch(url, {
        method: 'POST',
        headers: { ...headers, Accept: ACCEPT, 'Content-Type': 'application/json', ...extra },
        body: JSON.stringify(body),
        signal,
      });
    const init = await post({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: {
        protocolVersion: '2025-11-25',
        capabilities: {},
        clientInfo: { name: 'resume', version: '1' },
      },
    });
    const session = {
      'Mcp-Session-Id': init.headers.get('Mcp-Session-Id')!,
      'MCP-Protocol-Version': '2025-11-25',
    };
    await init.text();
    expect((await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, session)).status).toBe(202);

    const cut = new AbortController();
    const call = await post(
      {
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'slow', arguments: { steps: 4, delayMs: 150 }, _meta: { progressToken: 'resume' } },
      },
      session,
      cut.signal,
    );
    const first = new EventReader(call);
    let lastId: string | null = null;
    const before: unknown[] = [];
    for (let e = await first.next(); e; e = await first.next()) {
      if (e.id) lastId = e.id;
      if (e.data) {
        before.push(JSON.parse(e.data));
        break;
      }
    }
    cut.abort();

    const resumed = await fetch(url, {
      method: 'GET',
      headers: { ...headers, ...session, Accept: 'text/event-stream', 'Last-Event-ID': lastId! },
    });
    const after: unknown[] = [];
    const rest = new EventReader(resumed);
    for (let e = await rest.next(); e; e = await rest.next()) {
      if (!e.data) continue;
      const message = JSON.parse(e.data) as { id?: unknown };
      after.push(message);
      if (message.id === 7) break;
    }
    await rest.cancel();
    return { status: resumed.status, before, after };
  }

  it('replays the rest of a cut stream through the gateway exactly as directly', async () => {
    const results = [];
    for (const route of routes(resumable.url, RESUMABLE))
      results.push(await cutAndResume(route.url, route.headers));
    const [direct, gateway] = results;
    const progressOf = (r: typeof direct) =>
      [...r!.before, ...r!.after]
        .filter((m) => (m as { method?: string }).method === 'notifications/progress')
        .map((m) => (m as { params: { progress: number } }).params.progress);
    for (const r of [direct, gateway]) {
      expect(r!.status).toBe(200);
      expect(progressOf(r)).toEqual([1, 2, 3, 4]);
      expect(r!.after.at(-1)).toEqual({
        jsonrpc: '2.0',
        id: 7,
        result: { content: [{ type: 'text', text: 'done after 4 steps' }] },
      });
    }
    const resumedGet = resumable.requests.filter((r) => r.method === 'GET' && r.headers.authorization);
    expect(resumedGet.at(-1)!.headers['last-event-id']).toEqual(expect.any(String));
    expect(resumedGet.at(-1)!.headers.authorization).toBe('Bearer proto-resumable-credential');
  });
});

describe('Origin validation with a real client', () => {
  it('refuses a browser origin the connection does not allow (403) and accepts one it does', async () => {
    const evil = await v1Client(viaGateway(DEMO), { ...auth(), Origin: 'https://evil.example' });
    // The SDK's StreamableHTTPError carries the HTTP status as `code`.
    await expect(evil.client.connect(evil.transport)).rejects.toMatchObject({
      code: 403,
      message: expect.stringContaining('origin_forbidden'),
    });

    await ensureConnection('proto-origin', demoUrl(), 'x');
    await setPolicy('proto-origin', [{ tool: '*', action: 'allow' }]);
    const patched = await api('PATCH', '/connections/proto-origin', {
      settings: { allowedOrigins: ['https://app.example.com'] },
    });
    expect(patched.status).toBe(200);
    const allowed = await v1Client(viaGateway('proto-origin'), {
      ...auth(),
      Origin: 'https://app.example.com',
    });
    await allowed.client.connect(allowed.transport);
    expect(await allowed.client.callTool({ name: 'echo', arguments: { message: 'from a page' } })).toEqual({
      content: [{ type: 'text', text: 'from a page' }],
    });
    await allowed.transport.terminateSession();
    await allowed.client.close();
  });
});

/** A minimal SSE reader for raw fetch responses (independent of the gateway's parser). */
class EventReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #decoder = new TextDecoder();
  #buffer = '';
  constructor(res: Response) {
    this.#reader = res.body!.getReader();
  }
  async next(): Promise<{ id: string | null; data: string } | null> {
    for (;;) {
      const end = this.#buffer.search(/\r?\n\r?\n/);
      if (end !== -1) {
        const block = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end).replace(/^\r?\n\r?\n/, '');
        const lines = block.split(/\r?\n/);
        const id =
          lines
            .find((l) => l.startsWith('id:'))
            ?.slice(3)
            .trim() ?? null;
        const data = lines
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trim())
          .join('\n');
        return { id, data };
      }
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await this.#reader.read();
      } catch {
        return null; // aborted
      }
      if (chunk.done) return null;
      this.#buffer += this.#decoder.decode(chunk.value, { stream: true });
    }
  }
  async cancel() {
    await this.#reader.cancel().catch(() => {});
  }
}
