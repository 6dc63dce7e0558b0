import { describe, expect, it } from 'vitest';
import type { AuditEventInsert } from '../workers/db/schema.ts';
import { BatchFileModels } from './batch.file-models.ts';
import type { AdmitRequest, Finding } from './guard.contract.ts';
import { GuardOwnership } from './guard.ownership.ts';
import { MAX_FILE_MODEL, MAX_FILE_MODELS, objectKey } from './llm.objects.ts';
import { memorySql } from './sql.fixtures.ts';
import { OWNER_TTL_MS, TaskOwners } from './task.owners.ts';

const T0 = 1_700_000_000_000;
const ALICE = { apiKeyId: 'key_1', user: 'alice', mcpSessionId: null };
const BOB = { apiKeyId: 'key_2', user: 'bob', mcpSessionId: null };
type Caller = typeof ALICE;

/** The completed row of `caller`'s upload whose answer created `id`, with the models its lines name. */
function uploaded(owners: GuardOwnership, caller: Caller, id: string, models?: unknown, now = T0): void {
  const row = {
    id: 'ev',
    type: 'llm_call',
    apiKeyId: caller.apiKeyId,
    user: caller.user,
  } as AuditEventInsert;
  const finding: Finding = {
    stage: 'llm_object',
    kind: 'object_created',
    severity: 'info',
    detail: { object: 'file', ids: [id], ...(models === undefined ? {} : { models }) },
  };
  owners.claimFrom(row, [finding], now);
}

/** A batch create on file `id` under `allowedModels`, as the gateway sends it (llm.batch-input.ts). */
const batchOn = (caller: Caller, id: string, allowedModels: string[]): AdmitRequest =>
  ({
    caller,
    final: false,
    tasks: {
      protocol: 'llm-batch',
      ids: [objectKey('file', id)],
      batchInput: objectKey('file', id),
      allowedModels,
    },
  }) as unknown as AdmitRequest;

describe('a batch input file’s recorded models, checked when a batch is created', () => {
  it('every recorded model must match the list as it is at the create', () => {
    const owners = new GuardOwnership(memorySql());
    uploaded(owners, ALICE, 'file-a', ['fake-gpt-mini', 'fake-gpt']);
    expect(owners.refusal(batchOn(ALICE, 'file-a', ['fake-gpt*']), T0)).toBeNull();
    expect(owners.refusal(batchOn(ALICE, 'file-a', ['FAKE-GPT', 'fake-gpt-m?ni']), T0)).toBeNull();
    // Narrowed: the first recorded model outside it is named.
    expect(owners.refusal(batchOn(ALICE, 'file-a', ['fake-gpt-mini']), T0)).toEqual({
      verdict: 'models_refused',
      key: objectKey('file', 'file-a'),
      model: 'fake-gpt',
    });
  });

  it('a file with no record is refused as unknown: uploaded without one, too many models, a name too long', () => {
    const owners = new GuardOwnership(memorySql());
    uploaded(owners, ALICE, 'file-none');
    uploaded(
      owners,
      ALICE,
      'file-many',
      Array.from({ length: MAX_FILE_MODELS + 1 }, (_, i) => `fake-gpt-${i}`),
    );
    uploaded(owners, ALICE, 'file-long', [`fake-gpt-${'x'.repeat(MAX_FILE_MODEL)}`]);
    uploaded(owners, ALICE, 'file-odd', [42]);
    for (const id of ['file-none', 'file-many', 'file-long', 'file-odd'])
      expect(owners.refusal(batchOn(ALICE, id, ['*']), T0), id).toEqual({
        verdict: 'models_refused',
        key: objectKey('file', id),
      });
    // The bounds themselves are recorded.
    uploaded(
      owners,
      ALICE,
      'file-full',
      Array.from({ length: MAX_FILE_MODELS }, (_, i) => `${i}`.padEnd(MAX_FILE_MODEL, 'm')),
    );
    expect(owners.refusal(batchOn(ALICE, 'file-full', ['*']), T0)).toBeNull();
  });

  it('ownership first: another caller’s file is not found, and lends its record to no one', () => {
    const owners = new GuardOwnership(memorySql());
    uploaded(owners, ALICE, 'file-a', ['fake-gpt']);
    expect(owners.refusal(batchOn(BOB, 'file-a', ['fake-gpt']), T0)).toEqual({
      verdict: 'response_unknown',
      key: objectKey('file', 'file-a'),
    });
    // A claim of a file someone else owns records nothing: Alice's unread file stays unknown.
    uploaded(owners, ALICE, 'file-b');
    uploaded(owners, BOB, 'file-b', ['fake-gpt']);
    expect(owners.refusal(batchOn(ALICE, 'file-b', ['fake-gpt']), T0)).toMatchObject({
      verdict: 'models_refused',
    });
    // Another connection's guard (its own storage) knows neither the file nor its models.
    const other = new GuardOwnership(memorySql());
    expect(other.refusal(batchOn(ALICE, 'file-a', ['fake-gpt']), T0)).toMatchObject({
      verdict: 'response_unknown',
    });
  });

  it('an input the owner check did not cover, or no list, is refused', () => {
    const owners = new GuardOwnership(memorySql());
    uploaded(owners, ALICE, 'file-a', ['fake-gpt']);
    uploaded(owners, ALICE, 'file-b', ['fake-gpt']);
    const request = batchOn(ALICE, 'file-a', ['fake-gpt']);
    const elsewhere = { ...request, tasks: { ...request.tasks, batchInput: objectKey('file', 'file-c') } };
    expect(owners.refusal(elsewhere, T0)).toMatchObject({ verdict: 'models_refused' });
    expect(owners.refusal(batchOn(ALICE, 'file-a', []), T0)).toMatchObject({ verdict: 'models_refused' });
    // A plain call naming the file (`llm-response`) reads no models.
    const plain = { ...request, tasks: { protocol: 'llm-response', ids: request.tasks!.ids } };
    expect(owners.refusal(plain as AdmitRequest, T0)).toBeNull();
  });

  it('a guard that does not know `llm-batch` refuses it: its ids are looked up as tasks and not found', () => {
    const sql = memorySql();
    const owners = new GuardOwnership(sql);
    uploaded(owners, ALICE, 'file-a', ['fake-gpt']);
    // What an older guard runs for a protocol other than `llm-response` (guard.ownership.ts).
    expect(new TaskOwners(sql).refuses(batchOn(ALICE, 'file-a', ['fake-gpt']), T0)).toBe(true);
  });

  it('a record lives as long as it is used, and the least recently used goes at the cap', () => {
    const sql = memorySql();
    const models = new BatchFileModels(sql, 2);
    const owned = () => true;
    const row = { id: 'ev', type: 'llm_call', apiKeyId: 'k', user: null } as AuditEventInsert;
    const claim = (id: string, now: number) =>
      models.claimFrom(
        row,
        [
          {
            stage: 'llm_object',
            kind: 'object_created',
            detail: { object: 'file', ids: [id], models: ['m'] },
          },
        ],
        now,
        owned,
      );
    const check = (id: string, now: number) =>
      models.refusal(
        {
          final: false,
          tasks: {
            protocol: 'llm-batch',
            ids: [objectKey('file', id)],
            batchInput: objectKey('file', id),
            allowedModels: ['m'],
          },
        },
        now,
      );
    claim('f1', T0);
    claim('f2', T0 + 1);
    expect(check('f1', T0 + OWNER_TTL_MS - 2)).toBeNull(); // a use: f1 is kept past f2
    claim('f3', T0 + OWNER_TTL_MS - 1); // at the cap: f2, the least recently used, goes
    expect(check('f2', T0 + OWNER_TTL_MS - 1)).toMatchObject({ verdict: 'models_refused' });
    expect(check('f1', T0 + OWNER_TTL_MS + 10)).toBeNull();
    expect(check('f3', T0 + 2 * OWNER_TTL_MS)).toMatchObject({ verdict: 'models_refused' }); // expired
  });
});
