/**
 * The MCP scanner (`POST /api/v1/scans`, docs/tool-integrity.md#mcp-scanner) against the real test
 * upstream: the deliberately vulnerable `/vulnerable` route (poisoned description, a tool shadowing
 * another connection's `echo`, a free-form shell tool) and the clean `/stateless` route; SARIF
 * 2.1.0 output; roles and tenancy.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  call,
  createConnection,
  createOrg,
  expectApiError,
  json,
  mcp,
  putPolicy,
  type TestOrg,
} from './helpers';

const RUN = Date.now().toString(36);
let org: TestOrg;

interface Finding {
  kind: string;
  severity: string;
  item: string;
  path: string;
  match: string;
}
interface Scan {
  id: string;
  status: string;
  error: string | null;
  server: Record<string, unknown> | null;
  summary: Record<string, number>;
  findings: Finding[];
}

async function scan(slug: string, key = org.key): Promise<Response> {
  return call('POST', '/api/v1/scans', { key, body: { connection: slug } });
}

beforeAll(async () => {
  org = await createOrg('owner');
  // A clean connection whose `echo` has been listed (so it is in the organization's inventory).
  // No credential configured (missing_authentication is medium): the clean baseline.
  await createConnection(`scan-clean-${RUN}`, { key: org.key, upstreamPath: '/stateless', authType: 'none' });
  await putPolicy(`scan-clean-${RUN}`, [{ tool: '*', action: 'allow' }], org.key);
  await mcp(`scan-clean-${RUN}`, 'tools/list', {}, { key: org.key });
  for (let i = 0; i < 100; i++) {
    const res = await call('GET', `/api/v1/connections/scan-clean-${RUN}/tools`, { key: org.key });
    if ((await json<{ items: unknown[] }>(res)).items.length > 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await createConnection(`scan-vuln-${RUN}`, { key: org.key, upstreamPath: '/vulnerable' });
});

describe('scanning a deliberately vulnerable server', () => {
  let result: Scan;
  beforeAll(async () => {
    const res = await scan(`scan-vuln-${RUN}`);
    expect(res.status).toBe(201);
    result = await json<Scan>(res);
  });

  it('flags the poisoned description, the shadowing name and the shell tool', () => {
    expect(result.status).toBe('completed');
    expect(result.server).toMatchObject({ name: 'igris-vulnerable', tools: 3 });
    const of = (item: string) =>
      result.findings.filter((f) => f.item === item).map((f) => `${f.kind}:${f.severity}`);
    expect(of('tool:get_weather')).toEqual(
      expect.arrayContaining([
        'hidden_instruction_tag:critical',
        'sensitive_file:critical',
        'concealment:critical',
      ]),
    );
    expect(of('tool:echo')).toContain('shadowing:medium');
    expect(result.findings.find((f) => f.item === 'tool:echo' && f.kind === 'shadowing')?.match).toBe(
      `scan-clean-${RUN}/echo`,
    );
    expect(of('tool:run_command')).toEqual(
      expect.arrayContaining(['overly_broad_tool:high', 'dangerous_capability_unannotated:medium']),
    );
    // Plain HTTP to a loopback test server: reported, low.
    expect(of('server')).toContain('insecure_transport:low');
    // A credential is configured, but the server answers without it.
    expect(of('server')).toContain('authentication_not_enforced:high');
    // The connection's credential is never in the result.
    expect(JSON.stringify(result)).not.toContain(`cred-scan-vuln-${RUN}-secret`);
  });

  it('is stored and returned as JSON and as SARIF 2.1.0', async () => {
    const stored = await json<Scan>(await call('GET', `/api/v1/scans/${result.id}`, { key: org.key }));
    expect(stored.findings).toEqual(result.findings);
    const res = await call('GET', `/api/v1/scans/${result.id}?format=sarif`, { key: org.key });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/sarif+json');
    const sarif = await json<{
      version: string;
      runs: Array<{
        tool: { driver: { name: string; rules: Array<{ id: string }> } };
        results: Array<{ ruleId: string; ruleIndex: number; level: string; message: { text: string } }>;
      }>;
    }>(res);
    expect(sarif.version).toBe('2.1.0');
    const run = sarif.runs[0]!;
    expect(run.tool.driver.name).toBe('igris-edge-scan');
    expect(run.results).toHaveLength(result.findings.length);
    for (const r of run.results) {
      expect(run.tool.driver.rules[r.ruleIndex]!.id).toBe(r.ruleId);
      expect(['error', 'warning', 'note']).toContain(r.level);
      expect(r.message.text.length).toBeGreaterThan(0);
    }
    expect(run.results.find((r) => r.ruleId === 'hidden_instruction_tag')?.level).toBe('error');
  });
});

describe('scanning a clean server', () => {
  it('yields no critical or high findings', async () => {
    const res = await scan(`scan-clean-${RUN}`);
    expect(res.status).toBe(201);
    const result = await json<Scan>(res);
    expect(result.status).toBe('completed');
    expect(result.summary.critical).toBe(0);
    expect(result.summary.high).toBe(0);
    expect(result.findings.filter((f) => f.severity === 'critical' || f.severity === 'high')).toEqual([]);
  });
});

describe('who may scan', () => {
  it("another organization's connection and scan are 404; an auditor may not scan", async () => {
    const other = await createOrg('owner');
    const res = await scan(`scan-vuln-${RUN}`, other.key);
    expect(res.status).toBe(404);
    const mine = await json<Scan>(await scan(`scan-clean-${RUN}`));
    expect((await call('GET', `/api/v1/scans/${mine.id}`, { key: other.key })).status).toBe(404);
    const auditor = await addMember(org.orgId, 'auditor');
    expect((await scan(`scan-clean-${RUN}`, auditor.key)).status).toBe(403);
    // A developer scans their own connection, not another member's.
    const dev = await addMember(org.orgId, 'developer');
    expect((await scan(`scan-clean-${RUN}`, dev.key)).status).toBe(403);
    await createConnection(`scan-dev-${RUN}`, { key: dev.key, upstreamPath: '/stateless' });
    expect((await scan(`scan-dev-${RUN}`, dev.key)).status).toBe(201);
  });

  it('validates the body', async () => {
    const res = await call('POST', '/api/v1/scans', { key: org.key, body: { connection: '' } });
    expect(res.status).toBe(400);
  });

  it('says where an unknown connection was named: the body of a scan, the query of a listing', async () => {
    const created = await expectApiError(await scan('no-such-connection'), 404, 'not_found');
    expect(created.details).toEqual({ location: 'body', path: 'connection' });
    const listed = await call('GET', '/api/v1/scans?connection=no-such-connection', { key: org.key });
    expect((await expectApiError(listed, 404, 'not_found')).details).toEqual({
      location: 'query',
      path: 'connection',
    });
  });
});
