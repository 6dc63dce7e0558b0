/**
 * The kill switch, through the real Worker, D1 and ConnectionGuard Durable Objects: its records and
 * audit, permissions and tenancy, and open SSE streams ending when it is pulled.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { agentSessionId } from '../../durable-objects/guard.contract';
import { openSession, SseReader } from './gateway.fixtures';
import {
  ADMIN_KEY,
  addMember,
  adminAuditRows,
  apiKeyIdOf,
  bootstrapDefault,
  call,
  createConnection,
  expectApiError,
  expectJson,
  flushAudit,
  mcp,
  putPolicy,
  type TestOrg,
} from './helpers';
import { type KillSwitch, lift, pull, setupOrg } from './killswitch.fixtures';

// The bootstrap organization exists only if it is made before any other (the SSE test uses it).
beforeAll(async () => {
  await bootstrapDefault();
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
