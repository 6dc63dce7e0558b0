/**
 * A2A (Agent-to-Agent) as a protocol of the call core (gateway.adapter.ts): JSON-RPC 2.0 over
 * HTTP POST, with SSE answers for the streaming methods. One request is one governed unit (A2A
 * has no batches and no notifications: both are refused). The agent is the connection's
 * `upstream_url` (the JSON-RPC endpoint its AgentCard names, workers/a2a/a2a.registry.ts); the
 * stored credential is injected by the core's forward, the caller's `ig_` key never leaves.
 *
 * Errors are JSON-RPC errors the A2A SDK client surfaces. Igris's own error codes that fall in
 * A2A's reserved range (-32001…-32009: TaskNotFound, UnsupportedOperation, …) are moved out of it
 * by −40 (e.g. a policy denial -32006 → -32046), so a client never mistakes a gateway refusal
 * for an agent's typed error; `error.data.code` names the Igris error as for MCP.
 */

import { taskTrackStage } from '../a2a/a2a.tasks';
import { writeTaskReport } from '../a2a/a2a.tasks.store';
import { bearerCredential } from '../auth/api-key.auth';
import { a2aResultStage, inspectA2aRequest } from '../inspection/inspection.a2a.stage';
import { errorAnswerStage } from '../inspection/inspection.error-answer';
import { AppError, jsonRpcErrorBody } from '../lib/errors';
import { levelForError, log } from '../lib/log';
import { auditMethod } from '../shared/audit.method';
import { contextStage, namedContexts } from './a2a.context.access';
import {
  type A2aUnit,
  a2aAuditRow,
  a2aDecide,
  a2aMethod,
  skillOf,
  skillRefusal,
  skillSpellingRefusal,
  taskIdOf,
  taskStage,
  teamAccessStage,
} from './a2a.stages';
import { addressedTasks } from './a2a.task.access';
import { listedTasksStage } from './a2a.task.list';
import type { ProtocolAdapter, ReplyContext } from './gateway.adapter';
import type { ResolvedConnection } from './gateway.connection';
import { TRACE_HEADER } from './gateway.identity';
import { type JsonRpcId, parseJsonRpc, readBodyCapped } from './gateway.jsonrpc';

export interface A2aRequest {
  units: [A2aUnit];
  id: JsonRpcId;
  /** The connection's A2A settings the response stages read. */
  access: { logContent: boolean; slug: string };
}

/** Request headers an A2A agent needs: protocol version and extensions, content negotiation, tracing. */
const FORWARDED = new Set([
  'accept',
  'content-type',
  'user-agent',
  'a2a-version',
  'a2a-extensions',
  'traceparent',
  'tracestate',
  'baggage',
]);

async function readA2a(request: Request, connection: ResolvedConnection): Promise<A2aRequest> {
  const contentType = request.headers.get('Content-Type') ?? '';
  if (!/^application\/(?:a2a\+)?json\b/i.test(contentType)) {
    throw new AppError('unsupported_media_type', {
      message: 'Content-Type must be application/json',
      details: { location: 'header', path: 'Content-Type' },
    });
  }
  const parsed = parseJsonRpc(await readBodyCapped(request, connection.settings.maxBodyBytes), 1);
  const message = parsed.messages[0]!;
  if (parsed.batch || message.method === undefined || message.id === undefined || message.id === null) {
    throw new AppError('invalid_request', {
      message:
        'Invalid request: A2A takes one JSON-RPC request with an id (no batch, notification or response)',
      details: { location: 'body' },
    });
  }
  const canonical = a2aMethod(message.method);
  const unit: A2aUnit = {
    message,
    method: message.method,
    canonical,
    skill: null,
    taskId: taskIdOf(message.params),
    addressed: addressedTasks(message.method, canonical, message.params),
    // Throws for a context id that cannot be recorded (a2a.context.access.ts), before any decision.
    contexts: namedContexts(canonical, message.params),
    allowedTeams: connection.settings.allowedTeams ?? [],
  };
  if (unit.canonical === 'SendMessage' || unit.canonical === 'SendStreamingMessage') {
    const skill = skillOf(message.params);
    // Refused here, before the unit exists, so the id reaches no decision or audit row.
    const refusal = skillSpellingRefusal(message.params) ?? skillRefusal(skill);
    if (refusal) throw refusal;
    unit.skill = skill;
  }
  const access = { logContent: connection.settings.logContent === true, slug: connection.slug };
  return { units: [unit], id: message.id, access };
}

/** Igris codes inside A2A's reserved range move out of it (see the file comment). */
function a2aRpcCode(code: number): number {
  return code <= -32001 && code >= -32009 ? code - 40 : code;
}

export function a2aErrorBody(err: AppError, id: JsonRpcId, traceId: string | undefined) {
  const body = jsonRpcErrorBody(err, id, traceId);
  body.error.code = a2aRpcCode(body.error.code);
  return body;
}

function respond(ctx: ReplyContext, err: AppError, parsed: A2aRequest | null): Response {
  const level = levelForError(err.code, err.status);
  if (level) log(level, 'gateway error', { code: err.code, internal: err.internal, traceId: ctx.traceId });
  return new Response(JSON.stringify(a2aErrorBody(err, parsed?.id ?? null, ctx.traceId)), {
    status: err.status,
    headers: { 'Content-Type': 'application/json', [TRACE_HEADER]: ctx.traceId, ...ctx.cors, ...err.headers },
  });
}

/** The last event of a stream the gateway ends (kill switch, revoked caller): a JSON-RPC error for its request. */
function endedStreamText(parsed: A2aRequest | null, traceId: string, err: AppError): string | null {
  if (!parsed) return null;
  return `data: ${JSON.stringify(a2aErrorBody(err, parsed.id, traceId))}\n\n`;
}

export const a2aAdapter: ProtocolAdapter<A2aUnit, A2aRequest> = {
  connectionType: 'a2a',
  protocol: 'a2a',

  // An `ig_` key or an OAuth access token (docs/oauth.md: A2A agents are protected resources too).
  readApiKey: (request) => bearerCredential(request.headers.get('Authorization')),
  read: (request, httpMethod, connection) =>
    httpMethod === 'POST'
      ? readA2a(request, connection)
      : Promise.reject(new AppError('method_not_allowed', { headers: { Allow: 'POST' } })),
  check: () => null,
  userOf: () => null,
  decide: (parsed, identity, policy) => [a2aDecide(parsed.units[0], identity, policy)],
  // Access by team first (a caller of no allowed team learns nothing more), then content
  // inspection of the message parts sent (a `block` refuses, `redact` masks what goes out).
  requestStages: [teamAccessStage, inspectA2aRequest],
  settle: (decisions) => decisions,
  // The serialization of what was decided on (duplicate keys can't be read differently upstream).
  forwardBody: (parsed) => JSON.stringify(parsed.units[0].message),
  upstream: (connection) => ({ url: connection.upstreamUrl, forwardsHeader: (name) => FORWARDED.has(name) }),

  auditRows: (base, decisions) => decisions.map((d) => a2aAuditRow(base, d)),
  refusalFields: (parsed) => {
    const unit = parsed?.units[0];
    return unit
      ? { type: 'a2a_call', method: auditMethod(unit.method), tool: unit.skill ?? unit.canonical }
      : { type: 'a2a_call' };
  },

  // Task and context ownership, checked by the guard in the admit (a2a.task.access.ts,
  // a2a.context.access.ts, docs/a2a.md).
  taskAccess: (parsed) => {
    const unit = parsed?.units[0];
    const contexts = unit?.contexts ? { contexts: unit.contexts } : undefined;
    if (unit?.addressed) return { ids: unit.addressed, ...contexts };
    return unit?.canonical === 'ListTasks' ? { list: true } : contexts;
  },
  needsPolicy: () => false,
  // Task states as the agent reported them first (audit findings), then content inspection (which
  // may block or mask an answer), then tracking — which records only what the caller received.
  responseStages: (call, parsed) => {
    const unit = parsed?.units[0];
    const tracking =
      unit && parsed
        ? taskTrackStage(
            call,
            {
              canonical: unit.canonical,
              skill: unit.skill,
              taskId: unit.taskId,
              params: unit.message.params,
              logContent: parsed.access.logContent,
            },
            parsed.access.slug,
            writeTaskReport,
          )
        : null;
    // ListTasks: the agent lists every caller's tasks (one credential); the caller sees its own.
    const listed = unit?.canonical === 'ListTasks' ? listedTasksStage(call.ownedTasks ?? []) : null;
    // A send's answer names its context: the guard records it as the caller's (a2a.context.access.ts).
    const sent = unit?.canonical === 'SendMessage' || unit?.canonical === 'SendStreamingMessage';
    const context = sent ? contextStage(call) : null;
    // The agent's error answer (4xx/5xx) is inspected as a result is (inspection.error-answer.ts).
    const errors = errorAnswerStage(call, 'result');
    return [listed, taskStage(call), context, a2aResultStage(call), errors, tracking].filter(
      (stage) => stage !== null,
    );
  },
  completeAtEnd: false,
  finalOutcome: () => Promise.resolve({ outcome: {} }),
  endedStreamText,

  replyId: (parsed) => parsed?.id ?? null,
  respondError: (ctx, err, parsed) => respond(ctx, err, parsed),
  respondRefused: (ctx, err, _decisions, parsed) => respond(ctx, err, parsed),
};
