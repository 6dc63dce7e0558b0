/**
 * Policy version retention (workers/policy/policy.retention.ts), through the real Worker and D1:
 * past the newest POLICY_VERSIONS_KEPT versions of a connection, a PUT prunes the rules of the one
 * that left the window in its own batch, keeping a tombstone (version, SHA-256, author, time); the
 * readers answer a pruned version with a typed 410 `pruned` carrying that tombstone
 * (GET one version, rollback — which writes nothing), the list holds only versions with rules, the
 * current policy still decides calls, and the `policy.update` audit row carries the same hash. A
 * version written before hashes were recorded is never pruned; another connection is untouched.
 * Tombstones are bounded too: past the newest POLICY_TOMBSTONES_KEPT of them the rows go, and the
 * connection's watermark still answers 410 for those versions (404 for ones never written).
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../workers/lib/hex';
import { POLICY_TOMBSTONES_KEPT, POLICY_VERSIONS_KEPT } from '../../workers/policy/policy.retention';
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

  it('keeps storage per connection bounded however many versions are written; 410 stays exact', async () => {
    const org = await createOrg('owner');
    const conn = await createConnection('pv-bound', { key: org.key });
    const seedHash = await sha256Hex(SEED_RULES);
    // As writes so far left it: POLICY_TOMBSTONES_KEPT tombstones, then POLICY_VERSIONS_KEPT - 1 with rules.
    await seedVersions(org.orgId, conn.id, POLICY_TOMBSTONES_KEPT + POLICY_VERSIONS_KEPT - 1, seedHash);
    await env.DB.prepare(
      "UPDATE policies SET rules = '', pruned_at = 1800000000000 WHERE connection_id = ? AND version <= ?",
    )
      .bind(conn.id, POLICY_TOMBSTONES_KEPT)
      .run();
    // Another organization, same slug, whose versions 1…3 were pruned (tombstones) under the same rule.
    const other = await createOrg('owner');
    const theirs = await createConnection('pv-bound', { key: other.key });
    await seedVersions(other.orgId, theirs.id, POLICY_VERSIONS_KEPT - 1, seedHash);
    for (let i = 0; i < 4; i++) await putPolicy('pv-bound', ALLOW, other.key);

    // 51 more writes: the first fills the window, each later one prunes a version — 50 past the
    // tombstones' window.
    const extra = 50;
    for (let i = 0; i <= extra; i++) await putPolicy('pv-bound', ALLOW, org.key);
    const newest = POLICY_TOMBSTONES_KEPT + POLICY_VERSIONS_KEPT + extra;
    expect(await maxVersion(conn.id)).toBe(newest);

    // Storage: the versions with rules and the newest tombstones, not one row per version written.
    const rows = async (connectionId: string) =>
      (await env.DB.prepare(
        'SELECT count(*) AS n, sum(pruned_at IS NOT NULL) AS pruned FROM policies WHERE connection_id = ?',
      )
        .bind(connectionId)
        .first<{ n: number; pruned: number }>())!;
    expect(await rows(conn.id)).toEqual({
      n: POLICY_VERSIONS_KEPT + POLICY_TOMBSTONES_KEPT,
      pruned: POLICY_TOMBSTONES_KEPT,
    });
    // More writes: the count does not move.
    for (let i = 0; i < 3; i++) await putPolicy('pv-bound', ALLOW, org.key);
    expect((await rows(conn.id)).n).toBe(POLICY_VERSIONS_KEPT + POLICY_TOMBSTONES_KEPT);
    const latest = newest + 3;
    const firstKept = latest - POLICY_VERSIONS_KEPT + 1;
    const firstTombstone = firstKept - POLICY_TOMBSTONES_KEPT;

    const get = (slug: string, v: number, key: string) =>
      call('GET', `/api/v1/connections/${slug}/policy/versions/${v}`, { key });
    // A version whose tombstone went too: 410 `pruned`, from the watermark (no hash left).
    for (const v of [1, firstTombstone - 1]) {
      const gone = await expectApiError(await get('pv-bound', v, org.key), 410, 'pruned');
      expect(gone.details).toMatchObject({
        location: 'path',
        path: 'version',
        version: v,
        prunedBelow: firstKept,
      });
      expect(gone.details).not.toHaveProperty('rulesSha256');
    }
    // The oldest tombstone left: 410 with its hash, author and time.
    const tomb = await expectApiError(await get('pv-bound', firstTombstone, org.key), 410, 'pruned');
    expect(tomb.details).toMatchObject({ version: firstTombstone, kept: POLICY_VERSIONS_KEPT });
    expect(tomb.details).toHaveProperty('rulesSha256');
    // Rollback to a version with no tombstone: the same 410, nothing written.
    await expectApiError(
      await call('POST', '/api/v1/connections/pv-bound/policy/rollback', {
        key: org.key,
        body: { version: 1 },
      }),
      410,
      'pruned',
    );
    expect(await maxVersion(conn.id)).toBe(latest);
    // Never written: 404.
    await expectApiError(await get('pv-bound', latest + 1, org.key), 404, 'not_found');
    // The newest POLICY_VERSIONS_KEPT read whole.
    await expectJson(await get('pv-bound', firstKept, org.key), 200);
    await expectJson(await get('pv-bound', latest, org.key), 200);
    const list = await expectJson<{ versions: Array<{ version: number }> }>(
      await call('GET', '/api/v1/connections/pv-bound/policy/versions', { key: org.key }),
      200,
    );
    expect(list.versions.map((v) => v.version)).toEqual(
      Array.from({ length: POLICY_VERSIONS_KEPT }, (_, i) => latest - i),
    );

    // The other organization's connection of the same slug: its own tombstones, its own 404s.
    expect(await rows(theirs.id)).toEqual({ n: POLICY_VERSIONS_KEPT + 3, pruned: 3 });
    const theirTomb = await expectApiError(await get('pv-bound', 1, other.key), 410, 'pruned');
    expect(theirTomb.details).toMatchObject({ version: 1, rulesSha256: seedHash, createdBy: 'seed-author' });
    await expectJson(await get('pv-bound', 5, other.key), 200);
    await expectApiError(await get('pv-bound', POLICY_VERSIONS_KEPT + 4, other.key), 404, 'not_found');
  });
});
