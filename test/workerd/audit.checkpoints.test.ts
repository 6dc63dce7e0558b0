/**
 * Periodic signed audit checkpoints (workers/audit/audit.checkpoints.ts): the checkpoint cron,
 * run through the Worker's scheduled entry, signs each organization's chain heads when they moved
 * (and only then), the API lists them to the organization's auditors only, and an export made after
 * a consistent rewrite of the chain in D1 — which verifies on its own, since the gateway signs what
 * D1 holds — is caught by the checkpoint that covered the rewritten link (sdk/src/audit.checkpoints.ts).
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { linkHash, valuesHash } from '../../durable-objects/audit.chain';
import { COLUMNS } from '../../durable-objects/audit.rows';
import { verifyAgainstCheckpoints } from '../../sdk/src/audit.checkpoints';
import { signatureValid, verifyExport } from '../../sdk/src/audit.verify';
import { CHECKPOINT_CRON, type CheckpointDto } from '../../workers/audit/audit.checkpoints';
import worker from '../../workers/index';
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

let clock = Date.UTC(2026, 11, 3, 12, 0, 0);

async function runCheckpointCron(): Promise<void> {
  clock += 15 * 60_000;
  const controller = createScheduledController({ scheduledTime: clock, cron: CHECKPOINT_CRON });
  const ctx = createExecutionContext();
  await worker.scheduled(controller, env, ctx);
  await waitOnExecutionContext(ctx);
}

/** `n` more denied calls, flushed with their links. */
async function traffic(org: TestOrg, slug: string, n: number): Promise<void> {
  const before = await linkCount(org.orgId);
  for (let i = 0; i < n; i++) {
    const res = await mcp(slug, 'tools/call', { name: 'nope', arguments: {} }, { key: org.key });
    await res.text();
  }
  for (let i = 0; i < 100 && (await linkCount(org.orgId)) < before + n; i++) {
    await flushAudit();
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(await linkCount(org.orgId)).toBeGreaterThanOrEqual(before + n);
}

async function linkCount(orgId: string): Promise<number> {
  const row = await env.DB.prepare('SELECT count(*) AS n FROM audit_chain WHERE org_id = ?')
    .bind(orgId)
    .first<{ n: number }>();
  return row!.n;
}

async function checkpoints(org: TestOrg): Promise<CheckpointDto[]> {
  const res = await call('GET', '/api/v1/audit/checkpoints', { key: org.key });
  expect(res.status).toBe(200);
  return (await json<{ checkpoints: CheckpointDto[] }>(res)).checkpoints;
}

async function exportText(org: TestOrg): Promise<string> {
  const res = await call('GET', '/api/v1/audit/chain/export', { key: org.key });
  expect(res.status).toBe(200);
  return res.text();
}

/**
 * What an attacker with write access to D1 does: edits a row and recomputes its link and every
 * later link of the chain, so the chain is consistent again.
 */
async function rewriteConsistently(chain: string, seq: number): Promise<void> {
  const link = (await env.DB.prepare('SELECT event_id FROM audit_chain WHERE chain = ? AND seq = ?')
    .bind(chain, seq)
    .first<{ event_id: string }>())!;
  await env.DB.prepare("UPDATE audit_events SET action = 'allow' WHERE id = ?").bind(link.event_id).run();
  const columns = COLUMNS.map(([c]) => `"${c}"`).join(', ');
  const [values] = await env.DB.prepare(`SELECT ${columns} FROM audit_events WHERE id = ?`)
    .bind(link.event_id)
    .raw();
  const prev = await env.DB.prepare('SELECT hash FROM audit_chain WHERE chain = ? AND seq = ?')
    .bind(chain, seq - 1)
    .first<{ hash: string }>();
  let prevHash = prev!.hash;
  const { results } = await env.DB.prepare(
    'SELECT seq, event_id, row_hash FROM audit_chain WHERE chain = ? AND seq >= ? ORDER BY seq',
  )
    .bind(chain, seq)
    .all<{ seq: number; event_id: string; row_hash: string }>();
  for (const l of results) {
    const rowHash = l.seq === seq ? await valuesHash(values!) : l.row_hash;
    const hash = await linkHash(prevHash, l.seq, l.event_id, rowHash);
    await env.DB.prepare(
      'UPDATE audit_chain SET row_hash = ?, prev_hash = ?, hash = ? WHERE chain = ? AND seq = ?',
    )
      .bind(rowHash, prevHash, hash, chain, l.seq)
      .run();
    prevHash = hash;
  }
}

describe('periodic signed audit checkpoints', () => {
  it('signs moved heads on each cron run, lists them to auditors only, and catches a rewrite between checkpoints', {
    timeout: 60_000,
  }, async () => {
    const org = await createOrg('owner');
    const other = await createOrg('owner');
    const { id: connectionId } = await createConnection('ckpt', { key: org.key });
    await putPolicy('ckpt', [{ tool: '*', action: 'deny' }], org.key);
    const chain = `ConnectionGuard:${org.orgId}:${connectionId}`;

    await traffic(org, 'ckpt', 3);
    await runCheckpointCron();
    const [first] = await checkpoints(org);
    expect(first).toBeDefined();
    const head1 = first!.heads.find((h) => h.chain === chain)!;
    expect(head1.seq).toBeGreaterThanOrEqual(3);
    expect(first!.orgId).toBe(org.orgId);
    expect(await signatureValid(first!)).toBe(true);
    const signingKey = await json<{ publicKey: string }>(
      await call('GET', '/api/v1/audit/signing-key', { key: org.key }),
    );
    expect(first!.publicKey).toBe(signingKey.publicKey);

    // Nothing moved: no new checkpoint. Another organization sees none of these.
    await runCheckpointCron();
    expect(await checkpoints(org)).toHaveLength(1);
    expect((await checkpoints(other)).map((c) => c.orgId)).not.toContain(org.orgId);
    const developer = await addMember(org.orgId, 'developer');
    expect((await call('GET', '/api/v1/audit/checkpoints', { key: developer.key })).status).toBe(403);

    await traffic(org, 'ckpt', 3);
    await runCheckpointCron();
    const list = await checkpoints(org);
    expect(list).toHaveLength(2);
    const head2 = list[0]!.heads.find((h) => h.chain === chain)!;
    expect(head2.seq).toBeGreaterThan(head1.seq);

    // Clean: the export agrees with every checkpoint.
    const clean = await exportText(org);
    expect((await verifyExport(clean, signingKey.publicKey)).ok).toBe(true);
    expect(await verifyAgainstCheckpoints(clean, list, signingKey.publicKey)).toEqual([]);

    // A consistent rewrite in D1 between the two checkpoints: the new export is signed over the
    // rewritten chain and verifies alone; the second checkpoint names the old hash.
    await rewriteConsistently(chain, head1.seq + 1);
    const rewritten = await exportText(org);
    expect((await verifyExport(rewritten, signingKey.publicKey)).ok).toBe(true);
    const problems = await verifyAgainstCheckpoints(rewritten, list, signingKey.publicKey);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({
      checkpointId: list[0]!.id,
      chain,
      seq: head2.seq,
      reason: 'checkpoint_mismatch',
    });
    const line = JSON.parse(rewritten.split('\n')[problems[0]!.line - 1]!) as { seq: number; chain: string };
    expect(line).toMatchObject({ chain, seq: head2.seq });

    // An edited checkpoint no longer verifies.
    const forged = { ...list[1]!, heads: list[1]!.heads.map((h) => ({ ...h, seq: h.seq - 1 })) };
    expect(await signatureValid(forged)).toBe(false);
  });
});
