/**
 * The tool-integrity API (`/api/v1/connections/{slug}/tools…`): tenancy (another organization's
 * connection is 404), roles (owner/admin approve and quarantine; developers and auditors read),
 * validation (400), stale approvals (409), and a hand quarantine refusing calls at once.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { auditFor, traceId } from './gateway.fixtures';
import {
  addMember,
  bootstrapDefault,
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
const SLUG = `int-api-${RUN}`;
let orgId: string;
let other: TestOrg;
let items: Array<{ kind: string; name: string; fingerprint: string }>;

beforeAll(async () => {
  orgId = await bootstrapDefault();
  other = await createOrg('owner');
  await createConnection(SLUG, { upstreamPath: `/mutable?variant=api-${RUN}` });
  await putPolicy(SLUG, [{ tool: '*', action: 'allow' }]);
  await mcp(SLUG, 'tools/list');
  for (let i = 0; i < 100; i++) {
    const res = await call('GET', `/api/v1/connections/${SLUG}/tools`);
    items = (await json<{ items: typeof items }>(res)).items;
    if (items.length === 3) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(items).toHaveLength(3);
});

const lookup = () => items.find((i) => i.name === 'lookup')!;

describe('tenancy', () => {
  it("another organization's connection is not found, for reading and for every action", async () => {
    const asOther = { key: other.key };
    for (const [method, path, body] of [
      ['GET', `/api/v1/connections/${SLUG}/tools`, undefined],
      ['GET', `/api/v1/connections/${SLUG}/tools/history`, undefined],
      ['POST', `/api/v1/connections/${SLUG}/tools/approve`, { all: true }],
      ['POST', `/api/v1/connections/${SLUG}/tools/quarantine`, { kind: 'tool', name: 'lookup' }],
    ] as const) {
      const res = await call(method, path, { ...asOther, body });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect((await json<{ error: { code: string } }>(res)).error.code).toBe('not_found');
    }
    // Nothing of the first organization's inventory changed.
    const row = await env.DB.prepare(
      "SELECT quarantined, approved_fingerprint FROM tool_inventory WHERE org_id = ? AND name = 'lookup' AND connection_id = (SELECT id FROM connections WHERE slug = ?)",
    )
      .bind(orgId, SLUG)
      .first<{ quarantined: number; approved_fingerprint: string | null }>();
    expect(row).toEqual({ quarantined: 0, approved_fingerprint: null });
  });
});

describe('roles', () => {
  it('auditors read; developers and auditors may not approve or quarantine (403 tools:approve)', async () => {
    const auditor = await addMember(orgId, 'auditor');
    expect((await call('GET', `/api/v1/connections/${SLUG}/tools`, { key: auditor.key })).status).toBe(200);
    const developer = await addMember(orgId, 'developer');
    for (const key of [auditor.key, developer.key]) {
      const res = await call('POST', `/api/v1/connections/${SLUG}/tools/approve`, {
        key,
        body: { all: true },
      });
      expect(res.status).toBe(403);
      expect((await json<{ error: { message: string } }>(res)).error.message).toMatch(/tools:approve/);
    }
  });
});

describe('validation and conflicts', () => {
  it('refuses a malformed body with the field path, and a stale fingerprint with 409', async () => {
    const bad = await call('POST', `/api/v1/connections/${SLUG}/tools/approve`, {
      body: { items: [{ kind: 'tool', name: 'lookup', fingerprint: 'nope' }] },
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain('fingerprint');
    const neither = await call('POST', `/api/v1/connections/${SLUG}/tools/approve`, { body: {} });
    expect(neither.status).toBe(400);
    const stale = await call('POST', `/api/v1/connections/${SLUG}/tools/approve`, {
      body: { items: [{ kind: 'tool', name: 'lookup', fingerprint: '0'.repeat(64) }] },
    });
    expect(stale.status).toBe(409);
    const unknown = await call('POST', `/api/v1/connections/${SLUG}/tools/approve`, {
      body: { items: [{ kind: 'tool', name: 'nope', fingerprint: lookup().fingerprint }] },
    });
    expect(unknown.status).toBe(404);
  });
});

describe('hand quarantine', () => {
  it('hides and refuses the tool at once, is audited, and approval lifts it', async () => {
    const res = await call('POST', `/api/v1/connections/${SLUG}/tools/quarantine`, {
      body: { kind: 'tool', name: 'lookup', reason: 'under review' },
    });
    expect(res.status).toBe(200);
    const listed = await rpcResult(await mcp(SLUG, 'tools/list'));
    expect((listed.result!.tools as Array<{ name: string }>).map((t) => t.name)).toEqual([
      'echo',
      'delete_thing',
    ]);
    const trace = traceId('quarantined');
    const refused = await rpcResult(
      await mcp(
        SLUG,
        'tools/call',
        { name: 'lookup', arguments: { id: '1' } },
        { headers: { 'X-Igris-Trace-Id': trace } },
      ),
    );
    // The refusal is audited like a policy denial, and nothing was forwarded.
    const [row] = await auditFor(trace);
    expect(row).toMatchObject({
      type: 'tool_call',
      tool: 'lookup',
      action: 'deny',
      error_code: 'tool_not_approved',
    });
    expect(refused.error).toMatchObject({
      data: { code: 'tool_not_approved', details: { reason: 'quarantined' } },
    });
    const audit = await env.DB.prepare(
      "SELECT details FROM audit_events WHERE org_id = ? AND action = 'tools.quarantine' AND connection_slug = ?",
    )
      .bind(orgId, SLUG)
      .first<{ details: string }>();
    expect(JSON.parse(audit!.details)).toMatchObject({ name: 'lookup', reason: 'under review' });

    const approve = await call('POST', `/api/v1/connections/${SLUG}/tools/approve`, {
      body: { items: [{ kind: 'tool', name: 'lookup', fingerprint: lookup().fingerprint }] },
    });
    expect(approve.status).toBe(200);
    const ok = await rpcResult(await mcp(SLUG, 'tools/call', { name: 'lookup', arguments: { id: '1' } }));
    expect(ok.result!.content).toEqual([{ type: 'text', text: 'record 1' }]);
  });
});
