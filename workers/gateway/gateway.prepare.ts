/**
 * Steps 1–5b of the call core (gateway.call.ts): everything the gateway decides about a call
 * before its one guard round trip. In the steady state this is memory only — the key and
 * connection, policy, teams, budgets, prompts, integrity state and detection rules all come from
 * isolate caches tagged with the organization's configuration epoch (workers/config/config.epoch.ts)
 * — and the call's `configEpoch` says how new that data is. If the guard answers `stale`, the core
 * runs this again on data read afresh, from the caller's own bytes (gateway.replay.ts).
 */
import type { Context } from 'hono';
import type { AppEnv, Principal } from '../app.types';
import { holdForApproval, holdTaintedForApproval, needsApproval } from '../approvals/approval.gate';
import { unauthorized } from '../auth/api-key.auth';
import { type BudgetHold, reserveBudgets } from '../budgets/budget.gate';
import type { AuditEventInsert } from '../db/schema';
import { budgetsOf, loadGovernance, teamsOf } from '../governance/governance.cache';
import { type CallInspection, loadCallInspection } from '../inspection/inspection.load';
import { loadCallIntegrity } from '../integrity/integrity.state';
import type { CallIntegrity } from '../integrity/integrity.types';
import { AppError } from '../lib/errors';
import { authenticateGatewayCaller } from '../oauth/oauth.gateway';
import type { CompiledPolicy } from '../policy/policy.evaluate';
import { loadPolicy } from '../policy/policy.store';
import { selectPrompt } from '../prompts/prompt.select';
import { callRow } from '../shared/audit.row';
import { type CallTrace, callAttributes } from '../tracing/trace.call';
import type { HttpMethod, ParsedRequest, ProtocolAdapter } from './gateway.adapter';
import type { HashedKey } from './gateway.callers';
import { connectionNotFound, type ResolvedConnection, requireUsableConnection } from './gateway.connection';
import type { CallIdentity } from './gateway.identity';
import { corsHeaders, isOriginAllowed, ownOrigins } from './gateway.origin';
import { replayRequest } from './gateway.replay';
import { invalidMcpSessionId } from './gateway.session-header';
import { SHARED_REQUEST_STAGES, type StageCall, type UnitDecision } from './gateway.stages';
import { serverIdKeys } from './mcp.server-ids';

export type GatewayContext = Context<AppEnv>;

/** What the core knows about a call so far; every refusal's audit row is built from it. */
export interface CallState<P> {
  id: string;
  started: number;
  slug: string;
  /** The caller's `ig_` key with its hash, once hashed (by the route or step 1): hashed once per call. */
  key: HashedKey | null;
  httpMethod: HttpMethod;
  traceId: string;
  principal: Principal | null;
  connection: ResolvedConnection | null;
  identity: CallIdentity | null;
  /**
   * X-Igris-User / Trace-Id / Metadata as read once when the call arrived (the trace id answers
   * even a refusal before authentication); step 3 takes the call's identity from it.
   */
  headerIdentity: CallIdentity;
  parsed: P | null;
  /** True once the adapter has read the body; a later preparation reads the same bytes again (gateway.replay.ts). */
  bodyRead: boolean;
  /** The `Mcp-Session-Id` header when well-formed, else null (gateway.session-header.ts). */
  mcpSessionId: string | null;
  /** The header was present but malformed: refused at step 4, its value never kept. */
  mcpSessionInvalid: boolean;
  /** CORS headers once the caller's Origin has been accepted (empty for non-browser callers). */
  cors: Record<string, string>;
  /** The configuration epoch of the data the call is decided on (sent to the guard). */
  configEpoch: number;
  /** The call's OpenTelemetry spans (workers/tracing/trace.call.ts); recorded only when the org traces. */
  trace: CallTrace;
  /**
   * Set once the guard said this call needs an approval for its session's taint (`onTaint:
   * "approve"`): the labels held, and the rule the verdict named (the session gate, or the cleanOf rule).
   */
  taintHold?: { held: string[]; ruleIndex: number | null };
}

/** What steps 1–5b produce: the decisions, and everything the guard, forward and outcome need. */
export interface PreparedCall<U> {
  connection: ResolvedConnection;
  call: StageCall;
  policy: CompiledPolicy | null;
  decisions: UnitDecision<U>[];
  body: BodyInit | null;
  /** The budget reservation, settled by the outcome (or released if the call goes no further). */
  hold: BudgetHold | null;
}

export async function prepareCall<U, P extends ParsedRequest<U>>(
  c: GatewayContext,
  adapter: ProtocolAdapter<U, P>,
  state: CallState<P>,
): Promise<PreparedCall<U>> {
  // 1. Authenticate, and 2. resolve the connection within the caller's organization — memory in
  // the steady state, else one D1 query for both; the key is judged first, so only an
  // authenticated caller learns about slugs.
  const authStart = Date.now();
  const key = adapter.readApiKey(c.req.raw);
  if (!key) throw unauthorized();
  // An OAuth access token (MCP and LLM routes) resolves to the member who consented, its
  // audience checked against this connection (workers/oauth/oauth.gateway.ts).
  const resolved = await authenticateGatewayCaller(
    c.env,
    c.req.url,
    adapter.protocol,
    key,
    state.slug,
    state.key,
  );
  const { auth, connection: found, email } = resolved;
  state.key = resolved.key ?? null;
  state.principal = auth.principal;
  state.configEpoch = resolved.configEpoch;
  if (auth.touch) c.executionCtx.waitUntil(auth.touch.catch(() => {}));
  if (!found) throw connectionNotFound();
  const connection = found;
  state.connection = connection;
  // May this key's member use this connection at all (connections:use)? Before anything else
  // about it is revealed (disabled, type) and before the body is read or anything forwarded.
  // Authentication's span ends once the caller may use it, whether or not it is enabled.
  requireUsableConnection(state.principal, connection, () =>
    state.trace.span('igris.authenticate', authStart),
  );
  if (connection.type !== adapter.connectionType) {
    throw new AppError('not_found', {
      message: `Not an ${adapter.protocol.toUpperCase()} connection`,
      details: { location: 'path', path: 'slug' },
    });
  }

  // 3. Identity.
  // A copy: what is set on it below (the OAuth caller) stays this attempt's.
  state.identity = { ...state.headerIdentity };
  // An OAuth call is the person who consented, whatever X-Igris-User says.
  if (email) state.identity.user = email;

  // 4. Protocol checks. Origin first: a browser page that may not call this connection gets
  // nothing read from its body.
  checkOrigin(c, state, connection);
  // A malformed Mcp-Session-Id would be stored in audit rows, session state and taint keys.
  if (state.mcpSessionInvalid) throw invalidMcpSessionId();
  // Every preparation decides on what the caller sent: a second one (a `stale` guard, a taint
  // approval) parses the caller's bytes again, never the first's masked result (gateway.replay.ts).
  const again = state.bodyRead;
  state.bodyRead = true;
  state.parsed = await adapter.read(
    again ? replayRequest(c.req.raw) : c.req.raw,
    state.httpMethod,
    connection,
    again,
  );
  const mismatch = state.parsed ? adapter.check(c.req.raw, state.parsed) : null;
  if (mismatch) throw mismatch;
  // A user the request names itself (the OpenAI `user` field) stands in for X-Igris-User.
  if (state.parsed && state.identity.user === null) state.identity.user = adapter.userOf(state.parsed);
  // Teams (policy `team` conditions), budgets and the governed system prompt come from one
  // per-organization snapshot cached in the isolate (governance.cache.ts explains the bound).
  const governance = await loadGovernance(c.env, connection.orgId);
  // Tracing: the organization's export target rides the same snapshot (no read of its own).
  state.trace.configure(connection.orgId, governance.tracing, () =>
    callAttributes(state, connection, adapter.protocol),
  );
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
      loadPolicy(c.env, connection.orgId, connection.id, connection.policyVersion ?? null),
      adapter.usesToolIntegrity ? loadCallIntegrity(c.env, connection) : null,
      loadCallInspection(c.env, connection),
    ]);
  const stageCall = (): StageCall => ({
    orgId: connection.orgId,
    connectionId: connection.id,
    apiKeyId: state.principal!.apiKeyId,
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
    mcpSessionId: state.mcpSessionId,
    actor: state.principal!.actor,
    // Lazy: only MCP's stages and decisions ask, so LLM and A2A calls never derive them.
    serverIdKeys: () => serverIdKeys(c.env),
  });
  let call: StageCall | null = null;
  if (state.parsed) {
    const policyStart = Date.now();
    [policy, integrity, inspection] = await governing();
    call = stageCall();
    decisions = adapter.decide(state.parsed, state.identity, policy, integrity, call);
    state.trace.policy(policyStart, decisions);
    for (const stage of adapter.requestStages) decisions = state.trace.stage(stage, call, decisions);
    for (const stage of SHARED_REQUEST_STAGES) decisions = state.trace.stage(stage, call, decisions);
    // Approvals (workers/approvals/approval.gate.ts): D1 is read only when a unit's rule says `approve`.
    if (needsApproval(decisions)) decisions = await holdForApproval(c, adapter.protocol, state, decisions);
    if (state.taintHold) {
      const { held, ruleIndex } = state.taintHold;
      decisions = await holdTaintedForApproval(c, adapter.protocol, state, decisions, held, ruleIndex);
    }
    decisions = adapter.settle(decisions);
    // Awaited only when it is a promise (a multipart form re-encoded): an MCP or JSON body is a
    // string at once, and the hot path takes no extra turn for it (as outcomesForAdmit).
    const forwarded = adapter.forwardBody(state.parsed);
    body = forwarded instanceof Promise ? await forwarded : forwarded;
  } else if (adapter.needsPolicy(c.req.raw, state.httpMethod)) {
    [policy, integrity, inspection] = await governing();
  }
  call ??= stageCall();

  // 5b. Budgets: only a call nothing else refused reserves; a refusal here is one more refusal.
  let hold: BudgetHold | null = null;
  const budgets = budgetsOf(governance, subject, teams);
  if (state.parsed && adapter.estimateCostUsd && budgets.length > 0 && !decisions.some((d) => d.refusal)) {
    const budgetStart = Date.now();
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
    state.trace.span('igris.budgets', budgetStart, { 'igris.budgets': budgets.length });
    const budgetRefusal = gate.refusal;
    if (budgetRefusal) decisions = decisions.map((d) => ({ ...d, refusal: d.refusal ?? budgetRefusal }));
  }
  return { connection, call, policy, decisions, body, hold };
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

/** The audit row every row of the call starts from: identity, trace, key and connection. */
export function baseRow<P>(state: CallState<P>): AuditEventInsert {
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
