/**
 * The call core: what happens to every call through the gateway, whatever its protocol, in order.
 * Read this file top to bottom; the protocol's own questions go to its adapter (gateway.adapter.ts:
 * MCP in mcp.adapter.ts), each stage lives in its own module, and this file only sequences them.
 * Steps 1–5b are in gateway.prepare.ts. In the steady state they touch neither D1 nor KV: what they
 * read is cached in the isolate and tagged with the organization's configuration epoch, which the
 * guard checks at step 6 (workers/config/config.epoch.ts) — so step 6 is the call's only round trip
 * before forwarding.
 *
 *   1. authenticate        — who is calling. Nothing else runs, and nothing is revealed, before this.
 *   2. resolve connection  — only inside the caller's organization: another tenant's slug is "not found".
 *   3. identity            — X-Igris-User / Trace-Id / Metadata; advisory, recorded with every decision.
 *   4. protocol checks     — origin (403), the Mcp-Session-Id header's shape (400, before it is
 *                            kept anywhere), then the adapter reads the request into governed units
 *                            and checks them (size, shape, mirrored headers): decisions are made on
 *                            exactly what will be forwarded, never on a different reading of it.
 *   5. policy              — pure, in memory (compiled policy from KV, cached in the isolate), one
 *                            decision per unit (adapter.decide), then the request stages
 *                            (gateway.stages.ts), then adapter.settle (a batch refused whole).
 *   5b. budgets           — the call's estimated cost reserved against every budget it falls under
 *                            (workers/budgets/budget.gate.ts; one Durable Object per budget), settled
 *                            with the actual cost at step 9. At a `block` budget's limit: a refusal.
 *   6. guard               — ONE Durable Object round trip: configuration freshness (`stale`: prepare
 *                            again on data read afresh), kill switch (wins over everything), rate
 *                            windows (for the matched rules), and the durable audit spool. The rows
 *                            are on disk before the gateway answers, whatever the answer.
 *   7. forward             — transport only; the answer is streamed back as it arrives
 *                            (gateway.forward.ts). Upstream statuses and bodies pass unchanged,
 *                            but for the injected credential echoed in headers or an error body.
 *   8. response stages     — per message of the answer, JSON, batch or SSE event by event
 *                            (gateway.rewrite.ts): the adapter's stages, then the shared ones.
 *   9. outcome             — status, latency and the stages' findings patched into the audit rows
 *                            off the hot path (waitUntil); the guard publishes the live event.
 *
 * Refusals at any stage are answered in the adapter's wire shape, after their audit row is spooled.
 */
import { guardFor } from '../../durable-objects/do.client';
import type { AdmitRequest, AdmitResult, RateCheck } from '../../durable-objects/guard.contract';
import { agentSessionId } from '../../durable-objects/guard.contract';
import { ensureBootstrapped } from '../bootstrap/bootstrap';
import type { BudgetHold } from '../budgets/budget.gate';
import { learnEpoch } from '../config/config.epoch';
import type { AuditEventInsert } from '../db/schema';
import { endStreamOnKill, watchWhileRead } from '../killswitch/killswitch.stream';
import { AppError, toAppError } from '../lib/errors';
import { eventId } from '../lib/ids';
import { log } from '../lib/log';
import { withOAuthChallenge } from '../oauth/oauth.gateway';
import { credentialForCall } from '../oauth/upstream.tokens';
import type { CompiledPolicy } from '../policy/policy.evaluate';
import { CallTrace } from '../tracing/trace.call';
import { exportTrace } from '../tracing/trace.export';
import { needsGuard, ownershipRefusal } from './a2a.context.access';
import type { HttpMethod, ParsedRequest, ProtocolAdapter } from './gateway.adapter';
import { type Answer, answerWithStages } from './gateway.answer';
import { echoSafeRow, echoSafeRows, refusalSource, spoolRefusal } from './gateway.audit';
import type { HashedKey } from './gateway.callers';
import type { ResolvedConnection } from './gateway.connection';
import { recordLate, streamWatch } from './gateway.entitlement';
import { attachFindings } from './gateway.findings';
import { forward } from './gateway.forward';
import { readIdentity, TRACE_HEADER } from './gateway.identity';
import { CallOutcomes } from './gateway.outcome';
import { outcomesForAdmit, resendOutcomes } from './gateway.outcome.batch';
import {
  baseRow,
  type CallState,
  type GatewayContext,
  type PreparedCall,
  prepareCall,
} from './gateway.prepare';
import { rateChecks } from './gateway.rates';
import { sessionTaintCheck, taintRefusal } from './gateway.session';
import { readMcpSessionId } from './gateway.session-header';
import { SHARED_RESPONSE_STAGES, type UnitDecision } from './gateway.stages';

export async function handleCall<U, P extends ParsedRequest<U>>(
  c: GatewayContext,
  httpMethod: HttpMethod,
  adapter: ProtocolAdapter<U, P>,
  /** What the route knows: the slug when not `:slug` (LLM `@slug/model`), the key it hashed. */
  known: { slug?: string; key?: HashedKey | null } = {},
): Promise<Response> {
  // The X-Igris-* headers are read once: a generated trace id stays the call's through every step.
  const headerIdentity = readIdentity(c.req.raw.headers);
  // Kept only when well-formed (gateway.session-header.ts); a malformed one is refused at step 4.
  const mcpSession = readMcpSessionId(c.req.raw.headers);
  const state: CallState<P> = {
    id: eventId(),
    started: Date.now(),
    slug: known.slug ?? c.req.param('slug') ?? '',
    key: known.key ?? null,
    httpMethod,
    traceId: headerIdentity.traceId,
    principal: null,
    connection: null,
    identity: null,
    headerIdentity,
    parsed: null,
    bodyRead: false,
    mcpSessionId: mcpSession.id,
    mcpSessionInvalid: !mcpSession.valid,
    cors: {},
    configEpoch: 0,
    trace: new CallTrace(c.req.raw.headers),
  };
  let hold: BudgetHold | null = null;
  try {
    await ensureBootstrapped(c.env);

    // 1–5b. Authenticate, resolve, identity, protocol checks, policy and request stages, budgets
    // (gateway.prepare.ts), then 6. the guard: kill switch and rate windows, and the audit rows
    // spooled durably. A guard that knows of a management change newer than the data the call was
    // decided on answers `stale` and records nothing: the call is prepared again on fresh data.
    let prepared: PreparedCall<U>;
    let verdict: AdmitResult;
    let rows: AuditEventInsert[];
    let checks: RateCheck[];
    let refusal: UnitDecision<U>['refusal'] = null;
    for (let attempt = 1; ; attempt++) {
      prepared = await prepareCall(c, adapter, state);
      hold = prepared.hold;
      // A call the policy refused counts against no rate window; the kill switch still wins.
      refusal = prepared.decisions.find((d) => d.refusal)?.refusal ?? null;
      rows = attachFindings(
        callRows(c, state, adapter, prepared.decisions, prepared.policy),
        prepared.decisions,
      );
      const keyed = {
        identity: state.identity!,
        principal: state.principal!,
        connectionId: prepared.connection.id,
      };
      checks = refusal ? [] : rateChecks(prepared.decisions, keyed);
      const admitStart = Date.now();
      verdict = await admit(
        c,
        state,
        prepared.connection,
        rows,
        checks,
        refusal !== null,
        prepared.decisions,
        adapter.taskAccess?.(state.parsed),
      );
      state.trace.span('igris.guard.admit', admitStart, { 'igris.guard.verdict': verdict.verdict });
      // Session taint under `onTaint: "approve"`: the guard recorded nothing; prepare again, now
      // holding the call for an approver or spending its approval (approval.gate.ts).
      if (verdict.verdict === 'tainted' && verdict.approval && !state.taintHold) {
        state.taintHold = { held: verdict.held, ruleIndex: verdict.ruleIndex };
        hold?.release();
        attempt--; // not a configuration change
        continue;
      }
      if (verdict.verdict !== 'stale') break;
      hold?.release();
      hold = null;
      learnEpoch(prepared.connection.orgId, verdict.configEpoch);
      // Two changes in a row during one call: refuse rather than loop (fail closed).
      if (attempt >= 3) throw new AppError('guard_unavailable', { internal: 'configuration kept changing' });
    }
    const { connection, call, decisions, body } = prepared;
    if (verdict.verdict !== 'admit') hold?.release();
    if (verdict.verdict === 'killed') {
      return reply(
        adapter,
        state,
        new AppError('session_suspended', { details: { scope: verdict.scope, reason: verdict.reason } }),
      );
    }
    if (refusal) {
      state.trace.failed(refusal.code, refusal.status);
      return adapter.respondRefused(state, refusal, decisions, state.parsed!);
    }
    if (verdict.verdict === 'tainted') return reply(adapter, state, taintRefusal(verdict, state.traceId));
    // An A2A task or context of another caller: the answer an unknown id gets (a2a.context.access.ts).
    const notOwned = ownershipRefusal(verdict);
    if (notOwned) return reply(adapter, state, notOwned);
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

    if (verdict.verdict === 'admit' && verdict.ownedTasks) call.ownedTasks = verdict.ownedTasks;

    // 7. Forward.
    const outcomes = new CallOutcomes({
      ctx: c.executionCtx,
      guard: guardFor(c.env, connection.orgId, connection.id),
      target: { orgId: connection.orgId, connectionId: connection.id },
      rows,
      findings: call.findings,
      tokenChecks: checks.filter((check) => check.unit === 'tokens'),
      atEnd: adapter.completeAtEnd,
      final: (answered, how) =>
        adapter.finalOutcome(call, state.parsed, c.env, {
          ...answered,
          how,
          eventId: state.id,
          startedAt: state.started,
        }),
      budget: hold,
      trace: state.trace,
    });
    let result: Awaited<ReturnType<typeof forward>>;
    let forwardStart = Date.now();
    try {
      // The shared credential, or (OAuth upstream mode) the member's own token, refreshed if due;
      // a member who has not linked their account gets the link (workers/oauth/upstream.tokens.ts).
      const credential = await credentialForCall(c.env, connection, state.principal, c.req.url);
      const upstream = adapter.upstream(connection, state.parsed, c.req.raw);
      forwardStart = Date.now();
      result = await forward(
        httpMethod,
        c.req.raw,
        {
          ...upstream,
          // Traced: the upstream's parent is the gateway's forward span (same trace id).
          headers: state.trace.upstreamHeaders(upstream.headers),
          authType: connection.authType,
          authHeaderName: connection.authHeaderName,
          credential,
          timeoutMs: connection.settings.upstreamTimeoutMs,
        },
        body,
      );
    } catch (err) {
      const appErr = toAppError(err);
      state.trace.forwarded(forwardStart, null, appErr.code);
      outcomes.send({ upstreamStatus: null, latencyMs: Date.now() - state.started, errorCode: appErr.code });
      return reply(adapter, state, appErr);
    }

    // 8. Response stages, message by message, and 9. the outcome, off the hot path: at the answer's
    // headers (with the findings known by then), or — for a protocol whose outcome is known only
    // at the end (LLM usage) — when the answer has ended, however it ended.
    state.trace.forwarded(forwardStart, result.response.status);
    const stages = state.trace.responseStages([
      ...adapter.responseStages(call, state.parsed, c.req.raw),
      ...SHARED_RESPONSE_STAGES.flatMap((make) => make(call, null) ?? []),
    ]);
    // gatewayMs: what the gateway added (auth, policy, guard, stages) — the metrics' gateway latency.
    const gatewayMs = Math.max(0, Date.now() - state.started - result.latencyMs);
    const answered = { upstreamStatus: result.response.status, latencyMs: result.latencyMs, gatewayMs };
    // Fired when the gateway ends an open stream itself (below): the rewritten body ends at once.
    const stop = new AbortController();
    const watch = () => streamWatch(c, adapter, state, connection, stop, recordLate(call.findings, outcomes));
    let answer: Answer;
    try {
      answer = await answerWithStages(result, adapter.streamAnswer?.(state.parsed) ?? null, {
        stop: stop.signal,
        stages,
        findings: call.findings,
        onLateFindings: () => outcomes.lateFindings(),
        callerSignal: c.req.raw.signal,
        onBodyDone: (how, err) => {
          outcomes.bodyDone(how, answered, err?.code);
          state.trace.bodyDone();
          for (const work of call.deferred ?? []) c.executionCtx.waitUntil(work(c.env));
        },
        // A stream the gateway cuts (an event too large to inspect) ends with the protocol's error.
        lastWords: (err) => adapter.endedStreamText(state.parsed, state.traceId, err),
        watchWhileRead: (over) => watchWhileRead(c.env, watch(), over),
        bounds: adapter.streamBounds?.(connection.settings),
      });
    } catch (err) {
      // An answer too large, broken off, stalled or refused while held: the outcome recorded on the rows.
      outcomes.headers(answered);
      hold?.release(); // a no-op once the outcome settled it
      return reply(adapter, state, toAppError(err));
    }
    outcomes.headers(answered);
    const { response } = answer;
    response.headers.set(TRACE_HEADER, state.traceId);
    for (const [name, value] of Object.entries(state.cors)) response.headers.set(name, value);
    if (answer.whole) return response; // over before a kill switch could end it
    // An open SSE stream ends when a kill switch that matches this call is pulled, or when its
    // caller may no longer call (revoked key, disabled connection, removed member): the end is
    // recorded as a finding of the call's audit row (gateway.entitlement.ts). A peek already made
    // (gateway.answer.ts) is not made again: the relay takes the rest as it comes.
    return await endStreamOnKill(c.env, c.executionCtx, watch(), response, answer.delay);
  } catch (err) {
    hold?.release(); // a no-op once the outcome settled it
    const appErr = withOAuthChallenge(toAppError(err), c.env, c.req.url, adapter.protocol, state.slug);
    await auditRefusal(c, adapter, state, appErr);
    return reply(adapter, state, appErr);
  } finally {
    // The call's trace, if its organization records it: exported in a batch after the answer.
    exportTrace(c.env, c.executionCtx, state.trace.answered());
  }
}

/** The audit rows of a call that reached the guard: one per unit (the adapter's), or one for a GET/DELETE. */
function callRows<U, P extends ParsedRequest<U>>(
  c: GatewayContext,
  state: CallState<P>,
  adapter: ProtocolAdapter<U, P>,
  decisions: UnitDecision<U>[],
  policy: CompiledPolicy | null,
): AuditEventInsert[] {
  return echoSafeRows(adapter.auditRows(baseRow(state), decisions, c.req.raw, state.httpMethod, policy));
}

async function admit<P>(
  c: GatewayContext,
  state: CallState<P>,
  connection: ResolvedConnection,
  rows: AuditEventInsert[],
  checks: RateCheck[],
  final: boolean,
  decisions: readonly UnitDecision[],
  tasks: AdmitRequest['tasks'],
): Promise<AdmitResult> {
  const caller = {
    apiKeyId: state.principal?.apiKeyId ?? null,
    user: state.identity?.user ?? null,
    mcpSessionId: state.mcpSessionId,
    // Whose quota of rate windows a key-less caller (OAuth) takes: its member, not X-Igris-User.
    actor: state.principal?.actor ?? null,
  };
  const traceId = state.identity && !state.identity.traceGenerated ? state.identity.traceId : null;
  // Session taint and facts (gateway.session.ts): tool labels, and other connections' facts of a
  // linked session when the matched rule needs them (the only case with a round trip of its own).
  const taint = final
    ? undefined
    : await sessionTaintCheck(c.env, connection, decisions, { ...caller, traceId });
  const guard = guardFor(c.env, connection.orgId, connection.id);
  // Earlier calls' outcomes waiting for this guard ride along (gateway.outcome.batch.ts).
  const taken = outcomesForAdmit(connection.orgId, connection.id, tasks);
  const outcomes = taken instanceof Promise ? await taken : taken; // no turn when nothing waits
  try {
    return await guard.admit({
      orgId: connection.orgId,
      connectionId: connection.id,
      caller,
      rateChecks: checks,
      audit: rows,
      final,
      configEpoch: state.configEpoch,
      ...(taint ? { taint } : {}),
      ...(outcomes ? { outcomes } : {}),
      ...(tasks && !final ? { tasks } : {}),
    });
  } catch (err) {
    if (outcomes) c.executionCtx.waitUntil(resendOutcomes(guard, outcomes));
    // Task and context ownership and one-shot answers are isolation, not availability: without the
    // guard, such a call is refused even on a fail-open connection (ListTasks lists nothing).
    if (connection.settings.failMode === 'open' && !needsGuard(tasks)) {
      // Documented trade-off (docs/security-model.md): availability over the kill switch and rate
      // windows for this connection. The audit row is still written, to the organization's spool.
      log('warn', 'guard unreachable; failing open as configured', { connectionId: connection.id, err });
      await spoolRefusal(c.env, rows);
      return { verdict: 'admit', sessionId: agentSessionId(connection.id) };
    }
    throw new AppError('guard_unavailable', { internal: err });
  }
}

/** A refusal before the guard was reached: its row goes to the organization's (or anonymous) spool. */
async function auditRefusal<U, P extends ParsedRequest<U>>(
  c: GatewayContext,
  adapter: ProtocolAdapter<U, P>,
  state: CallState<P>,
  err: AppError,
): Promise<void> {
  const row: AuditEventInsert = echoSafeRow({
    ...baseRow(state),
    action: err.code === 'unauthorized' ? 'unauthenticated' : 'error',
    errorCode: err.code,
    ...adapter.refusalFields(state.parsed),
    details: { http: state.httpMethod, ...(err.code === 'unauthorized' ? {} : { refusal: err.message }) },
  });
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
  state.trace.failed(err.code, err.status);
  return adapter.respondError(state, err, state.parsed);
}
