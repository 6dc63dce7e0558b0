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

export interface AdmitRequest {
  orgId: string;
  connectionId: string;
  /** One audit row per JSON-RPC message of the request (a batch has several). */
  audit: AuditEventInsert[];
  /** True when the rows are already final (refused calls): no outcome will follow. */
  final: boolean;
}

export type AdmitResult = { verdict: 'admit' };

export class ConnectionGuard extends DurableObject<Env> {
  readonly #audit: SpoolScheduler;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#audit = new SpoolScheduler(ctx.storage, env.DB, 'ConnectionGuard');
  }

  async admit(request: AdmitRequest): Promise<AdmitResult> {
    for (const row of request.audit) {
      this.#audit.spool.put(row, request.final);
      if (request.final) this.#publish(row);
    }
    await this.#audit.arm();
    return { verdict: 'admit' };
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
