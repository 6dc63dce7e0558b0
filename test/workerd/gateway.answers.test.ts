/**
 * What an upstream cannot do to the gateway's response stages (workers/gateway/gateway.rewrite.ts),
 * against a real local upstream answering hand-written bytes (scripts/demo-mcp-hostile.ts):
 * step around them (a 203, \u-escaped keys, a list on the GET stream), or make the gateway buffer
 * one message without bound (a message over MAX_ANSWER_MESSAGE_BYTES is refused, typed, and
 * recorded on the audit row).
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { HOSTILE_AWS_KEY } from '../../scripts/demo-mcp-hostile';
import { MAX_ANSWER_MESSAGE_BYTES } from '../../workers/gateway/gateway.rewrite';
import { ACCEPT_BOTH, type AuditRow, auditFor, messages, post, SseReader, traceId } from './gateway.fixtures';
import { bootstrapDefault, call, createConnection, json, putPolicy } from './helpers';

const RUN = Date.now().toString(36);
const slug = (kind: string) => `ans-${kind}-${RUN}`;
const OVER = MAX_ANSWER_MESSAGE_BYTES + 1024;
const UNDER = 1024 * 1024;

const CONNECTIONS: Array<[string, string]> = [
  ['s203', '/hostile/status-203'],
  ['esc-list', '/hostile/escaped-list'],
  ['get-list', '/hostile/get-list'],
  ['big-sse', `/hostile/big-sse?bytes=${OVER}`],
  ['fit-sse', `/hostile/big-sse?bytes=${UNDER}`],
  ['big-json', `/hostile/big-json?bytes=${OVER}`],
  ['big-chunked', `/hostile/big-chunked?bytes=${OVER}`],
];

beforeAll(async () => {
  await bootstrapDefault();
  for (const [kind, path] of CONNECTIONS) {
    await createConnection(slug(kind), { upstreamPath: path });
    // delete_records is denied (no rule allows it): the list filter must hide it.
    await putPolicy(slug(kind), [{ tool: 'echo', action: 'allow' }]);
  }
  const res = await call('POST', '/api/v1/connections', {
    body: {
      slug: slug('esc-result'),
      name: slug('esc-result'),
      upstreamUrl: `${env.UPSTREAM_URL}/hostile/escaped-result`,
      authType: 'none',
      settings: { inspection: { packs: ['mcp-advanced-security'] } },
    },
  });
  expect(res.status, await res.clone().text()).toBe(201);
  await putPolicy(slug('esc-result'), [{ tool: '*', action: 'allow' }]);
});

const toolsList = (id: number) => ({ jsonrpc: '2.0', id, method: 'tools/list', params: {} });
const toolNames = (message: Record<string, unknown> | undefined) =>
  ((message?.result as { tools?: Array<{ name: string }> } | undefined)?.tools ?? []).map((t) => t.name);

/** The row of a trace once its error code is there (a stream's cut is patched in after its headers). */
async function rowWithError(trace: string): Promise<AuditRow | undefined> {
  for (let i = 0; i < 50; i++) {
    const [row] = await auditFor(trace);
    if (row?.error_code) return row;
    await new Promise((r) => setTimeout(r, 100));
  }
  return (await auditFor(trace))[0];
}

/** The tools integrity recorded for a connection, once there are `count` (recorded after the answer). */
async function inventoryNames(connection: string, count: number): Promise<string[]> {
  let names: string[] = [];
  for (let i = 0; i < 50 && names.length < count; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 100));
    const res = await call('GET', `/api/v1/connections/${connection}/tools`);
    expect(res.status).toBe(200);
    names = (await json<{ items: Array<{ name: string }> }>(res)).items.map((item) => item.name).sort();
  }
  return names;
}

describe('the response stages cannot be stepped around', () => {
  it('filter a list answered with 203 (any 2xx is read by clients)', async () => {
    const res = await post(slug('s203'), toolsList(1));
    expect(res.status).toBe(203);
    const [answer] = await messages(res);
    expect(answer).toMatchObject({ jsonrpc: '2.0', id: 1 });
    expect(toolNames(answer)).toEqual(['echo']);
  });

  it('filter an SSE list whose keys are \\u-escaped ("\\u0069d", "t\\u006fols")', async () => {
    const res = await post(slug('esc-list'), toolsList(2));
    expect(res.headers.get('Content-Type')).toMatch(/^text\/event-stream/);
    const [answer] = await messages(res);
    expect(answer).toMatchObject({ jsonrpc: '2.0', id: 2 });
    expect(toolNames(answer)).toEqual(['echo']);
    // Tool integrity saw the whole list (before the per-caller filter) and fingerprinted both.
    expect(await inventoryNames(slug('esc-list'), 2)).toEqual(['delete_records', 'echo']);
  });

  it('mask a secret in an SSE tool result whose "result" key is \\u-escaped', async () => {
    const res = await post(slug('esc-result'), {
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/call',
      params: { name: 'echo', arguments: { message: 'hi' } },
    });
    const text = await res.clone().text();
    expect(text).not.toContain(HOSTILE_AWS_KEY);
    const [answer] = await messages(res);
    expect(answer).toEqual({
      jsonrpc: '2.0',
      id: 3,
      result: { content: [{ type: 'text', text: 'the key is [SECRET_1] ok' }] },
    });
  });

  it('filter a list response the upstream sends on the plain GET stream (no Last-Event-ID)', async () => {
    const res = await call('GET', `/v1/mcp/${slug('get-list')}`, {
      headers: { Accept: 'text/event-stream' },
    });
    expect(res.status).toBe(200);
    const reader = new SseReader(res);
    const event = await reader.next();
    await reader.cancel();
    const message = JSON.parse(event!.data) as Record<string, unknown>;
    expect(message).toMatchObject({ jsonrpc: '2.0', id: 1 });
    expect(toolNames(message)).toEqual(['echo']);
  });
});

describe('one answer message is held to MAX_ANSWER_MESSAGE_BYTES', () => {
  it('passes an SSE event under the cap, sent in 4 KiB chunks, byte for byte', async () => {
    const res = await post(slug('fit-sse'), toolsList(4));
    const result = { content: [{ type: 'text', text: 'x'.repeat(UNDER) }] };
    expect(await res.text()).toBe(
      `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: 4, result })}\n\n`,
    );
  });

  it('ends a stream at an event over the cap with a JSON-RPC error, recorded on the row', async () => {
    const trace = traceId('ans-big-sse');
    const res = await post(slug('big-sse'), toolsList(5), { 'X-Igris-Trace-Id': trace });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain('xxxx');
    expect(text).toBe(
      `event: message\ndata: ${JSON.stringify({
        jsonrpc: '2.0',
        id: 5,
        error: {
          code: -32019,
          message: 'Upstream answer too large',
          data: {
            code: 'upstream_too_large',
            traceId: trace,
            details: { maxBytes: MAX_ANSWER_MESSAGE_BYTES },
          },
        },
      })}\n\n`,
    );
    const row = await rowWithError(trace);
    expect(row).toMatchObject({ action: 'pass', upstream_status: 200, error_code: 'upstream_too_large' });
  });

  for (const kind of ['big-json', 'big-chunked']) {
    it(`refuses a JSON answer over the cap (${kind === 'big-json' ? 'with' : 'without'} Content-Length), recorded on the row`, async () => {
      const trace = traceId(`ans-${kind}`);
      const res = await post(slug(kind), toolsList(6), { 'X-Igris-Trace-Id': trace, Accept: ACCEPT_BOTH });
      expect(res.status).toBe(502);
      expect(await res.json()).toEqual({
        jsonrpc: '2.0',
        id: 6,
        error: {
          code: -32019,
          message: 'Upstream answer too large',
          data: {
            code: 'upstream_too_large',
            traceId: trace,
            details: { maxBytes: MAX_ANSWER_MESSAGE_BYTES },
          },
        },
      });
      const row = await rowWithError(trace);
      expect(row).toMatchObject({ action: 'pass', upstream_status: 200, error_code: 'upstream_too_large' });
    });
  }
});
