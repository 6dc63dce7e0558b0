/**
 * Notifications and method spellings: a governed method is decided whether it comes as a request
 * or as a notification (no id), an unknown or misspelled method is refused rather than passed,
 * and the same holds for every item of a batch. Against the real upstream behind the recording
 * proxy, so "not forwarded" is what the upstream saw, not what the gateway says.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_METHOD_CHARS } from '../../workers/shared/audit.method';
import { type AuditRow, auditFor, traceId } from './gateway.fixtures';
import { call, createOrg, expectJson, putPolicy, type TestOrg } from './helpers';
import { receivedBy, recordedUpstream, uniqueAgent } from './upstream.log';

const SLUG = `methods-${Date.now().toString(36)}`;
let org: TestOrg;

beforeAll(async () => {
  org = await createOrg('owner');
  await expectJson(
    await call('POST', '/api/v1/connections', {
      key: org.key,
      body: { slug: SLUG, name: SLUG, upstreamUrl: recordedUpstream(), authType: 'none' },
    }),
    201,
  );
  await putPolicy(
    SLUG,
    [
      { tool: 'delete_*', action: 'deny', reason: 'no deletions' },
      { tool: '*', action: 'allow' },
    ],
    org.key,
  );
});

async function send(body: unknown, headers: Record<string, string> = {}) {
  const agent = uniqueAgent('methods');
  const trace = traceId('methods');
  const res = await call('POST', `/v1/mcp/${SLUG}`, {
    key: org.key,
    body,
    headers: {
      Accept: 'application/json, text/event-stream',
      'User-Agent': agent,
      'X-Igris-Trace-Id': trace,
      ...headers,
    },
  });
  const text = await res.text();
  const rows: AuditRow[] = await auditFor(trace);
  return { status: res.status, text, received: await receivedBy(agent), rows };
}

const notification = (method: string, params: Record<string, unknown>) => ({
  jsonrpc: '2.0',
  method,
  params,
});
const request = (id: number, method: string, params: Record<string, unknown>) => ({
  jsonrpc: '2.0',
  id,
  method,
  params,
});
const deleteCall = { name: 'delete_records', arguments: { table: 'users' } };
const echoCall = { name: 'echo', arguments: { message: 'hi' } };

describe('notifications of governed methods', () => {
  it('a tools/call notification of a denied tool never reaches the upstream, gets no body, and is audited with its tool', async () => {
    const { status, text, received, rows } = await send(notification('tools/call', deleteCall));
    expect(status).toBe(403);
    expect(text).toBe('');
    expect(received).toEqual([]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      method: 'tools/call',
      tool: 'delete_records',
      action: 'deny',
      rule_index: 0,
      error_code: 'policy_denied',
    });
  });

  it('an allowed tools/call notification is forwarded as it was decided, and audited with its tool', async () => {
    const { status, received, rows } = await send(notification('tools/call', echoCall));
    expect(status).toBe(202);
    expect(received).toHaveLength(1);
    expect(JSON.parse(received[0]!.body)).toEqual(notification('tools/call', echoCall));
    expect(rows[0]).toMatchObject({ method: 'tools/call', tool: 'echo', action: 'allow', rule_index: 1 });
  });

  it.each([
    ['resources/read', { uri: 'delete_me' }, 'resource:delete_me'],
    ['prompts/get', { name: 'x' }, 'prompt:x'],
  ])(
    '%s notifications are decided too (allowed here, with their governed name)',
    async (method, params, tool) => {
      const { received, rows } = await send(notification(method, params));
      expect(received).toHaveLength(1);
      expect(rows[0]).toMatchObject({ method, tool, action: 'allow' });
    },
  );

  it('a governed notification without a usable name is refused, never forwarded', async () => {
    const { status, text, received, rows } = await send(notification('tools/call', { arguments: {} }));
    expect(status).toBe(400);
    expect(text).toBe('');
    expect(received).toEqual([]);
    expect(rows[0]).toMatchObject({ method: 'tools/call', action: 'error', error_code: 'validation_failed' });
  });

  it('a notification whose Mcp-Name disagrees with its body is refused before any decision', async () => {
    const { status, text, received } = await send(notification('tools/call', deleteCall), {
      'Mcp-Name': 'echo',
    });
    expect(status).toBe(400);
    expect(text).toBe('');
    expect(received).toEqual([]);
  });

  it('known ungoverned notifications still pass; a client response to no server request is refused', async () => {
    const init = await send(notification('notifications/cancelled', { requestId: 7 }));
    expect(init.status).toBe(202);
    expect(init.received).toHaveLength(1);
    expect(init.rows[0]).toMatchObject({ method: 'notifications/cancelled', action: 'pass', tool: null });
    // Was passed undecided; a response must now carry an id the gateway minted for a server
    // request of this session (test/workerd/gateway.responses.test.ts).
    const answer = await send({ jsonrpc: '2.0', id: 'srv-1', result: {} });
    expect(answer.status).toBe(400);
    expect(answer.text).toBe('');
    expect(answer.received).toEqual([]);
    expect(answer.rows[0]).toMatchObject({
      method: 'response',
      action: 'error',
      error_code: 'unsolicited_response',
    });
  });
});

describe('method spellings', () => {
  it.each([
    'Tools/Call',
    'tools/call ',
    'TOOLS/CALL',
    'tools/call\u200b',
    'sampling/createMessage',
    'x/anything',
  ])('refuses %j with -32601 and forwards nothing', async (method) => {
    const { status, text, received, rows } = await send(request(1, method, deleteCall));
    expect(status).toBe(200);
    const body = JSON.parse(text) as { id: number; error: { code: number; message: string; data: unknown } };
    expect(body.id).toBe(1);
    expect(body.error.code).toBe(-32601);
    expect(body.error.message).toMatch(/^Method not found: /);
    expect(body.error.data).toMatchObject({ code: 'method_not_found', details: { path: 'method' } });
    expect(received).toEqual([]);
    expect(rows[0]).toMatchObject({ method, action: 'error', error_code: 'method_not_found' });
  });

  it('keeps only the first AUDIT_METHOD_CHARS characters of an unknown method in its audit row', async () => {
    const method = `x/${'m'.repeat(100_000)}`;
    const { body, rows } = await send(request(1, method, deleteCall)).then((r) => ({
      body: JSON.parse(r.text) as { error: { code: number } },
      rows: r.rows,
    }));
    expect(body.error.code).toBe(-32601);
    expect(rows[0]).toMatchObject({
      method: method.slice(0, AUDIT_METHOD_CHARS),
      error_code: 'method_not_found',
    });
    // A single refused request (refusal fields) and a batch item (decided rows) alike.
    const batch = await send([request(1, 'tools/call', echoCall), request(2, method, deleteCall)]);
    expect(batch.rows.map((r) => r.method?.length ?? 0).every((n) => n <= AUDIT_METHOD_CHARS)).toBe(true);
  });

  it('refuses a misspelled governed notification with an HTTP error and no body', async () => {
    const { status, text, received, rows } = await send(notification('Tools/Call', deleteCall));
    expect(status).toBe(400);
    expect(text).toBe('');
    expect(received).toEqual([]);
    expect(rows[0]).toMatchObject({ method: 'Tools/Call', error_code: 'method_not_found' });
  });
});

describe('batches', () => {
  it('a denied notification in a batch refuses the whole batch; the request gets its error', async () => {
    const { status, text, received, rows } = await send([
      request(1, 'tools/call', echoCall),
      notification('tools/call', deleteCall),
    ]);
    expect(status).toBe(200);
    const answers = JSON.parse(text) as Array<{ id: number; error: { data: { details: unknown } } }>;
    expect(answers).toHaveLength(1);
    expect(answers[0]!.id).toBe(1);
    expect(answers[0]!.error.data.details).toMatchObject({ batchRefused: true, refusedItems: [1] });
    expect(received).toEqual([]);
    expect(rows.map((r) => [r.tool, r.action, r.error_code])).toEqual([
      ['echo', 'error', 'bad_request'],
      ['delete_records', 'deny', 'policy_denied'],
    ]);
  });

  it('a batch of notifications only, one denied: an HTTP error status and no body', async () => {
    const { status, text, received, rows } = await send([
      notification('tools/call', echoCall),
      notification('tools/call', deleteCall),
    ]);
    expect(status).toBe(403);
    expect(text).toBe('');
    expect(received).toEqual([]);
    expect(rows.map((r) => r.tool)).toEqual(['echo', 'delete_records']);
  });

  it('a misspelled method anywhere in a batch refuses it', async () => {
    const { text, received, rows } = await send([
      request(1, 'tools/call', echoCall),
      request(2, 'tools/call ', deleteCall),
    ]);
    const answers = JSON.parse(text) as Array<{ id: number; error: { code: number } }>;
    expect(answers.map((a) => [a.id, a.error.code])).toEqual([
      [1, -32600],
      [2, -32601],
    ]);
    expect(received).toEqual([]);
    expect(rows[1]).toMatchObject({ method: 'tools/call ', error_code: 'method_not_found' });
  });
});
