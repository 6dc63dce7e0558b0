import { getTableColumns } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { auditEvents } from '../workers/db/schema.ts';
import {
  bindValues,
  COLUMNS,
  jsonRowStatements,
  MAX_JSON_PER_STATEMENT,
  OUTCOME_GRACE_MS,
  OUTCOME_KEYS,
  outcomeGraceMs,
  RETRY_DELAY_MS,
  RETRY_MAX_MS,
  retryDelay,
  rowForD1,
  UPSERT_SQL,
  valuesJson,
} from './audit.rows.ts';

describe('the spool writes every audit_events column', () => {
  it('derives its columns from the table, so none can be forgotten', () => {
    const table = Object.values(getTableColumns(auditEvents)).map((c) => c.name);
    expect(COLUMNS.map(([name]) => name)).toEqual(table);
    // One bound parameter (the rows as JSON), one `->>` per column, in table order.
    expect(UPSERT_SQL.match(/\?/g)).toHaveLength(1);
    expect([...UPSERT_SQL.matchAll(/value ->> (\d+)/g)].map((m) => Number(m[1]))).toEqual(
      table.map((_, i) => i),
    );
    for (const name of table) expect(UPSERT_SQL).toContain(`"${name}"`);
  });

  it('overwrites only the outcome columns on a repeated write of the same id', () => {
    const update = UPSERT_SQL.slice(UPSERT_SQL.indexOf('DO UPDATE SET'));
    const assigned = [...update.matchAll(/"(\w+)" = excluded/g)].map((m) => m[1]);
    expect(assigned).toEqual([
      'action',
      'upstream_status',
      'latency_ms',
      'error_code',
      'details',
      'input_tokens',
      'cached_input_tokens',
      'output_tokens',
      'reasoning_tokens',
      'cost_usd',
    ]);
    expect(OUTCOME_KEYS).toHaveLength(assigned.length);
    expect(UPSERT_SQL).toContain('ON CONFLICT(id)');
  });

  it('binds JSON columns as text and absent values as NULL', () => {
    const values = bindValues({
      id: 'evt_1',
      type: 'tool_call',
      action: 'allow',
      createdAt: 5,
      metadata: { a: 1 },
    });
    const at = (name: string) => values[COLUMNS.findIndex(([n]) => n === name)];
    expect(at('metadata')).toBe('{"a":1}');
    expect(at('details')).toBeNull();
    expect(at('user')).toBeNull();
    expect(at('created_at')).toBe(5);
    expect(values).toHaveLength(COLUMNS.length);
  });
});

describe('jsonRowStatements', () => {
  /** A D1Database that records what each statement was bound to. */
  const recorder = () => {
    const bound: string[] = [];
    const db = {
      prepare: (sql: string) => ({
        bind: (...values: unknown[]) => {
          bound.push(values[0] as string);
          return { sql, values };
        },
      }),
    };
    return { db, bound };
  };

  it('puts rows in one statement as a JSON array of their values, in order', () => {
    const { db, bound } = recorder();
    const rows = [1, 2, 3].map((n) =>
      valuesJson({ id: `evt_${n}`, type: 'tool_call', action: 'allow', createdAt: n }),
    );
    expect(jsonRowStatements(db, UPSERT_SQL, rows)).toHaveLength(1);
    const parsed = JSON.parse(bound[0]!) as unknown[][];
    expect(parsed.map((values) => values[COLUMNS.findIndex(([n]) => n === 'id')])).toEqual([
      'evt_1',
      'evt_2',
      'evt_3',
    ]);
    expect(parsed[0]).toEqual(bindValues({ id: 'evt_1', type: 'tool_call', action: 'allow', createdAt: 1 }));
  });

  it('starts a new statement before one would pass MAX_JSON_PER_STATEMENT, and writes nothing for no rows', () => {
    const { db, bound } = recorder();
    const big = JSON.stringify(['x'.repeat(MAX_JSON_PER_STATEMENT / 3)]);
    expect(jsonRowStatements(db, UPSERT_SQL, [big, big, big, big])).toHaveLength(2);
    expect(bound.map((json) => (JSON.parse(json) as unknown[]).length)).toEqual([2, 2]);
    for (const json of bound) expect(json.length).toBeLessThanOrEqual(MAX_JSON_PER_STATEMENT + 2);
    const alone = JSON.stringify(['y'.repeat(MAX_JSON_PER_STATEMENT + 10)]);
    expect(jsonRowStatements(db, UPSERT_SQL, [alone])).toHaveLength(1);
    expect(jsonRowStatements(db, UPSERT_SQL, [])).toHaveLength(0);
  });
});

describe('rowForD1', () => {
  it('marks a decision without an outcome, and leaves outcomes and errors alone', () => {
    const row = { id: 'e', type: 'tool_call' as const, action: 'allow', createdAt: 1 };
    expect(rowForD1(row, false).errorCode).toBe('outcome_unknown');
    expect(rowForD1(row, true).errorCode).toBeUndefined();
    expect(rowForD1({ ...row, errorCode: 'policy_denied' }, false).errorCode).toBe('policy_denied');
  });
});

describe('retryDelay', () => {
  it('doubles from 5 s and stops at the cap', () => {
    expect([1, 2, 3, 4].map(retryDelay)).toEqual([1, 2, 4, 8].map((f) => f * RETRY_DELAY_MS));
    expect(retryDelay(50)).toBe(RETRY_MAX_MS);
  });
});

describe('outcomeGraceMs', () => {
  it('takes whole seconds from 1 to 600 and falls back to the two-minute default otherwise', () => {
    expect(OUTCOME_GRACE_MS).toBe(120_000);
    expect(outcomeGraceMs('5')).toBe(5_000);
    expect(outcomeGraceMs('600')).toBe(600_000);
    for (const bad of [undefined, '', '0', '-5', '1.5', '601', 'abc', '1e9'])
      expect(outcomeGraceMs(bad)).toBe(OUTCOME_GRACE_MS);
  });
});
