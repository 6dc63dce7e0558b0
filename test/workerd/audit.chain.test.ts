/**
 * The tamper-evident audit trail: spools write a hash-chain link with every row they flush, and
 * GET /api/v1/audit/verify recomputes the chains against D1 — a clean trail verifies, a row
 * re-written by a late finding still verifies, and each kind of tampering done directly in D1 is
 * reported with the chain, position and event it concerns.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { guardFor } from '../../durable-objects/do.client';
import type { VerifyReport } from '../../workers/audit/audit.verify';
import { runScheduled } from '../../workers/scheduled';
import {
  addMember,
  call,
  createConnection,
  createOrg,
  flushAudit,
  json,
  mcp,
  putPolicy,
  type TestOrg,
} from './helpers';

async function trail(
  slug: string,
  calls = 4,
): Promise<{ org: TestOrg; connectionId: string; ids: string[] }> {
  const org = await createOrg('owner');
  const { id: connectionId } = await createConnection(slug, { key: org.key });
  await putPolicy(
    slug,
    [
      { tool: 'echo', action: 'allow' },
      { tool: '*', action: 'deny' },
    ],
    org.key,
  );
  for (let i = 0; i < calls; i++) {
    const res = await mcp(
      slug,
      'tools/call',
      { name: i === 0 ? 'nope' : 'echo', arguments: { message: 'x' } },
      { key: org.key },
    );
    await res.text();
  }
  const ids = await chainedRows(org.orgId, calls);
  return { org, connectionId, ids };
}

/** Flushes until the organization has `n` gateway rows with their links in D1; their ids, oldest first. */
async function chainedRows(orgId: string, n: number): Promise<string[]> {
  for (let i = 0; i < 100; i++) {
    await flushAudit();
    const { results } = await env.DB.prepare(
      `SELECT e.id FROM audit_events e WHERE e.org_id = ? AND e.type = 'tool_call'
       AND (e.upstream_status IS NOT NULL OR e.action = 'deny')
       AND EXISTS (SELECT 1 FROM audit_chain c WHERE c.event_id = e.id) ORDER BY e.created_at`,
    )
      .bind(orgId)
      .all<{ id: string }>();
    if (results.length >= n) return results.map((r) => r.id);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('audit rows did not arrive');
}

async function verify(org: TestOrg): Promise<VerifyReport> {
  const res = await call('GET', '/api/v1/audit/verify', { key: org.key });
  expect(res.status).toBe(200);
  return json<VerifyReport>(res);
}

async function seqOf(eventId: string): Promise<{ chain: string; seq: number }> {
  return (await env.DB.prepare('SELECT chain, max(seq) AS seq FROM audit_chain WHERE event_id = ?')
    .bind(eventId)
    .first<{ chain: string; seq: number }>())!;
}

describe('audit hash chain', () => {
  it('verifies a clean trail, including a row written again by a late finding', {
    timeout: 30_000,
  }, async () => {
    const { org, connectionId, ids } = await trail('chain-clean');
    const clean = await verify(org);
    expect(clean.ok).toBe(true);
    expect(clean.firstBroken).toBeNull();
    expect(clean.rowsChecked).toBeGreaterThanOrEqual(4);
    expect(clean.chains[0]!.chain).toBe(`ConnectionGuard:${org.orgId}:${connectionId}`);
    expect(clean.chains[0]!.anchor).toBe(1);

    // A late finding patches a flushed row: it is written again, with a new link.
    await guardFor(env, org.orgId, connectionId).complete(ids[1]!, {
      findings: [{ stage: 'inspection', kind: 'pii.email', severity: 'low' }],
    });
    for (let i = 0; i < 100; i++) {
      await flushAudit();
      const n = await env.DB.prepare('SELECT count(*) AS n FROM audit_chain WHERE event_id = ?')
        .bind(ids[1])
        .first<{ n: number }>();
      if (n!.n >= 2) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const row = await env.DB.prepare('SELECT details FROM audit_events WHERE id = ?')
      .bind(ids[1])
      .first<{ details: string }>();
    expect(row!.details).toContain('pii.email');
    const again = await verify(org);
    expect(again.ok).toBe(true);
    expect(again.chains[0]!.links).toBe(clean.chains[0]!.links + 1);
  });

  it('pinpoints a row edited in D1', { timeout: 30_000 }, async () => {
    const { org, ids } = await trail('chain-edit');
    // Always a change, whichever row sorts first (rows of one millisecond keep insertion order).
    await env.DB.prepare(
      "UPDATE audit_events SET action = CASE action WHEN 'deny' THEN 'allow' ELSE 'deny' END WHERE id = ?",
    )
      .bind(ids[0])
      .run();
    const report = await verify(org);
    expect(report.ok).toBe(false);
    expect(report.firstBroken).toEqual({ ...(await seqOf(ids[0]!)), eventId: ids[0], reason: 'row_altered' });
  });

  it('pinpoints a deleted row, a deleted link, an edited link and an inserted row', {
    timeout: 30_000,
  }, async () => {
    const deleted = await trail('chain-del-row');
    const at = await seqOf(deleted.ids[2]!);
    await env.DB.prepare('DELETE FROM audit_events WHERE id = ?').bind(deleted.ids[2]).run();
    expect((await verify(deleted.org)).firstBroken).toEqual({
      ...at,
      eventId: deleted.ids[2],
      reason: 'row_missing',
    });

    const unlinked = await trail('chain-del-link');
    const link = await seqOf(unlinked.ids[1]!);
    await env.DB.prepare('DELETE FROM audit_chain WHERE chain = ? AND seq = ?')
      .bind(link.chain, link.seq)
      .run();
    const next = await env.DB.prepare('SELECT event_id FROM audit_chain WHERE chain = ? AND seq = ?')
      .bind(link.chain, link.seq + 1)
      .first<{ event_id: string }>();
    expect((await verify(unlinked.org)).firstBroken).toEqual({
      chain: link.chain,
      seq: link.seq + 1,
      eventId: next!.event_id,
      reason: 'link_missing',
    });

    const edited = await trail('chain-edit-link');
    const target = await seqOf(edited.ids[2]!);
    // Flip the first byte to a value it does not already have (a fixed 'ff' was a no-op 1 time in 256).
    const flipped = await env.DB.prepare(
      `UPDATE audit_chain SET row_hash = CASE WHEN substr(row_hash, 1, 2) = 'ff' THEN '00' ELSE 'ff' END
       || substr(row_hash, 3) WHERE chain = ? AND seq = ?`,
    )
      .bind(target.chain, target.seq)
      .run();
    expect(flipped.meta.changes).toBe(1);
    expect((await verify(edited.org)).firstBroken).toEqual({
      ...target,
      eventId: edited.ids[2],
      reason: 'link_altered',
    });

    const inserted = await trail('chain-insert');
    await env.DB.prepare(
      `INSERT INTO audit_events (id, org_id, type, action, created_at) VALUES ('evt_forged', ?, 'tool_call', 'allow', ?)`,
    )
      .bind(inserted.org.orgId, Date.now())
      .run();
    const report = await verify(inserted.org);
    expect(report.firstBroken).toBeNull();
    expect(report.ok).toBe(false);
    expect(report.unchained).toEqual({ count: 1, eventIds: ['evt_forged'] });
  });

  it('retention removes old links with their rows, and the trail still verifies', {
    timeout: 30_000,
  }, async () => {
    const { org } = await trail('chain-retention', 2);
    // A cron run 91 days from now (default retention: 90 days) removes every row and link of the org.
    await runScheduled({ scheduledTime: Date.now() + 91 * 86_400_000 }, env);
    const left = await env.DB.prepare('SELECT count(*) AS n FROM audit_chain WHERE org_id = ?')
      .bind(org.orgId)
      .first<{ n: number }>();
    expect(left!.n).toBe(0);
    const report = await verify(org);
    expect(report).toMatchObject({ ok: true, chains: [], firstBroken: null });
  });

  it('is for members who read the whole trail', { timeout: 30_000 }, async () => {
    const org = await createOrg('owner');
    const developer = await addMember(org.orgId, 'developer');
    expect((await call('GET', '/api/v1/audit/verify', { key: developer.key })).status).toBe(403);
    expect((await call('GET', '/api/v1/audit/verify', { key: null })).status).toBe(401);
  });
});
