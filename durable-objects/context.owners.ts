/**
 * Who first used each A2A context of one connection (docs/a2a.md#who-may-continue-a-context): the
 * record the connection's guard checks a send that names a `contextId` against, inside its one
 * admit — the same place, and for the same reasons, as task owners (task.owners.ts).
 *
 * Claims: a context id an agent reports in its answer to a send (`a2a_context` findings, JSON or
 * each SSE event: workers/gateway/a2a.context.access.ts) becomes the caller's when that call's
 * outcome reaches the guard; the first claim wins. The caller is encoded as for tasks (taskOwner).
 *
 * Check: a send naming a context recorded for another caller is refused (`context_unknown`). A
 * context nobody recorded is admitted — A2A lets clients mint context ids, and the agent decides
 * whether to honour one — and becomes its first user's from the answer.
 *
 * Bound: at most MAX_CONTEXTS records per connection, each kept OWNER_TTL_MS after its last use.
 * At the cap the least recently used record is evicted, rather than refusing new conversations:
 * failing closed there would let any one caller of the connection stop every caller from starting a
 * conversation (by opening MAX_CONTEXTS of its own), while an eviction only matters for a context
 * unused the longest of MAX_CONTEXTS, whose id another caller would have to know (agents mint
 * random ids) — and getting there takes MAX_CONTEXTS audited sends. An evicted or expired context
 * is unrecorded again: its next user owns it.
 *
 * The table, its TTL, pruning and cap are owner.store.ts (shared with task owners; policy `evict`).
 */
import type { AuditEventInsert } from '../workers/db/schema';
import type { AdmitRequest, Finding } from './guard.contract';
import { OwnerStore } from './owner.store';
import type { SqlLike } from './sql.types';
import { taskOwner } from './task.owners';

/** Context records kept per connection (guard); beyond it the least recently used goes. */
export const MAX_CONTEXTS = 100_000;
const SEND_METHODS = new Set(['SendMessage', 'SendStreamingMessage']);

/** The context ids a send's findings report (its caller claims them); none for any other row. */
export function claimedContexts(row: AuditEventInsert, findings: readonly Finding[] | undefined): string[] {
  if (row.type !== 'a2a_call' || !findings?.length) return [];
  const details = row.details as Record<string, unknown> | null | undefined;
  if (!SEND_METHODS.has(String(details?.a2aMethod))) return [];
  const ids = new Set<string>();
  for (const f of findings) {
    const id = f.stage === 'a2a_context' && f.kind === 'context_id' ? f.detail?.contextId : undefined;
    if (typeof id === 'string' && id !== '') ids.add(id);
  }
  return [...ids];
}

export class ContextOwners {
  readonly #store: OwnerStore;

  /** `cap`: MAX_CONTEXTS, smaller only in tests. */
  constructor(sql: SqlLike, cap = MAX_CONTEXTS) {
    this.#store = new OwnerStore(sql, {
      table: 'context_owners',
      key: 'context_id',
      cap,
      atCap: 'evict',
      noun: 'context',
    });
  }

  /** True when the admit's send names a context (AdmitRequest.tasks.contexts) another caller owns. */
  refuses(request: Pick<AdmitRequest, 'tasks' | 'caller' | 'final'>, now: number): boolean {
    const ids = request.final ? undefined : request.tasks?.contexts;
    // The caller is encoded as an owner only for a send that names a context (as task.owners.ts does).
    return ids !== undefined && !this.mayUse(ids, taskOwner(request.caller), now);
  }

  /** True unless one of the ids is a live record of another caller; refreshes the caller's own. */
  mayUse(contextIds: readonly string[], owner: string, now: number): boolean {
    const rows = this.#store.rows(contextIds);
    if (rows.some((row) => this.#store.live(row, now) && row.owner !== owner)) return false;
    this.#store.touch(contextIds, rows, now);
    return true;
  }

  /** The row's claims (claimedContexts) for its caller: first claim wins, an expired record is taken over. */
  claimFrom(row: AuditEventInsert, findings: readonly Finding[] | undefined, now: number): void {
    const ids = claimedContexts(row, findings);
    if (ids.length > 0) this.claim(ids, taskOwner(row), now);
  }

  /** Records the contexts as `owner`'s: a live record of anyone keeps its owner (refreshed if it is `owner`'s). */
  claim(contextIds: readonly string[], owner: string, now: number): void {
    this.#store.claim(contextIds, owner, now);
  }

  /** Deletes expired records, oldest first, through the index on time (reads only what it deletes). */
  prune(now: number): void {
    this.#store.prune(now);
  }
}
