/**
 * The kill switch, through the real Worker, D1 and ConnectionGuard Durable Objects: every scope
 * (connection, organization, user, API key, session) and lifting it, and guards that start cold
 * loading active switches from D1.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { guardFor } from '../../durable-objects/do.client';
import { agentSessionId } from '../../durable-objects/guard.contract';
import { createApiKeyVia, createConnection, mcp, putPolicy, rpcResult, type TestOrg } from './helpers';
import { lift, pull, setupOrg } from './killswitch.fixtures';

/** A tools/call through the gateway; returns the HTTP status and the JSON-RPC answer. */
async function echo(slug: string, org: TestOrg, headers: Record<string, string> = {}, key = org.key) {
  const res = await mcp(slug, 'tools/call', { name: 'echo', arguments: { message: 'hi' } }, { key, headers });
  return { status: res.status, body: await rpcResult(res) };
}

function expectSuspended(answer: Awaited<ReturnType<typeof echo>>, scope: string) {
  expect(answer.status).toBe(503);
  expect(answer.body.error).toMatchObject({
    code: -32010,
    message: 'Session Suspended',
    data: { code: 'session_suspended', details: { scope } },
  });
  expect(answer.body.result).toBeUndefined();
}

describe('kill switch scopes', () => {
  it('connection: refuses that connection with 503 "Session Suspended" until lifted; others pass', async () => {
    const { org, connections } = await setupOrg(['ks-conn-a', 'ks-conn-b']);
    expect((await echo('ks-conn-a', org)).status).toBe(200);

    const ks = await pull(org, 'connection', 'ks-conn-a', 'incident 42'); // slug accepted, id stored
    expect(ks).toMatchObject({
      scope: 'connection',
      target: connections['ks-conn-a']!.id,
      reason: 'incident 42',
      active: true,
      liftedAt: null,
    });
    const refused = await echo('ks-conn-a', org);
    expectSuspended(refused, 'connection');
    expect(refused.body.error!.data).toMatchObject({ details: { reason: 'incident 42' } });
    expect((await echo('ks-conn-b', org)).status).toBe(200);

    const lifted = await lift(org, ks.id);
    expect(lifted).toMatchObject({ id: ks.id, active: false, liftedBy: expect.stringMatching(/^key:/) });
    expect((await echo('ks-conn-a', org)).status).toBe(200);
  });

  it('organization: refuses every connection of the organization and nothing of another', async () => {
    const { org } = await setupOrg(['ks-org-a', 'ks-org-b']);
    const { org: other } = await setupOrg(['ks-org-other']);
    const ks = await pull(org, 'organization', org.orgId);
    expectSuspended(await echo('ks-org-a', org), 'organization');
    expectSuspended(await echo('ks-org-b', org), 'organization');
    expect((await echo('ks-org-other', other)).status).toBe(200);
    await lift(org, ks.id);
    expect((await echo('ks-org-a', org)).status).toBe(200);
  });

  it('user: refuses only calls naming that X-Igris-User, on every connection', async () => {
    const { org } = await setupOrg(['ks-user-a', 'ks-user-b']);
    await pull(org, 'user', 'mallory@example.com');
    expectSuspended(await echo('ks-user-a', org, { 'X-Igris-User': 'mallory@example.com' }), 'user');
    expectSuspended(await echo('ks-user-b', org, { 'X-Igris-User': ' mallory@example.com ' }), 'user');
    expect((await echo('ks-user-a', org, { 'X-Igris-User': 'alice@example.com' })).status).toBe(200);
    expect((await echo('ks-user-a', org)).status).toBe(200);
  });

  it('apiKey: refuses only calls made with that key', async () => {
    const { org } = await setupOrg(['ks-key-a']);
    const second = await createApiKeyVia(org.key, 'second key', 'owner');
    await pull(org, 'apiKey', second.id);
    expectSuspended(await echo('ks-key-a', org, {}, second.key), 'apiKey');
    expect((await echo('ks-key-a', org)).status).toBe(200);
  });

  it('session: refuses the session of that connection', async () => {
    const { org, connections } = await setupOrg(['ks-ses-a', 'ks-ses-b']);
    await pull(org, 'session', agentSessionId(connections['ks-ses-a']!.id));
    expectSuspended(await echo('ks-ses-a', org), 'session');
    expect((await echo('ks-ses-b', org)).status).toBe(200);
  });

  it('wins over the policy: a call the policy denies is answered "Session Suspended" too', async () => {
    const { org } = await setupOrg(['ks-over-policy']);
    await putPolicy('ks-over-policy', [{ tool: 'echo', action: 'deny' }], org.key);
    await pull(org, 'connection', 'ks-over-policy');
    expectSuspended(await echo('ks-over-policy', org), 'connection');
  });
});

describe('a guard that starts cold', () => {
  it('covers a connection created after an organization switch was pulled', async () => {
    const { org } = await setupOrg(['ks-before']);
    await pull(org, 'organization', org.orgId);
    await createConnection('ks-created-later', { key: org.key });
    await putPolicy('ks-created-later', [{ tool: '*', action: 'allow' }], org.key);
    expectSuspended(await echo('ks-created-later', org), 'organization');
  });

  it('loads active switches from D1 before deciding its first call (no push needed)', async () => {
    const { org, connections } = await setupOrg(['ks-d1-only']);
    // Written only to D1, as if the push had been lost: the guard has never run.
    await env.DB.prepare(
      "INSERT INTO kill_switches (id, org_id, scope, target, reason) VALUES ('ks_d1only', ?, 'connection', ?, 'from d1')",
    )
      .bind(org.orgId, connections['ks-d1-only']!.id)
      .run();
    const refused = await echo('ks-d1-only', org);
    expectSuspended(refused, 'connection');
    expect(refused.body.error!.data).toMatchObject({ details: { reason: 'from d1' } });
  });

  it('holds a switch pushed before it ever loaded, and reads D1 at its first call, not at the push', async () => {
    const { org, connections } = await setupOrg(['ks-cold-push']);
    const connectionId = connections['ks-cold-push']!.id;
    const guard = guardFor(env, org.orgId, connectionId);
    const target = { orgId: org.orgId, connectionId };
    // Pushed while the guard has decided nothing yet, its record not (yet) in D1: it must hold anyway.
    await guard.applyKill(target, {
      id: 'ks_cold_pushed',
      scope: 'connection',
      target: connectionId,
      reason: 'pushed',
      createdAt: Date.now(),
    });
    // Committed after the push: a guard that had read D1 for the push would not know this one.
    await env.DB.prepare(
      "INSERT INTO kill_switches (id, org_id, scope, target, reason) VALUES ('ks_cold_d1', ?, 'connection', ?, 'from d1')",
    )
      .bind(org.orgId, connectionId)
      .run();
    expectSuspended(await echo('ks-cold-push', org), 'connection');
    await guard.liftKill(target, 'ks_cold_pushed');
    const stillHeld = await echo('ks-cold-push', org);
    expectSuspended(stillHeld, 'connection');
    expect(stillHeld.body.error!.data).toMatchObject({ details: { reason: 'from d1' } });
  });

  it('drops a pushed switch when its lift is pushed before the guard loaded', async () => {
    const { org, connections } = await setupOrg(['ks-cold-lift']);
    const connectionId = connections['ks-cold-lift']!.id;
    const guard = guardFor(env, org.orgId, connectionId);
    const target = { orgId: org.orgId, connectionId };
    const kill = { id: 'ks_cold_lifted', scope: 'connection' as const, target: connectionId, reason: null };
    await guard.applyKill(target, { ...kill, createdAt: Date.now() });
    await guard.liftKill(target, kill.id);
    expect((await echo('ks-cold-lift', org)).status).toBe(200);
  });

  it('keeps from D1 only the switches that concern it (kill.match), whoever else they hold', async () => {
    const { org, connections } = await setupOrg(['ks-d1-mine', 'ks-d1-other']);
    const mine = connections['ks-d1-mine']!.id;
    const other = connections['ks-d1-other']!.id;
    // Written only to D1 (no push): switches on the other connection, on its session, on another
    // organization's id — and a user switch, which may hold a caller on any connection.
    const insert = env.DB.prepare(
      "INSERT INTO kill_switches (id, org_id, scope, target, reason) VALUES (?, ?, ?, ?, 'from d1')",
    );
    await env.DB.batch([
      insert.bind('ks_d1_other_con', org.orgId, 'connection', other),
      insert.bind('ks_d1_other_ses', org.orgId, 'session', agentSessionId(other)),
      insert.bind('ks_d1_wrong_org', org.orgId, 'organization', 'org_someone_else'),
      insert.bind('ks_d1_user', org.orgId, 'user', 'eve@example.com'),
    ]);
    expect((await echo('ks-d1-mine', org)).status).toBe(200);
    expectSuspended(await echo('ks-d1-mine', org, { 'X-Igris-User': 'eve@example.com' }), 'user');
    expectSuspended(await echo('ks-d1-other', org), 'connection');
    expect(mine).not.toBe(other);
  });
});
