/**
 * The call core: what happens to every call through the gateway, whatever its protocol, in order.
 * Read this file top to bottom; the protocol's own questions go to its adapter (gateway.adapter.ts:
 * MCP in mcp.adapter.ts), each stage lives in its own module, and this file only sequences them.
 *
 *   1. authenticate        — who is calling. Nothing else runs, and nothing is revealed, before this.
 *   2. resolve connection  — only inside the caller's organization: another tenant's slug is "not found".
 *   3. identity            — X-Igris-User / Trace-Id / Metadata; advisory, recorded with every decision.
 *   4. protocol checks     — origin (403), then the adapter reads the request into governed units
 *                            and checks them (size, shape, mirrored headers): decisions are made on
 *                            exactly what will be forwarded, never on a different reading of it.
 *   5. policy              — pure, in memory (compiled policy from KV, cached in the isolate), one
 *                            decision per unit (adapter.decide), then the request stages
 *                            (gateway.stages.ts), then adapter.settle (a batch refused whole).
 *   5b. budgets           — the call's estimated cost reserved against every budget it falls under
 *                            (workers/budgets/budget.gate.ts; one Durable Object per budget), settled
 *                            with the actual cost at step 9. At a `block` budget's limit: a refusal.
 *   6. guard               — ONE Durable Object round trip: kill switch (wins over everything),
 *                            rate windows (for the matched rules), and the durable audit spool. The
 *                            rows are on disk before the gateway answers, whatever the answer.
 *   7. forward             — transport only; the answer is streamed back as it arrives
 *                            (gateway.forward.ts). Upstream statuses and bodies pass unchanged.
 *   8. response stages     — per message of the answer, JSON, batch or SSE event by event
 *                            (gateway.rewrite.ts): the adapter's stages, then the shared ones.
 *   9. outcome             — status, latency and the stages' findings patched into the audit rows
 *                            off the hot path (waitUntil); the guard publishes the live event.
 *
 * Refusals at any stage are answered in the adapter's wire shape, after their audit row is spooled.
 */
import type { Context } from 'hono';
import { guardFor } from '../../durable-objects/do.client';
import type { AdmitResult, RateCheck } from '../../durable-objects/guard.contract';
import { agentSessionId } from '../../durable-objects/guard.contract';
import type { AppEnv, Principal } from '../app.types';
import { unauthorized } from '../auth/api-key.auth';
import { ensureBootstrapped } from '../bootstrap/bootstrap';
import { type BudgetHold, reserveBudgets } from '../budgets/budget.gate';
import type { AuditEventInsert } from '../db/schema';
import { budgetsOf, loadGovernance, teamsOf } from '../governance/governance.cache';
import { type CallInspection, loadCallInspection } from '../inspection/inspection.load';
import { loadCallIntegrity } from '../integrity/integrity.state';
import type { CallIntegrity } from '../integrity/integrity.types';
import { endStreamOnKill, type StreamWatch } from '../killswitch/killswitch.stream';
import { AppError, toAppError } from '../lib/errors';
import { eventId } from '../lib/ids';
import { log } from '../lib/log';
import { authenticateGatewayCaller, withOAuthChallenge } from '../oauth/oauth.gateway';
import type { CompiledPolicy } from '../policy/policy.evaluate';
import { loadPolicy } from '../policy/policy.store';
import { selectPrompt } from '../prompts/prompt.select';
import { callRow } from '../shared/audit.row';
import type { HttpMethod, ParsedRequest, ProtocolAdapter } from './gateway.adapter';
import { refusalSource, spoolRefusal } from './gateway.audit';
import {
  connectionNotFound,
  type ResolvedConnection,
  requireConnectionUse,
  upstreamCredential,
} from './gateway.connection';
import { attachFindings } from './gateway.findings';
import { forward } from './gateway.forward';
import { type CallIdentity, readIdentity, TRACE_HEADER } from './gateway.identity';
import { corsHeaders, isOriginAllowed, ownOrigins } from './gateway.origin';
import { CallOutcomes } from './gateway.outcome';
import { rateChecks } from './gateway.rates';
import { rewriteResponse } from './gateway.rewrite';
import {
  SHARED_REQUEST_STAGES,
  SHARED_RESPONSE_STAGES,
  type StageCall,
  type UnitDecision,
} from './gateway.stages';
import { taintCheck } from './gateway.taint';

type GatewayContext = Context<AppEnv>;

/** What the core knows about a call so far; every refusal's audit row is built from it. */
interface CallState<P> {
  id: string;
  started: number;
  slug: string;
  httpMethod: HttpMethod;
  traceId: string;
  principal: Principal | null;
  connection: ResolvedConnection | null;
  identity: CallIdentity | null;
  parsed: P | null;
  mcpSessionId: string | null;
  /** CORS headers once the caller's Origin has been accepted (empty for non-browser callers). */
  cors: Record<string, string>;
}

export async function handleCall<U, P extends ParsedRequest<U>>(
  c: GatewayContext,
  httpMethod: HttpMethod,
  adapter: ProtocolAdapter<U, P>,
  /** The connection's slug when the route does not carry it as `:slug` (LLM `@slug/model`). */
  slug = c.req.param('slug') ?? '',
): Promise<Response> {
  const state: CallState<P> = {
    id: eventId(),
    started: Date.now(),
    slug,
    httpMethod,
    traceId: readIdentity(c.req.raw.headers).traceId,
    principal: null,
    connection: null,
    identity: null,
    parsed: null,
    mcpSessionId: c.req.header('Mcp-Session-Id') ?? null,
    cors: {},
  };
  let hold: BudgetHold | null = null;
  try {
    await ensureBootstrapped(c.env);

    // 1. Authenticate, and 2. resolve the connection within the caller's organization — one D1
    // query for both; the key is judged first, so only an authenticated caller learns about slugs.
    const key = adapter.readApiKey(c.req.raw);
    if (!key) throw unauthorized();
    // An OAuth access token (MCP and LLM routes) resolves to the member who consented, its
    // audience checked against this connection (workers/oauth/oauth.gateway.ts).
    const {
      auth,
      connection: found,
      email,
    } = await authenticateGatewayCaller(c.env, c.req.url, adapter.protocol, key, state.slug);
    state.principal = auth.principal;
    if (auth.touch) c.executionCtx.waitUntil(auth.touch.catch(() => {}));
    if (!found) throw connectionNotFound();
    const connection = found;
    state.connection = connection;
    // May this key's member use this connection at all (connections:use)? Before anything else
    // about it is revealed (disabled, type) and before the body is read or anything forwarded.
    requireConnectionUse(state.principal, connection);
    if (!connection.enabled) throw new AppError('connection_disabled');
    if (connection.type !== adapter.connectionType) {
      throw new AppError('not_found', {
        message: `Not an ${adapter.protocol.toUpperCase()} connection`,
        details: { location: 'path', path: 'slug' },
      });
    }

    // 3. Identity.
    state.identity = readIdentity(c.req.raw.headers);
    state.traceId = state.identity.traceId;
    // An OAuth call is the person who consented, whatever X-Igris-User says.
    if (email) state.identity.user = email;

    // 4. Protocol checks. Origin first: a browser page that may not call this connection gets
    // nothing read from its body.
    checkOrigin(c, state, connection);
    state.parsed = await adapter.read(c.req.raw, httpMethod, connection);
    const mismatch = state.parsed ? adapter.check(c.req.raw, state.parsed) : null;
    if (mismatch) throw mismatch;
    // A user the request names itself (the OpenAI `user` field) stands in for X-Igris-User.
    if (state.parsed && state.identity.user === null) state.identity.user = adapter.userOf(state.parsed);
    // Teams (policy `team` conditions), budgets and the governed system prompt come from one
    // per-organization snapshot cached in the isolate (governance.cache.ts explains the bound).
    const governance = await loadGovernance(c.env, connection.orgId);
    const subject = {
      apiKeyId: state.principal.apiKeyId,
      userId: state.principal.userId,
      user: state.identity.user,
    };
    const teams = teamsOf(governance, subject);
    state.identity.teams = teams.flatMap((t) => [t.id, t.name]);

    // 5. Policy, per unit, then the request stages, then what a refusal means for the rest.
    let policy: CompiledPolicy | null = null;
    let decisions: UnitDecision<U>[] = [];
    let body: BodyInit | null = null;
    // Tool integrity's hot-path state (quarantined / unapproved items) is read beside the policy,
    // from KV like it (workers/integrity/integrity.state.ts): no D1 query per call.
    let integrity: CallIntegrity | null = null;
    // Content inspection's compiled engine (cached per isolate and configuration) comes with them.
    let inspection: CallInspection | null = null;
    const governing = () =>
      Promise.all([
        loadPolicy(c.env, connection.orgId, connection.id),
        adapter.usesToolIntegrity ? loadCallIntegrity(c.env, connection) : null,
        loadCallInspection(c.env, connection),
      ]);
    const stageCall = (): StageCall => ({
      orgId: connection.orgId,
      connectionId: connection.id,
      identity: state.identity!,
      policy,
      teams,
      prompt: selectPrompt(governance.assignments, connection.id, teams),
      orgName: governance.orgName,
      connectionSlug: connection.slug,
      findings: [],
      integrity,
      inspection,
      deferred: [],
    });
    let call: StageCall | null = null;
    if (state.parsed) {
      [policy, integrity, inspection] = await governing();
      call = stageCall();
      decisions = adapter.decide(state.parsed, state.identity, policy);
      for (const stage of adapter.requestStages) decisions = stage(call, decisions);
      for (const stage of SHARED_REQUEST_STAGES) decisions = stage(call, decisions);
      decisions = adapter.settle(decisions);
      body = adapter.forwardBody(state.parsed);
    } else if (adapter.needsPolicy(c.req.raw, httpMethod)) {
      [policy, integrity, inspection] = await governing();
    }
    call ??= stageCall();

    // 5b. Budgets: only a call nothing else refused reserves; a refusal here is one more refusal.
    const budgets = budgetsOf(governance, subject, teams);
    if (state.parsed && adapter.estimateCostUsd && budgets.length > 0 && !decisions.some((d) => d.refusal)) {
      const gate = await reserveBudgets({
        env: c.env,
        ctx: c.executionCtx,
        budgets,
        amountUsd: await adapter.estimateCostUsd(call, state.parsed, c.env),
        failOpen: connection.settings.failMode === 'open',
        connection: { id: connection.id, slug: connection.slug },
      });
      call.findings.push(...gate.findings);
      hold = gate.hold;
      const budgetRefusal = gate.refusal;
      if (budgetRefusal) decisions = decisions.map((d) => ({ ...d, refusal: d.refusal ?? budgetRefusal }));
    }

    // 6. Guard: kill switch and rate windows, and the audit rows spooled durably. A call the policy
    // refused counts against no rate window; the kill switch still wins over the policy's answer.
    const refusal = decisions.find((d) => d.refusal)?.refusal ?? null;
    const rows = attachFindings(callRows(c, state, adapter, decisions, policy), decisions);
    const keyed = { identity: state.identity, principal: state.principal, connectionId: connection.id };
    const checks = refusal ? [] : rateChecks(decisions, keyed);
    const verdict = await admit(c, state, connection, rows, checks, refusal !== null, decisions);
    if (verdict.verdict !== 'admit') hold?.release();
    if (verdict.verdict === 'killed') {
      return reply(
        adapter,
        state,
        new AppError('session_suspended', { details: { scope: verdict.scope, reason: verdict.reason } }),
      );
    }
    if (refusal) return adapter.respondRefused(state, refusal, decisions, state.parsed!);
    if (verdict.verdict === 'tainted') return reply(adapter, state, taintRefusal(verdict, state.traceId));
    if (verdict.verdict === 'rate_limited') {
      return reply(
        adapter,
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
    const outcomes = new CallOutcomes({
      ctx: c.executionCtx,
      guard: guardFor(c.env, connection.orgId, connection.id),
      rows,
      findings: call.findings,
      tokenChecks: checks.filter((check) => check.unit === 'tokens'),
      atEnd: adapter.completeAtEnd,
      final: () => adapter.finalOutcome(call, state.parsed, c.env),
      budget: hold,
    });
    const credential = await upstreamCredential(c.env, connection);
    let result: Awaited<ReturnType<typeof forward>>;
    try {
      result = await forward(
        httpMethod,
        c.req.raw,
        {
          ...adapter.upstream(connection, state.parsed, c.req.raw),
          authType: connection.authType,
          authHeaderName: connection.authHeaderName,
          credential,
          timeoutMs: connection.settings.upstreamTimeoutMs,
        },
        body,
      );
    } catch (err) {
      const appErr = toAppError(err);
      outcomes.send({ upstreamStatus: null, latencyMs: Date.now() - state.started, errorCode: appErr.code });
      return reply(adapter, state, appErr);
    }

    // 8. Response stages, message by message, and 9. the outcome, off the hot path: at the answer's
    // headers (with the findings known by then), or — for a protocol whose outcome is known only
    // at the end (LLM usage) — when the answer has ended, however it ended.
    const stages = [
      ...adapter.responseStages(call, state.parsed, c.req.raw),
      ...SHARED_RESPONSE_STAGES.flatMap((make) => make(call, null) ?? []),
    ];
    // gatewayMs: what the gateway added (auth, policy, guard, stages) — the metrics' gateway latency.
    const gatewayMs = Math.max(0, Date.now() - state.started - result.latencyMs);
    const answered = { upstreamStatus: result.response.status, latencyMs: result.latencyMs, gatewayMs };
    const response = await rewriteResponse(result.response, {
      stages,
      findings: call.findings,
      onLateFindings: () => outcomes.lateFindings(),
      onBodyDone: (how) => {
        outcomes.bodyDone(how, answered);
        for (const work of call.deferred ?? []) c.executionCtx.waitUntil(work(c.env));
      },
    });
    outcomes.headers(answered);
    response.headers.set(TRACE_HEADER, state.traceId);
    for (const [name, value] of Object.entries(state.cors)) response.headers.set(name, value);
    // An open SSE stream ends when a kill switch that matches this call is pulled.
    return endStreamOnKill(c.env, c.executionCtx, killWatch(adapter, state, connection), response);
  } catch (err) {
    hold?.release(); // a no-op once the outcome settled it
    const appErr = withOAuthChallenge(toAppError(err), c.env, c.req.url, adapter.protocol, state.slug);
    await auditRefusal(c, adapter, state, appErr);
    return reply(adapter, state, appErr);
  }
}

/** What the kill-switch watch of an SSE response matches on (workers/killswitch/killswitch.stream.ts). */
function killWatch<U, P extends ParsedRequest<U>>(
  adapter: ProtocolAdapter<U, P>,
  state: CallState<P>,
  connection: ResolvedConnection,
): StreamWatch {
  return {
    orgId: connection.orgId,
    connectionId: connection.id,
    caller: { apiKeyId: state.principal?.apiKeyId ?? null, user: state.identity?.user ?? null },
    requestId: adapter.replyId(state.parsed),
    traceId: state.traceId,
    lastWords: (notice) => adapter.killedStreamText(state.parsed, state.traceId, notice),
  };
}

/** 403 for a browser Origin this connection does not allow; CORS headers for one it does. */
function checkOrigin<P>(c: GatewayContext, state: CallState<P>, connection: ResolvedConnection): void {
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

/** The audit rows of a call that reached the guard: one per unit (the adapter's), or one for a GET/DELETE. */
function callRows<U, P extends ParsedRequest<U>>(
  c: GatewayContext,
  state: CallState<P>,
  adapter: ProtocolAdapter<U, P>,
  decisions: UnitDecision<U>[],
  policy: CompiledPolicy | null,
): AuditEventInsert[] {
  return adapter.auditRows(baseRow(state), decisions, c.req.raw, state.httpMethod, policy);
}

function baseRow<P>(state: CallState<P>): AuditEventInsert {
  return callRow({
    id: state.id,
    orgId: state.principal?.orgId ?? null,
    connectionId: state.connection?.id ?? null,
    connectionSlug: state.slug || null,
    apiKeyId: state.principal?.apiKeyId ?? null,
    actor: state.principal?.actor ?? null,
    user: state.identity?.user ?? null,
    traceId: state.traceId,
    metadata: state.identity?.metadata ?? null,
    metadataError: state.identity?.metadataError ?? null,
    mcpSessionId: state.mcpSessionId,
    createdAt: state.started,
  });
}

async function admit<P>(
  c: GatewayContext,
  state: CallState<P>,
  connection: ResolvedConnection,
  rows: AuditEventInsert[],
  checks: RateCheck[],
  final: boolean,
  decisions: readonly UnitDecision[],
): Promise<AdmitResult> {
  const caller = {
    apiKeyId: state.principal?.apiKeyId ?? null,
    user: state.identity?.user ?? null,
    mcpSessionId: state.mcpSessionId,
  };
  const traceId = state.identity && !state.identity.traceGenerated ? state.identity.traceId : null;
  const taint = final ? undefined : taintCheck(decisions, { ...caller, traceId });
  try {
    return await guardFor(c.env, connection.orgId, connection.id).admit({
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
      ...(taint ? { taint } : {}),
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

/** The session already touched what the matched rule's `cleanOf` forbids (session taint, issue 22). */
function taintRefusal(verdict: Extract<AdmitResult, { verdict: 'tainted' }>, traceId: string): AppError {
  const labels = verdict.held.join(' + ');
  return new AppError('policy_denied', {
    message: `Denied by policy: this session has touched ${labels}, which this tool may not follow (trace ${traceId})`,
    details: { reason: 'session taint', taint: verdict.held, ruleIndex: verdict.ruleIndex },
  });
}

/** A refusal before the guard was reached: its row goes to the organization's (or anonymous) spool. */
async function auditRefusal<U, P extends ParsedRequest<U>>(
  c: GatewayContext,
  adapter: ProtocolAdapter<U, P>,
  state: CallState<P>,
  err: AppError,
): Promise<void> {
  const row: AuditEventInsert = {
    ...baseRow(state),
    action: err.code === 'unauthorized' ? 'unauthenticated' : 'error',
    errorCode: err.code,
    ...adapter.refusalFields(state.parsed),
    details: { http: state.httpMethod, ...(err.code === 'unauthorized' ? {} : { refusal: err.message }) },
  };
  try {
    // Anyone can make a refusal before authentication: counted per source and minute instead,
    // one audit row per burst (durable-objects/refusal.bursts.ts).
    await spoolRefusal(c.env, [row], state.principal ? undefined : refusalSource(c.req.raw.headers));
  } catch (spoolErr) {
    log('error', 'refusal audit could not be spooled', { err: spoolErr, code: err.code });
  }
}

function reply<U, P extends ParsedRequest<U>>(
  adapter: ProtocolAdapter<U, P>,
  state: CallState<P>,
  err: AppError,
): Response {
  return adapter.respondError(state, err, state.parsed);
}
