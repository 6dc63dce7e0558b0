/**
 * Scan history retention (workers/scans/scans.retention.ts), through the real Worker, D1 and the
 * test upstream: past the newest SCANS_KEPT scans of a connection, a new scan empties the findings
 * of the scans that left the window in its own batch — except the connection's latest completed
 * scan, which decides its scan block — and keeps a tombstone; reading a pruned scan, or suppressing
 * one of its findings, answers a typed 410 `pruned` with that tombstone; the list leaves it out;
 * another organization's scans are untouched.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { SCANS_KEPT } from '../../workers/scans/scans.retention';
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
});
