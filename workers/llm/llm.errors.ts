/**
 * The gateway's own refusals on LLM routes, in each provider's wire shape (pure), so the official
 * SDKs raise their typed errors: both pick the error class from the HTTP status alone
 * (openai-node `APIError.generate`, anthropic-sdk-typescript `STATUS_ERROR_CLASSES`):
 *   400 BadRequest · 401 Authentication · 402 PaymentRequired (Anthropic; OpenAI: APIError) ·
 *   403 PermissionDenied · 404 NotFound · 409 Conflict · 413 (Anthropic ContentTooLarge) ·
 *   422 UnprocessableEntity · 429 RateLimit · 5xx InternalServer (Anthropic: 503 ServiceUnavailable,
 *   504 GatewayTimeout).
 *
 * Bodies:
 *   OpenAI     {"error":{"message","type","param","code"}}   (`code` is our AppError code)
 *   Anthropic  {"type":"error","error":{"type","message"}}
 * Both may carry `details` (caller-safe, as in the REST API) inside `error`.
 *
 * Statuses differ from the MCP mapping in one place: a policy deny is a JSON-RPC error in a 200
 * for MCP clients, but an HTTP 403 here (an SDK only raises PermissionDeniedError on a 403).
 *
 * Retries: both SDKs retry 408/409/429/5xx by default unless the answer says `x-should-retry:
 * false`. A kill switch (503) or a refusal that will not change by retrying says so; a 429 keeps
 * its `Retry-After` and may be retried.
 */
import { TRACE_HEADER } from '../gateway/gateway.identity';
import { type AppError, type ErrorCode, echoSafe } from '../lib/errors';
import type { LlmFamily } from './llm.endpoints';

/** The HTTP status of an AppError on an LLM route. */
export function llmStatus(err: AppError): number {
  switch (err.code) {
    case 'policy_denied':
    case 'content_blocked':
    case 'approval_required':
    case 'upstream_auth_required':
      return 403;
    case 'method_not_found':
      return 404;
    default:
      // Every other code already has a meaningful HTTP status; a 200 can never be an error here.
      return err.status >= 400 ? err.status : 500;
  }
}

/** OpenAI's `error.type` for a status (the SDK does not read it; callers and dashboards do). */
function openAiType(status: number, code: ErrorCode): string {
  if (code === 'budget_exceeded') return 'insufficient_quota';
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/** Anthropic's documented `error.type` values. */
function anthropicType(status: number): string {
  switch (status) {
    case 400:
    case 405:
    case 406:
    case 409:
    case 415:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 402:
      return 'billing_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 504:
      return 'timeout_error';
    case 529:
      return 'overloaded_error';
    default:
      return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string; details?: unknown };
}

export interface AnthropicErrorBody {
  type: 'error';
  error: { type: string; message: string; details?: unknown };
}

/**
 * The body field a validation error is about (`details.path` with `location: "body"`), else null.
 * Read from the details as sent (lib/errors.ts echoSafe): a path quotes the caller's keys.
 */
function bodyParam(details: unknown): string | null {
  const d = details as { location?: unknown; path?: unknown } | undefined;
  return d?.location === 'body' && typeof d.path === 'string' ? d.path : null;
}

function withDetails<T extends object>(target: T, details: unknown): T & { details?: unknown } {
  return details === undefined ? target : { ...target, details };
}

export function openAiErrorBody(err: AppError): OpenAiErrorBody {
  const status = llmStatus(err);
  const { message, details } = echoSafe(err);
  return {
    error: withDetails(
      { message, type: openAiType(status, err.code), param: bodyParam(details), code: err.code },
      details,
    ),
  };
}

export function anthropicErrorBody(err: AppError): AnthropicErrorBody {
  const { message, details } = echoSafe(err);
  return {
    type: 'error',
    error: withDetails({ type: anthropicType(llmStatus(err)), message }, details),
  };
}

export function llmErrorBody(family: LlmFamily, err: AppError): OpenAiErrorBody | AnthropicErrorBody {
  return family === 'anthropic' ? anthropicErrorBody(err) : openAiErrorBody(err);
}

/** Codes a retry cannot fix soon: the SDKs are told not to retry them (their 5xx/409 would be). */
const NO_RETRY: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'session_suspended',
  'policy_unavailable',
  'guard_unavailable',
  'conflict',
  'budget_exceeded',
  'policy_denied',
  'connection_disabled',
  // Clears when an approver decides or approvals expire (minutes), not within an SDK's retries.
  'approvals_pending_limit',
  // The provider did not answer within a connection's bound (headers, an idle gap, a held stream's
  // total): a retry sends the generation again while the first may still run (and bill), and makes
  // its caller wait up to three bounds. Trying again is the caller's decision, not the SDK's.
  'upstream_timeout',
]);

/** The headers of an error answer: the error's own (Retry-After) plus the retry hint. */
export function llmErrorHeaders(err: AppError): Record<string, string> {
  const headers: Record<string, string> = { ...err.headers };
  if (NO_RETRY.has(err.code)) headers['x-should-retry'] = 'false';
  return headers;
}

export interface LlmReplyContext {
  traceId: string;
  cors?: Record<string, string>;
}

/** A complete error Response in the family's shape, with the trace id and CORS headers. */
export function llmErrorResponse(family: LlmFamily, err: AppError, ctx: LlmReplyContext): Response {
  return new Response(JSON.stringify(llmErrorBody(family, err)), {
    status: llmStatus(err),
    headers: {
      ...(ctx.cors ?? {}),
      ...llmErrorHeaders(err),
      'Content-Type': 'application/json',
      [TRACE_HEADER]: ctx.traceId,
    },
  });
}

/**
 * An error inside an already-started stream (a kill switch mid-stream, an upstream that broke
 * off): the SSE event each SDK turns into a thrown APIError while iterating.
 *   OpenAI     `data: {"error":{…}}` — openai-node throws on any data with an `error` key.
 *   Anthropic  `event: error` + `data: {"type":"error","error":{…}}`.
 */
export function llmStreamErrorEvent(family: LlmFamily, err: AppError): string {
  if (family === 'anthropic') return `event: error\ndata: ${JSON.stringify(anthropicErrorBody(err))}\n\n`;
  return `data: ${JSON.stringify(openAiErrorBody(err))}\n\n`;
}
