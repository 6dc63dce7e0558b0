/**
 * No change without its record (docs/audit.md#admin-actions): for the admin changes whose audit row
 * used to be written after the change, in a statement of its own, the row's write is made to fail
 * (audit.fail.ts) and the change must not have happened — and the call must not answer 2xx. Each
 * test then repeats the call with the write working, to show the change was really there to make.
 *
 *   - D1 changes: the row is in the change's own batch (one transaction) — tools re-scan,
 *     credential re-encryption, the block a scan puts on its connection;
 *   - changes outside D1 (a Durable Object's budget counter, OAuth grants in KV): the row is
 *     written first, so a failed write leaves the change undone. A policy published to KV was
 *     already published only after its version and row committed; its test keeps it so.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import worker from '../../workers/index';
import { auditCount, withFailingAudit } from './audit.fail';
import {
  BASE,
  call,
  createConnection,
  createOrg,
  expectJson,
  json,
  mcp,
  putPolicy,
  rpcResult,
  type TestOrg,
} from './helpers';
import { mcpWithToken, obtainTokens, sessionCookie } from './oauth.helpers';

const RUN = Date.now().toString(36);
let org: TestOrg;

beforeAll(async () => {
  org = await createOrg('owner');
});

async function until<T>(read: () => Promise<T>, ready: (value: T) => boolean): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = await read();
    if (ready(value)) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('never ready');
}

describe('a D1 change and its audit row are one transaction', () => {
  it('tools re-scan: a failed record leaves every finding as it was', async () => {
    const first = `atom-shadow-a-${RUN}`;
    const later = `atom-shadow-b-${RUN}`;
    const { id } = await createConnection(first, { key: org.key, upstreamPath: '/stateless' });
    await putPolicy(first, [{ tool: '*', action: 'allow' }], org.key);
    await createConnection(later, { key: org.key, upstreamPath: '/vulnerable' });
    await putPolicy(later, [{ tool: '*', action: 'allow' }], org.key);
    const findings = async () =>
      (
        await env.DB.prepare(
          "SELECT findings FROM tool_inventory WHERE connection_id = ? AND kind = 'tool' AND name = 'echo'",
        )
          .bind(id)
          .first<{ findings: string | null }>()
      )?.findings ?? null;
    await mcp(first, 'tools/list', {}, { key: org.key });
    await until(findings, (f) => f !== null);
    await mcp(later, 'tools/list', {}, { key: org.key });
    await until(findings, (f) => f?.includes('shadowing') === true);
    // Forget the shadowing finding: the re-scan has a row to change again.
    await env.DB.prepare(
      "UPDATE tool_inventory SET findings = '[]' WHERE connection_id = ? AND name = 'echo'",
    )
      .bind(id)
      .run();

    const path = `/api/v1/connections/${first}/tools/rescan`;
    const refused = await withFailingAudit(org.orgId, 'tools.rescan', () =>
      call('POST', path, { key: org.key }),
    );
    expect(refused.status).toBe(500);
    expect(await findings()).toBe('[]');
    expect(await auditCount(org.orgId, 'tools.rescan')).toBe(0);

    expect((await call('POST', path, { key: org.key })).status).toBe(200);
    expect(await findings()).toContain('shadowing');
    expect(await auditCount(org.orgId, 'tools.rescan')).toBe(1);
  });

  it('credential re-encryption: a failed record re-seals nothing', async () => {
    // An organization of its own: its one credential is all there is to re-seal.
    const org = await createOrg('owner');
    const slug = `atom-rotate-${RUN}`;
    await createConnection(slug, { key: org.key, credential: 'secret-value-atomic' });
    const sealed = async () =>
      (
        await env.DB.prepare('SELECT credential_ciphertext FROM connections WHERE org_id = ? AND slug = ?')
          .bind(org.orgId, slug)
          .first<{ credential_ciphertext: string }>()
      )?.credential_ciphertext;
    const before = await sealed();
    const next = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
    const rotating = { ...env, ENCRYPTION_KEY: next, ENCRYPTION_KEY_PREVIOUS: env.ENCRYPTION_KEY } as Env;
    const reencrypt = async () => {
      const ctx = createExecutionContext();
      const res = await worker.fetch(
        new Request(`${BASE}/api/v1/organizations/current/reencrypt-credentials`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${org.key}` },
        }),
        rotating,
        ctx,
      );
      await waitOnExecutionContext(ctx);
      return res;
    };

    const refused = await withFailingAudit(org.orgId, 'credentials.reencrypt', reencrypt);
    expect(refused.status).toBe(500);
    expect(await sealed()).toBe(before);
    expect(await auditCount(org.orgId, 'credentials.reencrypt')).toBe(0);

    expect(await expectJson(await reencrypt(), 200)).toMatchObject({ reencrypted: 1, failed: 0 });
    expect(await sealed()).not.toBe(before);
    expect(await auditCount(org.orgId, 'credentials.reencrypt')).toBe(1);
  });

  it('a scan that blocks its connection: a failed record stores no scan and blocks nothing', async () => {
    const slug = `atom-block-${RUN}`;
    const { id } = await createConnection(slug, { key: org.key, upstreamPath: '/vulnerable' });
    await putPolicy(slug, [{ tool: '*', action: 'allow' }], org.key);
    const patched = await call('PATCH', `/api/v1/connections/${slug}`, {
      key: org.key,
      body: { settings: { integrity: { discovery: 'off', blockOnCriticalScan: true } } },
    });
    expect(patched.status).toBe(200);
    const echo = async () =>
      rpcResult(
        await mcp(slug, 'tools/call', { name: 'echo', arguments: { message: 'hi' } }, { key: org.key }),
      );
    const scans = async () =>
      (
        await env.DB.prepare('SELECT COUNT(*) AS n FROM scans WHERE connection_id = ?')
          .bind(id)
          .first<{ n: number }>()
      )?.n;
    const scan = () => call('POST', '/api/v1/scans', { key: org.key, body: { connection: slug } });

    const refused = await withFailingAudit(org.orgId, 'scans.block', scan);
    expect(refused.status).toBe(500);
    expect(await scans()).toBe(0);
    expect(await auditCount(org.orgId, 'scans.create')).toBe(0);
    expect((await echo()).result).toBeDefined();

    const stored = await json<{ id: string; summary: { critical: number } }>(await scan());
    expect(stored.summary.critical).toBeGreaterThan(0);
    expect(await scans()).toBe(1);
    expect((await echo()).error).toMatchObject({ data: { code: 'connection_blocked' } });
    expect(await auditCount(org.orgId, 'scans.block')).toBe(1);
  });
});

describe('a change outside D1 is recorded first', () => {
  it('policy save (published to KV): a failed record stores and publishes nothing', async () => {
    const slug = `atom-policy-${RUN}`;
    const { id } = await createConnection(slug, { key: org.key });
    await putPolicy(slug, [{ tool: '*', action: 'allow' }], org.key);
    const published = () => env.POLICY_KV.get(`policy:${org.orgId}:${id}`);
    const before = await published();
    const versions = async () =>
      (
        await env.DB.prepare('SELECT COUNT(*) AS n FROM policies WHERE connection_id = ?')
          .bind(id)
          .first<{ n: number }>()
      )?.n;
    const save = () =>
      call('PUT', `/api/v1/connections/${slug}/policy`, {
        key: org.key,
        body: { rules: [{ tool: 'echo', action: 'deny' }] },
      });

    const refused = await withFailingAudit(org.orgId, 'policy.update', save);
    expect(refused.status).toBe(500);
    expect(await versions()).toBe(1);
    expect(await published()).toBe(before);

    expect((await save()).status).toBe(200);
    expect(await versions()).toBe(2);
    expect(await published()).not.toBe(before);
  });

  it('budget reset (a Durable Object): a failed record resets nothing', async () => {
    const created = await expectJson<{ id: string }>(
      await call('POST', '/api/v1/budgets', { key: org.key, body: { scope: 'org', limitUsd: 10 } }),
      201,
    );
    const history = async () =>
      (
        await expectJson<{ history: Array<{ closedBy: string }> }>(
          await call('GET', `/api/v1/budgets/${created.id}`, { key: org.key }),
          200,
        )
      ).history;
    const reset = () => call('POST', `/api/v1/budgets/${created.id}/reset`, { key: org.key });

    const refused = await withFailingAudit(org.orgId, 'budget.reset', reset);
    expect(refused.status).toBe(500);
    // A reset closes the period so far in the history: none was closed.
    expect(await history()).toEqual([]);

    expect((await reset()).status).toBe(200);
    expect(await history()).toEqual([expect.objectContaining({ closedBy: 'manual' })]);
    expect(await auditCount(org.orgId, 'budget.reset')).toBe(1);
  });

  it('OAuth grant revocation (the OAuth store in KV): a failed record revokes nothing', async () => {
    const slug = `atom-oauth-${RUN}`;
    const connId = (await createConnection(slug, { key: org.key })).id;
    await putPolicy(slug, [{ tool: '*', action: 'allow' }], org.key);
    const tokens = await obtainTokens(slug, await sessionCookie(org.userId, org.orgId), connId);
    const { grants } = await json<{ grants: Array<{ id: string; clientId: string }> }>(
      await call('GET', '/api/v1/oauth/grants', { key: org.key }),
    );
    const grant = grants.find((g) => g.clientId === tokens.clientId)!;
    const revoke = () => call('DELETE', `/api/v1/oauth/grants/${grant.id}`, { key: org.key });

    const refused = await withFailingAudit(org.orgId, 'auth.oauth_revoke', revoke);
    expect(refused.status).toBe(500);
    expect((await mcpWithToken(slug, tokens.access_token)).status).toBe(200);

    expect((await revoke()).status).toBe(200);
    expect((await mcpWithToken(slug, tokens.access_token)).status).toBe(401);
    expect(await auditCount(org.orgId, 'auth.oauth_revoke')).toBe(1);
  });
});
