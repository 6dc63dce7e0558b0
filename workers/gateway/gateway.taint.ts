/**
 * Session taint (issue 22), the gateway's half: from the call's decisions, which labels it would
 * add to its agent session and which label combinations its session must be clean of, sent to
 * the guard in the admit request (guard.contract.ts `TaintCheck`; the guard's half is
 * durable-objects/session.taint.ts). Pure.
 *
 * The agent session is the caller's: its API key (or user) plus the MCP session
 * (`Mcp-Session-Id`) or, without one, the caller's own `X-Igris-Trace-Id` (a generated trace id
 * names one call, not a session). With neither, the key's calls on this connection form one session.
 * With either, the session is *linked*: its facts are shared with the organization's agent-session
 * store, so the same key's calls with the same id on other connections see them (gateway.session.ts).
 *
 * Besides a rule's labels, an admitted call adds its tool's labels (`labelsOf`: connection
 * settings, or the pinned annotations' defaults — workers/policy/policy.labels.ts) and its tool's
 * name to the session's `called` facts.
 */
import type { SessionGate, TaintCheck } from '../../durable-objects/guard.contract';
import { normalizeName } from '../policy/policy.normalize';
import type { UnitDecision } from './gateway.stages';
import { RESPONSE_PREFIX } from './mcp.server-responses';

export interface TaintCaller {
  apiKeyId: string | null;
  user: string | null;
  mcpSessionId: string | null;
  /** The caller's X-Igris-Trace-Id, null when the gateway generated the trace id. */
  traceId: string | null;
}

export function taintSession(caller: TaintCaller): string {
  const who = caller.apiKeyId ?? `user:${caller.user ?? ''}`;
  const session = caller.mcpSessionId
    ? `mcp:${caller.mcpSessionId}`
    : caller.traceId
      ? `trace:${caller.traceId}`
      : 'key';
  return `${who}|${session}`;
}

/** Whether the caller's identity links its calls on different connections into one agent session. */
export function isLinked(caller: TaintCaller): boolean {
  return caller.mcpSessionId !== null || caller.traceId !== null;
}

/** The taint part of an admit request, or undefined when the call records and checks nothing. */
export function taintCheck(
  decisions: readonly UnitDecision[],
  caller: TaintCaller,
  labelsOf: ((tool: string) => readonly string[]) | null = null,
): TaintCheck | undefined {
  const add = new Set<string>();
  const cleanOf: string[][] = [];
  const called = new Set<string>();
  const gates: SessionGate[] = [];
  let ruleIndex: number | null = null;
  // A batch is held for approval only if every rule checking taint says so; else it is refused.
  let approve = true;
  for (const d of decisions) {
    const decision = d.decision;
    if (!decision || d.refusal) continue;
    for (const label of decision.labels ?? []) add.add(label);
    if (d.tool !== null) {
      called.add(normalizeName(d.tool));
      if (labelsOf) for (const label of labelsOf(d.tool)) add.add(label);
    }
    if (decision.sessionGates) gates.push(...decision.sessionGates);
    if (decision.cleanOf && decision.cleanOf.length > 0) {
      ruleIndex ??= decision.ruleIndex;
      // A response to a server request cannot be held for a person (gateway.decide.ts
      // APPROVE_ON_RESPONSE says why): its `onTaint: "approve"` refuses, like the default.
      if (decision.onTaint !== 'approve' || d.tool?.startsWith(RESPONSE_PREFIX)) approve = false;
      for (const entry of decision.cleanOf) cleanOf.push([...entry]);
    }
  }
  if (add.size === 0 && cleanOf.length === 0 && called.size === 0) return undefined;
  const check: TaintCheck = { session: taintSession(caller), add: [...add], cleanOf, ruleIndex };
  if (approve && cleanOf.length > 0) check.approve = true;
  if (called.size > 0) check.called = [...called];
  if (gates.length > 0) check.gates = gates;
  if (isLinked(caller)) check.linked = true;
  return check;
}
