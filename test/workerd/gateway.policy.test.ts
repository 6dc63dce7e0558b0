/**
 * Policy in the gateway, inside workerd, against the real SDK-built upstream: each decision path
 * (allow, deny, alert, no match, missing field, bad metadata, invalid params, header/body
 * mismatch, batches, list filtering) and the audit row every decision leaves (the last describe
 * checks the rows of all the others, so they stay in one file; set-up in gateway.policy.fixtures.ts).
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { type AuditRow, auditFor, messages, post, postDirect, traceId } from './gateway.fixtures';
import {
  type Answer,
  expectIdentity,
  orgId,
  SLUG,
  STRICT,
  send,
  setUpGatewayPolicy,
  version,
} from './gateway.policy.fixtures';
import { createConnection, json, putPolicy } from './helpers';

beforeAll(setUpGatewayPolicy);

let nextId = 100;
function rpc(method: string, params: Record<string, unknown> = {}) {
  return { jsonrpc: '2.0', id: ++nextId, method, params };
}
const toolCall = (name: string, args: Record<string, unknown> = {}) =>
  rpc('tools/call', { name, arguments: args });

describe('decisions on tools/call', () => {
  it('allow: forwards and records allow with the rule index and policy version', async () => {
    const { status, answer, rows, trace } = await send(toolCall('echo', { message: 'hi' }), {
      user: 'alice@example.com',
      metadata: '{"role":"dev"}',
    });
    expect(status).toBe(200);
    expect(answer.result!.content).toEqual([{ type: 'text', text: 'hi' }]);
    expect(rows).toHaveLength(1);
    expectIdentity(rows[0]!, trace, 'alice@example.com');
    expect(rows[0]).toMatchObject({
      type: 'tool_call',
      method: 'tools/call',
      tool: 'echo',
      action: 'allow',
      rule_index: 3,
      policy_version: version,
      metadata_error: null,
      upstream_status: 200,
    });
    expect(JSON.parse(rows[0]!.metadata as string)).toEqual({ role: 'dev' });
  });

  it('deny: answers a JSON-RPC error (HTTP 200) giving the reason and trace id; nothing forwarded', async () => {
    const { status, answer, rows, trace } = await send(toolCall('delete_records', { table: 'users' }), {
      user: 'bob',
    });
    expect(status).toBe(200);
    expect(answer.result).toBeUndefined();
    expect(answer.error!.code).toBe(-32006);
    expect(answer.error!.message).toBe(`Denied by policy: destructive tools are blocked (trace ${trace})`);
    expect(answer.error!.data).toMatchObject({
      code: 'policy_denied',
      traceId: trace,
      details: { reason: 'destructive tools are blocked', ruleIndex: 0, policyVersion: version },
    });
    expect(rows).toHaveLength(1);
    expectIdentity(rows[0]!, trace, 'bob');
    expect(rows[0]).toMatchObject({
      tool: 'delete_records',
      action: 'deny',
      rule_index: 0,
      policy_version: version,
      error_code: 'policy_denied',
      upstream_status: null,
    });
  });

  it('alert: forwards the call and records alert', async () => {
    const { status, answer, rows } = await send(toolCall('add', { a: 2, b: 3 }));
    expect(status).toBe(200);
    expect(answer.result!.content).toEqual([{ type: 'text', text: '5' }]);
    expect(rows[0]).toMatchObject({ tool: 'add', action: 'alert', rule_index: 1, policy_version: version });
    expect(JSON.parse(rows[0]!.details!)).toMatchObject({ reason: 'arithmetic is watched' });
  });

  it('no rule matched: denied by default, recorded with no rule index and the policy version', async () => {
    const { answer, rows, trace } = await send(toolCall('progress', { steps: 1 }));
    expect(answer.error!.message).toBe(`Denied by policy: no rule matched (trace ${trace})`);
    expect(rows[0]).toMatchObject({
      tool: 'progress',
      action: 'deny',
      rule_index: null,
      policy_version: version,
    });
  });

  it('missing field: a rule conditioned on an absent metadata field is skipped, not matched', async () => {
    const without = await send(toolCall('whoami'), { metadata: '{"team":"x"}' });
    expect(without.answer.error!.data!.code).toBe('policy_denied');
    expect(without.rows[0]).toMatchObject({ action: 'deny', rule_index: null });

    const withRole = await send(toolCall('whoami'), { metadata: '{"role":"admin"}' });
    expect(withRole.answer.result).toBeDefined();
    expect(withRole.rows[0]).toMatchObject({ action: 'allow', rule_index: 2 });
  });

  it('bad metadata: treated as absent (so the admin rule cannot match) and the row says why', async () => {
    const { answer, rows } = await send(toolCall('whoami'), { metadata: '{"role":"admin"' });
    expect(answer.error!.data!.code).toBe('policy_denied');
    expect(rows[0]).toMatchObject({ action: 'deny', metadata: null, rule_index: null });
    expect(rows[0]!.metadata_error).toBe('metadata is not valid JSON');

    const nested = await send(toolCall('echo', { message: 'ok' }), { metadata: '{"a":{"b":{"c":{"d":1}}}}' });
    expect(nested.answer.result).toBeDefined();
    expect(nested.rows[0]!.metadata_error).toMatch(/nesting exceeds 3 levels/);
  });

  it('a governed call without a usable name is refused with -32602 and never forwarded', async () => {
    const { status, answer, rows } = await send(rpc('tools/call', { name: ['delete_records'] }));
    expect(status).toBe(400);
    expect(answer.error!.code).toBe(-32602);
    expect(rows[0]).toMatchObject({ action: 'error', error_code: 'validation_failed', tool: null });
  });
});

describe('resources/read and prompts/get are governed with their prefixes', () => {
  it('allows a listed resource and denies any other uri', async () => {
    const ok = await send(rpc('resources/read', { uri: 'file:///readme.md' }));
    expect(ok.answer.result!.contents).toEqual([{ uri: 'file:///readme.md', text: '# Demo' }]);
    expect(ok.rows[0]).toMatchObject({
      type: 'request',
      tool: 'resource:file:///readme.md',
      action: 'allow',
      rule_index: 4,
    });

    const denied = await send(rpc('resources/read', { uri: 'file:///etc/passwd' }));
    expect(denied.answer.error!.data!.code).toBe('policy_denied');
    expect(denied.rows[0]).toMatchObject({ tool: 'resource:file:///etc/passwd', action: 'deny' });
  });

  it('decides resources/subscribe and completion/complete like reading the resource or using the prompt', async () => {
    const subscribe = await send(rpc('resources/subscribe', { uri: 'file:///etc/passwd' }));
    expect(subscribe.answer.error!.data!.code).toBe('policy_denied');
    expect(subscribe.rows[0]).toMatchObject({ tool: 'resource:file:///etc/passwd', action: 'deny' });

    const completion = await send(
      rpc('completion/complete', {
        ref: { type: 'ref/resource', uri: 'file:///etc/{name}' },
        argument: { name: 'name', value: 'pa' },
      }),
    );
    expect(completion.answer.error!.data!.code).toBe('policy_denied');
    expect(completion.rows[0]).toMatchObject({ tool: 'resource:file:///etc/{name}', action: 'deny' });
  });

  it('decides prompts/get on `prompt:<name>` with conditions on the user', async () => {
    const ok = await send(rpc('prompts/get', { name: 'greet', arguments: { who: 'Ada' } }), {
      user: 'alice',
    });
    expect(ok.answer.result!.messages).toBeDefined();
    expect(ok.rows[0]).toMatchObject({ tool: 'prompt:greet', action: 'allow', rule_index: 6 });

    const mallory = await send(rpc('prompts/get', { name: 'greet', arguments: { who: 'Ada' } }), {
      user: 'mallory',
    });
    expect(mallory.answer.error!.message).toMatch(/^Denied by policy: not for mallory \(trace /);
    expect(mallory.rows[0]).toMatchObject({
      tool: 'prompt:greet',
      action: 'deny',
      rule_index: 5,
      user: 'mallory',
    });
  });
});

describe('lifecycle and list methods pass; list results are filtered', () => {
  it('passes initialize and ping with a pass row carrying the policy version', async () => {
    const init = await send(
      rpc('initialize', {
        protocolVersion: '2025-11-25',
        capabilities: {},
        clientInfo: { name: 't', version: '1' },
      }),
    );
    expect(init.answer.result!.protocolVersion).toBe('2025-11-25');
    expect(init.rows[0]).toMatchObject({
      method: 'initialize',
      action: 'pass',
      tool: null,
      policy_version: version,
    });
    const ping = await send(rpc('ping'));
    expect(ping.answer.result).toEqual({});
  });

  it('removes the tools this caller may not call from an SSE tools/list answer (per caller)', async () => {
    const direct = await messages(await postDirect('/stateless', rpc('tools/list')));
    const directNames = (direct[0]!.result as { tools: Array<{ name: string }> }).tools.map((t) => t.name);
    expect(directNames).toEqual(['echo', 'add', 'whoami', 'progress', 'delete_records', 'notify_later']);

    const { answer, rows } = await send(rpc('tools/list'));
    const tools = answer.result!.tools as Array<{ name: string; inputSchema: unknown }>;
    // whoami is allowed only for metadata.role = admin: hidden from this caller (no metadata),
    // listed for an admin (issue 17: a caller sees only what it may call).
    expect(tools.map((t) => t.name)).toEqual(['echo', 'add']);
    const admin = await send(rpc('tools/list'), { metadata: '{"role":"admin"}' });
    expect((admin.answer.result!.tools as Array<{ name: string }>).map((t) => t.name)).toEqual([
      'echo',
      'add',
      'whoami',
    ]);
    const directEcho = (direct[0]!.result as { tools: Array<{ name: string }> }).tools.find(
      (t) => t.name === 'echo',
    );
    expect(tools[0]).toEqual(directEcho);
    expect(rows[0]).toMatchObject({ method: 'tools/list', action: 'pass', policy_version: version });
  });

  it('filters resources/list and prompts/list with the resource: and prompt: prefixes', async () => {
    const open = await send(rpc('resources/list'));
    expect((open.answer.result!.resources as Array<{ uri: string }>).map((r) => r.uri)).toEqual([
      'file:///readme.md',
    ]);
    const openPrompts = await send(rpc('prompts/list'));
    expect((openPrompts.answer.result!.prompts as Array<{ name: string }>).map((p) => p.name)).toEqual([
      'greet',
    ]);

    const tools = await send(rpc('tools/list'), { slug: STRICT });
    expect((tools.answer.result!.tools as Array<{ name: string }>).map((t) => t.name)).toEqual(['echo']);
    const resources = await send(rpc('resources/list'), { slug: STRICT });
    expect(resources.answer.result!.resources).toEqual([]);
    const prompts = await send(rpc('prompts/list'), { slug: STRICT });
    expect(prompts.answer.result!.prompts).toEqual([]);
  });

  it('applies a new policy version to the list on the very next call', async () => {
    const slug = 'policy-versioned';
    await createConnection(slug, { upstreamPath: '/stateless' });
    await putPolicy(slug, [{ tool: 'echo', action: 'allow' }]);
    const before = await send(rpc('tools/list'), { slug });
    expect((before.answer.result!.tools as Array<{ name: string }>).map((t) => t.name)).toEqual(['echo']);
    const v2 = await putPolicy(slug, [{ tool: '*', action: 'allow' }]);
    const after = await send(rpc('tools/list'), { slug });
    expect((after.answer.result!.tools as unknown[]).length).toBe(6);
    expect(after.rows[0]!.policy_version).toBe(v2.version);
  });
});

describe('batches', () => {
  it('forwards a batch whose items are all allowed, one audit row per item, list filtered', async () => {
    const batch = [toolCall('echo', { message: 'one' }), toolCall('add', { a: 1, b: 1 }), rpc('tools/list')];
    const { status, answers, rows } = await send(batch);
    expect(status).toBe(200);
    const byId = new Map(answers.map((a) => [a.id, a]));
    expect(byId.get(batch[0]!.id)!.result!.content).toEqual([{ type: 'text', text: 'one' }]);
    expect(byId.get(batch[1]!.id)!.result!.content).toEqual([{ type: 'text', text: '2' }]);
    // Per caller: whoami (admins only) is not listed for this caller, who sent no metadata.
    expect((byId.get(batch[2]!.id)!.result!.tools as Array<{ name: string }>).map((t) => t.name)).toEqual([
      'echo',
      'add',
    ]);
    expect(rows.map((r) => [r.method, r.tool, r.action, r.rule_index])).toEqual([
      ['tools/call', 'echo', 'allow', 3],
      ['tools/call', 'add', 'alert', 1],
      ['tools/list', null, 'pass', null],
    ]);
  });

  it('refuses the whole batch when one item is denied: a clear error per request, every item audited', async () => {
    const [allowed, denied] = [
      toolCall('echo', { message: 'would be allowed' }),
      toolCall('delete_records', { table: 't' }),
    ];
    const batch = [
      allowed,
      denied,
      { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } },
    ];
    const trace = traceId('batch');
    const res = await post(SLUG, batch, { 'X-Igris-Trace-Id': trace });
    expect(res.status).toBe(200);
    const body = await json<Answer[]>(res);
    expect(body).toHaveLength(2);
    expect(body[0]).toMatchObject({
      id: allowed.id,
      error: {
        code: -32600,
        message: expect.stringMatching(/^Not forwarded: batch item \[1\] was refused/),
        data: { code: 'bad_request', details: { batchRefused: true, refusedItems: [1] } },
      },
    });
    expect(body[1]).toMatchObject({
      id: denied.id,
      error: { code: -32006, message: `Denied by policy: destructive tools are blocked (trace ${trace})` },
    });
    const rows = await auditFor(trace);
    expect(
      rows.map((r) => [r.method, r.tool, r.action, r.rule_index, r.policy_version, r.error_code]),
    ).toEqual([
      ['tools/call', 'echo', 'error', 3, version, 'bad_request'],
      ['tools/call', 'delete_records', 'deny', 0, version, 'policy_denied'],
      ['notifications/progress', null, 'error', null, version, 'bad_request'],
    ]);
    expect(JSON.parse(rows[0]!.details!)).toMatchObject({ decision: 'allow' });
  });

  it('refuses a batch with an invalid governed item with 400 and per-item errors', async () => {
    const batch = [toolCall('echo', { message: 'x' }), rpc('resources/read', {})];
    const { status, answers, rows } = await send(batch);
    expect(status).toBe(400);
    expect(answers.map((a) => [a.id, a.error!.code])).toEqual([
      [batch[0]!.id, -32600],
      [batch[1]!.id, -32602],
    ]);
    expect(rows.map((r) => [r.action, r.error_code])).toEqual([
      ['error', 'bad_request'],
      ['error', 'validation_failed'],
    ]);
  });

  it('refuses Mcp-Name on a batch as a header mismatch', async () => {
    const { status, answer, rows } = await send([toolCall('echo', { message: 'x' })], {
      headers: { 'Mcp-Name': 'echo' },
    });
    expect(status).toBe(400);
    expect(answer.error!.code).toBe(-32020);
    expect(rows[0]).toMatchObject({ action: 'error', error_code: 'header_mismatch' });
  });
});

describe('header/body agreement comes before the decision', () => {
  it('refuses Mcp-Name "echo" on a body calling delete_records with 400 -32020, recording the body’s tool', async () => {
    const { status, answer, rows } = await send(toolCall('delete_records', { table: 't' }), {
      headers: { 'Mcp-Name': 'echo' },
    });
    expect(status).toBe(400);
    expect(answer.error!.code).toBe(-32020);
    expect(answer.error!.data!.details).toMatchObject({
      path: 'Mcp-Name',
      header: 'echo',
      body: 'delete_records',
    });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      action: 'error',
      error_code: 'header_mismatch',
      tool: 'delete_records',
      rule_index: null,
      policy_version: null,
    });
  });

  it('accepts matching legacy-style mirrored headers and decides as usual', async () => {
    const { answer, rows } = await send(toolCall('echo', { message: 'x' }), {
      headers: { 'Mcp-Method': 'tools/call', 'Mcp-Name': 'echo' },
    });
    expect(answer.result).toBeDefined();
    expect(rows[0]).toMatchObject({ action: 'allow' });
  });
});

describe('2026-07-28 requests', () => {
  it('are decided on the body like any other, and the row keeps the W3C traceparent from _meta', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const body = {
      jsonrpc: '2.0',
      id: ++nextId,
      method: 'tools/call',
      params: {
        name: 'delete_records',
        arguments: { table: 't' },
        _meta: {
          'io.modelcontextprotocol/protocolVersion': '2026-07-28',
          'io.modelcontextprotocol/clientCapabilities': {},
          traceparent,
        },
      },
    };
    const { status, answer, rows } = await send(body, {
      headers: {
        'MCP-Protocol-Version': '2026-07-28',
        'Mcp-Method': 'tools/call',
        'Mcp-Name': 'delete_records',
      },
    });
    expect(status).toBe(200);
    expect(answer.error!.code).toBe(-32006);
    expect(rows[0]).toMatchObject({ action: 'deny', rule_index: 0, policy_version: version });
    expect(JSON.parse(rows[0]!.details!)).toMatchObject({ traceparent });
  });
});

describe('audit rows of the policy decisions', () => {
  it('every decision row carries identity, trace id, rule index (when a rule matched) and policy version', async () => {
    const rows = await env.DB.prepare(
      "SELECT * FROM audit_events WHERE connection_slug = ? AND action IN ('allow','deny','alert')",
    )
      .bind(SLUG)
      .all<AuditRow>();
    expect(rows.results.length).toBeGreaterThan(5);
    for (const row of rows.results) {
      expect(row.trace_id).toEqual(expect.any(String));
      expect(row.api_key_id).toEqual(expect.any(String));
      expect(row.org_id).toBe(orgId);
      expect(row.policy_version).toBe(version);
      const reason = row.details ? (JSON.parse(row.details) as { reason?: string }).reason : undefined;
      if (reason === 'no rule matched') expect(row.rule_index).toBeNull();
      else expect(row.rule_index).toEqual(expect.any(Number));
    }
  });
});
