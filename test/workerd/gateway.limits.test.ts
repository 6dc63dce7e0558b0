/**
 * Issue 12, items 6 and 7: what an outsider or a careless caller can make the gateway spend.
 * Name, slug, nesting and batch caps refuse before matching, D1 or per-message audit work, and
 * refusals before authentication are one audit row per source and minute, with a count.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { bootstrapDefault, call, createConnection, flushAudit, json, putPolicy } from './helpers';

const SLUG = 'limits-conn';
const ACCEPT = { Accept: 'application/json, text/event-stream' };

type RpcError = { error: { code: number; message: string; data: { code: string; details?: unknown } } };

async function rowsByTrace(traceIds: string[]) {
  await flushAudit();
  const marks = traceIds.map(() => '?').join(', ');
  const rows = await env.DB.prepare(
    `SELECT trace_id, action, error_code, tool, connection_slug, details FROM audit_events WHERE trace_id IN (${marks})`,
  )
    .bind(...traceIds)
    .all<{
      trace_id: string;
      action: string;
      error_code: string | null;
      tool: string | null;
      connection_slug: string | null;
      details: string | null;
    }>();
  return rows.results;
}

function post(body: string, headers: Record<string, string> = {}, slug = SLUG, key?: string | null) {
  return call('POST', `/v1/mcp/${slug}`, { rawBody: body, key, headers: { ...ACCEPT, ...headers } });
}

beforeAll(async () => {
  await bootstrapDefault();
  await createConnection(SLUG);
  await putPolicy(SLUG, [{ tool: '*', action: 'allow' }]);
});

describe('governed-name cap (item 6)', () => {
  it.each([
    ['513 bytes', 'a'.repeat(513)],
    ['1,000,000 characters (under the 1 MiB body cap)', 'a'.repeat(1_000_000)],
    ['257 two-byte characters', 'é'.repeat(257)],
  ])(
    'refuses a tool name of %s with 400 before matching, and audits it without the name',
    async (label, name) => {
      const traceId = `limits_name_${label.replace(/\W/g, '_')}`;
      const res = await post(
        JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: {} } }),
        { 'X-Igris-Trace-Id': traceId },
      );
      expect(res.status).toBe(400);
      const body = await json<RpcError>(res);
      expect(body.error.code).toBe(-32602);
      expect(body.error.data.code).toBe('validation_failed');
      expect(body.error.message).toContain('longer than 512 bytes');
      const rows = await rowsByTrace([traceId]);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ action: 'error', error_code: 'validation_failed', tool: null });
    },
  );

  it('still forwards a name of exactly 512 bytes (decided by the policy as usual)', async () => {
    const res = await post(
      JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'x'.repeat(512) } }),
    );
    expect(res.status).toBe(200); // the upstream answers "unknown tool"; the gateway let it through
    await res.text();
  });
});

describe('slug cap (item 6)', () => {
  it('answers an over-long slug 404 before authentication, D1 or audit', async () => {
    const slug = 'a'.repeat(12_000);
    for (const key of [undefined, null, 'ig_unknown_key_000000000000000000000000']) {
      const traceId = `limits_slug_${String(key)}`;
      const res = await post('{}', { 'X-Igris-Trace-Id': traceId }, slug, key);
      expect(res.status).toBe(404);
      const body = await json<RpcError>(res);
      expect(body.error.data.code).toBe('not_found');
      expect(body.error.message).toContain('at most 64 characters');
      expect(res.headers.get('X-Igris-Trace-Id')).toBe(traceId);
      expect(await rowsByTrace([traceId])).toEqual([]);
    }
  });

  it('keeps answering a 64-character slug as usual (not found, audited)', async () => {
    const res = await post('{}', { 'X-Igris-Trace-Id': 'limits_slug_64' }, 'b'.repeat(64));
    expect(res.status).toBe(404);
    expect(await rowsByTrace(['limits_slug_64'])).toHaveLength(1);
  });
});

describe('JSON nesting cap (item 6)', () => {
  const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

  it('refuses a body nested deeper than 64 levels with -32600 / 400', async () => {
    // Depth 1 (the message) + 2 (params) + 62 → 65.
    const args = `{"a":${nested(62)}}`;
    const res = await post(
      `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":${args}}}`,
    );
    expect(res.status).toBe(400);
    const body = await json<RpcError>(res);
    expect(body.error.code).toBe(-32600);
    expect(body.error.message).toContain('nested deeper than 64');
  });

  it('refuses a million open brackets without parsing them', async () => {
    const res = await post(nested(1_000_000).slice(0, 1_000_000));
    expect(res.status).toBe(400);
    expect((await json<RpcError>(res)).error.code).toBe(-32600);
  });

  it('accepts nesting of exactly 64 levels, and brackets inside strings do not count', async () => {
    const args = `{"a":${nested(61)},"s":"${'['.repeat(500)}"}`;
    const res = await post(
      `{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo","arguments":${args}}}`,
    );
    expect(res.status).toBe(200);
    await res.text();
  });
});

describe('batch cap (item 7b)', () => {
  const notifications = (n: number) =>
    JSON.stringify(
      Array.from({ length: n }, () => ({ jsonrpc: '2.0', method: 'notifications/progress', params: {} })),
    );

  it('refuses a batch over the default 100 messages whole, with ONE audit row', async () => {
    const res = await post(notifications(6000), { 'X-Igris-Trace-Id': 'limits_batch_6000' });
    expect(res.status).toBe(400);
    const body = await json<RpcError>(res);
    expect(body.error.code).toBe(-32600);
    expect(body.error.message).toContain('6000 messages');
    expect(body.error.data.details).toMatchObject({ messages: 6000, maxBatchMessages: 100 });
    const rows = await rowsByTrace(['limits_batch_6000']);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ action: 'error', error_code: 'invalid_request' });
  });

  it('follows the connection setting maxBatchMessages', async () => {
    const patched = await call('PATCH', `/api/v1/connections/${SLUG}`, {
      body: { settings: { maxBatchMessages: 2 } },
    });
    expect(patched.status).toBe(200);
    expect((await json<{ settings: { maxBatchMessages: number } }>(patched)).settings.maxBatchMessages).toBe(
      2,
    );
    const refused = await post(notifications(3));
    expect(refused.status).toBe(400);
    expect((await json<RpcError>(refused)).error.data.details).toMatchObject({ maxBatchMessages: 2 });
    const accepted = await post(notifications(2));
    expect(accepted.status).toBe(202);
    await accepted.text();
    await call('PATCH', `/api/v1/connections/${SLUG}`, { body: { settings: { maxBatchMessages: 100 } } });
  });

  it.each([
    [{ maxBatchMessages: 1001 }, 'settings.maxBatchMessages'],
    [{ maxBatchMessages: 0 }, 'settings.maxBatchMessages'],
    [{ maxBodyBytes: 10 * 1024 * 1024 + 1 }, 'settings.maxBodyBytes'],
  ])('refuses settings %j on save (hard maximum)', async (settings, path) => {
    const res = await call('PATCH', `/api/v1/connections/${SLUG}`, { body: { settings } });
    expect(res.status).toBe(400);
    const body = await json<{ error: { details: { issues: Array<{ path: string }> } } }>(res);
    expect(body.error.details.issues.map((i) => i.path)).toContain(path);
  });
});

describe('refusals before authentication are aggregated (item 7a)', () => {
  it('writes one audit row per source per minute, with the count', async () => {
    const traceIds: string[] = [];
    for (let i = 0; i < 7; i++) {
      const traceId = `limits_burst_a_${i}`;
      traceIds.push(traceId);
      const res = await post(
        '{}',
        { 'X-Igris-Trace-Id': traceId, 'CF-Connecting-IP': '203.0.113.7' },
        SLUG,
        i % 2 ? null : 'ig_unknown_key_000000000000000000000000',
      );
      expect(res.status).toBe(401);
      await res.text();
    }
    const other = await post(
      '{}',
      { 'X-Igris-Trace-Id': 'limits_burst_b_0', 'CF-Connecting-IP': '198.51.100.9' },
      SLUG,
      null,
    );
    expect(other.status).toBe(401);
    await other.text();

    const rows = await rowsByTrace([...traceIds, 'limits_burst_b_0']);
    // The minute may roll over mid-test: then source A has two bursts whose counts add up to 7.
    const a = rows.filter((r) => JSON.parse(r.details!).source === '203.0.113.7');
    const b = rows.filter((r) => JSON.parse(r.details!).source === '198.51.100.9');
    expect(a.length).toBeGreaterThanOrEqual(1);
    expect(a.length).toBeLessThanOrEqual(2);
    expect(a.reduce((sum, r) => sum + (JSON.parse(r.details!).count as number), 0)).toBe(7);
    expect(a[0]).toMatchObject({
      action: 'unauthenticated',
      error_code: 'unauthorized',
      connection_slug: SLUG,
    });
    expect(b).toHaveLength(1);
    expect(JSON.parse(b[0]!.details!)).toMatchObject({ count: 1, windowSeconds: 60 });
  });
});

describe('Mcp-Session-Id cap', () => {
  const sessionOf = async (traceId: string) => {
    await flushAudit();
    return env.DB.prepare('SELECT action, error_code, mcp_session_id FROM audit_events WHERE trace_id = ?')
      .bind(traceId)
      .all<{ action: string; error_code: string | null; mcp_session_id: string | null }>();
  };
  const ping = JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'ping' });

  it.each([
    ['60,000 characters', 'a'.repeat(60_000)],
    ['257 characters', 's'.repeat(257)],
    ['a space inside', 'session one'],
  ])('refuses a header of %s with 400 before the body is read, audited without it', async (label, id) => {
    const traceId = `limits_session_${label.replace(/\W/g, '_')}`;
    // An unparsable body: the header is judged first (a parse error would answer -32700).
    const res = await post('{', { 'X-Igris-Trace-Id': traceId, 'Mcp-Session-Id': id });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).not.toContain(id);
    const body = JSON.parse(text) as RpcError;
    expect(body.error).toEqual({
      code: -32600,
      message: 'Invalid Mcp-Session-Id header: at most 256 visible ASCII characters (0x21-0x7E)',
      data: {
        code: 'bad_request',
        traceId,
        details: { location: 'header', path: 'Mcp-Session-Id' },
      },
    });
    expect((await sessionOf(traceId)).results).toEqual([
      { action: 'error', error_code: 'bad_request', mcp_session_id: null },
    ]);
  });

  it('keeps a 256-character id: forwarded and recorded whole', async () => {
    const id = `${'s'.repeat(255)}~`;
    const res = await post(ping, { 'X-Igris-Trace-Id': 'limits_session_256', 'Mcp-Session-Id': id });
    expect(res.status).toBe(200);
    await res.text();
    expect((await sessionOf('limits_session_256')).results).toEqual([
      { action: 'pass', error_code: null, mcp_session_id: id },
    ]);
  });
});
