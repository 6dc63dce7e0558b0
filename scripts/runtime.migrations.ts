/**
 * The local D1's migrations (migrations/*.sql), applied by the runtime before it serves: the same
 * files, statements and bookkeeping as `wrangler d1 migrations apply --local`, in a fraction of the time.
 *
 * Why not wrangler: it starts a fresh local runtime for every migration it applies, so a new state
 * directory took ≈ 15 s before the first request (19 migrations), and ≈ 3 s to find nothing to do on
 * every later start. Here one small runtime holding only the D1 binding applies them all (≈ 1 s).
 *
 * Compatible both ways: statements are split by wrangler's own splitter, each migration runs as one
 * batch (one transaction) with its row in `d1_migrations` — wrangler's table, so
 * `wrangler d1 migrations apply DB --local --persist-to <dir>` and this code agree on what is applied.
 * Deploys still apply migrations with wrangler, to the remote database (scripts/deploy.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { convertV4MiniflareOptions, Miniflare, type V4MiniflareOptions } from 'miniflare';
import { unstable_splitSqlQuery } from 'wrangler';

type D1Database = Awaited<ReturnType<Miniflare['getD1Database']>>;

/** wrangler's default table of applied migrations (wrangler.toml sets no `migrations_table`). */
export const MIGRATIONS_TABLE = 'd1_migrations';

export interface D1Migration {
  /** The file name, as wrangler records it. */
  name: string;
  queries: string[];
}

/** The `.sql` files of `dir` in name order (their numeric prefixes), each split into statements. */
export function readMigrations(dir: string): D1Migration[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.sql'))
    .sort()
    .map((name) => ({ name, queries: unstable_splitSqlQuery(readFileSync(path.join(dir, name), 'utf8')) }));
}

/** Applies the migrations not yet recorded, in order, each in one batch with its record; returns their names. */
export async function applyMigrations(db: D1Database, migrations: D1Migration[]): Promise<string[]> {
  const table = `"${MIGRATIONS_TABLE}"`;
  // wrangler's own DDL, so a database either tool created is the same to the other.
  await db
    .prepare(`CREATE TABLE IF NOT EXISTS ${table}(
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		name       TEXT UNIQUE,
		applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
);`)
    .run();
  const applied = new Set(
    (await db.prepare(`SELECT name FROM ${table}`).all<{ name: string }>()).results.map((r) => r.name),
  );
  const record = db.prepare(`INSERT INTO ${table} (name) VALUES (?)`);
  const done: string[] = [];
  for (const migration of migrations) {
    if (applied.has(migration.name)) continue;
    await db.batch([...migration.queries.map((q) => db.prepare(q)), record.bind(migration.name)]);
    done.push(migration.name);
  }
  return done;
}

/**
 * Opens the local D1 persisted under `persistTo` (`d1Databases`: wrangler.toml's, as Miniflare options)
 * in a runtime holding only that binding, for `fn`, then stops it. No cf fetch: it serves no request.
 * Used before the Worker's runtime opens its port (scripts/runtime.ts) and by the migrations' test.
 */
export async function withLocalD1<T>(
  root: string,
  persistTo: string,
  d1Databases: V4MiniflareOptions['d1Databases'],
  fn: (db: D1Database) => Promise<T>,
): Promise<T> {
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      rootPath: root,
      resourcePersistencePath: path.join(persistTo, 'v3'),
      cf: false,
      workers: [{ name: 'igris-migrations', modules: true, script: 'export default {}', d1Databases }],
    } as V4MiniflareOptions),
  );
  try {
    return await fn(await mf.getD1Database('DB'));
  } finally {
    await mf.dispose();
  }
}
