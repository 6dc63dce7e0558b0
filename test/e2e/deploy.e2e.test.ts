import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/local-stack';

// A bundle that cannot deploy must fail CI: build it exactly as `wrangler deploy` would.
describe('deployable bundle', () => {
  it('builds with wrangler deploy --dry-run and stays well under the Workers size limit', () => {
    const outdir = mkdtempSync(path.join(os.tmpdir(), 'igris-bundle-'));
    try {
      const result = spawnSync(
        path.join(ROOT, 'node_modules', '.bin', 'wrangler'),
        ['deploy', '--dry-run', '--outdir', outdir],
        {
          cwd: ROOT,
          env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' },
          encoding: 'utf8',
        },
      );
      expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
      const files = readdirSync(outdir).filter((f) => f.endsWith('.js'));
      expect(files.length).toBeGreaterThan(0);
      const raw = files.reduce((sum, f) => sum + statSync(path.join(outdir, f)).size, 0);
      const gzip = files.reduce((sum, f) => sum + gzipSync(readFileSync(path.join(outdir, f))).length, 0);
      console.log(`worker bundle: ${(raw / 1024).toFixed(1)} KiB, ${(gzip / 1024).toFixed(1)} KiB gzip`);
      // The paid plan's limit is 10 MiB compressed and the free plan's 3 MiB; stay far below both.
      expect(gzip).toBeLessThan(1024 * 1024);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
