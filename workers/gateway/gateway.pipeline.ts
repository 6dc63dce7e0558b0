/**
 * The gateway's request path, in order. Read this file top to bottom to know what happens to an
 * MCP call; each stage lives in its own module and this file only sequences them.
 *
 *   1. authenticate        — who is calling. Nothing else runs, and nothing is revealed, before this.
 *   2. resolve connection  — only inside the caller's organization: another tenant's slug is "not found".
 *   3. identity            — X-Igris-User / Trace-Id / Metadata; advisory, recorded with every decision.
 *   4. protocol checks     — origin, size, JSON-RPC shape, header/body agreement: decisions are made
 *                            on exactly the message that will be forwarded, never on a different reading.
 *   5. policy              — pure, in memory (compiled policy from KV, cached in the isolate).
 *   6. guard               — ONE Durable Object round trip: kill switch (wins over everything),
 *                            rate windows (for the matched rule), and the durable audit spool. The
 *                            row is on disk before the gateway answers, whatever the answer.
 *   7. forward             — transport only; the upstream's answer is streamed back as it arrives.
 *   8. outcome             — status and latency patched into the audit row off the hot path
 *                            (waitUntil); the guard publishes the live event from there.
 *
 * Refusals at any stage are answered by `respondError`, after their audit row is spooled.
 */
import type { Context } from 'hono';
import type { AuditOutcome } from '../../durable-objects/audit.spool';
import { type AdmitResult, agentSessionId, type RateCheck } from '../../durable-objects/connection-guard.do';
import type { AppEnv, Principal } from '../app.types';
import { authenticateApiKey, bearerApiKey, unauthorized } from '../auth/api-key.auth';
import { ensureBootstrapped } from '../bootstrap/bootstrap';
import type { AuditEventInsert } from '../db/schema';
import { AppError, jsonRpcErrorBody, toAppError } from '../lib/errors';
import { eventId } from '../lib/ids';
import { log } from '../lib/log';
import { type Decision, evaluate } from '../policy/policy.evaluate';
import { resolveGovernedName } from '../policy/policy.methods';
import { loadPolicy } from '../policy/policy.store';
import { spoolRefusal } from './gateway.audit';
import { type ResolvedConnection, resolveConnection, upstreamCredential } from './gateway.connection';
import { forward } from './gateway.forward';
import { type CallIdentity, readIdentity, TRACE_HEADER } from './gateway.identity';
import {
  type JsonRpcMessage,
  messageKind,
  type ParsedBody,
  parseJsonRpc,
  readBodyCapped,
  replyId,
} from './gateway.jsonrpc';

type GatewayContext = Context<AppEnv>;
type HttpMethod = 'GET' | 'POST' | 'DELETE';

/** What the gateway knows about a call so far; every refusal's audit row is built from it. */
interface CallState {
  id: string;
  started: number;
  slug: string;
  httpMethod: HttpMethod;
  traceId: string;
  principal: Principal | null;
  connection: ResolvedConnection | null;
  identity: CallIdentity | null;
  parsed: ParsedBody | null;
  mcpSessionId: string | null;
}

export async function handleGateway(c: GatewayContext, httpMethod: HttpMethod): Promise<Response> {
  const state: CallState = {
    id: eventId(),
    started: Date.now(),
    slug: c.req.param('slug') ?? '',
    httpMethod,
    traceId: readIdentity(c.req.raw.headers).traceId,
    principal: null,
    connection: null,
    identity: null,
    parsed: null,
    mcpSessionId: c.req.header('Mcp-Session-Id') ?? null,
  };
  try {
    await ensureBootstrapped(c.env);

    // 1. Authenticate.
    state.principal = await authenticate(c);

    // 2. Resolve the connection within the caller's organization.
    const connection = await resolveConnection(c.env.DB, state.principal.orgId, state.slug);
    state.connection = connection;
    if (!connection.enabled) throw new AppError('connection_disabled');
    if (connection.type !== 'mcp') {
      throw new AppError('not_found', {
        message: 'Not an MCP connection',
        details: { location: 'path', path: 'slug' },
      });
    }

    // 3. Identity.
    state.identity = readIdentity(c.req.raw.headers);
    state.traceId = state.identity.traceId;

    // 4. Protocol checks, then 5. policy, per message.
    let body: string | null = null;
    let decisions: MessageDecision[] = [];
    if (httpMethod === 'POST') {
      state.parsed = await readMessages(c.req.raw, connection);
      const policy = await loadPolicy(c.env, connection.orgId, connection.id);
      decisions = state.parsed.messages.map((message) =>
        decideMessage(message, state.identity!, (req) => evaluate(policy, req)),
      );
      // Forward the serialization of what was decided on, not the raw bytes: a body with duplicate
      // keys ({"name":"safe","name":"evil"}) could otherwise be read differently upstream.
      body = JSON.stringify(state.parsed.batch ? state.parsed.messages : state.parsed.messages[0]);
    }

    // 6. Guard: kill switch and rate windows, and the audit rows spooled durably. A call the policy
    // refused counts against no rate window; the kill switch still wins over the policy's answer.
    const refusal = decisions.find((d) => d.refusal)?.refusal ?? null;
    const rows = auditRows(state, decisions);
    const checks = refusal ? [] : rateChecks(decisions, state);
    const verdict = await admit(c, state, connection, rows, checks, refusal !== null);
    if (verdict.verdict === 'killed') {
      return respondError(
        state,
        new AppError('session_suspended', { details: { scope: verdict.scope, reason: verdict.reason } }),
      );
    }
    if (refusal) return respondError(state, refusal);
    if (verdict.verdict === 'rate_limited') {
      return respondError(
        state,
        new AppError('rate_limited', {
          headers: { 'Retry-After': String(verdict.retryAfterSeconds) },
          details: {
            ruleIndex: verdict.ruleIndex,
            limit: verdict.limit,
            windowSeconds: verdict.windowSeconds,
            retryAfterSeconds: verdict.retryAfterSeconds,
          },
        }),
      );
    }

    // 7. Forward.
    const credential = await upstreamCredential(c.env, connection);
    let result: Awaited<ReturnType<typeof forward>>;
    try {
      result = await forward(
        httpMethod,
        c.req.raw,
        {
          url: connection.upstreamUrl,
          authType: connection.authType,
          authHeaderName: connection.authHeaderName,
          credential,
          timeoutMs: connection.settings.upstreamTimeoutMs,
        },
        body,
      );
    } catch (err) {
      const appErr = toAppError(err);
      complete(c, connection, rows, {
        upstreamStatus: null,
        latencyMs: Date.now() - state.started,
        errorCode: appErr.code,
      });
      return respondError(state, appErr);
    }

    // 8. Outcome, off the hot path.
    complete(c, connection, rows, { upstreamStatus: result.response.status, latencyMs: result.latencyMs });
    result.response.headers.set(TRACE_HEADER, state.traceId);
    return result.response;
  } catch (err) {
    const appErr = toAppError(err);
    await auditRefusal(c, state, appErr);
    return respondError(state, appErr);
  }
}

async function authenticate(c: GatewayContext): Promise<Principal> {
  const key = bearerApiKey(c.req.header('Authorization'));
  if (!key) throw unauthorized();
  const { principal, touch } = await authenticateApiKey(c.env.DB, key);
  if (touch) c.executionCtx.waitUntil(touch.catch(() => {}));
  return principal;
}

async function readMessages(request: Request, connection: ResolvedConnection): Promise<ParsedBody> {
  const contentType = request.headers.get('Content-Type') ?? '';
  if (!/^application\/json\b/i.test(contentType)) {
    throw new AppError('unsupported_media_type', {
      message: 'Content-Type must be application/json',
      details: { location: 'header', path: 'Content-Type' },
    });
  }
  const bytes = await readBodyCapped(request, connection.settings.maxBodyBytes);
  return parseJsonRpc(bytes);
}

interface MessageDecision {
  message: JsonRpcMessage;
  /** The governed name (tool, `resource:…`, `prompt:…`), null for ungoverned methods. */
  tool: string | null;
  decision: Decision | null;
  /** Set when this message must not be forwarded. */
  refusal: AppError | null;
}

function decideMessage(
  message: JsonRpcMessage,
  identity: CallIdentity,
  decide: (req: { tool: string; user: string | null; metadata: Record<string, unknown> | null }) => Decision,
): MessageDecision {
  if (messageKind(message) !== 'request') return { message, tool: null, decision: null, refusal: null };
  const governed = resolveGovernedName(message.method!, message.params);
  if (governed.kind === 'ungoverned') return { message, tool: null, decision: null, refusal: null };
  if (governed.kind === 'invalid') {
    return {
      message,
      tool: null,
      decision: null,
      refusal: new AppError('validation_failed', {
        message: governed.message,
        details: { location: 'body', path: 'params' },
      }),
    };
  }
  const decision = decide({ tool: governed.name, user: identity.user, metadata: identity.metadata });
  if (decision.action !== 'deny') return { message, tool: governed.name, decision, refusal: null };
  const reason = decision.reason ?? 'denied by policy';
  return {
    message,
    tool: governed.name,
    decision,
    refusal: new AppError('policy_denied', {
      message: `Denied by policy: ${reason} (trace ${identity.traceId})`,
      details: { reason, ruleIndex: decision.ruleIndex, policyVersion: decision.policyVersion },
    }),
  };
}

function auditRows(state: CallState, decisions: MessageDecision[]): AuditEventInsert[] {
  const base = baseRow(state);
  if (decisions.length === 0) return [{ ...base, action: 'pass', details: { http: state.httpMethod } }];
  return decisions.map((d, i) => ({
    ...base,
    id: i === 0 ? state.id : `${state.id}_${i}`,
    type: d.message.method === 'tools/call' ? 'tool_call' : 'request',
    method: d.message.method ?? (messageKind(d.message) === 'response' ? 'response' : null),
    tool: d.tool,
    action: d.refusal ? (d.decision?.action === 'deny' ? 'deny' : 'error') : (d.decision?.action ?? 'pass'),
    ruleIndex: d.decision?.ruleIndex ?? null,
    policyVersion: d.decision?.policyVersion ?? null,
    errorCode: d.refusal?.code ?? null,
    details: d.decision?.reason ? { reason: d.decision.reason } : null,
  }));
}

function baseRow(state: CallState): AuditEventInsert {
  return {
    id: state.id,
    orgId: state.principal?.orgId ?? null,
    type: 'request',
    connectionId: state.connection?.id ?? null,
    connectionSlug: state.slug || null,
    apiKeyId: state.principal?.apiKeyId ?? null,
    actor: state.principal?.actor ?? null,
    user: state.identity?.user ?? null,
    traceId: state.traceId,
    metadata: state.identity?.metadata ?? null,
    metadataError: state.identity?.metadataError ?? null,
    mcpSessionId: state.mcpSessionId,
    action: 'pass',
    createdAt: state.started,
  };
}

/** The rate windows of the matched rules, each keyed by what its `by` names for this call. */
function rateChecks(decisions: MessageDecision[], state: CallState): RateCheck[] {
  const checks: RateCheck[] = [];
  for (const d of decisions) {
    const limit = d.decision?.rateLimit;
    if (!limit || d.decision!.ruleIndex === null) continue;
    checks.push({
      ruleIndex: d.decision!.ruleIndex,
      key: `v${d.decision!.policyVersion}:r${d.decision!.ruleIndex}:${limit.by}=${rateKeyValue(limit.by, state)}`,
      limit: limit.limit,
      windowSeconds: limit.windowSeconds,
    });
  }
  return checks;
}

/** Calls with no value for the `by` field share one bucket per rule ("(none)"), so omitting it is no way around a limit. */
function rateKeyValue(by: string, state: CallState): string {
  if (by === 'user') return state.identity?.user ?? '(none)';
  if (by === 'apiKey') return state.principal?.apiKeyId ?? '(none)';
  if (by === 'connection') return state.connection?.id ?? '(none)';
  let value: unknown = state.identity?.metadata ?? undefined;
  for (const key of by.slice('metadata.'.length).split('.')) {
    value =
      value && typeof value === 'object' && !Array.isArray(value)
        ? (value as Record<string, unknown>)[key]
        : undefined;
  }
  return value === undefined || value === null || typeof value === 'object' ? '(none)' : String(value);
}

async function admit(
  c: GatewayContext,
  state: CallState,
  connection: ResolvedConnection,
  rows: AuditEventInsert[],
  checks: RateCheck[],
  final: boolean,
): Promise<AdmitResult> {
  const guard = c.env.GUARD.getByName(`${connection.orgId}:${connection.id}`);
  try {
    return await guard.admit({
      orgId: connection.orgId,
      connectionId: connection.id,
      caller: {
        apiKeyId: state.principal?.apiKeyId ?? null,
        user: state.identity?.user ?? null,
        mcpSessionId: state.mcpSessionId,
      },
      rateChecks: checks,
      audit: rows,
      final,
    });
  } catch (err) {
    if (connection.settings.failMode === 'open') {
      // Documented trade-off (docs/security-model.md): availability over the kill switch and rate
      // windows for this connection. The audit row is still written, to the organization's spool.
      log('warn', 'guard unreachable; failing open as configured', { connectionId: connection.id, err });
      await spoolRefusal(c.env, rows);
      return { verdict: 'admit', sessionId: agentSessionId(connection.id) };
    }
    throw new AppError('guard_unavailable', { internal: err });
  }
}

function complete(
  c: GatewayContext,
  connection: ResolvedConnection,
  rows: AuditEventInsert[],
  outcome: AuditOutcome,
) {
  const guard = c.env.GUARD.getByName(`${connection.orgId}:${connection.id}`);
  c.executionCtx.waitUntil(
    Promise.all(rows.map((row) => guard.complete(row.id, outcome))).catch((err: unknown) =>
      log('warn', 'audit outcome not recorded; the row will be flushed as outcome_unknown', { err }),
    ),
  );
}

/** A refusal before the guard was reached: its row goes to the organization's (or anonymous) spool. */
async function auditRefusal(c: GatewayContext, state: CallState, err: AppError): Promise<void> {
  const row: AuditEventInsert = {
    ...baseRow(state),
    action: err.code === 'unauthorized' ? 'unauthenticated' : 'error',
    errorCode: err.code,
    method: state.parsed && !state.parsed.batch ? (state.parsed.messages[0]?.method ?? null) : null,
    details: { http: state.httpMethod },
  };
  try {
    await spoolRefusal(c.env, [row]);
  } catch (spoolErr) {
    log('error', 'refusal audit could not be spooled', { err: spoolErr, code: err.code });
  }
}

function respondError(state: CallState, err: AppError): Response {
  if (err.status >= 500)
    log('error', 'gateway error', { code: err.code, internal: err.internal, traceId: state.traceId });
  const body = jsonRpcErrorBody(err, replyId(state.parsed), state.traceId);
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    [TRACE_HEADER]: state.traceId,
    ...err.headers,
  };
  return new Response(JSON.stringify(body), { status: err.status, headers });
}
