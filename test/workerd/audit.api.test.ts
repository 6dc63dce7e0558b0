/**
 * The audit trail API over real gateway traffic: rows are produced by calls through /v1/mcp/:slug
 * (spooled by the guard, flushed by its alarm) and by admin changes, then read back through
 * GET /api/v1/audit-events (filters, cursor pages), /audit-events/:id, /traces/:traceId and the
 * streamed export — with organization scoping and the Developer's own-connections restriction.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeCursor } from '../../workers/audit/audit.schemas';
import {
  addMember,
  call,
  createConnection,
  createOrg,
  expectApiError,
  expectJson,
  flushAudit,
  mcp,
  putPolicy,
  type TestOrg,
} from './helpers';

interface AuditEvent {
  id: string;
  orgId: string | null;
  type: string;
  connectionId: string | null;
  connectionSlug: string | null;
  sessionId: string | null;
  mcpSessionId: string | null;
  apiKeyId: string | null;
  actor: string | null;
  user: string | null;
  traceId: string | null;
  metadata: unknown;
  metadataError: string | null;
  method: string | null;
  tool: string | null;
  action: string;
  ruleIndex: number | null;
  policyVersion: number | null;
  upstreamStatus: number | null;
  latencyMs: number | null;
  errorCode: string | null;
  details: unknown;
  createdAt: string;
}
interface Page {
  events: AuditEvent[];
  nextCursor: string | null;
}

let org: TestOrg;
let developer: TestOrg;
let other: TestOrg;
let mainId: string;
let devConnId: string;
const MAIN = 'audit-main';
const SIDE = 'audit-side';
const DEV = 'audit-dev';
const RUN = crypto.randomUUID().slice(0, 8);

async function list(query: string, key = org.key): Promise<Page> {
  return expectJson<Page>(await call('GET', `/api/v1/audit-events?${query}`, { key }), 200);
}

/** Every row a query matches, following nextCursor page by page. */
async function listAll(
  query: string,
  limit: number,
  key = org.key,
): Promise<{ rows: AuditEvent[]; pages: number }> {
  const rows: AuditEvent[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: Page = await list(
      `${query}${query ? '&' : ''}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
      key,
    );
    rows.push(...page.events);
    cursor = page.nextCursor;
    pages++;
    if (pages > 1000) throw new Error('pagination does not end');
  } while (cursor);
  return { rows, pages };
}

async function gatewayCall(slug: string, tool: string, headers: Record<string, string>, key = org.key) {
  const res = await mcp(
    slug,
    'tools/call',
    { name: tool, arguments: tool === 'echo' ? { message: 'x' } : {} },
    {
      key,
      headers,
    },
  );
  await res.text();
  return res;
}

/** Flushes until the organization has at least `n` gateway rows with an outcome (or fails). */
async function flushUntil(sql: string, binds: unknown[], n: number) {
  for (let i = 0; i < 100; i++) {
    await flushAudit();
    const row = await env.DB.prepare(sql)
      .bind(...binds)
      .first<{ n: number }>();
    if (row!.n >= n) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`audit rows did not arrive: ${sql}`);
}

beforeAll(async () => {
  org = await createOrg('owner');
  developer = await addMember(org.orgId, 'developer');
  other = await createOrg('owner');
  mainId = (await createConnection(MAIN, { key: org.key, credential: 'main-secret-credential' })).id;
  await createConnection(SIDE, { key: org.key });
  devConnId = (await createConnection(DEV, { key: developer.key })).id;
  await putPolicy(
    MAIN,
    [
      { tool: 'delete_*', action: 'deny', reason: 'no deletes' },
      { tool: '*', action: 'allow' },
    ],
    org.key,
  );
  await putPolicy(SIDE, [{ tool: '*', action: 'allow' }], org.key);
  await putPolicy(DEV, [{ tool: '*', action: 'allow' }], developer.key);
  await createConnection(MAIN, { key: other.key });
  await putPolicy(MAIN, [{ tool: '*', action: 'allow' }], other.key);

  // A trace of three calls on MAIN (allow, allow, deny), then traffic of other users and connections.
  const trace = `trace-${RUN}`;
  await gatewayCall(MAIN, 'echo', {
    'X-Igris-Trace-Id': trace,
    'X-Igris-User': 'alice@example.com',
    'X-Igris-Metadata': '{"team":"red","n":3}',
  });
  await gatewayCall(MAIN, 'add', { 'X-Igris-Trace-Id': trace, 'X-Igris-User': 'alice@example.com' });
  await gatewayCall(MAIN, 'delete_records', {
    'X-Igris-Trace-Id': trace,
    'X-Igris-User': 'alice@example.com',
  });
  for (let i = 0; i < 5; i++) await gatewayCall(SIDE, 'echo', { 'X-Igris-User': 'bob@example.com' });
  await gatewayCall(DEV, 'echo', { 'X-Igris-Trace-Id': `dev-${RUN}` }, developer.key);
  await gatewayCall(MAIN, 'echo', { 'X-Igris-Trace-Id': `other-${RUN}` }, other.key);
  await flushUntil(
    'SELECT count(*) AS n FROM audit_events WHERE org_id = ? AND type != ? AND (upstream_status IS NOT NULL OR action = ?)',
    [org.orgId, 'admin', 'deny'],
    9,
  );
  await flushUntil(
    'SELECT count(*) AS n FROM audit_events WHERE org_id = ? AND trace_id = ?',
    [other.orgId, `other-${RUN}`],
    1,
  );
});

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

describe('GET /api/v1/audit-events/export', () => {
  const EXPORT_ROWS = 1234;
  let exportOrg: TestOrg;
  let exportConn: string;

  beforeAll(async () => {
    exportOrg = await createOrg('owner');
    exportConn = (await createConnection('export-me', { key: exportOrg.key })).id;
    // Enough rows for several D1 pages; one with text a spreadsheet would run, and CSV specials.
    await env.DB.prepare(
      `INSERT INTO audit_events (id, org_id, type, connection_id, connection_slug, action, "user", trace_id, metadata, created_at)
       WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
       SELECT printf('evt_export_%05d', i), ?, 'tool_call', ?, 'export-me', 'allow',
              CASE WHEN i = 9 THEN '=HYPERLINK("x")' ELSE 'u' || (i % 3) END,
              'exp-' || i, '{"k":"a,b \\"q\\""}', ? + i
       FROM n`,
    )
      .bind(EXPORT_ROWS, exportOrg.orgId, exportConn, Date.now() - 3_600_000)
      .run();
  });

  async function readChunks(res: Response): Promise<{ text: string; chunks: number }> {
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    let chunks = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks++;
      text += decoder.decode(value, { stream: true });
    }
    return { text, chunks };
  }

  it('streams NDJSON page by page, newest first, every row once', async () => {
    const res = await call('GET', '/api/v1/audit-events/export?format=ndjson&type=tool_call', {
      key: exportOrg.key,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toContain('application/x-ndjson');
    expect(res.headers.get('Content-Disposition')).toMatch(/attachment; filename="audit-events-.*\.ndjson"/);
    const { text, chunks } = await readChunks(res);
    const rows = text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEvent);
    expect(rows).toHaveLength(EXPORT_ROWS);
    expect(new Set(rows.map((r) => r.id)).size).toBe(EXPORT_ROWS);
    expect(rows[0]!.traceId).toBe(`exp-${EXPORT_ROWS}`);
    expect(rows.at(-1)!.traceId).toBe('exp-1');
    expect(rows[0]!.metadata).toEqual({ k: 'a,b "q"' });
    // 1234 rows at 500 a page: the body arrives as (at least) three separate pieces.
    expect(chunks).toBeGreaterThanOrEqual(3);
    // The same rows as the paged list.
    const listed = await listAll('type=tool_call', 500, exportOrg.key);
    expect(rows.map((r) => r.id)).toEqual(listed.rows.map((r) => r.id));
  });

  it('applies the same filters, and writes CSV with a header, quoting and formula guarding', async () => {
    const res = await call('GET', '/api/v1/audit-events/export?format=csv&user=u1', { key: exportOrg.key });
    expect(res.headers.get('Content-Type')).toContain('text/csv');
    const lines = (await readChunks(res)).text.trimEnd().split('\r\n');
    expect(lines[0]!.split(',').slice(0, 4)).toEqual(['id', 'createdAt', 'type', 'action']);
    expect(lines).toHaveLength(1 + Math.floor(EXPORT_ROWS / 3) + (EXPORT_ROWS % 3 >= 1 ? 1 : 0));
    expect(lines[1]).toContain('"{""k"":""a,b \\""q\\""""}"');

    const formula = await call('GET', '/api/v1/audit-events/export?format=csv&traceId=exp-9', {
      key: exportOrg.key,
    });
    const row = (await readChunks(formula)).text.split('\r\n')[1]!;
    expect(row).toContain(`"'=HYPERLINK(""x"")"`);
  });

  it('is scoped like the list: nothing of another organization, 400 on bad input', async () => {
    const res = await call('GET', '/api/v1/audit-events/export?format=ndjson&connection=export-me', {
      key: org.key,
    });
    expect((await readChunks(res)).text).toBe('');
    await expectApiError(
      await call('GET', '/api/v1/audit-events/export?format=xml', { key: org.key }),
      400,
      'validation_failed',
    );
    const dev = await addMember(exportOrg.orgId, 'developer');
    await expectApiError(
      await call('GET', '/api/v1/audit-events/export?connection=export-me', { key: dev.key }),
      403,
      'forbidden',
    );
  });
});

describe('OpenAPI document', () => {
  it('describes the audit and events routes with their query parameters', async () => {
    const doc = await expectJson<{
      paths: Record<string, { get?: { parameters?: Array<{ name: string }> } }>;
    }>(await call('GET', '/api/v1/openapi.json', { key: null }), 200);
    for (const path of [
      '/audit-events',
      '/audit-events/export',
      '/audit-events/{id}',
      '/traces/{traceId}',
      '/events',
    ]) {
      expect(doc.paths[path]?.get, path).toBeDefined();
    }
    const names = doc.paths['/audit-events']!.get!.parameters!.map((p) => p.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'connection',
        'traceId',
        'user',
        'tool',
        'action',
        'type',
        'from',
        'to',
        'cursor',
        'limit',
      ]),
    );
  });
});
