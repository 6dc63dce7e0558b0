import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../policy/policy.evaluate.ts';
import { parsePolicy } from '../policy/policy.schema.ts';
import { parseJsonRpc } from './gateway.jsonrpc.ts';
import { filterListResult, ListFilter, pendingLists } from './gateway.lists.ts';

function policy(rules: unknown[]) {
  const parsed = parsePolicy({ rules });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return compilePolicy(parsed.policy, 3);
}

const POLICY = policy([
  { tool: 'delete_*', action: 'deny' },
  { tool: 'admin_*', action: 'allow', conditions: { 'metadata.role': 'admin' } },
  { tool: 'resource:file:///public/*', action: 'allow' },
  { tool: 'prompt:greet', action: 'alert' },
  { tool: 'other*', action: 'allow', conditions: { user: 'root' } },
  { tool: 'echo', action: 'allow' },
]);

const tools = (...names: string[]) => names.map((name) => ({ name, inputSchema: { type: 'object' } }));

describe('filterListResult', () => {
  it('hides tools the caller could never be allowed to call and keeps conditional ones', () => {
    const allow = (name: string) => ['echo', 'admin_x'].includes(name);
    const out = filterListResult(
      'tools/list',
      { tools: tools('echo', 'delete_x', 'admin_x'), nextCursor: 'c' },
      allow,
    );
    expect(out).toEqual({ result: { tools: tools('echo', 'admin_x'), nextCursor: 'c' }, hidden: 1 });
  });

  it('drops items without a usable name and returns null for results without the list', () => {
    const out = filterListResult(
      'tools/list',
      { tools: [{ name: 'echo' }, { name: 3 }, 'x', null] },
      () => true,
    );
    expect(out).toEqual({ result: { tools: [{ name: 'echo' }] }, hidden: 3 });
    expect(filterListResult('tools/list', { nope: [] }, () => true)).toBeNull();
    expect(filterListResult('tools/list', null, () => true)).toBeNull();
  });

  it('uses resource: and prompt: prefixes for resources and prompts', () => {
    const seen: string[] = [];
    filterListResult('resources/list', { resources: [{ uri: 'file:///a', name: 'a' }] }, (n) => {
      seen.push(n);
      return true;
    });
    filterListResult('prompts/list', { prompts: [{ name: 'greet' }] }, (n) => {
      seen.push(n);
      return true;
    });
    expect(seen).toEqual(['resource:file:///a', 'prompt:greet']);
  });
});

describe('pendingLists', () => {
  it('tracks list requests by id, telling 1 from "1", and ignores notifications and other methods', () => {
    const parsed = parseJsonRpc(
      new TextEncoder().encode(
        JSON.stringify([
          { jsonrpc: '2.0', id: 1, method: 'tools/list' },
          { jsonrpc: '2.0', id: '1', method: 'prompts/list' },
          { jsonrpc: '2.0', method: 'tools/list' },
          { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'x' } },
          { jsonrpc: '2.0', id: 3, method: 'resources/templates/list' },
        ]),
      ),
    );
    expect([...pendingLists(parsed.messages)]).toEqual([
      ['1', 'tools/list'],
      ['"1"', 'prompts/list'],
    ]);
  });
});

describe('ListFilter', () => {
  const sse = (text: string) =>
    new Response(text, {
      status: 200,
      headers: { 'Content-Type': 'text/event-stream', 'Mcp-Session-Id': 's1' },
    });

  it('filters the JSON response to the tracked id with the policy, and only that one', async () => {
    const filter = new ListFilter(POLICY, new Map([['7', 'tools/list']]));
    const res = await filter.apply(
      Response.json({
        jsonrpc: '2.0',
        id: 7,
        result: { tools: tools('echo', 'delete_x', 'admin_x', 'other') },
      }),
    );
    expect(await res.json()).toEqual({
      jsonrpc: '2.0',
      id: 7,
      result: { tools: tools('echo', 'admin_x', 'other') },
    });
    expect(filter.hidden).toBe(1);

    const untracked = new ListFilter(POLICY, new Map([['8', 'tools/list']]));
    const body = { jsonrpc: '2.0', id: 7, result: { tools: tools('delete_x') } };
    expect(await (await untracked.apply(Response.json(body))).json()).toEqual(body);
  });

  it('hides everything when no rule could allow it (default deny)', async () => {
    const strict = policy([{ tool: 'echo', action: 'allow' }]);
    const filter = new ListFilter(strict, new Map([['1', 'tools/list']]));
    const res = await filter.apply(
      Response.json({ jsonrpc: '2.0', id: 1, result: { tools: tools('echo', 'add') } }),
    );
    expect(((await res.json()) as { result: { tools: unknown[] } }).result.tools).toEqual(tools('echo'));
  });

  it('filters each response of a JSON batch answer', async () => {
    const filter = new ListFilter(
      POLICY,
      new Map([
        ['1', 'tools/list'],
        ['2', 'resources/list'],
      ]),
    );
    const res = await filter.apply(
      Response.json([
        { jsonrpc: '2.0', id: 1, result: { tools: tools('delete_a', 'echo') } },
        {
          jsonrpc: '2.0',
          id: 2,
          result: { resources: [{ uri: 'file:///public/a' }, { uri: 'file:///secret/b' }] },
        },
      ]),
    );
    expect(await res.json()).toEqual([
      { jsonrpc: '2.0', id: 1, result: { tools: tools('echo') } },
      { jsonrpc: '2.0', id: 2, result: { resources: [{ uri: 'file:///public/a' }] } },
    ]);
  });

  it('rewrites only the SSE event answering the list and passes the others byte for byte', async () => {
    const progress =
      'event: message\r\nid: a1\r\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}\r\n\r\n';
    const other =
      'event: message\nid: a2\ndata: {"jsonrpc":"2.0","id":99,"result":{"tools":[{"name":"delete_x"}]}}\n\n';
    const answer = `event: message\nid: a3\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: 5, result: { tools: tools('echo', 'delete_x') } })}\n\n`;
    const after =
      ': keepalive\n\ndata: {"jsonrpc":"2.0","id":5,"result":{"tools":[{"name":"delete_y"}]}}\n\n';
    const filter = new ListFilter(POLICY, new Map([['5', 'tools/list']]));
    const res = await filter.apply(sse(`id: a0\ndata: \n\n${progress}${other}${answer}${after}`));
    expect(res.headers.get('Mcp-Session-Id')).toBe('s1');
    const text = await res.text();
    const filtered = `event: message\nid: a3\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: 5, result: { tools: tools('echo') } })}\n\n`;
    // Once id 5 is answered nothing later is touched (a second answer to 5 is not ours to fix).
    expect(text).toBe(`id: a0\ndata: \n\n${progress}${other}${filtered}${after}`);
  });

  it('recognises list results by shape on resumed streams (no ids known)', async () => {
    const filter = new ListFilter(POLICY, null);
    const res = await filter.apply(
      sse(
        `data: ${JSON.stringify({ jsonrpc: '2.0', id: 'x', result: { tools: tools('delete_x', 'echo') } })}\n\n` +
          `data: ${JSON.stringify({ jsonrpc: '2.0', id: 'y', result: { prompts: [{ name: 'greet' }, { name: 'nope' }] } })}\n\n`,
      ),
    );
    const lines = (await res.text()).split('\n').filter((l) => l.startsWith('data: '));
    expect(lines.map((l) => JSON.parse(l.slice(6)).result)).toEqual([
      { tools: tools('echo') },
      { prompts: [{ name: 'greet' }] },
    ]);
  });

  it('leaves error statuses, other content types and errors answering the id untouched', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, result: { tools: tools('delete_x') } });
    const filter = () => new ListFilter(POLICY, new Map([['1', 'tools/list']]));
    const bad = await filter().apply(
      new Response(body, { status: 400, headers: { 'Content-Type': 'application/json' } }),
    );
    expect(await bad.text()).toBe(body);
    const plain = await filter().apply(
      new Response(body, { status: 200, headers: { 'Content-Type': 'text/plain' } }),
    );
    expect(await plain.text()).toBe(body);
    const notJson = await filter().apply(
      new Response('{oops', { status: 200, headers: { 'Content-Type': 'application/json' } }),
    );
    expect(await notJson.text()).toBe('{oops');
    const error = JSON.stringify({ jsonrpc: '2.0', id: 1, error: { code: -32601, message: 'nope' } });
    const f = filter();
    expect(await (await f.apply(sse(`data: ${error}\n\n`))).text()).toBe(`data: ${error}\n\n`);
    expect(f.done()).toBe(true);
  });
});

describe('ListFilter per caller (issue 17)', () => {
  const roles = policy([
    { tool: 'delete_*', action: 'deny', conditions: { 'metadata.role': 'intern' } },
    { tool: 'delete_*', action: 'allow', conditions: { 'metadata.role': 'admin' } },
    { tool: '*', action: 'allow' },
  ]);
  const answer = { jsonrpc: '2.0', id: 1, result: { tools: tools('echo', 'delete_thing') } };
  const names = (out: unknown) =>
    ((out ?? answer) as typeof answer).result.tools.map((t: { name: string }) => t.name);
  const as = (metadata: Record<string, unknown> | null) =>
    new ListFilter(roles, new Map([['1', 'tools/list']]), { user: null, metadata });

  it("an intern's list omits the tool denied to interns; an admin's shows it", () => {
    expect(names(as({ role: 'intern' }).onMessage(answer))).toEqual(['echo']);
    expect(names(as({ role: 'admin' }).onMessage(answer))).toEqual(['echo', 'delete_thing']);
  });

  it('a conditional allow the caller does not meet hides the item for that caller', () => {
    const onlyAdmins = policy([
      { tool: 'admin_*', action: 'allow', conditions: { 'metadata.role': 'admin' } },
    ]);
    const list = { jsonrpc: '2.0', id: 1, result: { tools: tools('admin_x') } };
    const filter = (metadata: Record<string, unknown> | null) =>
      new ListFilter(onlyAdmins, new Map([['1', 'tools/list']]), { user: null, metadata }).onMessage(list);
    expect((filter(null) as typeof list).result.tools).toEqual([]);
    expect(filter({ role: 'admin' })).toBeUndefined(); // unchanged: kept
  });
});
