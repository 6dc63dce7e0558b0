import { env, exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BASE,
  bootstrapDefault,
  call,
  createConnection,
  flushAudit,
  json,
  mcp,
  putPolicy,
  rpcResult,
} from './helpers';

describe('the thinnest real path: POST /v1/mcp/:slug', () => {
  let orgId: string;
  beforeAll(async () => {
    orgId = await bootstrapDefault();
    await createConnection('thin-path', { credential: 'upstream-secret-thin' });
    await putPolicy('thin-path', [{ tool: '*', action: 'allow' }]);
  });

  it('forwards to the real upstream with the credential injected and the ig_ key stripped', async () => {
    const res = await mcp(
      'thin-path',
      'tools/call',
      { name: 'whoami', arguments: {} },
      { headers: { Cookie: 'igris.session_token=abc' } },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('X-Igris-Trace-Id')).toMatch(/^ig_trace_[0-9a-f]{32}$/);
    const body = await rpcResult(res);
    const seen = JSON.parse((body.result!.content as Array<{ text: string }>)[0]!.text) as Record<
      string,
      string
    >;
    expect(seen.authorization).toBe('Bearer upstream-secret-thin');
    expect(JSON.stringify(seen)).not.toContain(env.ADMIN_API_KEY);
    expect(seen.cookie).toBeUndefined();
  });

  it('writes one audit row per call, with identity and trace id', async () => {
    const res = await mcp(
      'thin-path',
      'tools/call',
      { name: 'echo', arguments: { message: 'hi' } },
      {
        headers: {
          'X-Igris-User': 'alice@example.com',
          'X-Igris-Trace-Id': 'req_thin_1',
          'X-Igris-Metadata': '{"role":"dev"}',
        },
      },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('X-Igris-Trace-Id')).toBe('req_thin_1');
    await res.text();
    await flushAudit();
    const rows = await env.DB.prepare("SELECT * FROM audit_events WHERE trace_id = 'req_thin_1'").all<
      Record<string, unknown>
    >();
    expect(rows.results).toHaveLength(1);
    const row = rows.results[0]!;
    expect(row).toMatchObject({
      org_id: orgId,
      type: 'tool_call',
      tool: 'echo',
      action: 'allow',
      user: 'alice@example.com',
      rule_index: 0,
    });
    expect(JSON.parse(row.metadata as string)).toEqual({ role: 'dev' });
  });

  it.each([
    ['no key', null, 401],
    ['a wrong key', 'ig_this_key_does_not_exist_0000000000', 401],
  ])('refuses %s with 401, a JSON-RPC error, and audits only the refusal', async (_label, key, status) => {
    const before = await env.DB.prepare('SELECT count(*) AS n FROM connections').first<{ n: number }>();
    const res = await mcp(
      'thin-path',
      'tools/call',
      { name: 'echo', arguments: { message: 'x' } },
      {
        key,
        headers: {
          'X-Igris-Trace-Id': `refused_${status}_${key ? 'wrong' : 'none'}`,
          // Refusals before authentication are one row per source and minute (refusal.bursts.ts):
          // each case comes from its own address so each has its own row.
          'CF-Connecting-IP': key ? '192.0.2.10' : '192.0.2.11',
        },
      },
    );
    expect(res.status).toBe(status);
    expect(res.headers.get('WWW-Authenticate')).toMatch(/^Bearer/);
    const body = await json<{ error: { code: number; data: { code: string } } }>(res);
    expect(body.error.data.code).toBe('unauthorized');
    await flushAudit();
    const rows = await env.DB.prepare(
      'SELECT action, error_code, org_id FROM audit_events WHERE trace_id = ?',
    )
      .bind(`refused_${status}_${key ? 'wrong' : 'none'}`)
      .all();
    expect(rows.results).toEqual([{ action: 'unauthenticated', error_code: 'unauthorized', org_id: null }]);
    const after = await env.DB.prepare('SELECT count(*) AS n FROM connections').first<{ n: number }>();
    expect(after).toEqual(before);
  });

  it('refuses an unknown slug with 404', async () => {
    const res = await mcp('no-such-connection', 'tools/list');
    expect(res.status).toBe(404);
    expect((await json<{ error: { data: { code: string } } }>(res)).error.data.code).toBe('not_found');
  });

  it('refuses malformed JSON with -32700 and a non-JSON-RPC body with -32600', async () => {
    const bad = await call('POST', '/v1/mcp/thin-path', {
      rawBody: '{"jsonrpc": "2.0", "method": ',
      headers: { Accept: 'application/json, text/event-stream' },
    });
    expect(bad.status).toBe(400);
    expect((await json<{ error: { code: number } }>(bad)).error.code).toBe(-32700);
    const notRpc = await call('POST', '/v1/mcp/thin-path', {
      body: { hello: 'world' },
      headers: { Accept: 'application/json, text/event-stream' },
    });
    expect(notRpc.status).toBe(400);
    expect((await json<{ error: { code: number } }>(notRpc)).error.code).toBe(-32600);
  });

  it('decodes each body on its own: a body cut inside a UTF-8 sequence leaves nothing behind for the next', async () => {
    const headers = {
      Authorization: `Bearer ${env.ADMIN_API_KEY}`,
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
    };
    const send = (body: Uint8Array) =>
      exports.default.fetch(new Request(`${BASE}/v1/mcp/thin-path`, { method: 'POST', headers, body }));
    // `{"jsonrpc":"2.0","id":"` then the first two bytes of "€" (e2 82 ac).
    const cut = new Uint8Array([...new TextEncoder().encode('{"jsonrpc":"2.0","id":"'), 0xe2, 0x82]);
    const bad = await send(cut);
    expect(bad.status).toBe(400);
    expect((await json<{ error: { code: number } }>(bad)).error.code).toBe(-32700);
    const good = await send(
      new TextEncoder().encode(
        JSON.stringify({
          jsonrpc: '2.0',
          id: 'utf8-€',
          method: 'tools/call',
          params: { name: 'echo', arguments: { message: '€uro' } },
        }),
      ),
    );
    expect(good.status).toBe(200);
    const body = await rpcResult(good);
    expect((body as { id?: unknown }).id).toBe('utf8-€');
    expect(JSON.stringify(body.result)).toContain('€uro');
  });
});
