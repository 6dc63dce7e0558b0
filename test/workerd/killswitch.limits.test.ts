/**
 * How many kill switches an organization may hold active (workers/killswitch/killswitch.record.ts),
 * through the real Worker, D1 and ConnectionGuard Durable Objects: at the cap a connection / API key
 * / person switch, or a session suspend, is refused 409 `limit_reached` — nothing written (no
 * switch, no audit row) and nothing pushed (a warm guard still lets the named person through) —
 * while an organization-wide switch (the emergency stop) is still pulled and holds; lifting frees a
 * place; another organization is not affected.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { agentSessionId } from '../../durable-objects/guard.contract';
import { COUNT_LIMITS } from '../../workers/shared/count.limits';
import { call, expectApiError, expectJson, mcp, rpcResult, type TestOrg } from './helpers';
import { lift, pull, setupOrg } from './killswitch.fixtures';

async function echo(slug: string, org: TestOrg, headers: Record<string, string> = {}) {
  const res = await mcp(
    slug,
    'tools/call',
    { name: 'echo', arguments: { message: 'hi' } },
    { key: org.key, headers },
  );
  return { status: res.status, body: await rpcResult(res) };
}

/** `n` active switches of `scope` in D1 (targets that name nobody), as if pulled earlier. */
async function seedSwitches(orgId: string, scope: string, n: number) {
  await env.DB.prepare(
    `INSERT INTO kill_switches (id, org_id, scope, target, reason, created_by, created_at)
     WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?1)
     SELECT 'seed-' || ?2 || '-' || ?3 || '-' || i, ?2, ?3, 'seed-' || i || '@nobody.example', NULL, 'seed', 1 FROM seq`,
  )
    .bind(n, orgId, scope)
    .run();
}

async function count(sql: string, ...binds: unknown[]): Promise<number> {
  return (await env.DB.prepare(sql)
    .bind(...binds)
    .first<{ n: number }>())!.n;
}

const switchesOn = (orgId: string, target: string) =>
  count('SELECT count(*) AS n FROM kill_switches WHERE org_id = ? AND target = ?', orgId, target);
const auditRows = (orgId: string) =>
  count(
    "SELECT count(*) AS n FROM audit_events WHERE org_id = ? AND action IN ('killswitch.create', 'session.suspend')",
    orgId,
  );

describe('kill switch count limits', () => {
  it('refuses the next person switch at the cap (nothing written or pushed); the organization-wide switch still holds', async () => {
    const cap = COUNT_LIMITS.killSwitches.cap;
    const { org } = await setupOrg(['ksl-a']);
    const { org: other } = await setupOrg(['ksl-other']);
    await seedSwitches(org.orgId, 'user', cap - 1);
    // The guard is warm: it loaded the organization's switches, and would hold a pushed one.
    expect((await echo('ksl-a', org, { 'X-Igris-User': 'mallory@example.com' })).status).toBe(200);

    const last = await pull(org, 'user', 'eve@example.com');
    expect(last.active).toBe(true);
    const auditBefore = await auditRows(org.orgId);

    const refused = await call('POST', '/api/v1/kill-switch', {
      key: org.key,
      body: { scope: 'user', target: 'mallory@example.com', reason: 'over the cap' },
    });
    const error = await expectApiError(refused, 409, 'limit_reached');
    expect(error.details).toMatchObject({ location: 'body', path: 'target', max: cap });
    expect(await switchesOn(org.orgId, 'mallory@example.com')).toBe(0);
    expect(await auditRows(org.orgId)).toBe(auditBefore);
    // Not pushed: the warm guard still lets that person through.
    expect((await echo('ksl-a', org, { 'X-Igris-User': 'mallory@example.com' })).status).toBe(200);
    // A connection switch counts in the same limit.
    await expectApiError(
      await call('POST', '/api/v1/kill-switch', {
        key: org.key,
        body: { scope: 'connection', target: 'ksl-a' },
      }),
      409,
      'limit_reached',
    );

    // The emergency stop is never refused, and holds.
    const stop = await pull(org, 'organization', org.orgId, 'emergency');
    expect(stop.active).toBe(true);
    expect((await echo('ksl-a', org)).status).toBe(503);
    await lift(org, stop.id);

    // Another organization is not affected.
    expect((await pull(other, 'user', 'mallory@example.com')).active).toBe(true);

    // Lifting one frees its place.
    await lift(org, last.id);
    expect((await pull(org, 'user', 'mallory@example.com')).active).toBe(true);
    expect((await echo('ksl-a', org, { 'X-Igris-User': 'mallory@example.com' })).status).toBe(503);
  });

  it('refuses the next session suspend at the cap; resuming one frees its place', async () => {
    const cap = COUNT_LIMITS.sessionSuspends.cap;
    const { org, connections } = await setupOrg(['ksl-s1', 'ksl-s2']);
    await seedSwitches(org.orgId, 'session', cap - 1);
    const s1 = agentSessionId(connections['ksl-s1']!.id);
    const s2 = agentSessionId(connections['ksl-s2']!.id);
    expect((await echo('ksl-s2', org)).status).toBe(200);

    const suspend = (id: string) =>
      call('POST', `/api/v1/sessions/${id}/suspend`, { key: org.key, body: {} });
    expect((await expectJson<{ status: string }>(await suspend(s1), 200)).status).toBe('suspended');
    const auditBefore = await auditRows(org.orgId);

    const error = await expectApiError(await suspend(s2), 409, 'limit_reached');
    expect(error.details).toMatchObject({ location: 'path', path: 'id', max: cap });
    expect(await switchesOn(org.orgId, s2)).toBe(0);
    expect(await auditRows(org.orgId)).toBe(auditBefore);
    const row = await env.DB.prepare('SELECT status FROM agent_sessions WHERE id = ?')
      .bind(s2)
      .first<{ status: string }>();
    expect(row?.status ?? 'active').toBe('active');
    expect((await echo('ksl-s2', org)).status).toBe(200);

    // Session suspends do not take places of the other limit (and the reverse).
    expect((await pull(org, 'user', 'trudy@example.com')).active).toBe(true);

    await call('POST', `/api/v1/sessions/${s1}/resume`, { key: org.key });
    expect((await expectJson<{ status: string }>(await suspend(s2), 200)).status).toBe('suspended');
    expect((await echo('ksl-s2', org)).status).toBe(503);
  });
});
