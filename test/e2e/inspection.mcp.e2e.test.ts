/**
 * Content inspection through the MCP gateway, end to end (issue 16's "Done when"): the official
 * MCP SDK client, the local runtime, and the demo MCP server answering in JSON (`/json`) and in SSE
 * (`/stateless`). A SQL-injection argument is refused with a JSON-RPC error naming the rule and
 * category, never the value, and audited as a denial (the upstream's view is proven in
 * test/workerd/inspection.gateway.test.ts with a recording upstream); an AWS key the `echo` tool
 * sends back reaches the client masked, in both shapes of answer.
 */
import { randomBytes } from 'node:crypto';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { api, connectClient, ensureConnection, setPolicy, waitForAudit } from './helpers';

const run = randomBytes(4).toString('hex');
const INJECTION = "1' UNION SELECT username, password FROM users--";
const AWS_KEY = 'AKIAZ7Q4RXW2LM5PT3NB';
const SHAPES = [
  ['JSON', `insp-json-${run}`, '/json'],
  ['SSE', `insp-sse-${run}`, '/stateless'],
] as const;

type Client = Awaited<ReturnType<typeof connectClient>>['client'];
const clients = new Map<string, Client>();

beforeAll(async () => {
  for (const [, slug, path] of SHAPES) {
    await ensureConnection(slug, `${inject('upstreamUrl')}${path}`, null);
    const res = await api('PATCH', `/connections/${slug}`, {
      settings: { inspection: { packs: ['mcp-advanced-security'] } },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    await setPolicy(slug, [{ tool: '*', action: 'allow' }]);
    clients.set(slug, (await connectClient(slug, { 'X-Igris-User': `insp-${run}@example.com` })).client);
  }
}, 120_000);

afterAll(async () => {
  for (const client of clients.values()) await client.close().catch(() => undefined);
});

describe('MCP gateway inspection (real SDK client and server)', () => {
  it('refuses a SQL-injection argument with an error naming the rule, never the value', async () => {
    const [, slug] = SHAPES[0];
    const refused = await clients
      .get(slug)!
      .callTool({ name: 'echo', arguments: { message: INJECTION } })
      .then(
        (result) => ({ result }),
        (err: unknown) => ({ err }),
      );
    expect('err' in refused, JSON.stringify(refused)).toBe(true);
    const err = (refused as { err: unknown }).err;
    expect(err).toBeInstanceOf(McpError);
    expect((err as McpError).code).toBe(-32014);
    expect((err as McpError).message).toContain('sql_injection.union_select');
    expect(JSON.stringify(err)).not.toContain('UNION SELECT');

    const rows = await waitForAudit<{
      id: string;
      action: string;
      errorCode: string | null;
      details: unknown;
    }>(`connection=${slug}&tool=echo`, (r) => r.some((row) => row.errorCode === 'content_blocked'));
    const row = rows.find((r) => r.errorCode === 'content_blocked')!;
    expect(row.action).toBe('deny');
    expect(JSON.stringify(row.details)).not.toContain('UNION');
  });

  it.each(SHAPES)('masks a secret in a %s tool result before the client sees it', async (_shape, slug) => {
    const result = await clients
      .get(slug)!
      .callTool({ name: 'echo', arguments: { message: `the key is ${AWS_KEY} ok` } });
    expect(JSON.stringify(result)).not.toContain(AWS_KEY);
    expect(result.content).toEqual([{ type: 'text', text: 'the key is [SECRET_1] ok' }]);
  });
});
