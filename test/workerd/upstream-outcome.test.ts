/**
 * Issue 12 item 17: an upstream that fails must not look like a success. Real upstreams: the test
 * MCP server's `/status/500` (answers 500) and a port nothing listens on. The audit row, the live
 * event, the audit list's `outcome` filter and the connection's health all say `upstream_error`.
 * Also the audit list's `lifecycle=exclude` filter (item 20).
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomId } from '../../workers/lib/ids';
import { auditOutcome, isLifecycle, LIFECYCLE_SQL, OUTCOME_SQL } from '../../workers/shared/audit.outcome';
import { sleep, traceId } from './gateway.fixtures';
import {
  call,
  createConnection,
  createOrg,
  expectJson,
  flushAudit,
  hubEvents,
  mcp,
  putPolicy,
  type TestOrg,
} from './helpers';

interface AuditDto {
  id: string;
  method: string | null;
  action: string;
  outcome: string | null;
  upstreamStatus: number | null;
  errorCode: string | null;
}

let org: TestOrg;

/** The audit rows of a trace once their outcome has arrived (it is patched in off the hot path). */
async function settledRows(trace: string, query = '', expected = 1): Promise<AuditDto[]> {
  for (let i = 0; i < 100; i++) {
    await flushAudit();
    const page = await expectJson<{ events: AuditDto[] }>(
      await call('GET', `/api/v1/audit-events?traceId=${trace}${query}`, { key: org.key }),
      200,
    );
    if (page.events.length >= expected) {
      return page.events;
    }
    await sleep(20);
  }
  throw new Error(`no settled audit rows for ${trace}`);
}

async function callTool(slug: string, trace: string) {
  return mcp(
    slug,
    'tools/call',
    { name: 'echo', arguments: { message: 'hi' } },
    {
      key: org.key,
      headers: { 'X-Igris-Trace-Id': trace },
    },
  );
}

beforeAll(async () => {
  org = await createOrg('owner');
  for (const [slug, upstreamPath] of [
    ['out-500', '/status/500'],
    ['out-ok', '/stateless'],
  ] as const) {
    await createConnection(slug, { key: org.key, upstreamPath, authType: 'none' });
    await putPolicy(slug, [{ tool: '*', action: 'allow' }], org.key);
  }
  // Nothing listens on port 1: the connection is refused.
  const res = await call('POST', '/api/v1/connections', {
    key: org.key,
    body: { slug: 'out-down', name: 'down', upstreamUrl: 'http://127.0.0.1:1/mcp', authType: 'none' },
  });
  expect(res.status).toBe(201);
  await putPolicy('out-down', [{ tool: '*', action: 'allow' }], org.key);
});

describe('upstream failures in the audit trail and the live events', () => {
  it('a 500 from the upstream: row and event carry outcome upstream_error and the status', async () => {
    const trace = traceId('out500');
    const res = await callTool('out-500', trace);
    expect(res.status).toBe(500);
    await res.body?.cancel();

    const [row] = await settledRows(trace);
    expect(row).toMatchObject({ action: 'allow', outcome: 'upstream_error', upstreamStatus: 500 });

    let event: Record<string, unknown> | undefined;
    for (let i = 0; i < 100 && !event; i++) {
      event = (await hubEvents(org.orgId))
        .map((body) => JSON.parse(body) as Record<string, unknown>)
        .find((e) => e.type === 'tool_call' && e.traceId === trace);
      if (!event) await sleep(20);
    }
    expect(event).toMatchObject({ action: 'allow', outcome: 'upstream_error', upstreamStatus: 500 });
  });

  it('an unreachable upstream: outcome upstream_error with its error code, no status', async () => {
    const trace = traceId('outdown');
    const res = await callTool('out-down', trace);
    expect(res.status).toBe(502);
    await res.body?.cancel();
    const [row] = await settledRows(trace);
    expect(row).toMatchObject({
      outcome: 'upstream_error',
      upstreamStatus: null,
      errorCode: 'upstream_unreachable',
    });
  });

  it('filters the list by outcome', async () => {
    const trace = traceId('outmix');
    for (const slug of ['out-500', 'out-ok', 'out-down']) {
      const res = await callTool(slug, trace);
      await res.body?.cancel();
    }
    const all = await settledRows(trace, '', 3);
    expect(all.map((e) => e.outcome).sort()).toEqual(['ok', 'upstream_error', 'upstream_error']);
    const failed = await settledRows(trace, '&outcome=upstream_error', 2);
    expect(failed.map((e) => e.upstreamStatus).sort()).toEqual([500, null]);
    const ok = await settledRows(trace, '&outcome=ok');
    expect(ok).toHaveLength(1);
    expect(ok[0]!.upstreamStatus).toBe(200);

    const bad = await call('GET', '/api/v1/audit-events?outcome=green', { key: org.key });
    expect(bad.status).toBe(400);
  });
});

describe('connection health', () => {
  interface Health {
    status: string;
    calls: number;
    errors: number;
    errorRate: number;
    lastError: {
      at: string;
      outcome: string;
      upstreamStatus: number | null;
      errorCode: string | null;
    } | null;
  }

  it('shows the error rate and the last error in GET /connections and /connections/:slug', async () => {
    // The calls of the tests above have reached D1 (settledRows); one more failure and success each.
    const trace = traceId('health');
    for (const slug of ['out-500', 'out-ok']) {
      const res = await callTool(slug, trace);
      await res.body?.cancel();
    }
    await settledRows(trace, '', 2);

    const failing = await expectJson<{ health: Health }>(
      await call('GET', '/api/v1/connections/out-500', { key: org.key }),
      200,
    );
    expect(failing.health.status).toBe('failing');
    expect(failing.health.errorRate).toBe(1);
    expect(failing.health.errors).toBe(failing.health.calls);
    expect(failing.health.lastError).toMatchObject({ outcome: 'upstream_error', upstreamStatus: 500 });

    const list = await expectJson<{ connections: Array<{ slug: string; health: Health }> }>(
      await call('GET', '/api/v1/connections', { key: org.key }),
      200,
    );
    const bySlug = new Map(list.connections.map((c) => [c.slug, c.health]));
    expect(bySlug.get('out-ok')).toMatchObject({ status: 'ok', errors: 0, errorRate: 0, lastError: null });
    expect(bySlug.get('out-down')).toMatchObject({
      status: 'failing',
      lastError: { outcome: 'upstream_error', upstreamStatus: null, errorCode: 'upstream_unreachable' },
    });
    expect(bySlug.get('out-500')!.calls).toBeGreaterThanOrEqual(3);
  });

  it('is idle for a connection with no forwarded call', async () => {
    await createConnection('out-idle', { key: org.key, authType: 'none' });
    const idle = await expectJson<{ health: Health }>(
      await call('GET', '/api/v1/connections/out-idle', { key: org.key }),
      200,
    );
    expect(idle.health).toMatchObject({ status: 'idle', calls: 0, errors: 0, lastError: null });
  });
});

describe('lifecycle rows', () => {
  it('lifecycle=exclude leaves out initialize, ping and notifications', async () => {
    const trace = traceId('life');
    const headers = { 'X-Igris-Trace-Id': trace };
    await (
      await mcp(
        'out-ok',
        'initialize',
        { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
        { key: org.key, headers },
      )
    ).body?.cancel();
    await (await mcp('out-ok', 'ping', {}, { key: org.key, headers })).body?.cancel();
    await (await callTool('out-ok', trace)).body?.cancel();
    const all = await settledRows(trace, '', 3);
    expect(all.map((e) => e.method).sort()).toEqual(['initialize', 'ping', 'tools/call']);
    const work = await settledRows(trace, '&lifecycle=exclude');
    expect(work.map((e) => e.method)).toEqual(['tools/call']);
  });
});

describe('the SQL and TypeScript forms agree', () => {
  it('on every combination of type, action, status and error code', async () => {
    const tag = randomId('agree');
    const cases: Array<{
      id: string;
      type: string;
      action: string;
      method: string | null;
      upstreamStatus: number | null;
      errorCode: string | null;
    }> = [];
    for (const type of ['tool_call', 'request', 'admin', 'anomaly'])
      for (const action of ['allow', 'alert', 'pass', 'deny', 'killed', 'error'])
        for (const upstreamStatus of [null, 200, 302, 404, 500, 503])
          for (const errorCode of [
            null,
            'outcome_unknown',
            'upstream_timeout',
            'upstream_unreachable',
            'policy_denied',
          ])
            for (const method of [null, 'tools/call', 'initialize', 'notifications/initialized', 'ping']) {
              cases.push({
                id: `${tag}_${cases.length}`,
                type,
                action,
                method,
                upstreamStatus,
                errorCode,
              });
            }
    for (let i = 0; i < cases.length; i += 100) {
      await env.DB.batch(
        cases.slice(i, i + 100).map((r) =>
          env.DB.prepare(
            `INSERT INTO audit_events (id, org_id, type, action, method, upstream_status, error_code, trace_id, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)`,
          ).bind(r.id, org.orgId, r.type, r.action, r.method, r.upstreamStatus, r.errorCode, tag),
        ),
      );
    }
    const { results } = await env.DB.prepare(
      `SELECT id, ${OUTCOME_SQL} AS outcome, ${LIFECYCLE_SQL} AS lifecycle FROM audit_events WHERE trace_id = ?`,
    )
      .bind(tag)
      .all<{ id: string; outcome: string | null; lifecycle: number }>();
    const sql = new Map(results.map((r) => [r.id, r]));
    expect(sql.size).toBe(cases.length);
    for (const c of cases) {
      expect({ id: c.id, outcome: sql.get(c.id)!.outcome }).toEqual({ id: c.id, outcome: auditOutcome(c) });
      expect({ id: c.id, lifecycle: sql.get(c.id)!.lifecycle === 1 }).toEqual({
        id: c.id,
        lifecycle: isLifecycle(c),
      });
    }
  });
});
