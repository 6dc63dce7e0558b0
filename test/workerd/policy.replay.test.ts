/**
 * What-if replay (issue 22) through the API, inside workerd: real calls through the gateway to the
 * SDK-built test upstream are recorded, then a stricter draft is replayed over them and the answer
 * names exactly the calls that would flip — and saves nothing.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  bootstrapDefault,
  call,
  createConnection,
  flushAudit,
  json,
  mcp,
  putPolicy,
  rpcResult,
} from './helpers';

const SLUG = `replay-${Date.now().toString(36)}`;

beforeAll(async () => {
  await bootstrapDefault();
  await createConnection(SLUG);
  await putPolicy(SLUG, [
    { tool: 'delete_*', action: 'deny' },
    { tool: '*', action: 'allow' },
  ]);
  const calls: Array<[string, string, Record<string, unknown>]> = [
    ['alice', 'echo', { message: 'a' }],
    ['bob', 'echo', { message: 'b' }],
    ['bob', 'add', { a: 1, b: 2 }],
    ['alice', 'delete_records', { table: 't' }],
  ];
  for (const [user, name, args] of calls) {
    await rpcResult(
      await mcp(SLUG, 'tools/call', { name, arguments: args }, { headers: { 'X-Igris-User': user } }),
    );
  }
  await flushAudit();
});

interface Replay {
  evaluated: number;
  changed: number;
  byRule: Record<string, number>;
  byCaller: Record<string, number>;
  examples: Array<{
    tool: string;
    caller: string;
    before: { action: string };
    after: { action: string; ruleIndex: number | null };
  }>;
}

describe('policy replay', () => {
  it('reports exactly the recorded calls a stricter draft would flip', async () => {
    const draft = [
      { tool: 'echo', action: 'deny', conditions: { user: 'bob' }, reason: 'bob may not echo' },
      { tool: 'delete_*', action: 'deny' },
      { tool: 'echo', action: 'allow' },
      { tool: 'add', action: 'alert' },
    ];
    const res = await call('POST', `/api/v1/connections/${SLUG}/policy/replay`, {
      body: { rules: draft, limit: 100 },
    });
    expect(res.status).toBe(200);
    const body = await json<Replay>(res);
    expect(body.evaluated).toBe(4);
    expect(body.changed).toBe(2);
    expect(body.byRule).toEqual({ '0': 1, '3': 1 });
    expect(body.byCaller).toEqual({ bob: 2 });
    expect(body.examples.map((e) => [e.tool, e.caller, e.before.action, e.after.action]).sort()).toEqual([
      ['add', 'bob', 'allow', 'alert'],
      ['echo', 'bob', 'allow', 'deny'],
    ]);
    // Nothing saved: the current policy is still the recorded one.
    const current = await json<{ version: number; rules: unknown[] }>(
      await call('GET', `/api/v1/connections/${SLUG}/policy`),
    );
    expect(current.rules).toHaveLength(2);
  });

  it('refuses an invalid draft with the rule path, and an empty window replays nothing', async () => {
    const bad = await call('POST', `/api/v1/connections/${SLUG}/policy/replay`, {
      body: { rules: [{ tool: 'x', action: 'maybe' }] },
    });
    expect(bad.status).toBe(400);
    const none = await call('POST', `/api/v1/connections/${SLUG}/policy/replay`, {
      body: { rules: [{ tool: '*', action: 'deny' }], to: '2000-01-01T00:00:00Z' },
    });
    expect(await json<Replay>(none)).toMatchObject({ evaluated: 0, changed: 0 });
  });
});
