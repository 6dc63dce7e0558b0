/**
 * `args.<path>` conditions through the gateway, inside workerd, against the real SDK-built test
 * upstream (scripts/demo-mcp-server.ts): `echo`'s message stands in for a file path
 * (pathWithin, with `..`, percent-encoding and backslash tricks), `add`'s `a` for an amount
 * (numeric limit); the audit row of each decision; tools/list keeping a tool whose allow depends
 * on arguments; and the schema-aware warnings of a saved policy and of the simulator.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { auditFor, traceId } from './gateway.fixtures';
import { bootstrapDefault, call, createConnection, json, mcp, putPolicy, rpcResult } from './helpers';

const SLUG = `args-${Date.now().toString(36)}`;

const RULES = [
  { tool: 'echo', action: 'allow', conditions: { 'args.message': { pathWithin: ['/srv/work'] } } },
  { tool: 'add', action: 'deny', conditions: { 'args.a': { gt: 1000 } }, reason: 'amount over the limit' },
  { tool: 'add', action: 'allow', conditions: { 'args.a': { lte: 1000 } } },
];

beforeAll(async () => {
  await bootstrapDefault();
  await createConnection(SLUG);
  await putPolicy(SLUG, RULES);
});

async function callTool(name: string, args: Record<string, unknown>) {
  const trace = traceId('args');
  const answer = await rpcResult(
    await mcp(SLUG, 'tools/call', { name, arguments: args }, { headers: { 'X-Igris-Trace-Id': trace } }),
  );
  return { answer, rows: await auditFor(trace) };
}

describe('args conditions on MCP tool arguments', () => {
  it('pathWithin: a path inside the root is forwarded', async () => {
    const { answer, rows } = await callTool('echo', { message: '/srv/work/notes/../a.txt' });
    expect(answer.result!.content).toEqual([{ type: 'text', text: '/srv/work/notes/../a.txt' }]);
    expect(rows).toEqual([expect.objectContaining({ tool: 'echo', action: 'allow', rule_index: 0 })]);
  });

  it.each([
    '/srv/work/../etc/passwd',
    '/srv/work/%2e%2e/etc/passwd',
    '/srv/work/%252e%252e/etc/passwd',
    '\\srv\\work\\..\\..\\etc\\passwd',
    '/srv/workshop/x',
    'relative/a.txt',
  ])('pathWithin: %j is refused and never reaches the upstream', async (message) => {
    const { answer, rows } = await callTool('echo', { message });
    expect(answer.result).toBeUndefined();
    expect(answer.error!.data).toMatchObject({ code: 'policy_denied' });
    expect(rows).toEqual([expect.objectContaining({ tool: 'echo', action: 'deny', rule_index: null })]);
  });

  it('numeric limit: over the limit denied with the rule reason, under it allowed', async () => {
    const over = await callTool('add', { a: 5000, b: 1 });
    expect(over.answer.error!.message).toContain('amount over the limit');
    expect(over.rows).toEqual([expect.objectContaining({ action: 'deny', rule_index: 1 })]);
    const under = await callTool('add', { a: 2, b: 3 });
    expect(under.answer.result!.content).toEqual([{ type: 'text', text: '5' }]);
    expect(under.rows).toEqual([expect.objectContaining({ action: 'allow', rule_index: 2 })]);
    // A string amount is not a number: neither rule applies, the default deny does.
    const typed = await callTool('add', { a: '5000', b: 1 });
    expect(typed.answer.error!.data).toMatchObject({ code: 'policy_denied' });
    expect(typed.rows).toEqual([expect.objectContaining({ action: 'deny', rule_index: null })]);
  });

  it('tools/list keeps the tools whose allow depends on arguments', async () => {
    const answer = await rpcResult(await mcp(SLUG, 'tools/list'));
    const names = (answer.result!.tools as Array<{ name: string }>).map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['echo', 'add']));
    expect(names).not.toContain('delete_records');
  });
});

describe('schema-aware warnings', () => {
  it('saving a rule on an argument the tool lacks (or with a type that cannot match) warns, and still saves', async () => {
    // The inventory is recorded after a tools/list answer (waitUntil): wait until echo is in it.
    for (let i = 0; i < 100; i++) {
      const res = await call('GET', `/api/v1/connections/${SLUG}/tools`);
      const items = (await json<{ items: Array<{ name: string }> }>(res)).items ?? [];
      if (items.some((item) => item.name === 'echo')) break;
      await mcp(SLUG, 'tools/list');
      await new Promise((r) => setTimeout(r, 50));
    }
    const draft = [
      { tool: 'echo', action: 'allow', conditions: { 'args.path': { pathWithin: ['/srv/work'] } } },
      { tool: 'add', action: 'allow', conditions: { 'args.a': { prefix: '1' } } },
      ...RULES,
    ];
    const res = await call('PUT', `/api/v1/connections/${SLUG}/policy`, { body: { rules: draft } });
    expect(res.status).toBe(200);
    const saved = await json<{
      version: number;
      warnings: Array<{ ruleIndex: number; tool: string; message: string }>;
    }>(res);
    expect(saved.warnings.map((w) => [w.ruleIndex, w.tool])).toEqual([
      [0, 'echo'],
      [1, 'add'],
    ]);
    expect(saved.warnings[0]!.message).toContain('no argument "path"');

    const simulated = await call('POST', `/api/v1/connections/${SLUG}/policy/simulate`, {
      body: { tool: 'echo', args: { message: '/etc/passwd' }, rules: RULES },
    });
    const body = await json<{ decision: string; trace: Array<{ why: string }>; warnings: unknown[] }>(
      simulated,
    );
    expect(body.decision).toBe('deny');
    expect(body.trace[0]!.why).toContain("args.message pathWithin ['/srv/work'] failed");
    expect(body.warnings).toEqual([]);
    await putPolicy(SLUG, RULES);
  });
});

describe('args conditions on LLM request fields', () => {
  it('args.<field> reads the request body: a temperature over the limit is refused in the provider shape', async () => {
    const slug = `args-llm-${Date.now().toString(36)}`;
    const created = await call('POST', '/api/v1/connections', {
      body: {
        slug,
        name: slug,
        type: 'llm',
        upstreamUrl: `${env.LLM_FAKE_URL}/v1`,
        credential: env.LLM_FAKE_KEY,
        settings: { provider: 'openai-compatible' },
      },
    });
    expect(created.status).toBe(201);
    await putPolicy(slug, [
      {
        model: 'fake-*',
        action: 'deny',
        conditions: { 'args.temperature': { gt: 1 } },
        reason: 'temperature capped at 1',
      },
      { model: 'fake-*', action: 'allow', conditions: { 'args.messages.0.content': { maxLength: 100 } } },
    ]);
    const chat = (extra: Record<string, unknown>) =>
      call('POST', `/llm/${slug}/v1/chat/completions`, {
        body: { model: 'fake-gpt', messages: [{ role: 'user', content: 'hi' }], ...extra },
      });
    const hot = await chat({ temperature: 1.5 });
    expect(hot.status).toBe(403);
    expect(JSON.stringify(await hot.json())).toContain('temperature capped at 1');
    const ok = await chat({ temperature: 0.2 });
    expect(ok.status).toBe(200);
    const long = await chat({ messages: [{ role: 'user', content: 'x'.repeat(101) }] });
    expect(long.status).toBe(403);
  });
});
