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

export const UPSERT_SQL = `INSERT INTO audit_events (${COLUMNS.map(([c]) => `"${c}"`).join(', ')})
VALUES (${COLUMNS.map(() => '?').join(', ')})
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

/** The row as written to D1: a decision whose outcome never came says so. */
export function rowForD1(row: AuditEventInsert, complete: boolean): AuditEventInsert {
  if (complete || row.errorCode) return row;
  return { ...row, errorCode: 'outcome_unknown' };
}

/** Backoff of a row D1 rejected: 5 s, 10 s, 20 s … capped at RETRY_MAX_MS. */
export function retryDelay(attempts: number): number {
  return Math.min(RETRY_DELAY_MS * 2 ** Math.max(0, attempts - 1), RETRY_MAX_MS);
}
