/**
 * One error family for the whole Worker, and one mapping to the wire.
 *
 * Code that refuses something throws `new AppError(code, …)`; the REST error handler and the
 * gateway's JSON-RPC responder are the only places that turn one into bytes. Public messages
 * are generic and fixed per code (plus an optional safe detail); anything internal (SQL errors,
 * upstream bodies, stack traces) goes to `internal`, which is logged and never sent.
 *
 * Messages and details name what was wrong, and that is often the caller's text: a key, a method,
 * a model, an id. Where an error quotes it, it quotes it through lib/echo.safe.ts (bounded,
 * printable, `[redacted]` / `[key]` when it looks like a secret). And every wire mapping below
 * (REST, JSON-RPC, and the LLM shapes in workers/llm/llm.errors.ts) passes the message and every
 * string of the details through `echoSafe` — the built-in credential detectors, span by span — so a
 * place that forgot cannot send a credential back (docs/architecture.md#errors-never-echo-a-secret).
 */
import { redactSecrets } from './echo.safe';

export const ERROR_CODES = {
  // 4xx — the caller can fix these.
  bad_request: { status: 400, rpc: -32600, message: 'Bad request' },
  validation_failed: { status: 400, rpc: -32602, message: 'Validation failed' },
  parse_error: { status: 400, rpc: -32700, message: 'Parse error' },
  invalid_request: { status: 400, rpc: -32600, message: 'Invalid request' },
  // -32020 is MCP's HeaderMismatch: dual-era clients read it as "modern server, fix the headers"
  // (any other code makes them fall back to the legacy initialize handshake).
  header_mismatch: { status: 400, rpc: -32020, message: 'Request headers disagree with the body' },
  unauthorized: { status: 401, rpc: -32001, message: 'Authentication required' },
  forbidden: { status: 403, rpc: -32003, message: 'Forbidden' },
  origin_forbidden: { status: 403, rpc: -32003, message: 'Origin not allowed' },
  csrf_failed: { status: 403, rpc: -32003, message: 'CSRF check failed' },
  // The caller's API key, or its user, is under an active kill switch: the management API refuses
  // it everything (so a killed key cannot mint a fresh key or lift its own switch).
  principal_killed: { status: 403, rpc: -32003, message: 'Caller is under a kill switch' },
  not_found: { status: 404, rpc: -32004, message: 'Not found' },
  method_not_allowed: { status: 405, rpc: -32600, message: 'Method not allowed' },
  not_acceptable: { status: 406, rpc: -32600, message: 'Not acceptable' },
  conflict: { status: 409, rpc: -32009, message: 'Conflict' },
  payload_too_large: { status: 413, rpc: -32600, message: 'Request body too large' },
  unsupported_media_type: { status: 415, rpc: -32600, message: 'Unsupported media type' },
  connection_disabled: { status: 403, rpc: -32005, message: 'Connection disabled' },
  // The caller's key is valid but its member may not use this connection (connections:use).
  connection_forbidden: { status: 403, rpc: -32003, message: 'Not allowed to use this connection' },
  // 200 like policy_denied: clients surface the JSON-RPC error rather than a transport failure.
  method_not_found: { status: 200, rpc: -32601, message: 'Method not found' },
  // 200 on purpose: a JSON-RPC error in a 200 reaches MCP clients as a tool error the agent can read
  // (an HTTP 4xx makes SDK clients throw a transport error instead).
  policy_denied: { status: 200, rpc: -32006, message: 'Denied by policy' },
  // Content inspection (docs/detections.md): a detection rule whose action is `block` matched. 200
  // like policy_denied for MCP (the agent reads the JSON-RPC error); LLM routes answer 403
  // (workers/llm/llm.errors.ts). Names the rule and category, never the matched text.
  content_blocked: { status: 200, rpc: -32014, message: 'Blocked by content inspection' },
  // Content inspection of an LLM passthrough call (docs/detections.md#passthrough): a `redact` rule
  // matched a value where the gateway forwards the caller's bytes as sent (an upload, a form, JSON
  // lines, text, the query) and cannot put a placeholder: refused rather than passed unmasked. Names
  // the rule and where (`details.location`), never the value.
  inspection_unmaskable: { status: 422, rpc: -32023, message: 'Content cannot be masked' },
  budget_exceeded: { status: 402, rpc: -32008, message: 'Budget exceeded' },
  // Tool integrity (docs/tool-integrity.md): the item is quarantined, or (discovery fail_closed)
  // its current definition is not approved. 200 like policy_denied, so the agent can read it.
  tool_not_approved: { status: 200, rpc: -32013, message: 'Tool not approved' },
  // The connection's latest MCP scan has an unsuppressed critical finding and the connection sets
  // `blockOnCriticalScan` (docs/tool-integrity.md#blocking-on-a-critical-finding). 200 likewise.
  connection_blocked: { status: 200, rpc: -32016, message: 'Connection blocked by a scan finding' },
  // A rule with `action: "approve"` matched (docs/policies.md#approvals): the call is held until an
  // approver allows this exact call. 200 like policy_denied for MCP/A2A; LLM routes answer 403.
  approval_required: { status: 200, rpc: -32015, message: 'Approval required' },
  // OAuth upstream mode (docs/oauth.md#upstream-mode): the calling member has not linked their own
  // upstream account (or it was revoked); the message and details.connectUrl say where to link it.
  // 200 like approval_required for MCP/A2A, so the agent can show the link; LLM routes answer 403.
  upstream_auth_required: { status: 200, rpc: -32017, message: 'Upstream account not linked' },
  // A2A (docs/a2a.md#who-may-address-a-task): the task a call names was not created through this
  // connection by this caller — or does not exist, or predates ownership records: one answer for
  // all three, so it reveals nothing about other callers' tasks. 200 like policy_denied (the SDK
  // raises the JSON-RPC error); outside A2A's reserved range (-32001…-32009, TaskNotFound is -32001).
  task_not_found: { status: 200, rpc: -32018, message: 'Task not found' },
  // MCP tasks (docs/policies.md#mcp-tasks): the same refusal in MCP's shape — Invalid params, as
  // an MCP server answers a task id it does not know, so a client cannot tell the two apart.
  mcp_task_not_found: { status: 200, rpc: -32602, message: 'Task not found' },
  // A JSON-RPC response the client sent that answers no server request the gateway relayed to this
  // connection and session (its id is not one the gateway minted: workers/gateway/mcp.server-ids.ts).
  // A response gets no JSON-RPC answer: the caller sees the status and an empty body.
  unsolicited_response: { status: 400, rpc: -32600, message: 'Response to no request of this session' },
  // A2A (docs/a2a.md#who-may-continue-a-context): the context a send names was first used through
  // this connection by another caller (another key, user or organization). One answer, whoever that
  // is; an id nobody used here is not refused (clients may mint their own). 200 like task_not_found.
  context_not_found: { status: 200, rpc: -32021, message: 'Context not found' },
  // LLM Responses API (docs/llm-gateway.md#stored-responses): the stored response a call names
  // (`previous_response_id`, `/responses/{id}`) was not created through this connection by this
  // caller — or does not exist, or was not created through the gateway: one answer for all, in
  // the shape a provider answers an unknown id (404), so it reveals nothing about other callers.
  response_not_found: { status: 404, rpc: -32004, message: 'Response not found' },
  // The same for the other stored LLM objects the gateway records a creator for
  // (docs/llm-gateway.md#stored-objects): an output item named in a create's input, a stored chat
  // completion, a file (by path, as a batch's input_file_id, or in an input), a batch.
  object_not_found: { status: 404, rpc: -32004, message: 'Object not found' },
  // The gateway does not know who owns a Conversations API conversation, so it forwards no
  // request naming one (`conversation` in a Responses create, `/conversations/{id}`).
  conversation_unverifiable: {
    status: 400,
    rpc: -32602,
    message:
      'The gateway cannot verify who owns a conversation: continue a conversation with previous_response_id instead',
  },
  // Stored objects the gateway records no creator for (Assistants, threads, containers, evals,
  // videos: docs/llm-gateway.md#stored-objects) are the provider account's, shared by every caller
  // of the connection: refused unless the connection says its callers may share them.
  shared_object_refused: {
    status: 403,
    rpc: -32003,
    message:
      "The gateway cannot tell who owns this provider object, so it keeps it from every caller: a connection whose callers may share all its provider's stored objects sets settings.sharedProviderObjects",
  },
  rate_limited: { status: 429, rpc: -32029, message: 'Rate limit exceeded' },
  // A call to hold for approval when its caller (on this connection) or its organization already has
  // as many unexpired approvals pending as allowed (docs/policies.md#how-many-approvals-may-wait):
  // refused, nothing created. 429 on every route, like a rate limit, since it clears with time.
  approvals_pending_limit: { status: 429, rpc: -32022, message: 'Too many pending approvals' },
  // A create that would pass one of an organization's count limits (teams, system prompts, custom
  // detection rules, keys…: workers/shared/count.limits.ts, docs/permissions.md#how-many-of-each):
  // refused, nothing written. 409, not 429: it does not clear with time — something must be deleted.
  limit_reached: { status: 409, rpc: -32024, message: 'Limit reached' },
  // Something old whose content a retention rule pruned (a policy version past the newest 200 of
  // its connection, a scan past the newest 200): what is kept of it (hash, author, time) is in
  // the details. 410: it existed and will not come back.
  pruned: { status: 410, rpc: -32004, message: 'Pruned by retention' },
  // 5xx — ours or the upstream's.
  internal: { status: 500, rpc: -32603, message: 'Internal error' },
  // Production without PUBLIC_BASE_URL / DASHBOARD_ORIGINS: links in mails would have to come from
  // the request's Host header, which an attacker controls, so no mail is sent.
  mail_not_configured: { status: 503, rpc: -32603, message: 'Email links are not configured' },
  guard_unavailable: { status: 503, rpc: -32603, message: 'Security check unavailable' },
  policy_unavailable: { status: 503, rpc: -32603, message: 'Policy unavailable' },
  metrics_unavailable: { status: 503, rpc: -32603, message: 'Metrics unavailable' },
  session_suspended: { status: 503, rpc: -32010, message: 'Session Suspended' },
  upstream_unreachable: { status: 502, rpc: -32011, message: 'Upstream unreachable' },
  upstream_timeout: { status: 504, rpc: -32012, message: 'Upstream timed out' },
  // The upstream's answer holds a message (a JSON body, an SSE event) longer than the gateway reads
  // to inspect it (gateway.rewrite.ts MAX_ANSWER_MESSAGE_BYTES): refused rather than passed unchecked.
  upstream_too_large: { status: 502, rpc: -32019, message: 'Upstream answer too large' },
  // The upstream's answer was nothing but a message the gateway does not relay (a server request
  // whose id cannot be minted, mcp.server-requests.ts): there is nothing left to pass on.
  upstream_invalid_answer: { status: 502, rpc: -32025, message: 'Upstream answer refused' },
} as const satisfies Record<string, { status: number; rpc: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Where a validation problem was: which part of the request, and the path inside it. */
export interface ErrorLocation {
  location: 'body' | 'query' | 'path' | 'header' | 'cookie';
  path?: string;
}

export interface AppErrorOptions {
  /** Safe, caller-facing text that replaces the generic message (never secrets, never internals). */
  message?: string;
  /** Structured, caller-safe detail (field issues, the rule that refused, retry hints). */
  details?: unknown;
  /** Logged, never sent. */
  internal?: unknown;
  headers?: Record<string, string>;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;
  readonly internal: unknown;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, options: AppErrorOptions = {}) {
    super(options.message ?? ERROR_CODES[code].message);
    this.name = 'AppError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.details = options.details;
    this.internal = options.internal;
    this.headers = options.headers ?? {};
  }

  get rpcCode(): number {
    return ERROR_CODES[this.code].rpc;
  }
}

/** Anything thrown that is not an AppError is an internal error: its text stays in the logs. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  return new AppError('internal', { internal: err });
}

/** Strings of error details deeper than this are left out (details are small, flat objects). */
const MAX_DETAIL_DEPTH = 6;

/** `value` with every string in it (keys included) cleared of what a credential detector knows. */
function safeDetails(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_DETAIL_DEPTH) return '[…]';
  if (Array.isArray(value)) return value.map((v) => safeDetails(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[redactSecrets(k)] = safeDetails(v, depth + 1);
  return out;
}

/** An error's message and details as every wire shape sends them: no credential in either. */
export function echoSafe(err: AppError): { message: string; details: unknown } {
  return {
    message: redactSecrets(err.message),
    details: err.details === undefined ? undefined : safeDetails(err.details, 0),
  };
}

export interface RestErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

export function restErrorBody(err: AppError): RestErrorBody {
  const { message, details } = echoSafe(err);
  return {
    error: {
      code: err.code,
      message,
      ...(details === undefined ? {} : { details }),
    },
  };
}

export interface JsonRpcErrorBody {
  jsonrpc: '2.0';
  id: string | number | null;
  error: {
    code: number;
    message: string;
    data: { code: ErrorCode; traceId?: string; approvalId?: string; approvalUrl?: string; details?: unknown };
  };
}

export function jsonRpcErrorBody(
  err: AppError,
  id: string | number | null,
  traceId: string | undefined,
): JsonRpcErrorBody {
  const { message, details } = echoSafe(err);
  const data: JsonRpcErrorBody['error']['data'] = { code: err.code };
  if (traceId) data.traceId = traceId;
  if (details !== undefined) data.details = details;
  // A held call names its approval at the top of `data`, where an agent looks first.
  if (err.code === 'approval_required') {
    const { approvalId, approvalUrl } = (err.details ?? {}) as { approvalId?: string; approvalUrl?: string };
    if (approvalId) data.approvalId = approvalId;
    if (approvalUrl) data.approvalUrl = approvalUrl;
  }
  return { jsonrpc: '2.0', id, error: { code: err.rpcCode, message, data } };
}
