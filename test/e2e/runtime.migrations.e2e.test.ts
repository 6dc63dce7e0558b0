/**
 * The runtime's own D1 migrations (scripts/runtime.migrations.ts) against wrangler's: on a real local D1
 * (Miniflare, persisted to disk), every file applied once and in order, nothing applied twice, a failing
 * migration applying nothing of itself, and wrangler agreeing both ways — `wrangler d1 migrations list` finds
 * nothing after the runtime, the runtime nothing after `wrangler d1 migrations apply` — the same table, so
 * either tool can follow the other on one state directory.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';
import { baseEnv, ROOT } from '../../scripts/local-stack';
import {
  applyMigrations,
  MIGRATIONS_TABLE,
  readMigrations,
  withLocalD1,
} from '../../scripts/runtime.migrations';

const MIGRATIONS = path.join(ROOT, 'migrations');
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** wrangler.toml's D1 binding, as the runtime reads it. */
const { d1Databases } = unstable_getMiniflareWorkerOptions(path.join(ROOT, 'wrangler.toml')).workerOptions;

/** The local D1 persisted under `persistTo`, opened as the runtime opens it. */
function withD1<T>(persistTo: string, fn: Parameters<typeof withLocalD1<T>>[3]): Promise<T> {
  return withLocalD1(ROOT, persistTo, d1Databases, fn);
}

describe('runtime D1 migrations', () => {
  const files = readdirSync(MIGRATIONS)
    .filter((f) => f.endsWith('.sql'))
    .sort();

  it('applies every migration once, in file order, as wrangler records them; wrangler then finds none to apply', async () => {
    const persistTo = tempDir('igris-migrations-');
    const migrations = readMigrations(MIGRATIONS);
    expect(migrations.map((m) => m.name)).toEqual(files);

    const first = await withD1(persistTo, (db) => applyMigrations(db, migrations));
    expect(first).toEqual(files);
    const { recorded, tables } = await withD1(persistTo, async (db) => {
      // Reopened from disk: nothing left to do, and the tables are there.
      expect(await applyMigrations(db, migrations)).toEqual([]);
      const rows = await db
        .prepare(`SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY id`)
        .all<{ name: string }>();
      const t = await db
        .prepare(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('audit_events', 'api_keys')",
        )
        .all<{ name: string }>();
      return { recorded: rows.results.map((r) => r.name), tables: t.results.map((r) => r.name).sort() };
    });
    expect(recorded).toEqual(files);
    expect(tables).toEqual(['api_keys', 'audit_events']);

    const listed = spawnSync(
      path.join(ROOT, 'node_modules', '.bin', 'wrangler'),
      ['d1', 'migrations', 'list', 'DB', '--local', '--persist-to', persistTo],
      { cwd: ROOT, env: baseEnv(), encoding: 'utf8' },
    );
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('No migrations to apply');
  });

  it('finds nothing to apply on a database wrangler migrated', async () => {
    const persistTo = tempDir('igris-migrations-');
    const applied = spawnSync(
      path.join(ROOT, 'node_modules', '.bin', 'wrangler'),
      ['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persistTo],
      { cwd: ROOT, env: baseEnv(), encoding: 'utf8' },
    );
    expect(applied.status, applied.stderr).toBe(0);
    expect(await withD1(persistTo, (db) => applyMigrations(db, readMigrations(MIGRATIONS)))).toEqual([]);
  }, 180_000); // wrangler starts a runtime per migration: ≈ 15 s on a quiet machine

  it('applies only what is new, and a failing migration leaves nothing of itself and is not recorded', async () => {
    const persistTo = tempDir('igris-migrations-');
    const dir = tempDir('igris-migrations-dir-');
    for (const f of files.slice(0, 2)) copyFileSync(path.join(MIGRATIONS, f), path.join(dir, f));
    expect(await withD1(persistTo, (db) => applyMigrations(db, readMigrations(dir)))).toEqual(
      files.slice(0, 2),
    );

    // A later migration whose second statement fails: its first statement must not survive.
    writeFileSync(
      path.join(dir, '9998_half.sql'),
      'CREATE TABLE half_applied (id INTEGER);\n--> statement-breakpoint\nINSERT INTO no_such_table VALUES (1);\n',
    );
    await withD1(persistTo, async (db) => {
      await expect(applyMigrations(db, readMigrations(dir))).rejects.toThrow(/no_such_table/);
      const half = await db.prepare("SELECT name FROM sqlite_master WHERE name = 'half_applied'").all();
      expect(half.results).toEqual([]);
      const rows = await db
        .prepare(`SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY id`)
        .all<{ name: string }>();
      expect(rows.results.map((r) => r.name)).toEqual(files.slice(0, 2));
    });

    // Fixed, it applies — and only it.
    writeFileSync(path.join(dir, '9998_half.sql'), 'CREATE TABLE half_applied (id INTEGER);\n');
    expect(await withD1(persistTo, (db) => applyMigrations(db, readMigrations(dir)))).toEqual([
      '9998_half.sql',
    ]);
  });
});
