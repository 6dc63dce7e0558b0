/**
 * Session facts for the admit request (issue 22), the gateway's I/O half around the pure
 * gateway.taint.ts: the tool labels of this connection (settings, or the pinned annotations'
 * defaults — workers/policy/policy.labels.ts), and — only for a call whose matched rule needs
 * session facts (`cleanOf` or `session.*` gates) on a *linked* session — the facts other
 * connections recorded for it, read from the organization's agent-session store
 * (durable-objects/session-facts.do.ts) before the guard's admit.
 *
 * Cost: a call that needs no session facts reads nothing here (the integrity state is the one the
 * call already loaded, from the isolate cache), so it keeps its single guard round trip; a call
 * that does, on a linked session, pays one more Durable Object round trip. Fail closed: a store
 * that cannot be read refuses the call (503 `guard_unavailable`) whatever the connection's
 * failMode — a toxic-flow check that cannot run must not pass.
 */

import { sessionFactsFor } from '../../durable-objects/do.client';
import type { AdmitResult, TaintCheck } from '../../durable-objects/guard.contract';
import { loadIntegrity } from '../integrity/integrity.state';
import { pinnedAnnotations } from '../integrity/integrity.types';
import { AppError } from '../lib/errors';
import { toolLabels } from '../policy/policy.labels';
import type { ResolvedConnection } from './gateway.connection';
import type { UnitDecision } from './gateway.stages';
import { type TaintCaller, taintCheck } from './gateway.taint';

export async function sessionTaintCheck(
  env: Env,
  connection: ResolvedConnection,
  decisions: readonly UnitDecision[],
  caller: TaintCaller,
): Promise<TaintCheck | undefined> {
  const check = taintCheck(decisions, caller, await labelsOf(env, connection, decisions));
  if (!check?.linked || (check.cleanOf.length === 0 && !check.gates?.length)) return check;
  try {
    check.shared = await sessionFactsFor(env, connection.orgId, check.session).facts();
  } catch (err) {
    throw new AppError('guard_unavailable', { internal: err });
  }
  return check;
}

/** The connection's tool labels, or null when it has none (no settings, no pinned annotations). */
async function labelsOf(
  env: Env,
  connection: ResolvedConnection,
  decisions: readonly UnitDecision[],
): Promise<((tool: string) => readonly string[]) | null> {
  if (!decisions.some((d) => d.tool !== null && d.decision && !d.refusal)) return null;
  const settings = connection.settings.toolLabels ?? null;
  // Annotations are pinned only by tool integrity (MCP connections with discovery on); the state is
  // the one prepareCall already loaded (isolate cache, no I/O in the steady state).
  const pinned =
    connection.type === 'mcp' && connection.settings.integrity.discovery !== 'off'
      ? await loadIntegrity(env, connection.orgId, connection.id)
      : null;
  const annotated = pinned?.annotations !== undefined && Object.keys(pinned.annotations).length > 0;
  if (!settings && !annotated) return null;
  return (tool) => toolLabels(tool, settings, pinnedAnnotations(pinned ? { state: pinned } : null, tool));
}

/** The session already touched what the matched rule's `cleanOf` forbids (session taint, issue 22). */
export function taintRefusal(
  verdict: Extract<AdmitResult, { verdict: 'tainted' }>,
  traceId: string,
): AppError {
  const labels = verdict.held.join(' + ');
  return new AppError('policy_denied', {
    message: `Denied by policy: this session has touched ${labels}, which this tool may not follow (trace ${traceId})`,
    details: { reason: 'session taint', taint: verdict.held, ruleIndex: verdict.ruleIndex },
  });
}
