/**
 * Rate windows of policy rules, enforced by the connection's guard: exact sliding counts per key,
 * 429 + Retry-After + JSON-RPC error on the (limit+1)-th call, admitted again once the window has
 * slid (real waiting on a 2-second window), only admitted calls counted, keys kept apart.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { createConnection, createOrg, flushAudit, mcp, putPolicy, rpcResult, type TestOrg } from './helpers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function echo(slug: string, org: TestOrg, headers: Record<string, string> = {}) {
  const res = await mcp(
    slug,
    'tools/call',
    { name: 'echo', arguments: { message: 'hi' } },
    { key: org.key, headers },
  );
  return { status: res.status, retryAfter: res.headers.get('Retry-After'), body: await rpcResult(res) };
}

async function limited(slug: string, rateLimit: Record<string, unknown>, extraRules: unknown[] = []) {
  const org = await createOrg('owner');
  await createConnection(slug, { key: org.key });
  await putPolicy(
    slug,
    [...extraRules, { tool: 'echo', action: 'allow', rateLimit }, { tool: '*', action: 'allow' }],
    org.key,
  );
  return org;
}

describe('rate windows', () => {
  it('refuses the (limit+1)-th call in the window with 429, Retry-After and a JSON-RPC error, then allows again', async () => {
    const org = await limited('rl-basic', { limit: 3, windowSeconds: 2, by: 'user' });
    const alice = { 'X-Igris-User': 'alice@example.com' };
    for (let i = 0; i < 3; i++) expect((await echo('rl-basic', org, alice)).status).toBe(200);

    const refused = await echo('rl-basic', org, alice);
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.retryAfter);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(2);
    expect(refused.body.error).toMatchObject({
      code: -32029,
      message: 'Rate limit exceeded',
      data: {
        code: 'rate_limited',
        details: { ruleIndex: 0, limit: 3, windowSeconds: 2, retryAfterSeconds: retryAfter },
      },
    });

    // Other tools (another rule) and other users (another key) are not affected.
    const add = await mcp(
      'rl-basic',
      'tools/call',
      { name: 'add', arguments: { a: 1, b: 2 } },
      {
        key: org.key,
        headers: alice,
      },
    );
    expect(add.status).toBe(200);
    await add.text();
    expect((await echo('rl-basic', org, { 'X-Igris-User': 'bob@example.com' })).status).toBe(200);

    // Wait as told: the oldest call has left the window, so one call fits again — and only one.
    await sleep(retryAfter * 1000);
    expect((await echo('rl-basic', org, alice)).status).toBe(200);
    await sleep(2_100); // the whole window slides past every counted call
    for (let i = 0; i < 3; i++) expect((await echo('rl-basic', org, alice)).status).toBe(200);
    expect((await echo('rl-basic', org, alice)).status).toBe(429);
    // The test waits out real windows (about 4 s of sleeps): room for that beyond vitest's 5 s default.
  }, 20_000);

  it('counts only admitted calls: refused attempts do not extend the penalty', async () => {
    const org = await limited('rl-admitted', { limit: 1, windowSeconds: 2, by: 'connection' });
    expect((await echo('rl-admitted', org)).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await echo('rl-admitted', org)).status).toBe(429);
    await sleep(2_050);
    expect((await echo('rl-admitted', org)).status).toBe(200);
  });

  it('keys by API key and by metadata field; a call without the field shares one "(none)" window', async () => {
    const byMeta = await limited('rl-meta', { limit: 1, windowSeconds: 60, by: 'metadata.team' });
    const team = (t: string) => ({ 'X-Igris-Metadata': JSON.stringify({ team: t }) });
    expect((await echo('rl-meta', byMeta, team('red'))).status).toBe(200);
    expect((await echo('rl-meta', byMeta, team('red'))).status).toBe(429);
    expect((await echo('rl-meta', byMeta, team('blue'))).status).toBe(200);
    expect((await echo('rl-meta', byMeta)).status).toBe(200);
    expect((await echo('rl-meta', byMeta)).status).toBe(429);

    const byKey = await limited('rl-key', { limit: 1, windowSeconds: 60, by: 'apiKey' });
    expect((await echo('rl-key', byKey)).status).toBe(200);
    const refused = await echo('rl-key', byKey);
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThan(50);
  });

  it('audits a refused call as rate_limited and forwards nothing for it', async () => {
    const org = await limited('rl-audit', { limit: 1, windowSeconds: 60, by: 'connection' });
    await echo('rl-audit', org);
    const res = await mcp(
      'rl-audit',
      'tools/call',
      { name: 'echo', arguments: { message: 'x' } },
      { key: org.key, headers: { 'X-Igris-Trace-Id': 'rl-audit-trace' } },
    );
    expect(res.status).toBe(429);
    await res.text();
    await flushAudit();
    const row = await env.DB.prepare("SELECT * FROM audit_events WHERE trace_id = 'rl-audit-trace'").first<
      Record<string, unknown>
    >();
    expect(row).toMatchObject({
      action: 'rate_limited',
      error_code: 'rate_limited',
      upstream_status: null,
      rule_index: 0,
    });
    expect(JSON.parse(row!.details as string)).toMatchObject({ limit: 1, windowSeconds: 60 });
  });

  it('a call the policy denies counts against no window', async () => {
    const org = await limited('rl-deny', { limit: 1, windowSeconds: 60, by: 'user' }, [
      { tool: 'echo', action: 'deny', conditions: { user: 'mallory' } },
    ]);
    for (let i = 0; i < 3; i++) {
      const denied = await echo('rl-deny', org, { 'X-Igris-User': 'mallory' });
      expect(denied.body.error).toMatchObject({ data: { code: 'policy_denied' } });
    }
    expect((await echo('rl-deny', org, { 'X-Igris-User': 'alice' })).status).toBe(200);
    expect((await echo('rl-deny', org, { 'X-Igris-User': 'alice' })).status).toBe(429);
  });
});
