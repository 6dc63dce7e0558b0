/**
 * The gateway's own answers: every refusal is a JSON-RPC error (never a REST body), because the
 * caller is an MCP client. Status codes follow lib/errors.ts — notably `policy_denied` is 200 on
 * purpose, so SDK clients surface it as an McpError the agent can read.
 */
import { AppError, jsonRpcErrorBody } from '../lib/errors';
import { log } from '../lib/log';
import type { MessageDecision } from './gateway.decide';
import { TRACE_HEADER } from './gateway.identity';
import { type JsonRpcId, messageKind } from './gateway.jsonrpc';

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

export function respondError(ctx: ReplyContext, err: AppError, id: JsonRpcId): Response {
  if (err.status >= 500)
    log('error', 'gateway error', { code: err.code, internal: err.internal, traceId: ctx.traceId });
  return new Response(JSON.stringify(errorBody(err, id, ctx.traceId)), {
    status: err.status,
    headers: headers(ctx, err.headers),
  });
}

/**
 * A refused batch: a JSON-RPC batch answer with one error per request (notifications and
 * responses get no answer, as in JSON-RPC). The HTTP status is the first non-200 status among
 * the items' own refusals (a malformed item is a 400), else 200 like a single policy denial.
 */
export function respondRefusedBatch(ctx: ReplyContext, decisions: readonly MessageDecision[]): Response {
  const answers = decisions
    .filter((d) => messageKind(d.message) === 'request' && d.refusal)
    .map((d) => errorBody(d.refusal!, d.message.id ?? null, ctx.traceId));
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
