/**
 * Agent sessions: recorded by the connection's guard (D1 row upserted from its alarm, live state
 * on GET /sessions/:id), suspended and resumed through the API (a session kill switch), with audit
 * rows, session_update events, permissions and tenancy.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { agentSessionId } from '../../durable-objects/guard.contract';
import type { SessionUpdateEvent } from '../../workers/shared/events.types';
import {
  addMember,
  adminAuditRows,
  apiKeyIdOf,
  call,
  createApiKeyVia,
  createConnection,
  createOrg,
  expectApiError,
  expectJson,
  flushAudit,
  hubEvents,
  mcp,
  putPolicy,
  rpcResult,
  type TestOrg,
} from './helpers';

interface Session {
  id: string;
  connectionId: string;
  connectionSlug: string;
  status: 'active' | 'suspended';
  suspendedReason: string | null;
  heldBy: Array<{ killSwitchId: string; scope: string; reason: string | null }>;
  mcpSessionId: string | null;
  apiKeyId: string | null;
  user: string | null;
  callCount: number;
  lastSeenAt: string | null;
}

async function connection(org: TestOrg, slug: string) {
  const created = await createConnection(slug, { key: org.key });
  await putPolicy(slug, [{ tool: '*', action: 'allow' }], org.key);
  return { ...created, sessionId: agentSessionId(created.id) };
}

async function echo(slug: string, org: TestOrg, headers: Record<string, string> = {}) {
  const res = await mcp(
    slug,
    'tools/call',
    { name: 'echo', arguments: { message: 'hi' } },
    { key: org.key, headers },
  );
  return { status: res.status, body: await rpcResult(res) };
}

const getSession = async (org: TestOrg, id: string) =>
  expectJson<Session>(await call('GET', `/api/v1/sessions/${id}`, { key: org.key }), 200);

const suspend = async (org: TestOrg, id: string, reason?: string) =>
  expectJson<Session>(
    await call('POST', `/api/v1/sessions/${id}/suspend`, {
      key: org.key,
      body: reason === undefined ? {} : { reason },
    }),
    200,
  );

const resume = async (org: TestOrg, id: string) =>
  expectJson<Session>(await call('POST', `/api/v1/sessions/${id}/resume`, { key: org.key }), 200);

/** Audit rows of one type (`session` for changes to agent sessions, `admin` for the rest). */
async function auditRows(orgId: string, type: 'session' | 'admin', action: string) {
  const { results } = await env.DB.prepare(
    'SELECT * FROM audit_events WHERE org_id = ? AND type = ? AND action = ? ORDER BY created_at, id',
  )
    .bind(orgId, type, action)
    .all<Record<string, unknown>>();
  return results.map(
    (row): Record<string, unknown> => ({ ...row, details: JSON.parse(String(row.details ?? 'null')) }),
  );
}

async function sessionUpdates(orgId: string, sessionId: string): Promise<SessionUpdateEvent[]> {
  return (await hubEvents(orgId))
    .map((body) => JSON.parse(body) as { type: string })
    .filter((e): e is SessionUpdateEvent => e.type === 'session_update')
    .filter((e) => e.sessionId === sessionId);
}

describe('the session record', () => {
  it('counts calls and keeps the last MCP session id, API key and user (D1 row and live state)', async () => {
    const org = await createOrg('owner');
    const conn = await connection(org, 'ses-record');
    await echo('ses-record', org, { 'X-Igris-User': 'alice@example.com' });
    await echo('ses-record', org, { 'Mcp-Session-Id': 'mcp-abc' });
    await echo('ses-record', org);

    // Live: straight from the guard, before any flush.
    const live = await getSession(org, conn.sessionId);
    expect(live).toMatchObject({
      id: conn.sessionId,
      connectionId: conn.id,
      connectionSlug: 'ses-record',
      status: 'active',
      heldBy: [],
      callCount: 3,
      user: 'alice@example.com',
      mcpSessionId: 'mcp-abc',
      apiKeyId: await apiKeyIdOf(org.key),
    });
    expect(live.lastSeenAt).not.toBeNull();

    // Recorded: the guard's alarm upserts the D1 row.
    await flushAudit();
    const row = await env.DB.prepare('SELECT * FROM agent_sessions WHERE id = ?')
      .bind(conn.sessionId)
      .first<Record<string, unknown>>();
    expect(row).toMatchObject({
      org_id: org.orgId,
      connection_id: conn.id,
      status: 'active',
      call_count: 3,
      user: 'alice@example.com',
      mcp_session_id: 'mcp-abc',
    });
    const list = await expectJson<{ sessions: Session[] }>(
      await call('GET', '/api/v1/sessions', { key: org.key }),
      200,
    );
    expect(list.sessions).toHaveLength(1);
    expect(list.sessions[0]).toMatchObject({ id: conn.sessionId, callCount: 3, status: 'active' });
  });

  it('exists (idle) for a connection that has not been called yet, and 404s for unknown ids', async () => {
    const org = await createOrg('owner');
    const conn = await connection(org, 'ses-idle');
    expect(await getSession(org, conn.sessionId)).toMatchObject({
      callCount: 0,
      lastSeenAt: null,
      status: 'active',
    });
    await expectApiError(
      await call('GET', '/api/v1/sessions/ses_doesnotexist', { key: org.key }),
      404,
      'not_found',
    );
    await expectApiError(await call('GET', '/api/v1/sessions/nonsense', { key: org.key }), 404, 'not_found');
  });
});

describe('suspend and resume', () => {
  it('suspends (503 "Session Suspended"), resumes (calls pass), with audit rows and session_update events', async () => {
    const org = await createOrg('owner');
    const conn = await connection(org, 'ses-suspend');
    await connection(org, 'ses-suspend-other');
    expect((await echo('ses-suspend', org)).status).toBe(200);

    const suspended = await suspend(org, conn.sessionId, 'looping agent');
    expect(suspended).toMatchObject({
      status: 'suspended',
      suspendedReason: 'looping agent',
      heldBy: [{ scope: 'session', reason: 'looping agent' }],
    });
    const refused = await echo('ses-suspend', org);
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatchObject({ code: -32010, message: 'Session Suspended' });
    expect((await echo('ses-suspend-other', org)).status).toBe(200);

    // It is a session kill switch, listed with the others.
    const switches = await expectJson<{
      killSwitches: Array<{ scope: string; target: string; active: boolean }>;
    }>(await call('GET', '/api/v1/kill-switch?status=active', { key: org.key }), 200);
    expect(switches.killSwitches).toEqual([
      expect.objectContaining({ scope: 'session', target: conn.sessionId, active: true }),
    ]);
    const row = await env.DB.prepare('SELECT status, suspended_reason FROM agent_sessions WHERE id = ?')
      .bind(conn.sessionId)
      .first();
    expect(row).toEqual({ status: 'suspended', suspended_reason: 'looping agent' });

    const resumed = await resume(org, conn.sessionId);
    expect(resumed).toMatchObject({ status: 'active', heldBy: [], suspendedReason: null });
    expect((await echo('ses-suspend', org)).status).toBe(200);

    // Changes to an agent session are `session` rows, not `admin` ones.
    const audit = [
      ...(await auditRows(org.orgId, 'session', 'session.suspend')),
      ...(await auditRows(org.orgId, 'session', 'session.resume')),
    ];
    expect(audit.map((r) => [r.type, r.action, r.session_id, r.connection_id, r.actor])).toEqual([
      ['session', 'session.suspend', conn.sessionId, conn.id, `key:${await apiKeyIdOf(org.key)}`],
      ['session', 'session.resume', conn.sessionId, conn.id, `key:${await apiKeyIdOf(org.key)}`],
    ]);
    expect(audit[0]!.details).toMatchObject({ reason: 'looping agent', scope: 'session' });
    expect(await adminAuditRows(org.orgId, 'session.suspend')).toEqual([]);
    expect(await adminAuditRows(org.orgId, 'session.resume')).toEqual([]);

    const events = await sessionUpdates(org.orgId, conn.sessionId);
    expect(events.map((e) => [e.status, e.serverId])).toEqual([
      ['suspended', conn.id],
      ['active', conn.id],
    ]);
    expect(new Date(events[0]!.timestamp).toString()).not.toBe('Invalid Date');
  });

  it('repeating a suspend or resume changes nothing and writes nothing', async () => {
    const org = await createOrg('owner');
    const conn = await connection(org, 'ses-repeat');
    await suspend(org, conn.sessionId);
    expect((await suspend(org, conn.sessionId)).status).toBe('suspended');
    await resume(org, conn.sessionId);
    expect((await resume(org, conn.sessionId)).status).toBe('active');
    expect(await auditRows(org.orgId, 'session', 'session.suspend')).toHaveLength(1);
    expect(await auditRows(org.orgId, 'session', 'session.resume')).toHaveLength(1);
  });

  it('audits session switches pulled through the kill-switch API as `session` rows; other scopes stay `admin`', async () => {
    const org = await createOrg('owner');
    const conn = await connection(org, 'ses-ks-type');
    const pull = async (scope: string, target: string) =>
      expectJson<{ id: string }>(
        await call('POST', '/api/v1/kill-switch', { key: org.key, body: { scope, target } }),
        201,
      );
    const onSession = await pull('session', conn.sessionId);
    const onConnection = await pull('connection', conn.id);
    for (const ks of [onSession, onConnection]) {
      expect((await call('DELETE', `/api/v1/kill-switch/${ks.id}`, { key: org.key })).status).toBe(200);
    }
    const typeOf = async (action: string) =>
      Object.fromEntries(
        [
          ...(await auditRows(org.orgId, 'session', action)),
          ...(await auditRows(org.orgId, 'admin', action)),
        ].map((r) => [(r.details as { scope: string }).scope, [r.type, r.session_id]]),
      );
    for (const action of ['killswitch.create', 'killswitch.lift']) {
      expect(await typeOf(action)).toEqual({
        session: ['session', conn.sessionId],
        connection: ['admin', null],
      });
    }
  });

  it('shows a connection switch as holding the session; resume cannot lift it and says so', async () => {
    const org = await createOrg('owner');
    const conn = await connection(org, 'ses-held');
    const ks = await expectJson<{ id: string }>(
      await call('POST', '/api/v1/kill-switch', {
        key: org.key,
        body: { scope: 'connection', target: conn.id, reason: 'upstream compromised' },
      }),
      201,
    );
    const held = await resume(org, conn.sessionId);
    expect(held).toMatchObject({
      status: 'suspended',
      heldBy: [{ killSwitchId: ks.id, scope: 'connection', reason: 'upstream compromised' }],
    });
    const list = await expectJson<{ sessions: Session[] }>(
      await call('GET', '/api/v1/sessions?status=suspended', { key: org.key }),
      200,
    );
    // The session has no D1 row yet (never called, never suspended itself): only GET /:id shows it.
    expect(list.sessions).toEqual([]);
    expect((await sessionUpdates(org.orgId, conn.sessionId)).map((e) => e.status)).toEqual(['suspended']);
  });

  it('an organization switch sends session_update "suspended" for each recorded session of the organization', async () => {
    const org = await createOrg('owner');
    const conn = await connection(org, 'ses-org-held');
    // A suspend and a resume give the session its D1 row (what an organization pull lists).
    await suspend(org, conn.sessionId, 'first');
    await resume(org, conn.sessionId);
    await expectJson(
      await call('POST', '/api/v1/kill-switch', {
        key: org.key,
        body: { scope: 'organization', target: org.orgId, reason: 'incident' },
      }),
      201,
    );
    const events = await sessionUpdates(org.orgId, conn.sessionId);
    expect(events.map((e) => [e.status, e.serverId])).toEqual([
      ['suspended', conn.id],
      ['active', conn.id],
      ['suspended', conn.id],
    ]);
  });

  it('is not held by switches on callers or on another connection and its session', async () => {
    const org = await createOrg('owner');
    const conn = await connection(org, 'ses-not-held');
    const other = await connection(org, 'ses-not-held-other');
    for (const [scope, target] of [
      ['user', 'eve@example.com'],
      ['apiKey', (await createApiKeyVia(org.key, 'ses-not-held-agent')).id],
      ['connection', other.id],
      ['session', other.sessionId],
    ]) {
      await expectJson(
        await call('POST', '/api/v1/kill-switch', { key: org.key, body: { scope, target } }),
        201,
      );
    }
    expect(await getSession(org, conn.sessionId)).toMatchObject({ status: 'active', heldBy: [] });
    expect(await getSession(org, other.sessionId)).toMatchObject({
      status: 'suspended',
      heldBy: [{ scope: 'connection' }, { scope: 'session' }],
    });
  });

  it('filters the list by connection (id or slug) and status', async () => {
    const org = await createOrg('owner');
    const a = await connection(org, 'ses-filter-a');
    const b = await connection(org, 'ses-filter-b');
    await echo('ses-filter-a', org);
    await echo('ses-filter-b', org);
    await suspend(org, b.sessionId);
    await flushAudit();
    const ids = async (query: string) =>
      (
        await expectJson<{ sessions: Session[] }>(
          await call('GET', `/api/v1/sessions${query}`, { key: org.key }),
          200,
        )
      ).sessions
        .map((s) => s.id)
        .sort();
    expect(await ids('')).toEqual([a.sessionId, b.sessionId].sort());
    expect(await ids('?connection=ses-filter-a')).toEqual([a.sessionId]);
    expect(await ids(`?connection=${b.id}`)).toEqual([b.sessionId]);
    expect(await ids('?status=suspended')).toEqual([b.sessionId]);
    expect(await ids('?status=active')).toEqual([a.sessionId]);
    await expectApiError(
      await call('GET', '/api/v1/sessions?status=paused', { key: org.key }),
      400,
      'validation_failed',
    );
  });
});

describe('permissions and tenancy', () => {
  let org: TestOrg;
  let developer: TestOrg;
  let ownSession: string;
  let adminSession: string;
  beforeAll(async () => {
    org = await createOrg('owner');
    developer = await addMember(org.orgId, 'developer');
    ownSession = (await connection(developer, 'ses-perm-dev')).sessionId;
    adminSession = (await connection(org, 'ses-perm-admin')).sessionId;
  });

  it('a developer suspends and resumes sessions of their own connections only (403 otherwise)', async () => {
    expect((await suspend(developer, ownSession, 'mine')).status).toBe('suspended');
    expect((await resume(developer, ownSession)).status).toBe('active');
    const err = await expectApiError(
      await call('POST', `/api/v1/sessions/${adminSession}/suspend`, { key: developer.key, body: {} }),
      403,
      'forbidden',
    );
    expect(err.message).toContain('sessions:write');
    await expectApiError(
      await call('GET', `/api/v1/sessions/${adminSession}`, { key: developer.key }),
      403,
      'forbidden',
    );
  });

  it('an auditor reads but cannot suspend or resume', async () => {
    const auditor = await addMember(org.orgId, 'auditor');
    expect((await getSession(auditor, adminSession)).id).toBe(adminSession);
    for (const action of ['suspend', 'resume']) {
      const err = await expectApiError(
        await call('POST', `/api/v1/sessions/${adminSession}/${action}`, { key: auditor.key, body: {} }),
        403,
        'forbidden',
      );
      expect(err.message).toContain('sessions:write');
    }
  });

  it("another organization's key gets 404 for everything and suspends nothing", async () => {
    const other = await createOrg('owner');
    await expectApiError(
      await call('GET', `/api/v1/sessions/${adminSession}`, { key: other.key }),
      404,
      'not_found',
    );
    for (const action of ['suspend', 'resume']) {
      await expectApiError(
        await call('POST', `/api/v1/sessions/${adminSession}/${action}`, { key: other.key, body: {} }),
        404,
        'not_found',
      );
    }
    await echo('ses-perm-admin', org);
    await flushAudit();
    const list = await expectJson<{ sessions: Session[] }>(
      await call('GET', '/api/v1/sessions', { key: other.key }),
      200,
    );
    expect(list.sessions).toEqual([]);
    expect((await getSession(org, adminSession)).status).toBe('active');
  });
});
