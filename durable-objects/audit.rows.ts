/**
 * How a spooled audit row becomes a D1 row: the columns (derived from the drizzle table, so a
 * column added to workers/db/schema.ts is copied without anyone remembering to add it here), the
 * idempotent upsert, and the retry schedule. Pure, so it is unit-tested in plain Node.
 */
import { getTableColumns } from 'drizzle-orm';
import { type AuditEventInsert, auditEvents } from '../workers/db/schema.js';

/**
 * How long a decision waits in the spool for its outcome before it is written without one
 * (`outcome_unknown`; a later outcome still patches it). Longer than almost every call takes to
 * answer, so nearly every row is written once, complete.
 */
export const OUTCOME_GRACE_MS = 120_000;

/**
 * The grace period this deployment uses: AUDIT_OUTCOME_GRACE_SECONDS (wrangler.toml, 120), a whole
 * number of seconds from 1 to 600; anything else is the default. A shorter grace writes more rows
 * first as `outcome_unknown` and then patches them (the upsert by event id), never a second row.
 * The end-to-end durability test sets a few seconds, so it need not wait out two minutes.
 */
export function outcomeGraceMs(seconds: string | undefined): number {
  const n = Number(seconds);
  return Number.isInteger(n) && n >= 1 && n <= 600 ? n * 1000 : OUTCOME_GRACE_MS;
}
/** Retry delay after D1 itself failed. */
export const RETRY_DELAY_MS = 5_000;
/** Upper bound of a rejected row's exponential backoff. */
export const RETRY_MAX_MS = 10 * 60_000;

/** The fields an outcome may patch — and the only columns the D1 upsert overwrites. */
export const OUTCOME_KEYS = [
  'action',
  'upstreamStatus',
  'latencyMs',
  'errorCode',
  'details',
  // LLM usage and cost are known only once the answer (or its stream) has ended.
  'inputTokens',
  'cachedInputTokens',
  'outputTokens',
  'reasoningTokens',
  'costUsd',
] as const;

export type AuditOutcome = Partial<Pick<AuditEventInsert, (typeof OUTCOME_KEYS)[number]>>;

type AuditKey = keyof AuditEventInsert & string;

const TABLE_COLUMNS = getTableColumns(auditEvents);

/** [D1 column name, row key, is JSON] for every column of audit_events, in table order. */
export const COLUMNS: ReadonlyArray<readonly [string, AuditKey, boolean]> = Object.entries(TABLE_COLUMNS).map(
  ([key, column]) => [column.name, key as AuditKey, column.dataType === 'json'] as const,
);

const columnName = (key: AuditKey): string => TABLE_COLUMNS[key as keyof typeof TABLE_COLUMNS].name;

/**
 * Many rows in one statement, from ONE bound parameter: a JSON array holding each row's values
 * array, read back with SQLite's `->>` (a JSON number comes back INTEGER or REAL, a string as TEXT,
 * null as NULL: what binding the values one by one stored). D1 allows 100 bound parameters per
 * statement, fewer than audit_events has columns, and a statement per row made a flush of 60 rows
 * 120 statements: the local D1 took about 8 ms for them, on the one thread every call shares.
 * `WHERE true` is SQLite's rule for an upsert whose rows come from a SELECT.
 */
export function rowsFromJson(columns: number): string {
  const values = Array.from({ length: columns }, (_, i) => `value ->> ${i}`).join(', ');
  return `SELECT ${values} FROM json_each(?) WHERE true`;
}

/** Upserts rows given as JSON (`valuesJson` of each, joined by jsonRowStatements). */
export const UPSERT_SQL = `INSERT INTO audit_events (${COLUMNS.map(([c]) => `"${c}"`).join(', ')})
${rowsFromJson(COLUMNS.length)}
ON CONFLICT(id) DO UPDATE SET ${OUTCOME_KEYS.map((k) => `"${columnName(k)}" = excluded."${columnName(k)}"`).join(', ')}`;

/** The bind values of UPSERT_SQL for one row: JSON columns serialized, absent values NULL. */
export function bindValues(row: AuditEventInsert): unknown[] {
  return COLUMNS.map(([, key, isJson]) => {
    const value = row[key];
    if (value === undefined || value === null) return null;
    if (isJson) return JSON.stringify(value);
    if (typeof value === 'boolean') return value ? 1 : 0;
    return value;
  });
}

/** A row's bind values as JSON: its element in a bulk statement, and what its chain link hashes. */
export function valuesJson(row: AuditEventInsert): string {
  return JSON.stringify(bindValues(row));
}

/** What jsonRowStatements needs of a D1Database (this module also runs in plain Node). */
export interface Statements<S> {
  prepare(sql: string): { bind(...values: unknown[]): S };
}

/**
 * JSON characters per statement at most: D1 caps a string value at 2 MB, and a character takes up
 * to three bytes in UTF-8. A row larger than this still goes, alone in its statement.
 */
export const MAX_JSON_PER_STATEMENT = 600_000;

/**
 * Statements writing rows (each one JSON values array, in order) with a statement of `sql`
 * (rowsFromJson); as few as MAX_JSON_PER_STATEMENT allows. Run them in one `db.batch` (one transaction).
 */
export function jsonRowStatements<S>(db: Statements<S>, sql: string, rows: readonly string[]): S[] {
  const statements: S[] = [];
  let chunk: string[] = [];
  let size = 0;
  const close = () => {
    if (chunk.length > 0) statements.push(db.prepare(sql).bind(`[${chunk.join(',')}]`));
    chunk = [];
    size = 0;
  };
  for (const row of rows) {
    if (size + row.length > MAX_JSON_PER_STATEMENT) close();
    chunk.push(row);
    size += row.length + 1;
  }
  close();
  return statements;
}

/** The row as written to D1: a decision whose outcome never came says so. */
export function rowForD1(row: AuditEventInsert, complete: boolean): AuditEventInsert {
  if (complete || row.errorCode) return row;
  return { ...row, errorCode: 'outcome_unknown' };
}

/** Backoff of a row D1 rejected: 5 s, 10 s, 20 s … capped at RETRY_MAX_MS. */
export function retryDelay(attempts: number): number {
  return Math.min(RETRY_DELAY_MS * 2 ** Math.max(0, attempts - 1), RETRY_MAX_MS);
}
