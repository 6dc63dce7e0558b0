/**
 * The MCP scanner, continued (docs/tool-integrity.md#mcp-scanner), against the real test upstream:
 * scanning a bare URL (SSRF rules apply), the scans list, suppressions (audited, out of the
 * summary, SARIF `suppressions`), a critical finding blocking the connection until suppressed
 * (`blockOnCriticalScan`, audited refusals), and the shadowing re-scan of existing tools.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../workers/app.types';
import { createScan } from '../../workers/scans/scans.service';
import {
  addMember,
  call,
  createConnection,
  createOrg,
  json,
  mcp,
  putPolicy,
  rpcResult,
  type TestOrg,
} from './helpers';

const RUN = Date.now().toString(36);
let org: TestOrg;

interface Finding {
  id: string;
  kind: string;
  severity: string;
  item: string;
  suppression: { reason: string; by: string } | null;
}
interface Scan {
  id: string;
  connection: string | null;
  url: string | null;
  status: string;
  summary: Record<string, number>;
  suppressed: number;
  findings: Finding[];
}

async function scanOf(body: Record<string, unknown>, key = org.key): Promise<Response> {
  return call('POST', '/api/v1/scans', { key, body });
}

async function patch(slug: string, settings: Record<string, unknown>) {
  const res = await call('PATCH', `/api/v1/connections/${slug}`, { key: org.key, body: { settings } });
  expect(res.status).toBe(200);
}

async function echo(slug: string) {
  return rpcResult(
    await mcp(slug, 'tools/call', { name: 'echo', arguments: { message: 'hi' } }, { key: org.key }),
  );
}

async function adminRows(action: string, connectionId: string | null = null) {
  const { results } = await env.DB.prepare(
    'SELECT action, actor, details FROM audit_events WHERE org_id = ? AND action = ? AND (? IS NULL OR connection_id = ?)',
  )
    .bind(org.orgId, action, connectionId, connectionId)
    .all<{ action: string; actor: string; details: string }>();
  return results.map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }));
}

beforeAll(async () => {
  org = await createOrg('owner');
});

describe('scanning a bare URL', () => {
  it('scans a URL that is not a connection, without a credential, and lists it', async () => {
    const url = `${env.UPSTREAM_URL}/vulnerable`;
    const res = await scanOf({ url });
    expect(res.status).toBe(201);
    const scan = await json<Scan>(res);
    expect(scan).toMatchObject({ connection: null, url, status: 'completed' });
    const kinds = scan.findings.map((f) => `${f.item} ${f.kind} ${f.severity}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'tool:get_weather hidden_instruction_tag critical',
        'server missing_authentication medium',
        // The Origin probe: /vulnerable answers an initialize sent with a foreign Origin.
        'server origin_not_validated high',
      ]),
    );
    const again = await json<Scan>(await call('GET', `/api/v1/scans/${scan.id}`, { key: org.key }));
    expect(again.findings.map((f) => f.id)).toEqual(scan.findings.map((f) => f.id));
    const list = await json<{ scans: Array<{ id: string; url: string | null }> }>(
      await call('GET', '/api/v1/scans', { key: org.key }),
    );
    expect(list.scans[0]).toMatchObject({ id: scan.id, url });
    expect(await adminRows('scans.create')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ details: expect.objectContaining({ scanId: scan.id, url }) }),
      ]),
    );
  });

  it('a server that checks Origin has no Origin finding', async () => {
    const scan = await json<Scan>(await scanOf({ url: `${env.UPSTREAM_URL}/stateless` }));
    expect(scan.status).toBe('completed');
    expect(scan.findings.some((f) => f.kind === 'origin_not_validated')).toBe(false);
  });

  it('applies the connection URL rules: no credentials in the URL, no private hosts in production', async () => {
    const creds = await scanOf({ url: 'https://user:pw-secret-9@mcp.example.com/mcp' });
    expect(creds.status).toBe(400);
    expect(await creds.text()).not.toContain('pw-secret-9');
    expect((await scanOf({ url: 'ftp://mcp.example.com/mcp' })).status).toBe(400);
    const production = { ...env, ALLOW_PRIVATE_UPSTREAMS: 'false' };
    const principal: Principal = {
      kind: 'api_key',
      orgId: org.orgId,
      role: 'owner',
      userId: org.userId,
      apiKeyId: null,
      sessionId: null,
      actor: `user:${org.userId}`,
    } as Principal;
    for (const [url, rule] of [
      [`${env.UPSTREAM_URL}/vulnerable`, 'scheme'],
      ['https://127.0.0.1/mcp', 'loopback'],
      ['https://169.254.169.254/mcp', 'cloud-metadata'],
    ] as const) {
      const err = (await createScan(production, principal, { url }).catch((e: unknown) => e)) as {
        code: string;
        details: Record<string, unknown>;
      };
      expect(err.code).toBe('validation_failed');
      expect(err.details).toMatchObject({ path: 'url', rule });
    }
  });

  it('an auditor may not scan a URL; another organization does not see the scan', async () => {
    const auditor = await addMember(org.orgId, 'auditor');
    expect((await scanOf({ url: `${env.UPSTREAM_URL}/stateless` }, auditor.key)).status).toBe(403);
    const other = await createOrg('owner');
    const list = await json<{ scans: unknown[] }>(await call('GET', '/api/v1/scans', { key: other.key }));
    expect(list.scans).toEqual([]);
  });
});

describe('suppressions and blocking on a critical finding', () => {
  it('blocks every call until the critical findings are suppressed; a lifted suppression blocks again', async () => {
    const slug = `scan-block-${RUN}`;
    const { id } = await createConnection(slug, { key: org.key, upstreamPath: '/vulnerable' });
    await putPolicy(slug, [{ tool: '*', action: 'allow' }], org.key);
    // Integrity off: the block applies whatever discovery says.
    await patch(slug, { integrity: { discovery: 'off', blockOnCriticalScan: true } });
    expect((await echo(slug)).result).toBeDefined();

    const scan = await json<Scan>(await scanOf({ connection: slug }));
    expect(scan.summary.critical).toBeGreaterThan(0);
    const refused = await echo(slug);
    expect(refused.error).toMatchObject({ code: -32016, data: { code: 'connection_blocked' } });
    expect(refused.error!.data!.details).toMatchObject({ reason: 'critical_scan_finding', scanId: scan.id });
    expect(await adminRows('scans.block', id)).toHaveLength(1);
    // The refused call is audited like any refusal (rows are spooled by the guard: poll).
    let blockedRows = 0;
    for (let i = 0; i < 100 && blockedRows === 0; i++) {
      const row = await env.DB.prepare(
        "SELECT COUNT(*) AS n FROM audit_events WHERE connection_id = ? AND tool = 'echo' AND error_code = 'connection_blocked'",
      )
        .bind(id)
        .first<{ n: number }>();
      blockedRows = row!.n;
      if (blockedRows === 0) await new Promise((r) => setTimeout(r, 50));
    }
    expect(blockedRows).toBe(1);

    // Who may suppress, and what a suppression needs.
    const critical = scan.findings.filter((f) => f.severity === 'critical');
    const dev = await addMember(org.orgId, 'developer');
    const suppress = (finding: string, body: Record<string, unknown> = {}, key = org.key) =>
      call('POST', `/api/v1/scans/${scan.id}/suppressions`, {
        key,
        body: { finding, reason: 'accepted: test fixture', ...body },
      });
    expect((await suppress(critical[0]!.id, {}, dev.key)).status).toBe(403);
    expect((await suppress(critical[0]!.id, { reason: ' ' })).status).toBe(400);
    expect((await suppress('0'.repeat(64))).status).toBe(404);
    expect((await suppress(critical[0]!.id, { expiresAt: '2001-01-01T00:00:00Z' })).status).toBe(400);

    for (const f of critical) expect((await suppress(f.id)).status).toBe(201);
    expect((await echo(slug)).result).toBeDefined();
    const audited = await adminRows('scans.suppress', id);
    expect(audited).toHaveLength(critical.length);
    expect(audited[0]!.details).toMatchObject({ reason: 'accepted: test fixture', scanId: scan.id });

    // The stored scan marks them, and its summary leaves them out; SARIF says suppressed.
    const shown = await json<Scan>(await call('GET', `/api/v1/scans/${scan.id}`, { key: org.key }));
    expect(shown.summary.critical).toBe(0);
    expect(shown.suppressed).toBe(critical.length);
    expect(
      shown.findings
        .filter((f) => f.suppression !== null)
        .map((f) => f.id)
        .sort(),
    ).toEqual(critical.map((f) => f.id).sort());
    const sarif = await json<{
      runs: Array<{ results: Array<{ suppressions?: Array<{ justification: string }> }> }>;
    }>(await call('GET', `/api/v1/scans/${scan.id}?format=sarif`, { key: org.key }));
    const suppressedResults = sarif.runs[0]!.results.filter((r) => r.suppressions);
    expect(suppressedResults).toHaveLength(critical.length);
    expect(suppressedResults[0]!.suppressions![0]!.justification).toBe('accepted: test fixture');

    // Not reported again while unchanged: a new scan of the same server is not blocking either.
    const rescan = await json<Scan>(await scanOf({ connection: slug }));
    expect(rescan.summary.critical).toBe(0);
    expect((await echo(slug)).result).toBeDefined();

    // Lifting one suppression reports it again, and blocks again.
    const { suppressions } = await json<{ suppressions: Array<{ id: string; finding: string }> }>(
      await call('GET', `/api/v1/connections/${slug}/scan-suppressions`, { key: org.key }),
    );
    expect(suppressions).toHaveLength(critical.length);
    const lift = await call(
      'DELETE',
      `/api/v1/connections/${slug}/scan-suppressions/${suppressions[0]!.id}`,
      {
        key: org.key,
      },
    );
    expect(lift.status).toBe(204);
    expect(await adminRows('scans.unsuppress', id)).toHaveLength(1);
    expect((await echo(slug)).error).toMatchObject({ data: { code: 'connection_blocked' } });

    // Without the setting, the same scan blocks nothing.
    await patch(slug, { integrity: { discovery: 'off', blockOnCriticalScan: false } });
    expect((await echo(slug)).result).toBeDefined();
  });

  it('a suppression that expires blocks the connection again by itself, with nothing re-published', async () => {
    const slug = `scan-expiry-${RUN}`;
    await createConnection(slug, { key: org.key, upstreamPath: '/vulnerable' });
    await putPolicy(slug, [{ tool: '*', action: 'allow' }], org.key);
    await patch(slug, { integrity: { discovery: 'off', blockOnCriticalScan: true } });
    const scan = await json<Scan>(await scanOf({ connection: slug }));
    const critical = scan.findings.filter((f) => f.severity === 'critical');
    expect(critical.length).toBeGreaterThan(0);
    const expiresAt = new Date(Date.now() + 3000).toISOString();
    for (const f of critical) {
      const res = await call('POST', `/api/v1/scans/${scan.id}/suppressions`, {
        key: org.key,
        body: { finding: f.id, reason: 'accepted for a moment', expiresAt },
      });
      expect(res.status).toBe(201);
    }
    expect((await echo(slug)).result).toBeDefined();
    const tools = async () =>
      (
        await json<{ scanBlock: { scanId: string } | null }>(
          await call('GET', `/api/v1/connections/${slug}/tools`, { key: org.key }),
        )
      ).scanBlock;
    expect(await tools()).toBeNull();
    // No scan, no suppression change after this: the expiry alone brings the block back.
    let answer = await echo(slug);
    for (let i = 0; i < 200 && answer.error === undefined; i++) {
      await new Promise((r) => setTimeout(r, 50));
      answer = await echo(slug);
    }
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(expiresAt));
    expect(answer.error).toMatchObject({ code: -32016, data: { code: 'connection_blocked' } });
    expect(await tools()).toMatchObject({ scanId: scan.id });
  });
});

describe('shadowing re-scan', () => {
  it("a tool listed first learns that a later connection's tool shadows it", async () => {
    const first = `shadow-a-${RUN}`;
    const later = `shadow-b-${RUN}`;
    await createConnection(first, { key: org.key, upstreamPath: '/stateless' });
    await putPolicy(first, [{ tool: '*', action: 'allow' }], org.key);
    await createConnection(later, { key: org.key, upstreamPath: '/vulnerable' });
    await putPolicy(later, [{ tool: '*', action: 'allow' }], org.key);
    type Item = { name: string; findings: Array<{ kind: string; match: string }> };
    const items = async (slug: string) =>
      (
        await json<{ items: Item[] }>(
          await call('GET', `/api/v1/connections/${slug}/tools`, { key: org.key }),
        )
      ).items;
    const until = async (slug: string, ready: (i: Item[]) => boolean) => {
      for (let i = 0; i < 100; i++) {
        const now = await items(slug);
        if (ready(now)) return now;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`${slug} never got ready`);
    };
    await mcp(first, 'tools/list', {}, { key: org.key });
    const before = await until(first, (i) => i.some((t) => t.name === 'echo'));
    expect(before.find((t) => t.name === 'echo')!.findings.some((f) => f.kind === 'shadowing')).toBe(false);

    await mcp(later, 'tools/list', {}, { key: org.key });
    const after = await until(first, (i) =>
      i.find((t) => t.name === 'echo')!.findings.some((f) => f.kind === 'shadowing'),
    );
    expect(after.find((t) => t.name === 'echo')!.findings).toContainEqual(
      expect.objectContaining({ kind: 'shadowing', match: `${later}/echo` }),
    );
    // On demand, too (owner/admin), and idempotent.
    const res = await call('POST', `/api/v1/connections/${first}/tools/rescan`, { key: org.key });
    expect(res.status).toBe(200);
    expect(await adminRows('tools.rescan')).toHaveLength(1);
  });
});
