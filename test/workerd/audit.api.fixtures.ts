/**
 * The shared set-up of the audit trail API tests (audit.api.list.test.ts, audit.api.export.test.ts):
 * two organizations (fresh per file) with connections, real gateway traffic through /v1/mcp/:slug
 * spooled by the guard and flushed by its alarm, and the list/page/gateway helpers both files use.
 */
import { env } from 'cloudflare:workers';
import {
  addMember,
  call,
  createConnection,
  createOrg,
  expectJson,
  flushAudit,
  mcp,
  putPolicy,
  type TestOrg,
} from './helpers';

export interface AuditEvent {
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
export interface Page {
  events: AuditEvent[];
  nextCursor: string | null;
}

// Live bindings: set by setUpAuditApi, read by the test files after their beforeAll.
export let org: TestOrg;
export let developer: TestOrg;
export let other: TestOrg;
export let mainId: string;
export let devConnId: string;
export const MAIN = 'audit-main';
export const SIDE = 'audit-side';
export const DEV = 'audit-dev';
export const RUN = crypto.randomUUID().slice(0, 8);

export async function list(query: string, key = org.key): Promise<Page> {
  return expectJson<Page>(await call('GET', `/api/v1/audit-events?${query}`, { key }), 200);
}

/** Every row a query matches, following nextCursor page by page. */
export async function listAll(
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

export async function gatewayCall(
  slug: string,
  tool: string,
  headers: Record<string, string>,
  key = org.key,
) {
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
export async function flushUntil(sql: string, binds: unknown[], n: number) {
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

/** Two organizations, a member Developer, three connections and their gateway traffic, flushed to audit rows (each file's beforeAll). */
export async function setUpAuditApi(): Promise<void> {
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
}
