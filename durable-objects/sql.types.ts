/**
 * The slice of a Durable Object's `ctx.storage.sql` that the guard's pure-ish modules use. Declared
 * here (instead of naming `SqlStorage`) so the same modules run in unit tests on `node:sqlite`
 * through a tiny adapter, which exercises the real SQL rather than a hand-written fake.
 */
export type SqlValue = ArrayBuffer | string | number | null;

export interface SqlCursorLike<T> {
  toArray(): T[];
  one(): T;
}

export interface SqlLike {
  exec<T extends Record<string, SqlValue>>(query: string, ...bindings: unknown[]): SqlCursorLike<T>;
}
