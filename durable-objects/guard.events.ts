/**
 * A ConnectionGuard's live events: what it publishes about its calls (a call's event once its
 * outcome is known or its refusal final, a streamed answer's late findings, an anomaly) and the one
 * outbox they leave through for the organization's EventHub.
 *
 * Live events are best effort (the audit spool is the record) and never awaited by admit or
 * complete, so a slow hub cannot hold up the gateway's reply. One sequential drain loop sends
 * them: the hub receives them in the order they happened, and under load many events travel in
 * one RPC instead of one each.
 *
 * A busy guard's batches linger (EVENT_LINGER_MS) before they leave. One RPC in flight alone
 * batched little, because the hub answers quickly: locally at ~300 calls/s a batch carried 1.8
 * events, and a hub RPC costs both objects and the runtime more than the events in it (on
 * Cloudflare, the root hub's requests per second also bound an organization's event rate). An idle
 * guard (no batch left in the last BUSY_MS) sends at once, so a lone call's event is not delayed;
 * under load an event waits at most EVENT_LINGER_MS more.
 */
import type { AuditEventInsert } from '../workers/db/schema';
import { log } from '../workers/lib/log';
import { auditOutcome } from '../workers/shared/audit.outcome';
import type {
  AnomalyEvent,
  FindingsEvent,
  LlmCallEvent,
  ToolCallEvent,
} from '../workers/shared/events.types';
import type { AnomalyFinding } from './anomaly.detect';
import type { Finding } from './guard.contract';

type GuardEvent = ToolCallEvent | LlmCallEvent | AnomalyEvent | FindingsEvent;

interface Hub {
  publish(events: GuardEvent[]): Promise<unknown>;
}

/** Events sent per hub RPC at most. */
const BATCH = 100;
/** How long a busy guard's batch waits for the events of the calls decided meanwhile. */
export const EVENT_LINGER_MS = 5;
/** A guard whose last batch left less than this long ago is busy: its next batch lingers. */
export const BUSY_MS = 25;

export class GuardEvents {
  readonly #waitUntil: (p: Promise<unknown>) => void;
  readonly #hub: (orgId: string) => Hub;
  readonly #outbox: GuardEvent[] = [];
  #draining = false;
  #lastSentAt = Number.NEGATIVE_INFINITY;

  constructor(waitUntil: (p: Promise<unknown>) => void, hub: (orgId: string) => Hub) {
    this.#waitUntil = waitUntil;
    this.#hub = hub;
  }

  /** A call's event (tool_call, or llm_call with tokens and cost), with the findings its row holds. */
  call(row: AuditEventInsert): void {
    if (!row.orgId || !row.connectionId) return;
    const call: ToolCallEvent = {
      type: 'tool_call',
      serverId: row.connectionId,
      sessionId: row.sessionId ?? null,
      toolName: row.tool ?? null,
      method: row.method ?? null,
      action: row.action,
      outcome: auditOutcome(row),
      upstreamStatus: row.upstreamStatus ?? null,
      errorCode: row.errorCode ?? null,
      latencyMs: row.latencyMs ?? null,
      user: row.user ?? null,
      traceId: row.traceId ?? null,
      ...findingsOf(row),
      timestamp: new Date(row.createdAt).toISOString(),
    };
    this.#publish(row.orgId, row.type === 'llm_call' ? llmCallEvent(call, row) : call);
  }

  /**
   * Findings a streamed answer produced after its call's event went out. Stamped with the call's
   * time, like the call's event: the dashboard splits history at one instant between audit rows
   * (`createdAt`, whose details these findings are merged into) and replayed events, and a findings
   * event stamped later than its row would be counted on both sides.
   */
  findings(row: AuditEventInsert, findings: Finding[]): void {
    if (!row.orgId || !row.connectionId) return;
    const event: FindingsEvent = {
      type: 'findings',
      serverId: row.connectionId,
      sessionId: row.sessionId ?? null,
      toolName: row.tool ?? null,
      traceId: row.traceId ?? null,
      findings,
      timestamp: new Date(row.createdAt).toISOString(),
    };
    this.#publish(row.orgId, event);
  }

  /** An anomaly the guard detected (its audit row is already spooled). */
  anomaly(row: AuditEventInsert, finding: AnomalyFinding, now: number): void {
    if (!row.orgId || !row.connectionId) return;
    const event: AnomalyEvent = {
      type: 'anomaly',
      serverId: row.connectionId,
      anomalyType: finding.anomalyType,
      toolName: finding.toolName,
      currentRate: finding.currentRate,
      threshold: finding.threshold,
      timestamp: new Date(now).toISOString(),
    };
    this.#publish(row.orgId, event);
  }

  #publish(orgId: string, event: GuardEvent): void {
    this.#outbox.push(event);
    if (!this.#draining) {
      this.#draining = true;
      this.#waitUntil(this.#drain(orgId));
    }
  }

  async #drain(orgId: string): Promise<void> {
    const hub = this.#hub(orgId);
    try {
      while (this.#outbox.length > 0) {
        if (Date.now() - this.#lastSentAt < BUSY_MS) {
          await new Promise((resolve) => setTimeout(resolve, EVENT_LINGER_MS));
        }
        const batch = this.#outbox.splice(0, BATCH);
        this.#lastSentAt = Date.now();
        await hub
          .publish(batch)
          .catch((err: unknown) => log('warn', 'event publish failed', { err, events: batch.length }));
      }
    } finally {
      this.#draining = false;
    }
  }
}

/** An LLM call's event: the call's fields (model as toolName, endpoint as method), tokens and cost. */
function llmCallEvent(call: ToolCallEvent, row: AuditEventInsert): LlmCallEvent {
  return {
    ...call,
    type: 'llm_call',
    model: row.model ?? null,
    inputTokens: row.inputTokens ?? null,
    cachedInputTokens: row.cachedInputTokens ?? null,
    outputTokens: row.outputTokens ?? null,
    reasoningTokens: row.reasoningTokens ?? null,
    costUsd: row.costUsd ?? null,
  };
}

/** The row's findings (details.findings), for its live event; nothing when it has none. */
function findingsOf(row: AuditEventInsert): { findings?: Finding[] } {
  const details = row.details as { findings?: unknown } | null | undefined;
  return Array.isArray(details?.findings) && details.findings.length > 0
    ? { findings: details.findings as Finding[] }
    : {};
}
