/**
 * Policy version retention (workers/policy/policy.retention.ts), through the real Worker and D1:
 * past the newest POLICY_VERSIONS_KEPT versions of a connection, a PUT prunes the rules of the one
 * that left the window in its own batch, keeping a tombstone (version, SHA-256, author, time); the
 * readers answer a pruned version with a typed 410 `pruned` carrying that tombstone
 * (GET one version, rollback — which writes nothing), the list holds only versions with rules, the
 * current policy still decides calls, and the `policy.update` audit row carries the same hash. A
 * version written before hashes were recorded is never pruned; another connection is untouched.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../workers/lib/hex';
import { POLICY_VERSIONS_KEPT } from '../../workers/policy/policy.retention';
import {
  adminAuditRows,
  call,
  createConnection,
  createOrg,
  expectApiError,
  expectJson,
  mcp,
  putPolicy,
  rpcResult,
} from './helpers';

const SEED_RULES = JSON.stringify([{ tool: 'seeded-*', action: 'deny' }]);

/** Versions 1…n of a connection, as earlier PUTs would have stored them (hash: null = before hashes). */
async function seedVersions(orgId: string, connectionId: string, n: number, hash: string | null) {
  await env.DB.prepare(
    `INSERT INTO policies (id, org_id, connection_id, version, rules, rules_sha256, created_by, created_at)
     WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?1)
     SELECT 'seed-' || ?3 || '-' || i, ?2, ?3, i, ?4, ?5, 'seed-author', 1700000000000 + i FROM seq`,
  )
    .bind(n, orgId, connectionId, SEED_RULES, hash)
    .run();
}

async function version(connectionId: string, v: number) {
  return env.DB.prepare(
    'SELECT version, rules, rules_sha256, pruned_at, created_by FROM policies WHERE connection_id = ? AND version = ?',
  )
    .bind(connectionId, v)
    .first<{
      version: number;
      rules: string;
      rules_sha256: string | null;
      pruned_at: number | null;
      created_by: string;
    }>();
}

const maxVersion = async (connectionId: string) =>
  (await env.DB.prepare('SELECT max(version) AS v FROM policies WHERE connection_id = ?')
    .bind(connectionId)
    .first<{ v: number }>())!.v;

const ALLOW = [{ tool: '*', action: 'allow' }];

describe('policy version retention', () => {
  it('prunes the version leaving the newest kept, keeps its tombstone, and readers answer 410', async () => {
    const org = await createOrg('owner');
    const conn = await createConnection('pv-keep', { key: org.key });
    const seedHash = await sha256Hex(SEED_RULES);
    await seedVersions(org.orgId, conn.id, POLICY_VERSIONS_KEPT - 1, seedHash);

    // Version KEPT: every version still holds its rules.
    expect((await putPolicy('pv-keep', ALLOW, org.key)).version).toBe(POLICY_VERSIONS_KEPT);
    expect((await version(conn.id, 1))!.pruned_at).toBeNull();

    // Version KEPT + 1: version 1 left the window — its rules are gone, its tombstone stays.
    expect((await putPolicy('pv-keep', ALLOW, org.key)).version).toBe(POLICY_VERSIONS_KEPT + 1);
    const pruned = (await version(conn.id, 1))!;
    expect(pruned).toMatchObject({ rules: '', rules_sha256: seedHash, created_by: 'seed-author' });
    expect(pruned.pruned_at).toBeGreaterThan(0);
    expect((await version(conn.id, 2))!).toMatchObject({ rules: SEED_RULES, pruned_at: null });

    // One version: the pruned one is a typed 410 with its tombstone; a kept one is there; none: 404.
    const gone = await expectApiError(
      await call('GET', '/api/v1/connections/pv-keep/policy/versions/1', { key: org.key }),
      410,
      'pruned',
    );
    expect(gone.details).toMatchObject({
      location: 'path',
      path: 'version',
      version: 1,
      rulesSha256: seedHash,
      createdBy: 'seed-author',
      createdAt: new Date(1700000000001).toISOString(),
      kept: POLICY_VERSIONS_KEPT,
    });
    const kept = await expectJson<{ version: number; rules: unknown[] }>(
      await call('GET', '/api/v1/connections/pv-keep/policy/versions/2', { key: org.key }),
      200,
    );
    expect(kept).toMatchObject({ version: 2, rules: JSON.parse(SEED_RULES) });
    await expectApiError(
      await call('GET', '/api/v1/connections/pv-keep/policy/versions/9999', { key: org.key }),
      404,
      'not_found',
    );
    await expectApiError(
      await call('GET', '/api/v1/connections/pv-keep/policy/versions/0x1', { key: org.key }),
      404,
      'not_found',
    );

    // Rollback to a pruned version: 410, and nothing written (no version, no audit row).
    const rollbacks = (await adminAuditRows(org.orgId, 'policy.rollback')).length;
    const refused = await expectApiError(
      await call('POST', '/api/v1/connections/pv-keep/policy/rollback', {
        key: org.key,
        body: { version: 1 },
      }),
      410,
      'pruned',
    );
    expect(refused.details).toMatchObject({ location: 'body', path: 'version', rulesSha256: seedHash });
    expect(await maxVersion(conn.id)).toBe(POLICY_VERSIONS_KEPT + 1);
    expect((await adminAuditRows(org.orgId, 'policy.rollback')).length).toBe(rollbacks);

    // The list holds the versions that keep their rules, newest first, and parses.
    const list = await expectJson<{ versions: Array<{ version: number; rules: unknown[] }> }>(
      await call('GET', '/api/v1/connections/pv-keep/policy/versions', { key: org.key }),
      200,
    );
    expect(list.versions).toHaveLength(POLICY_VERSIONS_KEPT);
    expect(list.versions[0]!.version).toBe(POLICY_VERSIONS_KEPT + 1);
    expect(list.versions.at(-1)!.version).toBe(2);

    // The audit row of each write carries its hash: the same one its tombstone will keep.
    const updates = await adminAuditRows(org.orgId, 'policy.update');
    const latest = (await version(conn.id, POLICY_VERSIONS_KEPT + 1))!;
    expect(latest.rules_sha256).toBe(await sha256Hex(latest.rules));
    expect((updates.at(-1)!.details as { rulesSha256: string }).rulesSha256).toBe(latest.rules_sha256);

    // The current policy still decides calls.
    const res = await mcp(
      'pv-keep',
      'tools/call',
      { name: 'echo', arguments: { message: 'hi' } },
      { key: org.key },
    );
    expect(res.status).toBe(200);
    expect((await rpcResult(res)).result).toBeDefined();
  });

  it('never prunes a version with no recorded hash, nor another connection or organization', async () => {
    const org = await createOrg('owner');
    const old = await createConnection('pv-old', { key: org.key });
    await seedVersions(org.orgId, old.id, POLICY_VERSIONS_KEPT + 5, null);
    const other = await createOrg('owner');
    const theirs = await createConnection('pv-theirs', { key: other.key });
    await seedVersions(other.orgId, theirs.id, 3, await sha256Hex(SEED_RULES));

    await putPolicy('pv-old', ALLOW, org.key);
    await putPolicy('pv-old', ALLOW, org.key);
    const { n } = (await env.DB.prepare(
      'SELECT count(*) AS n FROM policies WHERE connection_id IN (?, ?) AND pruned_at IS NOT NULL',
    )
      .bind(old.id, theirs.id)
      .first<{ n: number }>())!;
    expect(n).toBe(0);
    expect((await version(old.id, 1))!.rules).toBe(SEED_RULES);
  });
});
