/**
 * Who created each stored LLM response of one connection (docs/llm-gateway.md#stored-responses):
 * the record the connection's guard checks a call naming a response against, inside its one admit
 * — the same place, and for the same reasons, as task owners (task.owners.ts).
 *
 * Why: every caller of an LLM connection reaches the provider with the connection's one key, and
 * the OpenAI Responses API stores responses by default (`store: true`). Whoever names a response id
 * — `previous_response_id` in a create, `GET`/`DELETE /responses/{id}`, `…/input_items`,
 * `…/cancel` — continues, reads or changes that conversation, and the provider cannot tell callers
 * apart. So the gateway records who created each response it relayed and forwards a call naming
 * one only for its creator (workers/gateway/llm.response.access.ts says which ids a call names).
 *
 * Claims: the id of a response an answer created (JSON `{object: "response", id}`, or the
 * `response` of a stream's first event) becomes an `llm_response` / `response_created` finding on
 * the call's row, and its caller's when the outcome reaches the guard. The first claim wins. The
 * caller is encoded as for tasks (taskOwner: its API key and user).
 *
 * Check: an id this guard never recorded — another caller's, another connection's or
 * organization's, one made at the provider directly, an unknown one — is refused
 * (`response_unknown`): fail closed, one answer for all of them.
 *
 * Bound: at most MAX_RESPONSES records per connection, each kept OWNER_TTL_MS (30 days: as long
 * as the provider keeps a response) after its last use. At the cap the least recently used
 * record is evicted (`evict`), unlike tasks: an evicted response is unknown again, which means
 * refused to everyone (its creator included) — never handed to another caller — while refusing
 * new records at the cap would let one busy caller stop every caller's new conversations from
 * continuing. LLM responses come one per turn, far more often than tasks, hence the larger cap.
 */
import type { AuditEventInsert } from '../workers/db/schema';
import type { AdmitRequest, Finding } from './guard.contract';
import { OwnerStore } from './owner.store';
import type { SqlLike } from './sql.types';
import { taskOwner } from './task.owners';

/** Response records kept per connection; beyond it the least recently used goes. */
export const MAX_RESPONSES = 200_000;
/** Longest response id recorded or accepted (OpenAI's are `resp_` and 48 hex digits). */
export const MAX_RESPONSE_ID = 200;
/** The finding an answer's created response is reported with. */
export const RESPONSE_STAGE = 'llm_response';
export const RESPONSE_CREATED = 'response_created';

/** True for the finding that claims a created response (the gateway sends it as early as it can). */
export function isResponseClaim(f: Finding): boolean {
  return f.stage === RESPONSE_STAGE && f.kind === RESPONSE_CREATED;
}

/** The response ids an LLM call's findings report as created (its caller claims them). */
export function claimedResponses(row: AuditEventInsert, findings: readonly Finding[] | undefined): string[] {
  if (row.type !== 'llm_call' || !findings?.length) return [];
  const ids = new Set<string>();
  for (const f of findings) {
    const id = isResponseClaim(f) ? f.detail?.responseId : undefined;
    if (typeof id === 'string' && id !== '' && id.length <= MAX_RESPONSE_ID) ids.add(id);
  }
  return [...ids];
}

export class ResponseOwners {
  readonly #store: OwnerStore;

  /** `cap`: MAX_RESPONSES, smaller only in tests. */
  constructor(sql: SqlLike, cap = MAX_RESPONSES) {
    this.#store = new OwnerStore(sql, {
      table: 'response_owners',
      key: 'response_id',
      cap,
      atCap: 'evict',
      noun: 'response',
    });
  }

  /** True when the admit names stored responses: only then is the caller encoded and a record read. */
  names(request: Pick<AdmitRequest, 'tasks' | 'final'>): boolean {
    return !request.final && request.tasks?.protocol === 'llm-response';
  }

  /** True when the request names responses (at least one) not all created here by its caller. */
  refuses(request: Pick<AdmitRequest, 'tasks' | 'caller' | 'final'>, now: number): boolean {
    if (!this.names(request)) return false;
    const ids = request.tasks?.ids ?? [];
    if (ids.length === 0) return true;
    const owner = taskOwner(request.caller);
    const rows = this.#store.rows(ids);
    if (!rows.every((row) => this.#store.live(row, now) && row.owner === owner)) return true;
    this.#store.touch(ids, rows, now);
    return false;
  }

  /** The row's claims (claimedResponses) for its caller: the first claim wins. */
  claimFrom(row: AuditEventInsert, findings: readonly Finding[] | undefined, now: number): void {
    const ids = claimedResponses(row, findings);
    if (ids.length > 0) this.#store.claim(ids, taskOwner(row), now);
  }

  /** Deletes expired records, oldest first, through the index on time (reads only what it deletes). */
  prune(now: number): void {
    this.#store.prune(now);
  }
}
