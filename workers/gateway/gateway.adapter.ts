/**
 * What a protocol brings to the call core (gateway.call.ts). The core knows nothing of JSON-RPC,
 * chat completions or A2A tasks: it authenticates, resolves, decides, admits, forwards and audits
 * in the same order for every protocol, and asks the adapter only these questions. MCP's answers
 * are in mcp.adapter.ts.
 *
 *   readApiKey       the caller's credential from the request (MCP: Authorization: Bearer): an `ig_` key,
 *                    or on MCP and LLM routes an OAuth access token (workers/oauth/oauth.gateway.ts)
 *   read             the request → its governed units (null: nothing to decide, e.g. an MCP GET),
 *                    afresh from the caller's bytes on every preparation
 *   userOf           a user named in the request itself, when X-Igris-User is absent
 *   check            protocol checks that need the parsed request and the headers
 *   decide           one policy decision per unit (pure)
 *   requestStages    this protocol's request stages (gateway.stages.ts), before the shared ones
 *   settle           what one refused unit means for the others (MCP: a batch is refused whole)
 *   forwardBody      the bytes to forward: the serialization of what was decided on
 *   upstream         where they go and which caller headers go with them
 *   auditRows        one audit row per unit
 *   taskAccess       the A2A or MCP tasks a call addresses or lists (their ownership is the guard's check)
 *   responseStages   this protocol's response stages for one call
 *   completeAtEnd    send the outcome when the answer has ended (LLM usage) rather than at its headers
 *   finalOutcome     what the answer's end adds to the outcome (LLM tokens and cost)
 *   estimateCostUsd  what the call may cost, reserved against its budgets before forwarding
 *                    (absent: the protocol is not budgeted)
 *   endedStreamText  the last words of a stream the gateway ends (a kill switch; a caller that may
 *                    no longer call: revoked key, disabled connection, removed member)
 *   streamAnswer     which SSE event is the answer to the call, when a stream answers one request
 *                    (lets a short answer skip the kill-switch relay: killswitch.handover.ts)
 *   streamBounds     how long a streamed answer may stall (LLM only: gateway.stall.ts)
 *   respond*         errors and refusals in the protocol's own wire shape
 */
import type { AdmitRequest, CallOutcome } from '../../durable-objects/guard.contract';
import type { AuditEventInsert } from '../db/schema';
import type { CallIntegrity } from '../integrity/integrity.types';
import type { StreamAnswer } from '../killswitch/killswitch.handover';
import type { AppError } from '../lib/errors';
import type { CompiledPolicy } from '../policy/policy.evaluate';
import type { ConnectionSettings } from '../shared/connection.settings';
import type { ResolvedConnection } from './gateway.connection';
import type { UpstreamTarget } from './gateway.forward';
import type { CallIdentity } from './gateway.identity';
import type { RequestStage, ResponseStage, StageCall, UnitDecision } from './gateway.stages';
import type { StreamBounds } from './gateway.stall';

export type HttpMethod = 'GET' | 'POST' | 'DELETE';

/** How the core answers: the trace id and the CORS headers of an accepted browser Origin. */
export interface ReplyContext {
  traceId: string;
  cors: Record<string, string>;
}

/** A parsed request: its governed units and the adapter's own reading of it. */
export interface ParsedRequest<U> {
  units: U[];
}

export interface ProtocolAdapter<U, P extends ParsedRequest<U>> {
  /** The connection type this adapter serves; another type is "not found" on its route. */
  readonly connectionType: ResolvedConnection['type'];
  /** The audit/log name of the protocol. */
  readonly protocol: string;

  readApiKey(request: Request): string | null;
  /**
   * `again`: the call is prepared once more (gateway.replay.ts) and `request` carries the bytes the
   * caller sent; a route that read the body itself (LLM `@slug/model`) parses them afresh.
   */
  read(
    request: Request,
    httpMethod: HttpMethod,
    connection: ResolvedConnection,
    again?: boolean,
  ): Promise<P | null>;
  userOf(parsed: P): string | null;
  check(request: Request, parsed: P): AppError | null;
  /**
   * `integrity`: the connection's tool-integrity state (MCP: pinned annotations for `annotations.*`
   * rules). `call`: what the stages see (MCP: the session and keys that verify a client response's id).
   */
  decide(
    parsed: P,
    identity: CallIdentity,
    policy: CompiledPolicy,
    integrity?: CallIntegrity | null,
    call?: StageCall,
  ): UnitDecision<U>[];
  readonly requestStages: readonly RequestStage<U>[];
  settle(decisions: UnitDecision<U>[]): UnitDecision<U>[];
  /** Asynchronous only where the serialization is the runtime's (an LLM form re-encoded after masking). */
  forwardBody(parsed: P): BodyInit | null | Promise<BodyInit | null>;
  upstream(
    connection: ResolvedConnection,
    parsed: P | null,
    request: Request,
  ): Pick<UpstreamTarget, 'url' | 'forwardsHeader' | 'headers'>;

  /** Rows of a call that reached the guard; `base` carries identity, trace, key and connection. */
  auditRows(
    base: AuditEventInsert,
    decisions: readonly UnitDecision<U>[],
    request: Request,
    httpMethod: HttpMethod,
    policy: CompiledPolicy | null,
  ): AuditEventInsert[];
  /** What a refusal before any decision records about the request (e.g. its method and tool). */
  refusalFields(parsed: P | null): Partial<AuditEventInsert>;

  /** True when the connection's tool-integrity state is read for the call (MCP lists tools; docs/tool-integrity.md). */
  readonly usesToolIntegrity?: boolean;
  /**
   * The A2A or MCP tasks the call addresses (`ids`: admitted only if its caller created them) or lists
   * (`list`): checked by the guard in the admit (AdmitRequest.tasks). Absent: no task ownership.
   */
  taskAccess?(parsed: P | null): AdmitRequest['tasks'];
  /** True when the answer to a request with no governed units still needs the policy (MCP: a GET stream). */
  needsPolicy(request: Request, httpMethod: HttpMethod): boolean;
  responseStages(call: StageCall, parsed: P | null, request: Request): ResponseStage[];
  readonly completeAtEnd: boolean;
  /**
   * Outcome fields known once the answer ended; `usedTokens` feeds the token windows. Off the hot
   * path. `end`: how the call ended (LLM observability reports it: workers/langfuse/).
   */
  finalOutcome(
    call: StageCall,
    parsed: P | null,
    env: Env,
    end?: CallEnd,
  ): Promise<{ outcome: Omit<CallOutcome, 'tokens'>; usedTokens?: number }>;
  endedStreamText(parsed: P | null, traceId: string, err: AppError): string | null;
  /**
   * For a streamed answer to one request: classifies each event's data (the answer, another
   * message, or neither). Absent or null: the stream is always relayed.
   */
  streamAnswer?(parsed: P | null): StreamAnswer | null;
  /**
   * How long a streamed answer may keep the gateway waiting (gateway.stall.ts). Absent (MCP, A2A):
   * unbounded — their server streams are legitimately idle for long.
   */
  streamBounds?(settings: ConnectionSettings): StreamBounds | null;
  /**
   * USD reserved against the call's budgets before it is forwarded (budget.gate.ts); null when
   * the call's model has no price, so no `block` budget can bound it (refused under one).
   */
  estimateCostUsd?(call: StageCall, parsed: P, env: Env): Promise<number | null>;

  /** The id an error answers (JSON-RPC) and a kill-watched stream names; null when none. */
  replyId(parsed: P | null): string | number | null;
  respondError(ctx: ReplyContext, err: AppError, parsed: P | null): Response;
  respondRefused(
    ctx: ReplyContext,
    err: AppError,
    decisions: readonly UnitDecision<U>[],
    parsed: P,
  ): Response;
}

/** How an answered call ended, for `finalOutcome` (the call's audit event id and start, the answer's status and times). */
export interface CallEnd {
  eventId: string;
  startedAt: number;
  upstreamStatus?: number | null;
  /** The upstream's time to its answer's headers. */
  latencyMs?: number | null;
  /** What the gateway added before forwarding (the headers came at startedAt + gatewayMs + latencyMs). */
  gatewayMs?: number;
  how: 'complete' | 'error' | 'cancelled';
}
