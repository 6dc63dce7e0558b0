/**
 * Step 9 of the call core: the outcome of an admitted call, sent to its guard off the hot path
 * (`waitUntil`; queued per guard by gateway.outcome.batch.ts, so it usually rides on the next
 * admit), once per row, and patched into the audit rows (durable-objects/audit.spool.ts).
 *
 *   headers     the answer's status and latency are known. Sent at once — with the findings
 *               made so far — unless the protocol completes at the end (`atEnd`: LLM usage).
 *   lateFindings  a streamed answer made findings after the outcome was sent: sent on their own.
 *   bodyDone    the answer ended (read to its end, broken off, or the caller left). For `atEnd`
 *               protocols the one outcome goes now, with what the end adds (tokens, cost) and
 *               the tokens charged to the call's token windows. `errorCode`: the gateway cut the
 *               answer (a message too large to inspect): recorded on the row, also after the
 *               outcome at the headers was sent.
 * A call that failed before any answer (`send`) gets its outcome at once.
 */

import type { guardFor } from '../../durable-objects/do.client';
import type { CallOutcome, Finding, RateCheck } from '../../durable-objects/guard.contract';
import type { BudgetHold } from '../budgets/budget.gate';
import type { AuditEventInsert } from '../db/schema';
import { log } from '../lib/log';
import type { CallTrace } from '../tracing/trace.call';
import type { BodyEnd } from './gateway.body-end';
import { claimsQueued } from './gateway.claims';
import { queueOutcome } from './gateway.outcome.batch';

export interface OutcomeOptions {
  ctx: Pick<ExecutionContext, 'waitUntil'>;
  /** The call's trace: each outcome's round trip to the guard becomes an `igris.complete` span. */
  trace?: CallTrace;
  guard: ReturnType<typeof guardFor>;
  /** The guard's organization and connection: outcomes wait per guard (gateway.outcome.batch.ts). */
  target: { orgId: string; connectionId: string };
  rows: AuditEventInsert[];
  /** The call's findings, appended to by its stages. */
  findings: Finding[];
  /** The token windows the call was admitted against (charged with its actual tokens). */
  tokenChecks: RateCheck[];
  atEnd: boolean;
  /** What the answer's end adds (LLM tokens and cost); told how the answer ended. */
  final: (
    answered: Answered,
    how: BodyEnd,
  ) => Promise<{ outcome: Omit<CallOutcome, 'tokens'>; usedTokens?: number }>;
  /** The call's budget reservations, settled here with the actual cost (budget.gate.ts). */
  budget?: BudgetHold | null;
}

type Answered = Pick<CallOutcome, 'upstreamStatus' | 'latencyMs' | 'gatewayMs'>;

export class CallOutcomes {
  readonly #o: OutcomeOptions;
  /** How many findings were already sent. */
  #reported = 0;
  #headersSent = false;
  #ended: BodyEnd | null = null;
  /** Why the gateway cut the answer, once it did (replaces the generic `upstream_broken`). */
  #cutCode: string | null = null;

  constructor(options: OutcomeOptions) {
    this.#o = options;
  }

  /** An outcome known now (the upstream could not be reached). */
  send(outcome: CallOutcome): void {
    this.#o.budget?.settle(0, false); // nothing was answered, so nothing was billed
    this.#reported = this.#o.findings.length;
    this.#dispatch(Promise.resolve({ ...outcome, ...this.#findings(0) }));
  }

  headers(answered: Answered): void {
    if (this.#o.atEnd) return;
    this.#headersSent = true;
    const findings = this.#findings(0);
    this.#reported = this.#o.findings.length;
    const cut = this.#cutCode ? { errorCode: this.#cutCode } : {};
    this.#dispatch(Promise.resolve({ ...answered, ...cut, ...findings }));
  }

  lateFindings(): void {
    if (!this.#headersSent) return; // still to go with the outcome
    const fresh = this.#findings(this.#reported);
    this.#reported = this.#o.findings.length;
    if (fresh.findings) this.#dispatch(Promise.resolve(fresh));
  }

  bodyDone(how: BodyEnd, answered: Answered, errorCode?: string): void {
    if (this.#ended) return;
    this.#ended = how;
    if (errorCode) this.#cutCode = errorCode;
    const broken = how !== 'complete';
    if (!this.#o.atEnd) {
      this.#o.budget?.settle(null, broken);
      // The outcome already went with the headers: the cut is patched into the rows on its own.
      if (errorCode && this.#headersSent) this.#dispatch(Promise.resolve({ errorCode }));
      return;
    }
    const outcome = this.#o.final(answered, how).then(({ outcome, usedTokens }) => {
      // The actual cost replaces the reservation; a broken answer without usage keeps its estimate.
      this.#o.budget?.settle(outcome.costUsd ?? null, broken);
      const findings = this.#findings(0);
      this.#reported = this.#o.findings.length;
      const charged =
        usedTokens !== undefined && usedTokens > 0 && this.#o.tokenChecks.length > 0
          ? { tokens: { checks: this.#o.tokenChecks, used: usedTokens } }
          : {};
      const brokenFields = broken
        ? { errorCode: this.#cutCode ?? (how === 'error' ? 'upstream_broken' : 'client_cancelled') }
        : {};
      return { ...answered, ...brokenFields, ...outcome, ...findings, ...charged };
    });
    this.#dispatch(outcome);
  }

  #findings(from: number): { findings?: Finding[] } {
    const list = this.#o.findings.slice(from);
    return list.length > 0 ? { findings: list } : {};
  }

  /**
   * Each row gets the outcome, with the findings of its own unit (the first row: unit-less ones),
   * queued for the guard (gateway.outcome.batch.ts: it rides on the next admit or leaves shortly).
   */
  #dispatch(pending: Promise<CallOutcome>): void {
    const { rows, guard, target } = this.#o;
    const done = pending
      .then((outcome) => {
        const { findings, tokens, ...rest } = outcome;
        const sends: Promise<void>[] = [];
        rows.forEach((row, i) => {
          const mine = findings?.filter((f) => (f.unit ?? 0) === i);
          const extra = i === 0 && tokens ? { tokens } : {};
          if (Object.keys(rest).length === 0 && !mine?.length && !extra.tokens) return;
          const item = {
            eventId: row.id,
            outcome: { ...rest, ...(mine?.length ? { findings: mine } : {}), ...extra },
          };
          const send = queueOutcome(target, item, guard);
          if (send) sends.push(send);
        });
        claimsQueued(this.#o.findings); // a call naming what this one created may admit now (gateway.claims.ts)
        return Promise.all(sends);
      })
      .catch((err: unknown) => {
        claimsQueued(this.#o.findings);
        log('warn', 'audit outcome not recorded; the row will be flushed as outcome_unknown', { err });
      });
    this.#o.trace?.completing(done);
    this.#o.ctx.waitUntil(done);
  }
}
