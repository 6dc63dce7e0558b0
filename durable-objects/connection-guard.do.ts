/**
 * ConnectionGuard — one per (organization, connection): `GUARD.getByName(`${orgId}:${connectionId}`)`.
 *
 * It is the single Durable Object round trip on the gateway's hot path. `admit()` is called once
 * per gateway request, after the policy decision, and in that one call it records the decision in
 * the durable audit spool before the gateway answers (no acknowledged call loses its row). The
 * kill switch, session state and rate windows live here too (see docs/architecture.md), so one
 * round trip decides everything that must be consistent *now*.
 *
 * Sharding: one object per connection keeps any single object off the path of every call in an
 * organization; a connection's own calls are serialized here, which is what makes its rate windows exact.
 *
 * Failure mode: decided by the caller (workers/gateway/gateway.guard.ts) per connection: fail-closed
 * by default (the call is refused with 503 `guard_unavailable`).
 */
import { DurableObject } from 'cloudflare:workers';
import type { AuditEventInsert } from '../workers/db/schema';
import type { ToolCallEvent } from '../workers/events/events.types';
import { log } from '../workers/lib/log';
import { type AuditOutcome, SpoolScheduler } from './audit.spool';

export type KillScope = 'organization' | 'connection' | 'user' | 'apiKey' | 'session';

/** One rate window to count this call against: the matched rule's `rateLimit`, with its key resolved. */
export interface RateCheck {
  ruleIndex: number;
  /** e.g. `rule:3:user:alice@example.com` — resolved by the gateway from the rule's `by`. */
  key: string;
  limit: number;
  windowSeconds: number;
}

export interface AdmitRequest {
  orgId: string;
  connectionId: string;
  /** Who is calling: matched against user / apiKey kill switches and recorded on the session. */
  caller: { apiKeyId: string | null; user: string | null; mcpSessionId: string | null };
  /** Rate windows of the matched rules (empty when no matched rule has a rateLimit). */
  rateChecks: RateCheck[];
  /** One audit row per JSON-RPC message of the request (a batch has several). */
  audit: AuditEventInsert[];
  /** True when the rows are already final (refused calls): no outcome will follow. */
  final: boolean;
}

/**
 * The guard's verdict. Precedence: kill switch, then rate windows. A refused call's audit rows are
 * rewritten by the guard (action `killed` / `rate_limited`) and spooled as final.
 */
export type AdmitResult =
  | { verdict: 'admit'; sessionId: string }
  | { verdict: 'killed'; sessionId: string; scope: KillScope; reason: string | null }
  | {
      verdict: 'rate_limited';
      sessionId: string;
      ruleIndex: number;
      retryAfterSeconds: number;
      limit: number;
      windowSeconds: number;
    };

/** The deterministic agent-session id of an (organization, connection) pair. */
export function agentSessionId(connectionId: string): string {
  return `ses_${connectionId.replace(/^con_/, '')}`;
}

export class ConnectionGuard extends DurableObject<Env> {
  readonly #audit: SpoolScheduler;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#audit = new SpoolScheduler(ctx.storage, env.DB, 'ConnectionGuard');
  }

  async admit(request: AdmitRequest): Promise<AdmitResult> {
    const sessionId = agentSessionId(request.connectionId);
    for (const row of request.audit) {
      row.sessionId = sessionId;
      this.#audit.spool.put(row, request.final);
      if (request.final) this.#publish(row);
    }
    await this.#audit.arm();
    return { verdict: 'admit', sessionId };
  }

  /** The outcome of an admitted call (status, latency). Called off the hot path via waitUntil. */
  async complete(eventId: string, outcome: AuditOutcome): Promise<void> {
    const row = this.#audit.spool.complete(eventId, outcome);
    if (row) this.#publish(row);
    await this.#audit.arm();
  }

  override async alarm(): Promise<void> {
    await this.#audit.onAlarm();
  }

  #publish(row: AuditEventInsert): void {
    if (!row.orgId || !row.connectionId) return;
    const event: ToolCallEvent = {
      type: 'tool_call',
      serverId: row.connectionId,
      sessionId: row.sessionId ?? null,
      toolName: row.tool ?? null,
      method: row.method ?? null,
      action: row.action,
      latencyMs: row.latencyMs ?? null,
      user: row.user ?? null,
      traceId: row.traceId ?? null,
      timestamp: new Date(row.createdAt).toISOString(),
    };
    // Live events are best-effort; the spool above is the record. Not awaited so a slow hub
    // never holds up the gateway's reply.
    this.ctx.waitUntil(
      this.env.EVENT_HUB.getByName(row.orgId)
        .publish(event)
        .catch((err: unknown) => log('warn', 'event publish failed', { err })),
    );
  }
}
