/**
 * A Durable Object's `ctx.storage.sql` for plain-Node unit tests: the real SQLite (node:sqlite, in
 * memory) behind the SqlLike shape the objects' modules take. `one()` throws unless the query gave
 * exactly one row, as the runtime's does. Test support only: never imported by the Worker.
 */
import { DatabaseSync } from 'node:sqlite';
import type { SqlLike, SqlValue } from './sql.types.ts';

export function memorySql(): SqlLike & { db: DatabaseSync } {
  const db = new DatabaseSync(':memory:');
  return {
    db,
    exec<T extends Record<string, SqlValue>>(query: string, ...bindings: unknown[]) {
      const stmt = db.prepare(query);
      const args = bindings as Array<string | number | null>;
      let rows: T[] = [];
      if (stmt.columns().length > 0) rows = stmt.all(...args) as T[];
      else stmt.run(...args);
      return {
        toArray: () => rows,
        one: () => {
          if (rows.length !== 1) throw new Error(`expected one row, got ${rows.length}`);
          return rows[0]!;
        },
      };
    },
  };
}
