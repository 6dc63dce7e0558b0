/**
 * The kill switch, through the real Worker, D1 and ConnectionGuard Durable Objects: every scope,
 * lifting, cold guards loading from D1, open SSE streams ending, audit, permissions and tenancy.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { guardFor } from '../../durable-objects/do.client';
import { agentSessionId } from '../../durable-objects/guard.contract';
import { openSession, SseReader } from './gateway.fixtures';
import {
  ADMIN_KEY,
  addMember,
  adminAuditRows,
  apiKeyIdOf,
  bootstrapDefault,
  call,
  createApiKeyVia,
  createConnection,
  createOrg,
  expectApiError,
  expectJson,
  flushAudit,
  mcp,
  putPolicy,
  rpcResult,
  type TestOrg,
} from './helpers';

interface KillSwitch {
  id: string;
  scope: string;
  target: string;
  reason: string | null;
  active: boolean;
  createdBy: string | null;
  liftedAt: string | null;
  liftedBy: string | null;
}

async function pull(org: TestOrg, scope: string, target: string, reason?: string): Promise<KillSwitch> {
  const res = await call('POST', '/api/v1/kill-switch', { key: org.key, body: { scope, target, reason } });
  return expectJson<KillSwitch>(res, 201);
}

async function lift(org: TestOrg, id: string): Promise<KillSwitch> {
  return expectJson<KillSwitch>(await call('DELETE', `/api/v1/kill-switch/${id}`, { key: org.key }), 200);
}

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

async function setupOrg(slugs: string[]) {
  const org = await createOrg('owner');
  const connections: Record<string, { id: string }> = {};
  for (const slug of slugs) {
    connections[slug] = await createConnection(slug, { key: org.key });
    await putPolicy(slug, [{ tool: '*', action: 'allow' }], org.key);
  }
  return { org, connections };
}

// The bootstrap organization exists only if it is made before any other (the SSE test uses it).
beforeAll(async () => {
  await bootstrapDefault();
});

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

describe('records', () => {
  it('writes admin audit rows for pull and lift, and audits refused calls as killed', async () => {
    const { org, connections } = await setupOrg(['ks-audit']);
    const ks = await pull(org, 'connection', connections['ks-audit']!.id, 'audit me');
    const res = await mcp(
      'ks-audit',
      'tools/call',
      { name: 'echo', arguments: { message: 'x' } },
      { key: org.key, headers: { 'X-Igris-Trace-Id': 'ks-audit-trace' } },
    );
    expect(res.status).toBe(503);
    await res.text();
    await lift(org, ks.id);

    const created = await adminAuditRows(org.orgId, 'killswitch.create');
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({
      connection_id: connections['ks-audit']!.id,
      connection_slug: 'ks-audit',
      details: { killSwitchId: ks.id, scope: 'connection', reason: 'audit me' },
    });
    expect(await adminAuditRows(org.orgId, 'killswitch.lift')).toHaveLength(1);

    await flushAudit();
    const row = await env.DB.prepare("SELECT * FROM audit_events WHERE trace_id = 'ks-audit-trace'").first<
      Record<string, unknown>
    >();
    expect(row).toMatchObject({ action: 'killed', error_code: 'session_suspended', upstream_status: null });
    expect(JSON.parse(row!.details as string)).toMatchObject({ killSwitchId: ks.id, scope: 'connection' });
  });

  it('is idempotent: pulling an active scope+target again returns it (200), lifting twice is fine', async () => {
    const { org } = await setupOrg(['ks-idem']);
    const first = await pull(org, 'connection', 'ks-idem');
    const again = await call('POST', '/api/v1/kill-switch', {
      key: org.key,
      body: { scope: 'connection', target: 'ks-idem' },
    });
    expect((await expectJson<KillSwitch>(again, 200)).id).toBe(first.id);
    await lift(org, first.id);
    expect((await lift(org, first.id)).active).toBe(false);
    expect(await adminAuditRows(org.orgId, 'killswitch.lift')).toHaveLength(1);
  });

  it('finds the active switch whether the connection is named by id or by slug', async () => {
    const { org, connections } = await setupOrg(['ks-idem-id']);
    const id = connections['ks-idem-id']!.id;
    const byId = await pull(org, 'connection', id);
    const bySlug = await call('POST', '/api/v1/kill-switch', {
      key: org.key,
      body: { scope: 'connection', target: 'ks-idem-id' },
    });
    expect((await expectJson<KillSwitch>(bySlug, 200)).id).toBe(byId.id);
    await lift(org, byId.id);
    const again = await pull(org, 'connection', 'ks-idem-id');
    const byIdAgain = await call('POST', '/api/v1/kill-switch', {
      key: org.key,
      body: { scope: 'connection', target: id },
    });
    expect((await expectJson<KillSwitch>(byIdAgain, 200)).id).toBe(again.id);
    expect(await adminAuditRows(org.orgId, 'killswitch.create')).toHaveLength(2);
  });

  it('lists switches (newest first, filtered by status and scope) and gets one', async () => {
    const { org } = await setupOrg(['ks-list']);
    const a = await pull(org, 'user', 'u1');
    const b = await pull(org, 'connection', 'ks-list');
    await lift(org, a.id);
    const all = await expectJson<{ killSwitches: KillSwitch[] }>(
      await call('GET', '/api/v1/kill-switch', { key: org.key }),
      200,
    );
    expect(all.killSwitches.map((k) => k.id)).toEqual([b.id, a.id]);
    const active = await expectJson<{ killSwitches: KillSwitch[] }>(
      await call('GET', '/api/v1/kill-switch?status=active', { key: org.key }),
      200,
    );
    expect(active.killSwitches.map((k) => k.id)).toEqual([b.id]);
    const users = await expectJson<{ killSwitches: KillSwitch[] }>(
      await call('GET', '/api/v1/kill-switch?scope=user', { key: org.key }),
      200,
    );
    expect(users.killSwitches.map((k) => k.id)).toEqual([a.id]);
    const one = await expectJson<KillSwitch>(
      await call('GET', `/api/v1/kill-switch/${a.id}`, { key: org.key }),
      200,
    );
    expect(one).toMatchObject({ id: a.id, active: false });
  });

  it('validates the body', async () => {
    const { org } = await setupOrg([]);
    const res = await call('POST', '/api/v1/kill-switch', {
      key: org.key,
      body: { scope: 'planet', target: 'x' },
    });
    const err = await expectApiError(res, 400, 'validation_failed');
    expect(JSON.stringify(err.details)).toContain('scope');
    await expectApiError(
      await call('POST', '/api/v1/kill-switch', { key: org.key, body: { scope: 'user', target: '' } }),
      400,
      'validation_failed',
    );
  });
});

describe('permissions and tenancy', () => {
  let org: TestOrg;
  let other: TestOrg;
  let otherConnectionId: string;
  let orgConnectionId: string;
  let ksId: string;
  beforeAll(async () => {
    const first = await setupOrg(['ks-perm']);
    org = first.org;
    orgConnectionId = first.connections['ks-perm']!.id;
    const second = await setupOrg(['ks-perm-other']);
    other = second.org;
    otherConnectionId = second.connections['ks-perm-other']!.id;
    ksId = (await pull(org, 'user', 'someone')).id;
  });

  it('admin may pull and lift; developer and auditor get 403 naming killswitch:write', async () => {
    const admin = await addMember(org.orgId, 'admin');
    const ks = await pull(admin, 'user', 'by-admin');
    await lift(admin, ks.id);
    for (const role of ['developer', 'auditor'] as const) {
      const member = await addMember(org.orgId, role);
      const err = await expectApiError(
        await call('POST', '/api/v1/kill-switch', { key: member.key, body: { scope: 'user', target: 'x' } }),
        403,
        'forbidden',
      );
      expect(err.message).toContain('killswitch:write');
      await expectApiError(
        await call('DELETE', `/api/v1/kill-switch/${ksId}`, { key: member.key }),
        403,
        'forbidden',
      );
    }
  });

  it('auditors read the list', async () => {
    const auditor = await addMember(org.orgId, 'auditor');
    const list = await expectJson<{ killSwitches: KillSwitch[] }>(
      await call('GET', '/api/v1/kill-switch', { key: auditor.key }),
      200,
    );
    expect(list.killSwitches.map((k) => k.id)).toContain(ksId);
  });

  it('developers list the switches that can hold their own connections, not those on others', async () => {
    const developer = await addMember(org.orgId, 'developer');
    const own = await createConnection('ks-perm-dev-own', { key: developer.key });
    const onOwn = await pull(org, 'connection', own.id);
    const onSession = await pull(org, 'session', agentSessionId(own.id));
    const onOthers = await pull(org, 'connection', orgConnectionId);
    const list = await expectJson<{ killSwitches: KillSwitch[] }>(
      await call('GET', '/api/v1/kill-switch', { key: developer.key }),
      200,
    );
    const ids = list.killSwitches.map((k) => k.id);
    expect(ids).toEqual(expect.arrayContaining([onOwn.id, onSession.id, ksId]));
    expect(ids).not.toContain(onOthers.id);
    await expectApiError(
      await call('GET', `/api/v1/kill-switch/${onOthers.id}`, { key: developer.key }),
      403,
      'forbidden',
    );
    for (const ks of [onOwn, onSession, onOthers]) await lift(org, ks.id);
  });

  it("another organization's key can't see, lift or target anything of this one (404)", async () => {
    await expectApiError(
      await call('GET', `/api/v1/kill-switch/${ksId}`, { key: other.key }),
      404,
      'not_found',
    );
    await expectApiError(
      await call('DELETE', `/api/v1/kill-switch/${ksId}`, { key: other.key }),
      404,
      'not_found',
    );
    const list = await expectJson<{ killSwitches: KillSwitch[] }>(
      await call('GET', '/api/v1/kill-switch', { key: other.key }),
      200,
    );
    expect(list.killSwitches.map((k) => k.id)).not.toContain(ksId);

    const orgKeyId = await apiKeyIdOf(org.key);
    for (const [scope, target] of [
      ['organization', org.orgId],
      ['connection', 'ks-perm'],
      ['connection', orgConnectionId],
      ['session', agentSessionId(orgConnectionId)],
      ['apiKey', orgKeyId],
    ] as const) {
      await expectApiError(
        await call('POST', '/api/v1/kill-switch', { key: other.key, body: { scope, target } }),
        404,
        'not_found',
      );
    }
    // And this organization cannot reach into the other one's connection either.
    await expectApiError(
      await call('POST', '/api/v1/kill-switch', {
        key: org.key,
        body: { scope: 'connection', target: otherConnectionId },
      }),
      404,
      'not_found',
    );
    // Nothing was lifted: the switch still holds.
    const still = await expectJson<KillSwitch>(
      await call('GET', `/api/v1/kill-switch/${ksId}`, { key: org.key }),
      200,
    );
    expect(still.active).toBe(true);
  });
});

describe('open SSE streams', () => {
  it('end when a matching switch is pulled, and a stream that ends first leaves no watcher behind', async () => {
    // The stateful upstream's GET stream stays open until someone closes it. openSession() speaks
    // with the admin key, so this runs in the bootstrap organization.
    const org: TestOrg = { orgId: await bootstrapDefault(), userId: '', key: ADMIN_KEY };
    const slug = 'ks-stream';
    const { id } = await createConnection(slug, { upstreamPath: '/mcp' });
    await putPolicy(slug, [{ tool: '*', action: 'allow' }]);
    const guard = env.GUARD.getByName(`${org.orgId}:${id}`);

    // A stream the caller closes itself: its watcher is removed from the guard.
    const first = await openStream(slug);
    await waitFor(async () => (await guard.watcherCount()) === 1);
    await first.cancel();
    await waitFor(async () => (await guard.watcherCount()) === 0);

    // A stream still open when the switch is pulled: the gateway ends it.
    const stream = await openStream(slug);
    await waitFor(async () => (await guard.watcherCount()) === 1);
    const ks = await pull(org, 'connection', slug);
    // A GET stream has no pending request, so no error event: the stream simply ends (null).
    expect(await stream.next()).toBeNull();
    await waitFor(async () => (await guard.watcherCount()) === 0);
    await lift(org, ks.id);
  });
});

async function openStream(slug: string) {
  const session = await openSession(slug);
  const res = await call('GET', `/v1/mcp/${slug}`, {
    headers: { Accept: 'text/event-stream', ...session.headers },
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('Content-Type')).toContain('text/event-stream');
  return new SseReader(res);
}

/** Polls until `check` holds (bounded by the test timeout). */
async function waitFor(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 25));
}
