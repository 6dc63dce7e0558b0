/**
 * Who created each stored LLM object of one connection — responses, the items of their answers,
 * stored chat completions, files, batches, Anthropic Message Batches, fine-tuning jobs, vector
 * stores and uploads (durable-objects/llm.objects.ts, the kinds;
 * docs/llm-gateway.md#stored-objects): the record the connection's guard checks a call naming one
 * against, inside its one admit — the same place, and for the same reasons, as task owners
 * (task.owners.ts).
 *
 * Why: every caller of an LLM connection reaches the provider with the connection's one key, and
 * the provider keeps these objects under that key, addressable by id alone. Whoever names one —
 * `previous_response_id` or an input item's id in a create, `GET`/`DELETE /responses/{id}`,
 * `/chat/completions/{id}`, `/files/{id}/content`, a batch's `input_file_id`… — reads, continues or
 * changes it, and the provider cannot tell callers apart. So the gateway records who created each
 * object it relayed and forwards a call naming one only for its creator
 * (workers/gateway/llm.response.access.ts says which ids a call names), and filters the provider's
 * lists of them to the caller's own (`owned`).
 *
 * Claims: the ids an answer created (llm.objects.ts claimedObjects: a response's id, its output
 * items', a stored chat completion's, an uploaded file's, a batch's and its output files') become
 * findings on the call's row, and its caller's when the outcome reaches the guard. The first claim
 * wins. The caller is encoded as for tasks (taskOwner: its API key and user).
 *
 * Check: an id this guard never recorded — another caller's, another connection's or
 * organization's, one made at the provider directly, an unknown one — is refused
 * (`response_unknown`, naming the first such key): fail closed, one answer for all of them.
 *
 * Bound: at most MAX_RESPONSES records per connection (every kind together), each kept
 * OWNER_TTL_MS (30 days: as long as the provider keeps a response) after its last use. At the cap
 * the least recently used record is evicted (`evict`), unlike tasks: an evicted object is unknown
 * again, which means refused to everyone (its creator included) and left out of lists — never
 * handed to another caller — while refusing new records at the cap would let one busy caller stop
 * every caller's new conversations from continuing. LLM objects come one or more per turn, far
 * more often than tasks, hence the larger cap. The table keeps its first name (`response_owners`):
 * response ids are keyed as they were, so records written before the other kinds still hold.
 */
import type { AuditEventInsert } from '../workers/db/schema';
import type { AdmitRequest, Finding } from './guard.contract';
import { claimedObjects, kindPrefix, type ListedKind } from './llm.objects';
import { OwnerStore } from './owner.store';
import type { SqlLike } from './sql.types';
import { MAX_LISTED, taskOwner } from './task.owners';

/** Object records kept per connection; beyond it the least recently used goes. */
export const MAX_RESPONSES = 200_000;

type Listed = ListedKind;

export class LlmObjectOwners {
  readonly #store: OwnerStore;

  /** `cap`: MAX_RESPONSES, smaller only in tests. */
  constructor(sql: SqlLike, cap = MAX_RESPONSES) {
    this.#store = new OwnerStore(sql, {
      table: 'response_owners',
      key: 'response_id',
      cap,
      atCap: 'evict',
      // Lists (GET /files, /batches, /chat/completions, /messages/batches, /fine_tuning/jobs,
      // /vector_stores) are filtered to the caller's own.
      byOwner: true,
      noun: 'LLM object',
    });
  }

  /**
   * True when the admit names stored objects: only then is the caller encoded and a record read.
   * A batch create under `allowedModels` (`llm-batch`) names them as any call does; its input
   * file's models are checked next (batch.file-models.ts).
   */
  names(request: Pick<AdmitRequest, 'tasks' | 'final'>): boolean {
    const protocol = request.tasks?.protocol;
    return !request.final && (protocol === 'llm-response' || protocol === 'llm-batch');
  }

  /** True when `key` is recorded, live, as created by `row`'s caller. */
  ownedBy(key: string, row: AuditEventInsert, now: number): boolean {
    const [record] = this.#store.rows([key]);
    return this.#store.live(record, now) && record.owner === taskOwner(row);
  }

  /**
   * The first key the request names (at least one, unless it lists) that its caller did not create
   * here, or `''` when it names none and lists nothing; null when every one is the caller's.
   */
  refused(request: Pick<AdmitRequest, 'tasks' | 'caller' | 'final'>, now: number): string | null {
    if (!this.names(request)) return null;
    const ids = request.tasks?.ids ?? [];
    if (ids.length === 0) return this.listed(request) ? null : '';
    const owner = taskOwner(request.caller);
    const rows = this.#store.rows(ids);
    const at = rows.findIndex((row) => !this.#store.live(row, now) || row!.owner !== owner);
    if (at >= 0) return ids[at]!;
    this.#store.touch(ids, rows, now);
    return null;
  }

  /** True when the request refuses (see `refused`). */
  refuses(request: Pick<AdmitRequest, 'tasks' | 'caller' | 'final'>, now: number): boolean {
    return this.refused(request, now) !== null;
  }

  /** The kind a request lists (`tasks.list` with `tasks.objects`), if any. */
  listed(request: Pick<AdmitRequest, 'tasks' | 'final'>): Listed | null {
    const kind = request.tasks?.objects;
    return this.names(request) && request.tasks?.list && kind ? kind : null;
  }

  /** The caller's ids of the listed kind, most recently used first (at most MAX_LISTED). */
  owned(request: Pick<AdmitRequest, 'tasks' | 'caller' | 'final'>, now: number): string[] {
    const kind = this.listed(request);
    if (!kind) return [];
    const prefix = kindPrefix(kind);
    return this.#store
      .keysOf(taskOwner(request.caller), now, MAX_LISTED, prefix)
      .map((key) => key.slice(prefix.length));
  }

  /** The row's claims (claimedObjects) for its caller: the first claim wins. */
  claimFrom(row: AuditEventInsert, findings: readonly Finding[] | undefined, now: number): void {
    const keys = claimedObjects(row, findings);
    if (keys.length > 0) this.#store.claim(keys, taskOwner(row), now);
  }

  /** Deletes expired records, oldest first, through the index on time (reads only what it deletes). */
  prune(now: number): void {
    this.#store.prune(now);
  }
}
