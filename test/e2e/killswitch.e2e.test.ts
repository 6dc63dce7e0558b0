/**
 * End to end through the local runtime: the kill switch ends in-flight streams (a standalone GET
 * stream and a long progress call made with the official MCP SDK client), refuses new calls with
 * 503 "Session Suspended" without reaching the upstream, and lifts; a suspended session answers 503
 * at once and resumes.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type RunningUpstream, startUpstream } from '../../scripts/demo-mcp-server.ts';
import { adminKey, api, connectClient, ensureConnection, gatewayUrl, setPolicy } from './helpers.ts';

const USER = 'kill-e2e@example.com';
const PROTOCOL = '2025-06-18';

/** A raw legacy session (initialize + initialized) on a connection, for a hand-held GET stream. */
async function rawSession(slug: string): Promise<Record<string, string>> {
  const url = `${gatewayUrl()}/v1/mcp/${slug}`;
  const headers = {
    Authorization: `Bearer ${adminKey()}`,
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    'X-Igris-User': USER,
  };
  const init = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'raw', version: '1.0.0' } },
    }),
  });
  expect(init.status).toBe(200);
  await init.text();
  const session = {
    ...headers,
    'Mcp-Session-Id': init.headers.get('mcp-session-id')!,
    'MCP-Protocol-Version': PROTOCOL,
  };
  const initialized = await fetch(url, {
    method: 'POST',
    headers: session,
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  expect(initialized.status).toBe(202);
  return session;
}

/** Reads a stream to its end (returns only if the stream ends). */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  for (;;) {
    const { done } = await reader.read();
    if (done) return;
  }
}

/** Reads until `pattern` appears in the stream (the rest stays unread). */
async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, pattern: string): Promise<void> {
  const decoder = new TextDecoder();
  let text = '';
  while (!text.includes(pattern)) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`stream ended before ${pattern}: ${text}`);
    text += decoder.decode(value, { stream: true });
  }
}

describe('kill switch, end to end', () => {
  let upstream: RunningUpstream;
  const demo = 'e2e-kill-demo';
  const long = 'e2e-kill-long';

  beforeAll(async () => {
    // Our own upstream in this process, so the test can see every request that reaches it.
    upstream = await startUpstream({ name: 'kill-e2e-upstream' });
    await ensureConnection(demo, `${upstream.url}/mcp`, null);
    await ensureConnection(long, `${inject('everythingUrl')}/mcp`, null);
    await setPolicy(demo, [{ tool: '*', action: 'allow' }]);
    await setPolicy(long, [{ tool: '*', action: 'allow' }]);
  });

  afterAll(async () => {
    // Never leave a switch behind for the other test files.
    const active = await api<{ killSwitches: Array<{ id: string; target: string }> }>(
      'GET',
      '/kill-switch?status=active',
    );
    for (const ks of active.body.killSwitches) await api('DELETE', `/kill-switch/${ks.id}`);
    await upstream?.close();
  });

  it('ends an open GET stream and a long progress call, refuses new calls upstream-free, then lifts', async () => {
    // 1. A standalone GET stream, proven live by a server notification arriving on it.
    const session = await rawSession(demo);
    const url = `${gatewayUrl()}/v1/mcp/${demo}`;
    const stream = await fetch(url, {
      method: 'GET',
      headers: { ...session, Accept: 'text/event-stream' },
    });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    const reader = stream.body!.getReader();
    const notify = await fetch(url, {
      method: 'POST',
      headers: session,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: { name: 'notify_later', arguments: {} },
      }),
    });
    expect(notify.status).toBe(200);
    await notify.text();
    await readUntil(reader, 'hello from the server stream');

    // 2. A long-running call (30 s, a progress notification a second) with the official client.
    const { client } = await connectClient(long, { 'X-Igris-User': USER });
    let progressed!: () => void;
    const firstProgress = new Promise<void>((resolve) => {
      progressed = resolve;
    });
    const longCall = client
      .callTool(
        { name: 'trigger-long-running-operation', arguments: { duration: 30, steps: 30 } },
        undefined,
        {
          onprogress: () => progressed(),
          timeout: 60_000,
        },
      )
      .then(
        (result) => ({ result, error: null }),
        (error: unknown) => ({ result: null, error: error as Error & { code?: number } }),
      );
    await firstProgress;

    // 3. Pull the switch for this user: both are in flight.
    const pulled = await api<{ id: string }>('POST', '/kill-switch', {
      scope: 'user',
      target: USER,
      reason: 'e2e',
    });
    expect(pulled.status).toBe(201);
    const requestsBefore = upstream.requests.length;

    // The GET stream ends (read to its end: this would hang if it stayed open).
    await drain(reader);
    // The long call ends with the gateway's JSON-RPC error instead of its result.
    const outcome = await longCall;
    expect(outcome.result).toBeNull();
    expect(outcome.error?.code).toBe(-32010);
    expect(outcome.error?.message).toContain('Session Suspended');
    await client.close();

    // 4. New calls from that user are refused with 503 and never reach the upstream.
    const refused = await fetch(url, {
      method: 'POST',
      headers: session,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 3,
        method: 'tools/call',
        params: { name: 'echo', arguments: { message: 'x' } },
      }),
    });
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ error: { code: -32010, message: 'Session Suspended' } });
    const reconnect = await fetch(url, {
      method: 'GET',
      headers: { ...session, Accept: 'text/event-stream' },
    });
    expect(reconnect.status).toBe(503);
    await reconnect.text();
    expect(upstream.requests.slice(requestsBefore)).toEqual([]);
    // Another user is not held.
    const other = await connectClient(demo, { 'X-Igris-User': 'someone-else@example.com' });
    expect((await other.client.callTool({ name: 'echo', arguments: { message: 'ok' } })).content).toEqual([
      { type: 'text', text: 'ok' },
    ]);
    await other.client.close();

    // 5. Lifted: the user's calls go through again.
    expect((await api('DELETE', `/kill-switch/${pulled.body.id}`)).status).toBe(200);
    const again = await connectClient(demo, { 'X-Igris-User': USER });
    expect((await again.client.callTool({ name: 'echo', arguments: { message: 'back' } })).content).toEqual([
      { type: 'text', text: 'back' },
    ]);
    await again.client.close();
  });

  it('ends a silent call (nothing streamed yet) with the last words, and hands a short answer over whole', async () => {
    const user = 'kill-e2e-silent@example.com';
    const url = `${gatewayUrl()}/v1/mcp/${demo}`;
    const session = { ...(await rawSession(demo)), 'X-Igris-User': user };
    // No progress token: the upstream says nothing for 30 s. The gateway stops waiting for a short
    // answer after 200 ms and relays the stream from its outstanding read (killswitch.handover.ts).
    const silent = await fetch(url, {
      method: 'POST',
      headers: session,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 8,
        method: 'tools/call',
        params: { name: 'progress', arguments: { steps: 30, stepMs: 1_000 } },
      }),
    });
    expect(silent.status).toBe(200);
    expect(silent.headers.get('content-type')).toContain('text/event-stream');
    const reading = silent.text();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const pulled = await api<{ id: string }>('POST', '/kill-switch', {
      scope: 'user',
      target: user,
      reason: 'e2e',
    });
    expect(pulled.status).toBe(201);
    const answeredAt = Date.now();
    // The stream ends with the gateway's JSON-RPC error for request 8, not the tool's answer, and
    // at once: not when the upstream next says something (its keepalive comes every 15 s).
    const text = await reading;
    expect(Date.now() - answeredAt).toBeLessThan(8_000);
    expect(text).not.toContain('done after');
    const last = JSON.parse(
      text
        .trim()
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .at(-1)!
        .slice(6),
    );
    expect(last).toMatchObject({ id: 8, error: { code: -32010, message: 'Session Suspended' } });
    expect((await api('DELETE', `/kill-switch/${pulled.body.id}`)).status).toBe(200);

    // A short streamed answer (one event, then the end) arrives whole: a fixed-length body, not
    // a relayed stream.
    const echo = await fetch(url, {
      method: 'POST',
      headers: session,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 9,
        method: 'tools/call',
        params: { name: 'echo', arguments: { message: 'whole' } },
      }),
    });
    expect(echo.headers.get('content-type')).toContain('text/event-stream');
    const whole = await echo.text();
    expect(echo.headers.get('content-length')).toBe(String(new TextEncoder().encode(whole).byteLength));
    expect(whole).toContain('"id":9');
    expect(whole).toContain('whole');
  });

  it('a suspended session answers 503 as soon as the API has answered, and resumes', async () => {
    const connection = await api<{ id: string }>('GET', `/connections/${demo}`);
    const sessionId = `ses_${connection.body.id.replace(/^con_/, '')}`;
    const { client } = await connectClient(demo);
    await client.callTool({ name: 'echo', arguments: { message: 'before' } });

    const suspended = await api<{ status: string }>('POST', `/sessions/${sessionId}/suspend`, {
      reason: 'e2e',
    });
    expect(suspended).toMatchObject({ status: 200, body: { status: 'suspended' } });
    // The SDK reports the HTTP status as the error code, with our JSON-RPC error as the message.
    const refused = await client
      .callTool({ name: 'echo', arguments: { message: 'during' } })
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 503, message: expect.stringContaining('Session Suspended') });

    const resumed = await api<{ status: string }>('POST', `/sessions/${sessionId}/resume`);
    expect(resumed).toMatchObject({ status: 200, body: { status: 'active' } });
    const fresh = await connectClient(demo);
    expect((await fresh.client.callTool({ name: 'echo', arguments: { message: 'after' } })).content).toEqual([
      { type: 'text', text: 'after' },
    ]);
    await fresh.client.close();
    await client.close().catch(() => {});

    const session = await api<{ callCount: number; status: string }>('GET', `/sessions/${sessionId}`);
    expect(session.body).toMatchObject({ status: 'active' });
    expect(session.body.callCount).toBeGreaterThan(0);
  });
});
