/**
 * Migration 0025 (tombstone bounds), its data statements run again over rows as the earlier code
 * left them: per connection the watermark is set above the highest pruned policy version and
 * only the newest tombstones stay (the rule writes keep from now on: policy.retention.ts,
 * prompts.retention.ts, scans.retention.ts); another organization's rows under the bound stay.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { POLICY_TOMBSTONES_KEPT, POLICY_VERSIONS_KEPT } from '../../workers/policy/policy.retention';
import { PROMPT_TOMBSTONES_KEPT, PROMPT_VERSIONS_KEPT } from '../../workers/prompts/prompts.retention';
import { SCAN_TOMBSTONES_KEPT } from '../../workers/scans/scans.retention';
import { call, createConnection, createOrg, expectApiError, expectJson } from './helpers';

/** The data statements of 0025: every one after its ALTER TABLE. */
function dataStatements(): string[] {
  const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith('0025_'));
  expect(migration).toBeDefined();
  return migration!.queries.filter((q) => !/^\s*ALTER TABLE/i.test(q));
}

/** Policy versions 1…n with a hash, 1…pruned of them tombstones, as 0022's code left them. */
async function seedPolicies(orgId: string, connectionId: string, n: number, pruned: number) {
  await env.DB.prepare(
    `INSERT INTO policies (id, org_id, connection_id, version, rules, rules_sha256, pruned_at, created_by, created_at)
     WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?1)
     SELECT 'mig-' || ?3 || '-' || i, ?2, ?3, i, CASE WHEN i <= ?4 THEN '' ELSE '[]' END, 'hash-' || i,
            CASE WHEN i <= ?4 THEN 1800000000000 END, 'seed-author', 1700000000000 + i FROM seq`,
  )
    .bind(n, orgId, connectionId, pruned)
    .run();
}

async function seedScans(orgId: string, connectionId: string, prefix: string, n: number, pruned: number) {
  await env.DB.prepare(
    `INSERT INTO scans (id, org_id, connection_id, created_by, status, findings, created_at, pruned_at)
     WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?1)
     SELECT ?2 || i, ?3, ?4, 'seed-author', 'failed', '[]', 1000 + i, CASE WHEN i <= ?5 THEN 1800000000000 END FROM seq`,
  )
    .bind(n, prefix, orgId, connectionId, pruned)
    .run();
}

const count = async (sql: string, ...binds: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...binds)
    .first<{ n: number }>())!.n;

describe('migration 0025: tombstones brought under their bound', () => {
  it('sets the policy watermark and drops the tombstones past the newest kept, per owner', async () => {
    const org = await createOrg('owner');
    const conn = await createConnection('mig-bound', { key: org.key });
    const other = await createOrg('owner');
    const theirs = await createConnection('mig-bound', { key: other.key });
    // 300 pruned versions then 200 with rules; the other organization: 3 pruned then 200.
    await seedPolicies(org.orgId, conn.id, 300 + POLICY_VERSIONS_KEPT, 300);
    await seedPolicies(other.orgId, theirs.id, 3 + POLICY_VERSIONS_KEPT, 3);
    await seedScans(org.orgId, conn.id, 'scn_mig_a_', 300 + 200, 300);
    await seedScans(other.orgId, theirs.id, 'scn_mig_b_', 3 + 200, 3);
    const prompt = await expectJson<{ id: string }>(
      await call('POST', '/api/v1/system-prompts', {
        key: org.key,
        body: { name: 'mig', text: 'Be brief.' },
      }),
      201,
    );
    const last = 300 + PROMPT_VERSIONS_KEPT;
    await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO system_prompt_versions (prompt_id, org_id, version, text, text_hash, created_by)
         WITH RECURSIVE seq(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM seq WHERE i < ?1)
         SELECT ?2, ?3, i, CASE WHEN i <= 300 THEN '' ELSE 'Text ' || i END, 'h-' || i, 'seed-author' FROM seq`,
      ).bind(last, prompt.id, org.orgId),
      env.DB.prepare("UPDATE system_prompt_versions SET text = '' WHERE prompt_id = ? AND version = 1").bind(
        prompt.id,
      ),
      env.DB.prepare('UPDATE system_prompts SET version = ? WHERE id = ?').bind(last, prompt.id),
    ]);

    for (const sql of dataStatements()) await env.DB.prepare(sql).run();

    // Policies: the watermark above the highest pruned version; the newest tombstones stay.
    const below = async (id: string) =>
      (await env.DB.prepare('SELECT policy_pruned_below AS b FROM connections WHERE id = ?')
        .bind(id)
        .first<{ b: number }>())!.b;
    expect(await below(conn.id)).toBe(301);
    expect(await below(theirs.id)).toBe(4);
    const pruned = 'SELECT count(*) AS n FROM policies WHERE connection_id = ? AND pruned_at IS NOT NULL';
    expect(await count(pruned, conn.id)).toBe(POLICY_TOMBSTONES_KEPT);
    expect(await count(pruned, theirs.id)).toBe(3);
    // The readers agree: a dropped version is still a 410, a tombstone a 410 with its hash.
    const get = (v: number, key: string) =>
      call('GET', `/api/v1/connections/mig-bound/policy/versions/${v}`, { key });
    const dropped = await expectApiError(await get(100, org.key), 410, 'pruned');
    expect(dropped.details).toMatchObject({ version: 100, prunedBelow: 301 });
    const kept = await expectApiError(await get(101, org.key), 410, 'pruned');
    expect(kept.details).toMatchObject({ version: 101, rulesSha256: 'hash-101' });
    await expectJson(await get(301, org.key), 200);
    await expectApiError(await get(1, other.key), 410, 'pruned');
    await expectApiError(await get(4 + POLICY_VERSIONS_KEPT, other.key), 404, 'not_found');

    // Scans and prompt versions: the newest tombstones of each history stay.
    const prunedScans = 'SELECT count(*) AS n FROM scans WHERE connection_id = ? AND pruned_at IS NOT NULL';
    expect(await count(prunedScans, conn.id)).toBe(SCAN_TOMBSTONES_KEPT);
    expect(await count(prunedScans, theirs.id)).toBe(3);
    expect(await count('SELECT count(*) AS n FROM scans WHERE id = ?', 'scn_mig_a_101')).toBe(1);
    expect(await count('SELECT count(*) AS n FROM scans WHERE id = ?', 'scn_mig_a_100')).toBe(0);
    expect(
      await count(
        "SELECT count(*) AS n FROM system_prompt_versions WHERE prompt_id = ? AND text = ''",
        prompt.id,
      ),
    ).toBe(PROMPT_TOMBSTONES_KEPT);
    expect(
      await count('SELECT count(*) AS n FROM system_prompt_versions WHERE prompt_id = ?', prompt.id),
    ).toBe(PROMPT_TOMBSTONES_KEPT + PROMPT_VERSIONS_KEPT);
  });
});
