/**
 * The guard's ownership checks, in one place: who created each A2A or MCP task of the connection
 * (task.owners.ts), each stored LLM object — response, item, chat completion, file, batch
 * (response.owners.ts) — and the models each batch input file runs (batch.file-models.ts), who
 * first used each A2A context (context.owners.ts), and which gateway-minted server-request ids
 * were answered already (answered.ids.ts: each is answered once).
 * connection-guard.do.ts asks it once per admit (`refusal`), tells it an admit passed (`admitted`:
 * answers are spent, a task list is read), gives it every completed row (`claimFrom`: a created
 * task or a reported context becomes its caller's) and prunes it on its alarm. Why it lives in the
 * guard: task.owners.ts. A call that names no task, context or answer reads nothing here.
 */
import type { AuditEventInsert } from '../workers/db/schema';
import { AnsweredIds } from './answered.ids';
import { BatchFileModels } from './batch.file-models';
import { ContextOwners } from './context.owners';
import type { AdmitRequest, AdmitResult, Finding } from './guard.contract';
import { LlmObjectOwners } from './response.owners';
import type { SqlLike } from './sql.types';
import { TaskOwners, taskClaims, taskOwner } from './task.owners';

/**
 * Expired records are pruned at most this often. The guard's alarm comes with every audit flush
 * (every second under load), and its four DELETEs each time were a visible share of a saturated
 * gateway's CPU (BENCHMARKS.md, session 19). Pruning later changes no decision: an owner record is
 * live only within its TTL whatever is stored (owner.store.ts `live`), an answered id past its
 * expiry is refused by the gateway before it asks (answered.ids.ts), and a store at its cap prunes
 * itself before refusing or evicting. What changes is only how soon the expired rows' space is freed.
 */
export const PRUNE_EVERY_MS = 10_000;

export class GuardOwnership {
  readonly #tasks: TaskOwners;
  readonly #contexts: ContextOwners;
  readonly #answered: AnsweredIds;
  readonly #responses: LlmObjectOwners;
  /** The models each batch input file runs, recorded at its upload (batch.file-models.ts). */
  readonly #fileModels: BatchFileModels;
  /** When this object last pruned (per activation: a restarted object prunes at its first alarm). */
  #prunedAt = Number.NEGATIVE_INFINITY;

  constructor(sql: SqlLike) {
    this.#tasks = new TaskOwners(sql);
    this.#contexts = new ContextOwners(sql);
    this.#answered = new AnsweredIds(sql);
    this.#responses = new LlmObjectOwners(sql);
    this.#fileModels = new BatchFileModels(sql);
  }

  /**
   * The verdict of a call that names a task not its caller's, a context another caller's, or a
   * server request answered already; null when it names none. Checked before the rate windows:
   * such a call counts against none.
   */
  refusal(request: AdmitRequest, now: number): OwnershipVerdict | null {
    // Stored LLM responses are their own record space: their ids never reach the task records.
    if (this.#responses.names(request)) {
      const key = this.#responses.refused(request, now);
      if (key !== null)
        return key === '' ? { verdict: 'response_unknown' } : { verdict: 'response_unknown', key };
      // A batch create under allowedModels: its own input file, with every recorded model allowed.
      const models = this.#fileModels.refusal(request, now);
      if (models) return models;
    } else if (!request.final && this.#tasks.refuses(request, now)) return { verdict: 'task_unknown' };
    if (this.#contexts.refuses(request, now)) return { verdict: 'context_unknown' };
    const answered = this.#answered.refusal(request, now);
    return answered ? { verdict: 'response_refused', reason: answered } : null;
  }

  /** The call was admitted: its answers are spent; a call that lists tasks gets its caller's. */
  admitted(request: AdmitRequest, now: number): { ownedTasks: string[] } | null {
    this.#answered.record(request);
    if (this.#responses.listed(request)) return { ownedTasks: this.#responses.owned(request, now) };
    return !request.final && request.tasks?.list ? { ownedTasks: this.#tasks.ownedBy(request, now) } : null;
  }

  /** An A2A send's or MCP request's answer named the task(s) or context(s) it created: its caller's. */
  claimFrom(row: AuditEventInsert, findings: readonly Finding[] | undefined, now: number): void {
    const claimed = taskClaims(row, findings);
    if (claimed) this.#tasks.claim(claimed.ids, taskOwner(row), now, claimed.protocol);
    this.#contexts.claimFrom(row, findings, now);
    this.#responses.claimFrom(row, findings, now);
    this.#fileModels.claimFrom(row, findings, now, (key) => this.#responses.ownedBy(key, row, now));
  }

  /** Deletes expired records (called from the guard's alarm), at most every PRUNE_EVERY_MS. */
  prune(now: number): void {
    if (now - this.#prunedAt < PRUNE_EVERY_MS) return;
    this.#prunedAt = now;
    this.#tasks.prune(now);
    this.#contexts.prune(now);
    this.#answered.prune(now);
    this.#responses.prune(now);
    this.#fileModels.prune(now);
  }
}

type Refused = Extract<
  AdmitResult,
  {
    verdict: 'task_unknown' | 'response_unknown' | 'models_refused' | 'context_unknown' | 'response_refused';
  }
>;
export type OwnershipVerdict = Refused extends infer R
  ? R extends unknown
    ? Omit<R, 'sessionId'>
    : never
  : never;
