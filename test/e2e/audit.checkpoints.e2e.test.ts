/**
 * The gateway's periodic signed checkpoints, end to end (the local runtime's cron trigger):
 * the checkpoint cron is triggered, the checkpoints are read from the API and kept in a file, and
 * `igris-edge audit verify --checkpoints` (a real process) passes a clean export — then, after the
 * chain was rewritten consistently in D1 (row edited, every later link recomputed, as someone with
 * write access to D1 would), the new export verifies on its own (the gateway signs what D1 holds)
 * but not against the checkpoint, which names the link's old hash: reported with its line.
 */

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKey, api, d1Local, deniedCalls, gatewayUrl, triggersUrl } from './helpers';

const CLI = path.resolve(import.meta.dirname, '..', '..', 'sdk', 'dist', 'cli.js');
const SLUG = 'e2e-checkpoints';
const CRON = '*/15 * * * *';
const dir = mkdtempSync(path.join(os.tmpdir(), 'igris-checkpoints-'));

interface LinkLine {
  kind: 'link';
  chain: string;
  seq: number;
  eventId: string;
  rowHash: string;
  prevHash: string;
  hash: string;
  row: unknown[] | null;
}
interface Checkpoint {
  id: string;
  heads: Array<{ chain: string; seq: number; hash: string }>;
}
type Problem = { line: number; reason: string; chain: string | null; seq: number | null };

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
let publicKey = '';
let chain = '';

async function exportLines(): Promise<string[]> {
  const res = await fetch(`${gatewayUrl()}/api/v1/audit/chain/export`, {
    headers: { Authorization: `Bearer ${adminKey()}` },
  });
  expect(res.status).toBe(200);
  return (await res.text()).trim().split('\n');
}

const linksOf = (lines: string[]) =>
  lines.map((l) => JSON.parse(l) as LinkLine).filter((v) => v.kind === 'link' && v.chain === chain);

function verify(
  lines: string[],
  ...args: string[]
): { status: number | null; ok: boolean; problems: Problem[] } {
  const file = path.join(dir, `export-${Math.random().toString(36).slice(2)}.ndjson`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  const run = spawnSync(
    'node',
    [CLI, 'audit', 'verify', file, '--json', '--public-key', publicKey, ...args],
    {
      encoding: 'utf8',
    },
  );
  const report = JSON.parse(run.stdout) as { ok: boolean; problems: Problem[] };
  return { status: run.status, ok: report.ok, problems: report.problems };
}

describe('periodic signed checkpoints, verified offline', () => {
  let checkpointsFile = '';
  let checkpointed: { seq: number; hash: string } = { seq: 0, hash: '' };

  beforeAll(async () => {
    const build = spawnSync('npm', ['run', '--silent', 'sdk:build'], { encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
    await deniedCalls(SLUG, 4);
    // This connection's chain, once its four rows are flushed (about a second).
    const deadline = Date.now() + 30_000;
    for (;;) {
      const lines = await exportLines();
      const ours = lines
        .map((l) => JSON.parse(l) as LinkLine)
        .find((v) => v.kind === 'link' && Array.isArray(v.row) && v.row.includes(SLUG));
      if (ours) chain = ours.chain;
      if ((chain && linksOf(lines).length >= 4) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(linksOf(await exportLines()).length).toBeGreaterThanOrEqual(4);
    publicKey = (await api<{ publicKey: string }>('GET', '/audit/signing-key')).body.publicKey;

    // The cron, now; then the checkpoint that covers this chain, kept in a file.
    const cronDeadline = Date.now() + 30_000;
    for (;;) {
      const trigger = await fetch(`${triggersUrl()}?cron=${encodeURIComponent(CRON)}`);
      const answer = await trigger.text();
      expect(trigger.status, answer.slice(0, 200)).toBe(200);
      const list = await api<{ checkpoints: Checkpoint[] }>('GET', '/audit/checkpoints?limit=500');
      expect(list.status).toBe(200);
      const head = list.body.checkpoints.flatMap((c) => c.heads).find((h) => h.chain === chain);
      if (head) {
        checkpointed = head;
        checkpointsFile = path.join(dir, 'checkpoints.json');
        writeFileSync(checkpointsFile, JSON.stringify(list.body));
        break;
      }
      if (Date.now() > cronDeadline) throw new Error('no checkpoint covers the chain');
      await new Promise((r) => setTimeout(r, 500));
    }
  }, 120_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes a clean export against the checkpoints', async () => {
    const run = verify(await exportLines(), '--checkpoints', checkpointsFile);
    expect(run.problems).toEqual([]);
    expect(run.status).toBe(0);
  });

  it('catches a chain rewritten consistently in D1 before the export, with its line', async () => {
    const links = linksOf(await exportLines());
    // Edit the first row of the chain and recompute its link and every later one.
    const first = links.find((l) => l.row?.includes('deny'))!;
    expect(first.seq).toBeLessThanOrEqual(checkpointed.seq);
    const row = [...first.row!];
    row[row.indexOf('deny')] = 'allow';
    const statements = [`UPDATE audit_events SET action = 'allow' WHERE id = '${first.eventId}'`];
    let prevHash = first.prevHash;
    for (const link of links.filter((l) => l.seq >= first.seq)) {
      const rowHash = link.seq === first.seq ? sha256(JSON.stringify(row)) : link.rowHash;
      const hash = sha256(`${prevHash}|${link.seq}|${link.eventId}|${rowHash}`);
      statements.push(
        `UPDATE audit_chain SET row_hash = '${rowHash}', prev_hash = '${prevHash}', hash = '${hash}' WHERE chain = '${chain}' AND seq = ${link.seq}`,
      );
      prevHash = hash;
    }
    await d1Local(statements.join('; '));

    const rewritten = await exportLines();
    // Alone, the new export is consistent and signed by the gateway: nothing to see.
    expect(verify(rewritten).status).toBe(0);
    // Against the checkpoint signed before the rewrite: the checkpointed link's hash changed.
    const run = verify(rewritten, '--checkpoints', checkpointsFile);
    expect(run.status).toBe(1);
    const line = rewritten.findIndex((l) => {
      const v = JSON.parse(l) as LinkLine;
      return v.kind === 'link' && v.chain === chain && v.seq === checkpointed.seq;
    });
    expect(run.problems).toContainEqual(
      expect.objectContaining({
        line: line + 1,
        reason: 'checkpoint_mismatch',
        chain,
        seq: checkpointed.seq,
      }),
    );
  });
});
