/**
 * The signed audit export verified offline by `igris-edge audit verify` (sdk/src/cli.audit.ts) as
 * a real process: a clean export passes with the pinned key, and each kind of tampering with the
 * file is reported with its line — an edited row, an edited link, a deleted row, an inserted row,
 * two rows swapped, a truncated tail, a forged signature, another key.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKey, api, deniedCalls, gatewayUrl } from './helpers';

const CLI = path.resolve(import.meta.dirname, '..', '..', 'sdk', 'dist', 'cli.js');
const SLUG = 'e2e-signed-export';
const dir = mkdtempSync(path.join(os.tmpdir(), 'igris-signed-export-'));

let lines: string[] = [];
let publicKey = '';

type Problem = { line: number; reason: string; chain: string | null };

function verify(
  fileLines: string[],
  ...args: string[]
): { status: number | null; problems: Problem[]; ok: boolean } {
  const file = path.join(dir, `export-${Math.random().toString(36).slice(2)}.ndjson`);
  writeFileSync(file, `${fileLines.join('\n')}\n`);
  const run = spawnSync('node', [CLI, 'audit', 'verify', file, '--json', ...args], { encoding: 'utf8' });
  const report = JSON.parse(run.stdout) as { ok: boolean; problems: Problem[] };
  return { status: run.status, problems: report.problems, ok: report.ok };
}

const reasons = (r: { problems: Problem[] }) => r.problems.map((p) => `${p.line}:${p.reason}`);

/** The line numbers (1-based) of link lines of one chain that carry a row. */
function rowLines(): number[] {
  // This connection's chain (the shared e2e stack's other connections have chains of their own,
  // and any of them may come first in the export).
  const ours = lines
    .map((l) => JSON.parse(l) as { kind: string; chain?: string; row?: unknown })
    .find((v) => v.kind === 'link' && Array.isArray(v.row) && v.row.includes(SLUG));
  const chain = ours?.chain;
  return lines.flatMap((l, i) => {
    const v = JSON.parse(l) as { kind: string; chain?: string; row?: unknown };
    return v.kind === 'link' && v.chain === chain && v.row ? [i + 1] : [];
  });
}

describe('signed audit export, verified offline', () => {
  beforeAll(async () => {
    const build = spawnSync('npm', ['run', '--silent', 'sdk:build'], { encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
    await deniedCalls(SLUG, 4);
    // The guard flushes its spool (rows and links) to D1 within about a second.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const res = await fetch(`${gatewayUrl()}/api/v1/audit/chain/export`, {
        headers: { Authorization: `Bearer ${adminKey()}` },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('application/x-ndjson');
      lines = (await res.text()).trim().split('\n');
      if (rowLines().length >= 3 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    const key = await api<{ publicKey: string; algorithm: string }>('GET', '/audit/signing-key');
    expect(key.body.algorithm).toBe('Ed25519');
    publicKey = key.body.publicKey;
  }, 120_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes a clean export with the pinned key', () => {
    expect(rowLines().length).toBeGreaterThanOrEqual(3);
    const checkpoint = JSON.parse(lines.at(-1)!) as { kind: string; publicKey: string };
    expect(checkpoint).toMatchObject({ kind: 'checkpoint', publicKey });
    const run = verify(lines, '--public-key', publicKey);
    expect(run.problems).toEqual([]);
    expect(run.status).toBe(0);
  });

  it('pinpoints each kind of tampering with its line', () => {
    const [a, b] = rowLines() as [number, number];
    const edit = (n: number, change: (v: Record<string, unknown>) => void) =>
      lines.map((l, i) => {
        if (i !== n - 1) return l;
        const v = JSON.parse(l) as Record<string, unknown>;
        change(v);
        return JSON.stringify(v);
      });

    // An edited row: its content no longer matches its link.
    const altered = verify(
      edit(a, (v) => {
        const row = v.row as unknown[];
        const action = row.indexOf('deny');
        expect(action).toBeGreaterThanOrEqual(0);
        row[action] = 'allow';
      }),
    );
    expect(reasons(altered)).toContain(`${a}:row_altered`);
    expect(altered.status).toBe(1);

    // An edited link hash.
    const relinked = edit(a, (v) => {
      v.rowHash = '0'.repeat(64);
    });
    expect(reasons(verify(relinked))).toContain(`${a}:link_altered`);

    // A deleted row (its link line removed): the next link skips a seq.
    const deleted = verify(lines.filter((_, i) => i !== a - 1));
    expect(reasons(deleted)).toContain(`${a}:link_missing`);

    // An inserted row (a copy of a link, placed after another).
    const inserted = [...lines.slice(0, b), lines[a - 1]!, ...lines.slice(b)];
    expect(reasons(verify(inserted))).toContain(`${b + 1}:link_order`);

    // Two rows swapped.
    const swapped = [...lines];
    [swapped[a - 1], swapped[b - 1]] = [swapped[b - 1]!, swapped[a - 1]!];
    expect(
      verify(swapped).problems.some((p) => p.line === a && /link_(missing|order|mismatch)/.test(p.reason)),
    ).toBe(true);

    // A truncated tail: the last link of the chain before the checkpoint is cut.
    const chain = (JSON.parse(lines[a - 1]!) as { chain: string }).chain;
    const lastOfChain = lines.findLastIndex((l) => (JSON.parse(l) as { chain?: string }).chain === chain);
    const truncated = verify(lines.filter((_, i) => i !== lastOfChain));
    expect(truncated.problems.map((p) => p.reason)).toContain('truncated');

    // A forged signature, and a valid export checked against another key.
    const forged = verify(
      edit(lines.length, (v) => {
        v.createdAt = '2020-01-01T00:00:00.000Z';
      }),
    );
    expect(reasons(forged)).toContain(`${lines.length}:signature_invalid`);
    const other = verify(lines, '--public-key', 'A'.repeat(43));
    expect(reasons(other)).toEqual([`${lines.length}:key_mismatch`]);
  });
});
