/**
 * Reads the local runtime's D1 database straight from its state directory (the e2e stack's
 * `persistTo`), read-only: what a test checks that the API does not show (the development mail
 * outbox, the address a session was opened from).
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';

/** `read` on the local D1 database file holding `table`; undefined when none holds it yet. */
export function readLocalD1<T>(
  persistTo: string,
  table: string,
  read: (db: DatabaseSync) => T,
): T | undefined {
  const dir = path.join(persistTo, 'v3', 'd1', 'miniflare-D1DatabaseObject');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.sqlite') && f !== 'metadata.sqlite')) {
    const db = new DatabaseSync(path.join(dir, file), { readOnly: true });
    try {
      const found = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?").get(table);
      if (found) return read(db);
    } finally {
      db.close();
    }
  }
  return undefined;
}
