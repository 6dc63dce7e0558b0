/**
 * The audit trail API over real gateway traffic: rows are produced by calls through /v1/mcp/:slug
 * (spooled by the guard, flushed by its alarm) and by admin changes, then read back through
 * GET /api/v1/audit-events (filters, cursor pages), /audit-events/:id and /traces/:traceId — with
 * organization scoping, the Developer's own-connections restriction, and administrative rows.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeCursor } from '../../workers/audit/audit.schemas';
import {
  type AuditEvent,
  DEV,
  devConnId,
  developer,
  list,
  listAll,
  MAIN,
  mainId,
  org,
  other,
  RUN,
  SIDE,
  setUpAuditApi,
} from './audit.api.fixtures';
import { addMember, call, expectApiError, expectJson } from './helpers';

beforeAll(setUpAuditApi);

describe('GET /api/v1/audit-events', () => {
  it('returns complete camelCase rows, metadata parsed, newest first', async () => {
    const page = await list(`traceId=trace-${RUN}&type=tool_call`);
    expect(page.events.map((e) => e.tool)).toEqual(['delete_records', 'add', 'echo']);
    const echo = page.events[2]!;
    expect(echo).toMatchObject({
      orgId: org.orgId,
      type: 'tool_call',
      connectionId: mainId,
      connectionSlug: MAIN,
      sessionId: expect.stringMatching(/^ses_/),
      apiKeyId: expect.stringMatching(/^key_/),
      actor: expect.stringMatching(/^key:/),
      user: 'alice@example.com',
      traceId: `trace-${RUN}`,
      metadata: { team: 'red', n: 3 },
      metadataError: null,
      method: 'tools/call',
      tool: 'echo',
      action: 'allow',
      ruleIndex: 1,
      policyVersion: 1,
      upstreamStatus: 200,
      errorCode: null,
    });
    expect(echo.latencyMs).toEqual(expect.any(Number));
    expect(new Date(echo.createdAt).toISOString()).toBe(echo.createdAt);
    const deny = page.events[0]!;
    expect(deny).toMatchObject({
      action: 'deny',
      ruleIndex: 0,
      policyVersion: 1,
      errorCode: 'policy_denied',
    });
    expect(deny.details).toEqual({ reason: 'no deletes' });
    expect(page.nextCursor).toBeNull();
  });

  it('filters by connection (slug or id), user, tool, action, type, session and time', async () => {
    const bySlug = await list(`connection=${SIDE}&type=tool_call`);
    expect(bySlug.events).toHaveLength(5);
    expect(new Set(bySlug.events.map((e) => e.user))).toEqual(new Set(['bob@example.com']));
    const byId = await list(`connection=${mainId}&type=tool_call`);
    expect(byId.events.map((e) => e.traceId)).toEqual(Array(3).fill(`trace-${RUN}`));

    expect((await list('user=alice@example.com&type=tool_call')).events).toHaveLength(3);
    expect((await list(`tool=add&connection=${MAIN}`)).events.map((e) => e.tool)).toEqual(['add']);
    expect((await list('action=deny')).events.map((e) => e.tool)).toEqual(['delete_records']);

    const admin = await list('type=admin&action=connection.create');
    expect(admin.events.map((e) => e.connectionSlug).sort()).toEqual([DEV, MAIN, SIDE]);

    const sessionId = bySlug.events[0]!.sessionId!;
    expect((await list(`session=${sessionId}`)).events.every((e) => e.connectionSlug === SIDE)).toBe(true);

    // from is inclusive, to exclusive; ISO and milliseconds both work.
    const all = (await list(`connection=${SIDE}&type=tool_call`)).events;
    const newest = Date.parse(all[0]!.createdAt);
    const oldest = Date.parse(all.at(-1)!.createdAt);
    const fromNewest = await list(`connection=${SIDE}&type=tool_call&from=${new Date(newest).toISOString()}`);
    expect(fromNewest.events.every((e) => Date.parse(e.createdAt) >= newest)).toBe(true);
    expect(fromNewest.events.length).toBeGreaterThanOrEqual(1);
    const beforeOldest = await list(`connection=${SIDE}&type=tool_call&to=${oldest}`);
    expect(beforeOldest.events).toHaveLength(0);
    const window = await list(`connection=${SIDE}&type=tool_call&from=${oldest}&to=${newest + 1}`);
    expect(window.events).toHaveLength(5);
  });

  it('pages with an opaque cursor on (created_at, id): no row twice, none skipped, even on equal times', async () => {
    // 23 rows sharing one created_at plus 17 spread out, so page boundaries fall inside a tie.
    const base = Date.now() - 60_000;
    const statements = [];
    for (let i = 0; i < 40; i++) {
      statements.push(
        env.DB.prepare(
          `INSERT INTO audit_events (id, org_id, type, connection_id, action, trace_id, created_at)
           VALUES (?, ?, 'request', ?, 'allow', ?, ?)`,
        ).bind(
          `evt_page_${RUN}_${String(i).padStart(3, '0')}`,
          org.orgId,
          mainId,
          `page-${RUN}`,
          i < 23 ? base : base + i,
        ),
      );
    }
    await env.DB.batch(statements);
    const full = (await list(`traceId=page-${RUN}&limit=500`)).events;
    expect(full).toHaveLength(40);
    for (const limit of [1, 7, 23, 39, 40]) {
      const { rows, pages } = await listAll(`traceId=page-${RUN}`, limit);
      expect(rows.map((r) => r.id)).toEqual(full.map((r) => r.id));
      expect(pages).toBe(Math.ceil(40 / limit));
    }
    // Newest first; ties broken by id, descending.
    const keys = full.map((r) => [Date.parse(r.createdAt), r.id] as const);
    for (let i = 1; i < keys.length; i++) {
      const [t0, id0] = keys[i - 1]!;
      const [t1, id1] = keys[i]!;
      expect(t0 > t1 || (t0 === t1 && id0 > id1)).toBe(true);
    }
    const first = await list(`traceId=page-${RUN}&limit=10`);
    expect(decodeCursor(first.nextCursor!)).toEqual({
      createdAt: Date.parse(first.events[9]!.createdAt),
      id: first.events[9]!.id,
    });
  });

  it('rejects a bad limit, cursor, time or type with 400 naming the query field', async () => {
    for (const [query, path] of [
      ['limit=501', 'limit'],
      ['limit=0', 'limit'],
      ['cursor=not-a-cursor!', 'cursor'],
      [`cursor=${btoa('["x","y"]')}`, 'cursor'],
      ['from=yesterday', 'from'],
      ['to=2026-13-45T99:00:00Z', 'to'],
      ['type=nonsense', 'type'],
    ] as const) {
      const err = await expectApiError(
        await call('GET', `/api/v1/audit-events?${query}`, { key: org.key }),
        400,
        'validation_failed',
      );
      expect(err.details?.issues?.[0]).toMatchObject({ location: 'query', path });
    }
  });

  it('requires a key', async () => {
    await expectApiError(await call('GET', '/api/v1/audit-events', { key: null }), 401, 'unauthorized');
  });
});

describe('organization scoping', () => {
  it("never lists another organization's rows, whatever the filter", async () => {
    const mine = await listAll('type=tool_call', 500);
    expect(mine.rows.length).toBeGreaterThan(0);
    expect(mine.rows.every((e) => e.orgId === org.orgId)).toBe(true);
    expect((await list(`traceId=other-${RUN}`)).events).toHaveLength(0);
    const theirs = await list(`traceId=other-${RUN}`, other.key);
    expect(theirs.events).toHaveLength(1);
    expect(theirs.events[0]!.orgId).toBe(other.orgId);
    // Same slug in both organizations: each sees only its own connection's rows.
    expect((await list(`connection=${MAIN}&traceId=other-${RUN}`)).events).toHaveLength(0);
  });

  it("answers 404 for another organization's event id and trace", async () => {
    const theirs = (await list(`traceId=other-${RUN}`, other.key)).events[0]!;
    await expectApiError(
      await call('GET', `/api/v1/audit-events/${theirs.id}`, { key: org.key }),
      404,
      'not_found',
    );
    await expectApiError(
      await call('GET', `/api/v1/traces/other-${RUN}`, { key: org.key }),
      404,
      'not_found',
    );
    const own = await expectJson<AuditEvent>(
      await call('GET', `/api/v1/audit-events/${theirs.id}`, { key: other.key }),
      200,
    );
    expect(own).toEqual(theirs);
  });
});

describe('GET /api/v1/audit-events/:id and /api/v1/traces/:traceId', () => {
  it('returns one event, and 404 for an unknown id', async () => {
    const [event] = (await list(`traceId=trace-${RUN}&tool=add`)).events;
    expect(
      await expectJson(await call('GET', `/api/v1/audit-events/${event!.id}`, { key: org.key }), 200),
    ).toEqual(event);
    await expectApiError(
      await call('GET', '/api/v1/audit-events/evt_nope', { key: org.key }),
      404,
      'not_found',
    );
  });

  it('returns the whole chain of a trace, oldest first', async () => {
    const trace = await expectJson<{ traceId: string; events: AuditEvent[]; truncated: boolean }>(
      await call('GET', `/api/v1/traces/trace-${RUN}`, { key: org.key }),
      200,
    );
    expect(trace.traceId).toBe(`trace-${RUN}`);
    expect(trace.truncated).toBe(false);
    const calls = trace.events.filter((e) => e.type === 'tool_call');
    expect(calls.map((e) => [e.tool, e.action])).toEqual([
      ['echo', 'allow'],
      ['add', 'allow'],
      ['delete_records', 'deny'],
    ]);
    // The whole chain (anomalies the calls raised included): the list's rows, oldest first.
    const listed = (await list(`traceId=trace-${RUN}`)).events;
    expect(trace.events.map((e) => e.id)).toEqual(listed.map((e) => e.id).reverse());
    await expectApiError(
      await call('GET', '/api/v1/traces/no-such-trace', { key: org.key }),
      404,
      'not_found',
    );
  });
});

describe('Developer: only rows of connections they created', () => {
  it('lists only their own connections, and 403 when naming another', async () => {
    const rows = (await listAll('', 500, developer.key)).rows;
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((e) => e.connectionId === devConnId)).toBe(true);
    expect(rows.some((e) => e.traceId === `dev-${RUN}`)).toBe(true);
    await expectApiError(
      await call('GET', `/api/v1/audit-events?connection=${MAIN}`, { key: developer.key }),
      403,
      'forbidden',
    );
    expect((await list(`connection=${DEV}`, developer.key)).events.length).toBe(rows.length);
  });

  it("gets 403 for an event of someone else's connection and sees no foreign trace", async () => {
    const [foreign] = (await list(`traceId=trace-${RUN}`)).events;
    const err = await expectApiError(
      await call('GET', `/api/v1/audit-events/${foreign!.id}`, { key: developer.key }),
      403,
      'forbidden',
    );
    expect(err.message).toContain('audit:read');
    await expectApiError(
      await call('GET', `/api/v1/traces/trace-${RUN}`, { key: developer.key }),
      404,
      'not_found',
    );
    const own = await expectJson<{ events: AuditEvent[] }>(
      await call('GET', `/api/v1/traces/dev-${RUN}`, { key: developer.key }),
      200,
    );
    expect(own.events).toHaveLength(1);
  });

  it('an Auditor reads everything of the organization', async () => {
    const auditor = await addMember(org.orgId, 'auditor');
    expect((await list(`traceId=trace-${RUN}&type=tool_call`, auditor.key)).events).toHaveLength(3);
  });
});

describe('administrative rows', () => {
  it('carry the actor and what changed, never the secret', async () => {
    const secret = `rotated-secret-${RUN}-value`;
    const res = await call('POST', `/api/v1/connections/${SIDE}/rotate`, {
      key: org.key,
      body: { credential: secret },
    });
    expect(res.status).toBe(200);
    await res.text();
    const rows = (await list(`type=admin&connection=${SIDE}`)).events;
    expect(rows.length).toBeGreaterThanOrEqual(2);
    for (const row of rows) {
      expect(row.actor).toMatch(/^(key|user):/);
      expect(row.action).toMatch(/^connection\.|^policy\./);
      expect(JSON.stringify(row)).not.toContain(secret);
      expect(JSON.stringify(row)).not.toContain('main-secret-credential');
    }
  });
});
