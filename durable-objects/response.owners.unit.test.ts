import { describe, expect, it } from 'vitest';
import type { AuditEventInsert } from '../workers/db/schema.ts';
import type { AdmitRequest, Finding } from './guard.contract.ts';
import { MAX_OBJECT_ID as MAX_RESPONSE_ID, objectKey, objectOfKey } from './llm.objects.ts';
import { LlmObjectOwners as ResponseOwners } from './response.owners.ts';
import { memorySql } from './sql.fixtures.ts';
import { OWNER_TTL_MS, taskOwner } from './task.owners.ts';

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

const objects = (object: string, ...ids: string[]): Finding => ({
  stage: 'llm_object',
  kind: 'object_created',
  severity: 'info',
  detail: { object, ids },
});

describe('stored LLM objects of every kind, in one table', () => {
  it('each kind is keyed apart: an item id is not a response id, nor a file id a batch id', () => {
    const owners = new ResponseOwners(memorySql());
    owners.claimFrom(row(ALICE), [objects('item', 'msg_1'), objects('chat_completion', 'c_1')], T0);
    expect(owners.refused(naming(ALICE, objectKey('item', 'msg_1')), T0)).toBeNull();
    expect(owners.refused(naming(ALICE, 'msg_1'), T0)).toBe('msg_1'); // as a response: unknown
    expect(owners.refused(naming(BOB, objectKey('item', 'msg_1')), T0)).toBe(objectKey('item', 'msg_1'));
    // The first key not the caller's is the one named back.
    const mixed = naming(ALICE, objectKey('chat_completion', 'c_1'), objectKey('file', 'c_1'));
    expect(owners.refused(mixed, T0)).toBe(objectKey('file', 'c_1'));
    // An unknown kind, or an id it could not be asked for, claims nothing.
    owners.claimFrom(row(ALICE), [objects('thread', 't_1'), objects('item', 'm'.repeat(201))], T0);
    expect(owners.refused(naming(ALICE, '~thread:t_1'), T0)).toBe('~thread:t_1');
  });

  it('a list gets the caller’s own ids of its kind, most recently used first', () => {
    const owners = new ResponseOwners(memorySql());
    owners.claimFrom(row(ALICE), [objects('chat_completion', 'c_1')], T0);
    owners.claimFrom(row(ALICE), [objects('chat_completion', 'c_2'), objects('item', 'c_3')], T0 + 1);
    owners.claimFrom(row(BOB), [objects('chat_completion', 'c_4')], T0 + 2);
    const list = (caller: typeof ALICE) =>
      ({
        caller,
        final: false,
        tasks: { protocol: 'llm-response', list: true, objects: 'chat_completion' },
      }) as const;
    expect(owners.refused(list(ALICE), T0 + 3)).toBeNull();
    expect(owners.owned(list(ALICE), T0 + 3)).toEqual(['c_2', 'c_1']);
    expect(owners.owned(list(BOB), T0 + 3)).toEqual(['c_4']);
    expect(owners.owned(list(ALICE), T0 + OWNER_TTL_MS + 1)).toEqual([]);
  });

  it('Message Batches, fine-tuning jobs, vector stores and uploads are claimed, checked and listed per kind', () => {
    const owners = new ResponseOwners(memorySql());
    const kinds = ['message_batch', 'fine_tuning_job', 'vector_store', 'upload'] as const;
    owners.claimFrom(
      row(ALICE),
      kinds.map((kind) => objects(kind, `${kind}_1`)),
      T0,
    );
    for (const kind of kinds) {
      const key = objectKey(kind, `${kind}_1`);
      expect(objectOfKey(key)).toEqual({ kind, id: `${kind}_1` });
      expect(owners.refused(naming(ALICE, key), T0), kind).toBeNull();
      expect(owners.refused(naming(BOB, key), T0), kind).toBe(key);
      // The same id as another kind is not the caller's.
      expect(owners.refused(naming(ALICE, objectKey('file', `${kind}_1`)), T0), kind).toBe(
        objectKey('file', `${kind}_1`),
      );
    }
    for (const kind of ['message_batch', 'fine_tuning_job', 'vector_store'] as const) {
      const list = (caller: typeof ALICE) =>
        ({ caller, final: false, tasks: { protocol: 'llm-response', list: true, objects: kind } }) as const;
      expect(owners.owned(list(ALICE), T0 + 1), kind).toEqual([`${kind}_1`]);
      expect(owners.owned(list(BOB), T0 + 1), kind).toEqual([]);
    }
  });

  it('keys round-trip, and a response id starting with the mark cannot pass for another kind', () => {
    for (const [kind, id] of [
      ['response', 'resp_1'],
      ['response', '~item:msg_1'],
      ['item', 'msg_1'],
      ['file', 'file-1'],
    ] as const)
      expect(objectOfKey(objectKey(kind, id))).toEqual({ kind, id });
    expect(objectKey('response', '~item:msg_1')).not.toBe(objectKey('item', 'msg_1'));
  });
});
