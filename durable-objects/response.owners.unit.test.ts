import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import type { AuditEventInsert } from '../workers/db/schema.ts';
import type { AdmitRequest, Finding } from './guard.contract.ts';
import { MAX_RESPONSE_ID, ResponseOwners } from './response.owners.ts';
import type { SqlLike, SqlValue } from './sql.types.ts';
import { OWNER_TTL_MS, taskOwner } from './task.owners.ts';

/** The real SQL on node:sqlite, shaped like a Durable Object's `ctx.storage.sql`. */
function memorySql(): SqlLike {
  const db = new DatabaseSync(':memory:');
  return {
    exec<T extends Record<string, SqlValue>>(query: string, ...bindings: unknown[]) {
      const stmt = db.prepare(query);
      const args = bindings as Array<string | number | null>;
      let rows: T[] = [];
      if (stmt.columns().length > 0) rows = stmt.all(...args) as T[];
      else stmt.run(...args);
      return { toArray: () => rows, one: () => rows[0]! };
    },
  };
}

const ALICE = { apiKeyId: 'key_1', user: 'alice', mcpSessionId: null };
const BOB = { apiKeyId: 'key_2', user: 'alice', mcpSessionId: null };
const T0 = 1_700_000_000_000;

const created = (id: string): Finding => ({
  stage: 'llm_response',
  kind: 'response_created',
  severity: 'info',
  detail: { responseId: id },
});
const row = (caller: typeof ALICE, type = 'llm_call') =>
  ({ id: 'ev', type, apiKeyId: caller.apiKeyId, user: caller.user }) as AuditEventInsert;
const naming = (
  caller: typeof ALICE,
  ...ids: string[]
): Pick<AdmitRequest, 'tasks' | 'caller' | 'final'> => ({
  caller,
  final: false,
  tasks: { protocol: 'llm-response', ids },
});

describe('ResponseOwners', () => {
  it('a created response is its creator’s: anyone else, and any unrecorded id, is refused', () => {
    const owners = new ResponseOwners(memorySql());
    owners.claimFrom(row(ALICE), [created('resp_a')], T0);
    owners.claimFrom(row(BOB), [created('resp_a')], T0); // the first claim wins
    expect(owners.refuses(naming(ALICE, 'resp_a'), T0)).toBe(false);
    expect(owners.refuses(naming(BOB, 'resp_a'), T0)).toBe(true);
    expect(owners.refuses(naming(ALICE, 'resp_unknown'), T0)).toBe(true);
    expect(owners.refuses(naming(ALICE, 'resp_a', 'resp_unknown'), T0)).toBe(true);
    expect(owners.refuses(naming(ALICE), T0)).toBe(true);
    // Expired: unknown again, refused to its creator too.
    expect(owners.refuses(naming(ALICE, 'resp_a'), T0 + OWNER_TTL_MS)).toBe(true);
  });

  it('claims only from LLM rows, and no id it could not be asked for', () => {
    const owners = new ResponseOwners(memorySql());
    owners.claimFrom(row(ALICE, 'tool_call'), [created('resp_t')], T0);
    owners.claimFrom(row(ALICE), [created('r'.repeat(MAX_RESPONSE_ID + 1))], T0);
    owners.claimFrom(row(ALICE), [{ ...created('resp_k'), kind: 'other' }], T0);
    for (const id of ['resp_t', 'r'.repeat(MAX_RESPONSE_ID + 1), 'resp_k'])
      expect(owners.refuses(naming(ALICE, id), T0)).toBe(true);
  });

  it('at the cap the least recently used record goes, and is then refused to everyone', () => {
    const owners = new ResponseOwners(memorySql(), 2);
    owners.claimFrom(row(ALICE), [created('resp_1')], T0);
    owners.claimFrom(row(ALICE), [created('resp_2')], T0 + 1);
    owners.claimFrom(row(ALICE), [created('resp_3')], T0 + 2);
    expect(owners.refuses(naming(ALICE, 'resp_1'), T0 + 3)).toBe(true);
    expect(owners.refuses(naming(ALICE, 'resp_2', 'resp_3'), T0 + 3)).toBe(false);
  });

  it('reads nothing for an admit that names no stored response', () => {
    const owners = new ResponseOwners(memorySql());
    expect(owners.names({ final: false, tasks: { protocol: 'mcp', ids: ['t'] } })).toBe(false);
    expect(owners.names({ final: true, tasks: { protocol: 'llm-response', ids: ['r'] } })).toBe(false);
    expect(owners.names({ final: false })).toBe(false);
    expect(taskOwner(ALICE)).not.toBe(taskOwner(BOB));
  });
});
