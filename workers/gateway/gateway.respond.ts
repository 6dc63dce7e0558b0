/**
 * The gateway's own answers: every refusal is a JSON-RPC error (never a REST body), because the
 * caller is an MCP client. Status codes follow lib/errors.ts — notably `policy_denied` is 200 on
 * purpose, so SDK clients surface it as an McpError the agent can read.
 */
import { AppError, jsonRpcErrorBody } from '../lib/errors';
import { levelForError, log } from '../lib/log';
import type { MessageDecision } from './gateway.decide';
import { TRACE_HEADER } from './gateway.identity';
import { type JsonRpcId, messageKind, type ParsedBody, replyId } from './gateway.jsonrpc';

export interface ReplyContext {
  traceId: string;
  /** CORS headers for an allowed browser origin (empty otherwise). */
  cors: Record<string, string>;
}

function errorBody(err: AppError, id: JsonRpcId, traceId: string) {
  return jsonRpcErrorBody(err, id, traceId);
}

function headers(ctx: ReplyContext, extra: Record<string, string> = {}): Record<string, string> {
  return { 'Content-Type': 'application/json', [TRACE_HEADER]: ctx.traceId, ...ctx.cors, ...extra };
}

/** 5xx answers are logged, at the level their cause deserves (a kill switch's 503 is not an error). */
function logRefusal(ctx: ReplyContext, err: AppError): void {
  const level = levelForError(err.code, err.status);
  if (level) log(level, 'gateway error', { code: err.code, internal: err.internal, traceId: ctx.traceId });
}

export function respondError(ctx: ReplyContext, err: AppError, id: JsonRpcId): Response {
  logRefusal(ctx, err);
  return new Response(JSON.stringify(errorBody(err, id, ctx.traceId)), {
    status: err.status,
    headers: headers(ctx, err.headers),
  });
}

/**
 * A refused notification (or client response) gets no JSON-RPC answer — JSON-RPC never answers
 * one, and the MCP Streamable HTTP transport says: 202 with no body when accepted, an HTTP error
 * status when not. A refusal whose own status is a success (a policy denial is 200 for requests,
 * so SDK clients surface it) becomes 403 for a denial and 400 for anything else. The audit row
 * (spooled before this answer) says what was refused and why; the trace id header points to it.
 */
export function respondWithoutBody(ctx: ReplyContext, err: AppError): Response {
  logRefusal(ctx, err);
  const denial = err.code === 'policy_denied' || err.code === 'approval_required';
  const status = err.status >= 400 ? err.status : denial ? 403 : 400;
  return new Response(null, {
    status,
    headers: { [TRACE_HEADER]: ctx.traceId, ...ctx.cors, ...err.headers },
  });
}

/** A refusal of a whole POST body: a JSON-RPC error for a request, no body for anything else. */
export function respondToBody(ctx: ReplyContext, err: AppError, parsed: ParsedBody | null): Response {
  // Only notifications and responses (one, or a batch): nothing to answer in JSON-RPC, as a
  // refused batch (respondRefusedBatch); the HTTP status says no.
  if (parsed?.messages.length && parsed.messages.every((m) => messageKind(m) !== 'request'))
    return respondWithoutBody(ctx, err);
  return respondError(ctx, err, replyId(parsed));
}

/**
 * A refused batch: a JSON-RPC batch answer with one error per request (notifications and
 * responses get no answer, as in JSON-RPC). The HTTP status is the first non-200 status among
 * the items' own refusals (a malformed item is a 400), else 200 like a single policy denial.
 */
export function respondRefusedBatch(ctx: ReplyContext, decisions: readonly MessageDecision[]): Response {
  const answers = decisions
    .filter((d) => messageKind(d.unit) === 'request' && d.refusal)
    .map((d) => errorBody(d.refusal!, d.unit.id ?? null, ctx.traceId));
  // Only notifications and responses: nothing to answer in JSON-RPC, an HTTP error status says no.
  if (answers.length === 0) {
    const own = decisions.find((d) => d.refusal && !d.withBatch)?.refusal;
    if (own) return respondWithoutBody(ctx, own);
  }
  const status =
    decisions.find((d) => d.refusal && !d.withBatch && d.refusal.status !== 200)?.refusal?.status ?? 200;
  return new Response(JSON.stringify(answers), { status, headers: headers(ctx) });
}

export function methodNotAllowed(): Response {
  const err = new AppError('method_not_allowed', {
    message: 'Method not allowed: MCP Streamable HTTP uses POST, GET and DELETE',
  });
  return new Response(JSON.stringify(jsonRpcErrorBody(err, null, undefined)), {
    status: err.status,
    headers: { 'Content-Type': 'application/json', Allow: 'GET, POST, DELETE, OPTIONS' },
  });
}
