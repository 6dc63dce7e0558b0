/**
 * The gateway's request path, in order. Read this file top to bottom to know what happens to an
 * MCP call; each stage lives in its own module and this file only sequences them.
 *
 *   1. authenticate        — who is calling. Nothing else runs, and nothing is revealed, before this.
 *   2. resolve connection  — only inside the caller's organization: another tenant's slug is "not found".
 *   3. identity            — X-Igris-User / Trace-Id / Metadata; advisory, recorded with every decision.
 *   4. protocol checks     — origin (403), size (413), JSON-RPC shape (-32700/-32600), and
 *                            mirrored headers agreeing with the body (400 -32020): decisions are
 *                            made on exactly the message that will be forwarded, never on a
 *                            different reading of it (gateway.origin.ts, gateway.jsonrpc.ts,
 *                            gateway.protocol.ts).
 *   5. policy              — pure, in memory (compiled policy from KV, cached in the isolate), one
 *                            decision per JSON-RPC message (gateway.decide.ts).
 *   6. guard               — ONE Durable Object round trip: kill switch (wins over everything),
 *                            rate windows (for the matched rule), and the durable audit spool. The
 *                            row is on disk before the gateway answers, whatever the answer.
 *   7. forward             — transport only; the upstream's answer is streamed back as it arrives
 *                            (gateway.forward.ts). Upstream statuses and bodies pass unchanged:
 *                            clients negotiate protocol versions on upstream 4xx bodies.
 *   8. filter lists        — policy on the way back: tools/resources/prompts the caller could
 *                            never use are removed from list results, event by event for SSE
 *                            (gateway.lists.ts).
 *   9. outcome             — status and latency patched into the audit row off the hot path
 *                            (waitUntil); the guard publishes the live event from there.
 *
 * Refusals at any stage are answered by gateway.respond.ts, after their audit row is spooled.
 */
import type { Context } from 'hono';
import type { AuditOutcome } from '../../durable-objects/audit.spool';
import { type AdmitResult, agentSessionId, type RateCheck } from '../../durable-objects/connection-guard.do';
import type { AppEnv, Principal } from '../app.types';
import { bearerApiKey, unauthorized } from '../auth/api-key.auth';
import { ensureBootstrapped } from '../bootstrap/bootstrap';
import type { AuditEventInsert } from '../db/schema';
import { endStreamOnKill, type StreamWatch } from '../killswitch/killswitch.stream';
import { AppError, toAppError } from '../lib/errors';
import { eventId } from '../lib/ids';
import { log } from '../lib/log';
import { type CompiledPolicy, evaluate } from '../policy/policy.evaluate';
import { resolveGovernedName } from '../policy/policy.methods';
import { loadPolicy } from '../policy/policy.store';
import { spoolRefusal } from './gateway.audit';
import {
  authenticateAndResolve,
  connectionNotFound,
  type ResolvedConnection,
  upstreamCredential,
} from './gateway.connection';
import { auditRows, decideAll, firstRefusal, type MessageDecision } from './gateway.decide';
import { forward } from './gateway.forward';
import { type CallIdentity, readIdentity, TRACE_HEADER } from './gateway.identity';
import { type ParsedBody, parseJsonRpc, readBodyCapped, replyId } from './gateway.jsonrpc';
import { ListFilter, pendingLists } from './gateway.lists';
import { corsHeaders, isOriginAllowed, ownOrigins } from './gateway.origin';
import { checkHeaderAgreement } from './gateway.protocol';
import { respondError, respondRefusedBatch } from './gateway.respond';

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
  /** CORS headers once the caller's Origin has been accepted (empty for non-browser callers). */
  cors: Record<string, string>;
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
    cors: {},
  };
  try {
    await ensureBootstrapped(c.env);

    // 1. Authenticate, and 2. resolve the connection within the caller's organization — one D1
    // query for both; the key is judged first, so only an authenticated caller learns about slugs.
    const key = bearerApiKey(c.req.header('Authorization'));
    if (!key) throw unauthorized();
    const { auth, connection: found } = await authenticateAndResolve(c.env.DB, key, state.slug);
    state.principal = auth.principal;
    if (auth.touch) c.executionCtx.waitUntil(auth.touch.catch(() => {}));
    if (!found) throw connectionNotFound();
    const connection = found;
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

    // 4. Protocol checks. Origin first: a browser page that may not call this connection gets
    // nothing read from its body.
    checkOrigin(c, state, connection);
    let body: string | null = null;
    let policy: CompiledPolicy | null = null;
    let decisions: MessageDecision[] = [];
    if (httpMethod === 'POST') {
      state.parsed = await readMessages(c.req.raw, connection);
      const mismatch = checkHeaderAgreement(c.req.raw.headers, state.parsed);
      if (mismatch) throw mismatch;

      // 5. Policy, per message.
      policy = await loadPolicy(c.env, connection.orgId, connection.id);
      const compiled = policy;
      decisions = decideAll(state.parsed.messages, state.identity, (req) => evaluate(compiled, req));
      // Forward the serialization of what was decided on, not the raw bytes: a body with duplicate
      // keys ({"name":"safe","name":"evil"}) could otherwise be read differently upstream.
      body = JSON.stringify(state.parsed.batch ? state.parsed.messages : state.parsed.messages[0]);
    }

    // 6. Guard: kill switch and rate windows, and the audit rows spooled durably. A call the policy
    // refused counts against no rate window; the kill switch still wins over the policy's answer.
    const refusal = firstRefusal(decisions);
    const rows = callRows(c, state, decisions, policy);
    const checks = refusal ? [] : rateChecks(decisions, state);
    const verdict = await admit(c, state, connection, rows, checks, refusal !== null);
    if (verdict.verdict === 'killed') {
      return reply(
        state,
        new AppError('session_suspended', { details: { scope: verdict.scope, reason: verdict.reason } }),
      );
    }
    if (refusal) {
      return state.parsed?.batch ? respondRefusedBatch(state, decisions) : reply(state, refusal);
    }
    if (verdict.verdict === 'rate_limited') {
      return reply(
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
      return reply(state, appErr);
    }

    // 8. Filter list results. POST: the responses to this body's list requests, by id. A GET
    // that resumes a stream (Last-Event-ID) may replay a list response, recognised by shape.
    let response = result.response;
    if (state.parsed && policy) {
      response = await new ListFilter(policy, pendingLists(state.parsed.messages)).apply(response);
    } else if (httpMethod === 'GET' && c.req.header('Last-Event-ID') !== undefined) {
      const current = await loadPolicy(c.env, connection.orgId, connection.id);
      response = await new ListFilter(current, null).apply(response);
    }

    // 9. Outcome, off the hot path.
    complete(c, connection, rows, { upstreamStatus: response.status, latencyMs: result.latencyMs });
    response.headers.set(TRACE_HEADER, state.traceId);
    for (const [name, value] of Object.entries(state.cors)) response.headers.set(name, value);
    // An open SSE stream ends when a kill switch that matches this call is pulled.
    return endStreamOnKill(c.env, c.executionCtx, killWatch(state, connection), response);
  } catch (err) {
    const appErr = toAppError(err);
    await auditRefusal(c, state, appErr);
    return reply(state, appErr);
  }
}

/** What the kill-switch watch of an SSE response matches on (workers/killswitch/killswitch.stream.ts). */
function killWatch(state: CallState, connection: ResolvedConnection): StreamWatch {
  return {
    orgId: connection.orgId,
    connectionId: connection.id,
    caller: { apiKeyId: state.principal?.apiKeyId ?? null, user: state.identity?.user ?? null },
    requestId: replyId(state.parsed),
    traceId: state.traceId,
  };
}

/** 403 for a browser Origin this connection does not allow; CORS headers for one it does. */
function checkOrigin(c: GatewayContext, state: CallState, connection: ResolvedConnection): void {
  const origin = c.req.header('Origin') ?? null;
  if (origin === null) return;
  const allowed = [
    ...ownOrigins(c.req.url, c.env.PUBLIC_BASE_URL ?? ''),
    ...connection.settings.allowedOrigins,
  ];
  if (!isOriginAllowed(origin, allowed)) {
    throw new AppError('origin_forbidden', {
      message: 'Origin not allowed: add it to the connection’s allowedOrigins to call it from a browser',
      details: { location: 'header', path: 'Origin' },
    });
  }
  state.cors = corsHeaders(origin);
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

/** The audit rows of a call that reached the guard: one per message, or one for a GET/DELETE. */
function callRows(
  c: GatewayContext,
  state: CallState,
  decisions: MessageDecision[],
  policy: CompiledPolicy | null,
): AuditEventInsert[] {
  const base = baseRow(state);
  if (decisions.length === 0) {
    const resumed = c.req.header('Last-Event-ID') !== undefined;
    return [
      { ...base, action: 'pass', details: { http: state.httpMethod, ...(resumed ? { resumed } : {}) } },
    ];
  }
  return auditRows(base, decisions, policy?.version ?? null, c.req.header('traceparent') ?? null);
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
  const single = state.parsed && !state.parsed.batch ? state.parsed.messages[0] : undefined;
  const row: AuditEventInsert = {
    ...baseRow(state),
    action: err.code === 'unauthorized' ? 'unauthenticated' : 'error',
    errorCode: err.code,
    method: single?.method ?? null,
    tool: single?.method ? governedNameOrNull(single.method, single.params) : null,
    details: { http: state.httpMethod, ...(err.code === 'unauthorized' ? {} : { refusal: err.message }) },
  };
  try {
    await spoolRefusal(c.env, [row]);
  } catch (spoolErr) {
    log('error', 'refusal audit could not be spooled', { err: spoolErr, code: err.code });
  }
}

function governedNameOrNull(method: string, params: unknown): string | null {
  const governed = resolveGovernedName(method, params);
  return governed.kind === 'governed' ? governed.name : null;
}

function reply(state: CallState, err: AppError): Response {
  return respondError(state, err, replyId(state.parsed));
}
