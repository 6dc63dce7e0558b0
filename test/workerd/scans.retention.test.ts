/**
 * Scan history retention (workers/scans/scans.retention.ts), through the real Worker, D1 and the
 * test upstream: past the newest SCANS_KEPT scans of a connection, a new scan empties the findings
 * of the scans that left the window in its own batch — except the connection's latest completed
 * scan, which decides its scan block — and keeps a tombstone; reading a pruned scan, or suppressing
 * one of its findings, answers a typed 410 `pruned` with that tombstone; the list leaves it out;
 * another organization's scans are untouched. Pruned records are bounded too: past the newest
 * SCAN_TOMBSTONES_KEPT of a history they are deleted, and answer 404.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { SCAN_TOMBSTONES_KEPT, SCANS_KEPT } from '../../workers/scans/scans.retention';
import { call, createConnection, createOrg, expectApiError, expectJson } from './helpers';

const RUN = Date.now().toString(36);
const FINDINGS = JSON.stringify([
  {
    kind: 'poisoning',
    severity: 'critical',
    item: 'echo',
    path: 'description',
    match: 'x',
    message: 'seeded',
  },
]);

/** `n` scans of a connection as earlier runs stored them, oldest first from `from`. */
async function seedScans(
  orgId: string,
  connectionId: string,
  slug: string,
  prefix: string,
  n: number,
  status: string,
  from: number,
) {
  await env.DB.prepare(
    `INSERT INTO scans (id, org_id, connection_id, connection_slug, created_by, status, server, findings, error, created_at)
     WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?1)
     SELECT ?2 || i, ?3, ?4, ?5, 'seed-author', ?6, '{"serverInfo":{}}', ?7, NULL, ?8 + i FROM seq`,
  )
    .bind(n, prefix, orgId, connectionId, slug, status, FINDINGS, from)
    .run();
}

/** `n` pruned scans (tombstones) of a connection, as earlier scans left them, oldest first from `from`. */
async function seedTombstones(
  orgId: string,
  connectionId: string,
  slug: string,
  prefix: string,
  n: number,
  from: number,
) {
  await env.DB.prepare(
    `INSERT INTO scans (id, org_id, connection_id, connection_slug, created_by, status, server, findings, error, created_at, pruned_at)
     WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?1)
     SELECT ?2 || i, ?3, ?4, ?5, 'seed-author', 'failed', NULL, '[]', NULL, ?6 + i, ?6 + i + 500000 FROM seq`,
  )
    .bind(n, prefix, orgId, connectionId, slug, from)
    .run();
}

const scanRow = (id: string) =>
  env.DB.prepare('SELECT status, findings, server, pruned_at FROM scans WHERE id = ?')
    .bind(id)
    .first<{ status: string; findings: string; server: string | null; pruned_at: number | null }>();

describe('scan history retention', () => {
  it('prunes scans past the newest kept but the latest completed one; readers answer 410', async () => {
    const org = await createOrg('owner');
    const slug = `scan-ret-${RUN}`;
    const conn = await createConnection(slug, {
      key: org.key,
      upstreamPath: '/no-such-endpoint',
      authType: 'none',
    });
    // Oldest first: a completed scan (the latest completed one), a failed one, then SCANS_KEPT - 1 failed.
    await seedScans(org.orgId, conn.id, slug, `scn_a_${RUN}_`, 1, 'completed', 1_000);
    await seedScans(org.orgId, conn.id, slug, `scn_b_${RUN}_`, 1, 'failed', 2_000);
    await seedScans(org.orgId, conn.id, slug, `scn_c_${RUN}_`, SCANS_KEPT - 1, 'failed', 3_000);
    const other = await createOrg('owner');
    const theirs = await createConnection(`scan-ret-other-${RUN}`, { key: other.key, authType: 'none' });
    await seedScans(other.orgId, theirs.id, `scan-ret-other-${RUN}`, `scn_o_${RUN}_`, 1, 'failed', 1_000);

    const fresh = await expectJson<{ id: string; status: string }>(
      await call('POST', '/api/v1/scans', { key: org.key, body: { connection: slug } }),
      201,
    );
    expect(fresh.status).toBe('failed'); // so the seeded completed scan stays the latest completed one

    const a = `scn_a_${RUN}_1`;
    const b = `scn_b_${RUN}_1`;
    // B left the window: its findings and server are gone, its record stays.
    expect(await scanRow(b)).toMatchObject({ status: 'failed', findings: '[]', server: null });
    expect((await scanRow(b))!.pruned_at).toBeGreaterThan(0);
    // A left it too, but it is the latest completed scan (it decides the scan block): kept whole.
    expect(await scanRow(a)).toMatchObject({ findings: FINDINGS, pruned_at: null });
    // The newest seeded ones are kept; another organization's scan is untouched.
    expect(await scanRow(`scn_c_${RUN}_1`)).toMatchObject({ findings: FINDINGS, pruned_at: null });
    expect(await scanRow(`scn_o_${RUN}_1`)).toMatchObject({ findings: FINDINGS, pruned_at: null });

    const gone = await expectApiError(
      await call('GET', `/api/v1/scans/${b}`, { key: org.key }),
      410,
      'pruned',
    );
    expect(gone.details).toMatchObject({
      location: 'path',
      path: 'id',
      id: b,
      connectionId: conn.id,
      status: 'failed',
      createdBy: 'seed-author',
      createdAt: new Date(2_001).toISOString(),
      kept: SCANS_KEPT,
    });
    // Suppressing a finding of a pruned scan: the same 410, nothing written.
    await expectApiError(
      await call('POST', `/api/v1/scans/${b}/suppressions`, {
        key: org.key,
        body: { finding: '0'.repeat(64), reason: 'too late' },
      }),
      410,
      'pruned',
    );
    const { n } = (await env.DB.prepare('SELECT count(*) AS n FROM scan_suppressions WHERE connection_id = ?')
      .bind(conn.id)
      .first<{ n: number }>())!;
    expect(n).toBe(0);
    // A kept scan still reads whole.
    const kept = await expectJson<{ findings: unknown[] }>(
      await call('GET', `/api/v1/scans/${a}`, { key: org.key }),
      200,
    );
    expect(kept.findings).toHaveLength(1);

    // The list leaves pruned scans out.
    const list = await expectJson<{ scans: { id: string }[] }>(
      await call('GET', `/api/v1/scans?connection=${slug}&limit=200`, { key: org.key }),
      200,
    );
    expect(list.scans.map((s) => s.id)).not.toContain(b);
    expect(list.scans[0]!.id).toBe(fresh.id);
  });

  it('keeps the pruned records of a history bounded however many scans run; older ones answer 404', async () => {
    const org = await createOrg('owner');
    const slug = `scan-bound-${RUN}`;
    const conn = await createConnection(slug, {
      key: org.key,
      upstreamPath: '/no-such-endpoint',
      authType: 'none',
    });
    // As scans so far left the history: SCAN_TOMBSTONES_KEPT records, then SCANS_KEPT - 2 failed
    // scans and the latest completed one, newest — all with their findings.
    await seedTombstones(org.orgId, conn.id, slug, `scn_bt_${RUN}_`, SCAN_TOMBSTONES_KEPT, 1_000);
    await seedScans(org.orgId, conn.id, slug, `scn_bk_${RUN}_`, SCANS_KEPT - 2, 'failed', 100_000);
    await seedScans(org.orgId, conn.id, slug, `scn_bc_${RUN}_`, 1, 'completed', 200_000);
    // Another organization: one pruned record and one kept scan.
    const other = await createOrg('owner');
    const theirSlug = `scan-bound-other-${RUN}`;
    const theirs = await createConnection(theirSlug, { key: other.key, authType: 'none' });
    await seedTombstones(other.orgId, theirs.id, theirSlug, `scn_bot_${RUN}_`, 1, 1_000);
    await seedScans(other.orgId, theirs.id, theirSlug, `scn_bok_${RUN}_`, 1, 'failed', 2_000);

    // 50 more scans: the first fills the window, each later one prunes the oldest kept scan.
    const runs = 51;
    let newest = '';
    for (let i = 0; i < runs; i++) {
      const fresh = await expectJson<{ id: string }>(
        await call('POST', '/api/v1/scans', { key: org.key, body: { connection: slug } }),
        201,
      );
      newest = fresh.id;
    }
    const { n, pruned } = (await env.DB.prepare(
      'SELECT count(*) AS n, sum(pruned_at IS NOT NULL) AS pruned FROM scans WHERE connection_id = ?',
    )
      .bind(conn.id)
      .first<{ n: number; pruned: number }>())!;
    // Not one row per scan ever run (SCAN_TOMBSTONES_KEPT + SCANS_KEPT - 1 + runs of them).
    expect({ n, pruned }).toEqual({ n: SCANS_KEPT + SCAN_TOMBSTONES_KEPT, pruned: SCAN_TOMBSTONES_KEPT });

    const get = (id: string, key: string) => call('GET', `/api/v1/scans/${id}`, { key });
    // The 50 oldest records went: 404, as for an id never issued; the next one is a 410.
    await expectApiError(await get(`scn_bt_${RUN}_1`, org.key), 404, 'not_found');
    await expectApiError(await get(`scn_bt_${RUN}_50`, org.key), 404, 'not_found');
    const gone = await expectApiError(await get(`scn_bt_${RUN}_51`, org.key), 410, 'pruned');
    expect(gone.details).toMatchObject({ id: `scn_bt_${RUN}_51`, connectionId: conn.id, kept: SCANS_KEPT });
    // Scans just pruned keep their record (410); the newest SCANS_KEPT read whole.
    await expectApiError(await get(`scn_bk_${RUN}_50`, org.key), 410, 'pruned');
    await expectJson(await get(`scn_bk_${RUN}_51`, org.key), 200);
    await expectJson(await get(`scn_bc_${RUN}_1`, org.key), 200);
    await expectJson(await get(newest, org.key), 200);
    await expectApiError(await get(`scn_never_${RUN}`, org.key), 404, 'not_found');
    const list = await expectJson<{ scans: { id: string }[] }>(
      await call('GET', `/api/v1/scans?connection=${slug}&limit=200`, { key: org.key }),
      200,
    );
    expect(list.scans).toHaveLength(SCANS_KEPT);

    // The other organization's history is untouched: its record still a 410, its scan whole.
    await expectApiError(await get(`scn_bot_${RUN}_1`, other.key), 410, 'pruned');
    await expectJson(await get(`scn_bok_${RUN}_1`, other.key), 200);
  });
});
