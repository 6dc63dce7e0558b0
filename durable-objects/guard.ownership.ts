/**
 * The guard's ownership checks, in one place: who created each A2A or MCP task of the connection
 * (task.owners.ts) and who first used each A2A context (context.owners.ts). connection-guard.do.ts
 * asks it once per admit (`refusal`), gives it every completed row (`claimFrom`: a created task or
 * a reported context becomes its caller's) and prunes it on its alarm. Why it lives in the guard:
 * task.owners.ts.
 */
import type { AuditEventInsert } from '../workers/db/schema';
import { ContextOwners } from './context.owners';
import type { AdmitRequest, Finding } from './guard.contract';
import type { SqlLike } from './sql.types';
import { TaskOwners, taskClaims, taskOwner } from './task.owners';

export class GuardOwnership {
  readonly #tasks: TaskOwners;
  readonly #contexts: ContextOwners;

  constructor(sql: SqlLike) {
    this.#tasks = new TaskOwners(sql);
    this.#contexts = new ContextOwners(sql);
  }

  /**
   * The verdict of a call that names a task not its caller's, or a context another caller's;
   * null when it names none. Checked before the rate windows: such a call counts against none.
   */
  refusal(request: AdmitRequest, now: number): 'task_unknown' | 'context_unknown' | null {
    if (!request.final && this.#tasks.refuses(request, now)) return 'task_unknown';
    if (this.#contexts.refuses(request, now)) return 'context_unknown';
    return null;
  }

  /** An admitted call that lists tasks (`tasks.list`) gets its caller's. */
  listed(request: AdmitRequest, now: number): { ownedTasks: string[] } | null {
    return !request.final && request.tasks?.list ? { ownedTasks: this.#tasks.ownedBy(request, now) } : null;
  }

  /** An A2A send's or MCP request's answer named the task(s) or context(s) it created: its caller's. */
  claimFrom(row: AuditEventInsert, findings: readonly Finding[] | undefined, now: number): void {
    const claimed = taskClaims(row, findings);
    if (claimed) this.#tasks.claim(claimed.ids, taskOwner(row), now, claimed.protocol);
    this.#contexts.claimFrom(row, findings, now);
  }

  prune(now: number): void {
    this.#tasks.prune(now);
    this.#contexts.prune(now);
  }
}
