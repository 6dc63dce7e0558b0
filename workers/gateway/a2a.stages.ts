/**
 * The A2A adapter's decisions, audit rows and response stage (a2a.adapter.ts). Pure.
 *
 *   a2aMethod      the A2A methods the gateway forwards: v1.0 names (`SendMessage`, …) and their
 *                  v0.3 spellings (`message/send`, …), each with its canonical v1.0 name. Any other
 *                  method (and the authenticated extended card, which would reveal the agent's own
 *                  address and schemes) is refused, never forwarded.
 *   a2aDecide      the policy decision. The governed name (the policy's `tool`) is the skill the
 *                  caller names (`metadata.skillId` of the params or of the message) for the two
 *                  send methods, else the canonical method name: `tool: "echo"` governs a skill,
 *                  `tool: "GetTask"` or `tool: "*Task*"` governs methods. A skill id over 512
 *                  UTF-8 bytes or holding a hidden character is refused when the request is read
 *                  (skillRefusal), and so is a send naming two different skills, or a non-string
 *                  one (skillSpellingRefusal).
 *   teamAccessStage  request stage: the connection's `allowedTeams` (per-team access), by team id.
 *   a2aAuditRow    one `a2a_call` row per request (method as sent, tool = governed name).
 *   taskStage      reads the task id and each new task state from the answer (JSON or SSE) into
 *                  findings (`a2a_task` / `task_state`), so the audit row and live events show the
 *                  task's lifecycle as the agent reported it.
 */

import type { AuditEventInsert } from '../db/schema';
import { auditName, echoText } from '../lib/echo.safe';
import { AppError } from '../lib/errors';
import { mayHaveKey } from '../lib/json.keys';
import { isRecord } from '../lib/values';
import { type CompiledPolicy, evaluate } from '../policy/policy.evaluate';
import { governedNameFault } from '../policy/policy.methods';
import { auditMethod } from '../shared/audit.method';
import type { CallIdentity } from './gateway.identity';
import type { JsonRpcMessage } from './gateway.jsonrpc';
import type { RequestStage, ResponseStage, StageCall, UnitDecision } from './gateway.stages';

/** One A2A request: what is decided, audited and forwarded (a2a.adapter.ts reads it). */
export interface A2aUnit {
  message: JsonRpcMessage;
  /** As sent (`SendMessage`, `message/send`…). */
  method: string;
  /** The A2A v1.0 name, null for a method the gateway does not forward. */
  canonical: string | null;
  skill: string | null;
  taskId: string | null;
  /**
   * Every task id the request addresses, each checked by the guard against who created it
   * (a2a.task.access.ts); null when it addresses none (a send starting a task, ListTasks).
   */
  addressed: string[] | null;
  /**
   * The context ids a send names (`message.contextId`), checked by the guard against who first
   * used them (a2a.context.access.ts); null when it names none.
   */
  contexts: string[] | null;
  /** The connection's `allowedTeams` (team ids; empty: every caller), read with the request. */
  allowedTeams: readonly string[];
}

/** Every method the gateway forwards, with its canonical (A2A v1.0) name. */
const METHODS: Readonly<Record<string, string>> = {
  SendMessage: 'SendMessage',
  SendStreamingMessage: 'SendStreamingMessage',
  GetTask: 'GetTask',
  ListTasks: 'ListTasks',
  CancelTask: 'CancelTask',
  SubscribeToTask: 'SubscribeToTask',
  CreateTaskPushNotificationConfig: 'CreateTaskPushNotificationConfig',
  GetTaskPushNotificationConfig: 'GetTaskPushNotificationConfig',
  ListTaskPushNotificationConfigs: 'ListTaskPushNotificationConfigs',
  DeleteTaskPushNotificationConfig: 'DeleteTaskPushNotificationConfig',
  // A2A v0.3
  'message/send': 'SendMessage',
  'message/stream': 'SendStreamingMessage',
  'tasks/get': 'GetTask',
  'tasks/list': 'ListTasks',
  'tasks/cancel': 'CancelTask',
  'tasks/resubscribe': 'SubscribeToTask',
  'tasks/pushNotificationConfig/set': 'CreateTaskPushNotificationConfig',
  'tasks/pushNotificationConfig/get': 'GetTaskPushNotificationConfig',
  'tasks/pushNotificationConfig/list': 'ListTaskPushNotificationConfigs',
  'tasks/pushNotificationConfig/delete': 'DeleteTaskPushNotificationConfig',
};

export function a2aMethod(method: string): string | null {
  return Object.hasOwn(METHODS, method) ? METHODS[method]! : null;
}

/** The skill a send names: `params.metadata.skillId`, else `params.message.metadata.skillId`. */
export function skillOf(params: unknown): string | null {
  if (!isRecord(params)) return null;
  const own = isRecord(params.metadata) ? params.metadata.skillId : undefined;
  if (typeof own === 'string' && own !== '') return own;
  const message = isRecord(params.message) ? params.message : null;
  const nested = message && isRecord(message.metadata) ? message.metadata.skillId : undefined;
  return typeof nested === 'string' && nested !== '' ? nested : null;
}

/**
 * The skill id is the governed name of a send, judged as an MCP tool name is (governedNameFault,
 * policy.methods.ts) and refused before any matching, never echoed or audited: a 300 KB id would
 * otherwise be matched against every glob and land in the refusal and the audit row (near the body
 * limit, past what D1 stores in a row), and an agent that trims `"echo "` would run a skill the
 * policy never decided on.
 */
export function skillRefusal(skill: string | null): AppError | null {
  const fault = skill === null ? null : governedNameFault(skill);
  if (!fault) return null;
  return new AppError('validation_failed', {
    message: `metadata.skillId ${fault}: no skill is named like that`,
    details: { location: 'body', path: 'params.metadata.skillId' },
  });
}

/**
 * A send that names its skill twice, differently — `params.metadata.skillId` and
 * `params.message.metadata.skillId` — or names one with a value that is not a string: refused
 * before any decision. skillOf decides on the request's id, but an agent may act on the message's
 * (or coerce `["admin.purge"]`), so a second, undecided spelling could run a skill the policy never
 * saw. Absent, `null` and `""` name nothing; the same id in both places is one name.
 */
export function skillSpellingRefusal(params: unknown): AppError | null {
  if (!isRecord(params)) return null;
  const message = isRecord(params.message) ? params.message : null;
  const spellings: Array<[path: string, value: unknown]> = [
    ['params.metadata.skillId', isRecord(params.metadata) ? params.metadata.skillId : undefined],
    [
      'params.message.metadata.skillId',
      message && isRecord(message.metadata) ? message.metadata.skillId : undefined,
    ],
  ];
  for (const [path, value] of spellings) {
    if (value !== undefined && value !== null && typeof value !== 'string') {
      return new AppError('validation_failed', {
        message: `${path.slice('params.'.length)} must be a string`,
        details: { location: 'body', path },
      });
    }
  }
  const [own, nested] = spellings.map(([, value]) => (typeof value === 'string' ? value : ''));
  if (own === '' || nested === '' || own === nested) return null;
  return new AppError('validation_failed', {
    message: 'metadata.skillId and message.metadata.skillId name different skills: a send names one',
    details: { location: 'body', path: 'params.message.metadata.skillId' },
  });
}

/**
 * What `args.*` conditions read on A2A: the message's metadata (`params.message.metadata`), with
 * the request's own `params.metadata` keys taking precedence — the same places skillOf reads.
 */
export function messageMetadata(params: unknown): Record<string, unknown> | null {
  if (!isRecord(params)) return null;
  const message =
    isRecord(params.message) && isRecord(params.message.metadata) ? params.message.metadata : null;
  const own = isRecord(params.metadata) ? params.metadata : null;
  if (message && own) return { ...message, ...own };
  return own ?? message;
}

/**
 * The task a request is about: `taskId` of the push-notification config methods (whose v1.0 `id`
 * is the config's, not the task's), `id` of GetTask/CancelTask…, `taskId` of a follow-up message.
 */
export function taskIdOf(params: unknown): string | null {
  if (!isRecord(params)) return null;
  for (const value of [
    params.taskId,
    params.id,
    isRecord(params.message) ? params.message.taskId : undefined,
  ]) {
    if (typeof value === 'string' && value !== '') return value.slice(0, 200);
  }
  // v1.0 resource names: `tasks/<id>` (and `tasks/<id>/pushNotificationConfigs/<config>`).
  const name = typeof params.name === 'string' ? /^tasks\/([^/]+)/.exec(params.name) : null;
  return name ? name[1]!.slice(0, 200) : null;
}

const SHOWN = 100;

/**
 * Per-team access (docs/a2a.md#access-by-team): with `allowedTeams` set, a call none of whose
 * teams (its key's, its member's, its X-Igris-User's — by id) is listed is refused. Team ids are
 * per organization (checked when saved), so another tenant's team never matches.
 */
export function teamRefusal(allowedTeams: readonly string[], teamIds: readonly string[]): AppError | null {
  if (allowedTeams.length === 0) return null;
  if (allowedTeams.some((id) => teamIds.includes(id))) return null;
  return new AppError('connection_forbidden', {
    message: 'Not allowed to use this agent: it is open to other teams only',
    details: { reason: 'team_access' },
  });
}

/**
 * Request stage, first of the A2A stages: a caller of no allowed team is refused whatever the
 * policy decided — so the answer says nothing about the policy to someone who may not call at all.
 */
export const teamAccessStage: RequestStage<A2aUnit> = (call, decisions) => {
  const teamIds = call.teams.map((t) => t.id);
  return decisions.map((d) => {
    const refusal = teamRefusal(d.unit.allowedTeams, teamIds);
    return refusal ? { ...d, decision: null, refusal } : d;
  });
};

export function a2aDecide(
  unit: A2aUnit,
  identity: CallIdentity,
  policy: CompiledPolicy,
): UnitDecision<A2aUnit> {
  if (unit.canonical === null) {
    // The caller's text: bounded, hidden when it looks like a credential (lib/echo.safe.ts).
    const shown = echoText(unit.method, SHOWN);
    return {
      unit,
      tool: null,
      decision: null,
      refusal: new AppError('method_not_found', {
        message: `Method not found: ${JSON.stringify(shown)} is not an A2A method this gateway forwards`,
        details: { location: 'body', path: 'method', method: shown },
      }),
    };
  }
  const tool = unit.skill ?? unit.canonical;
  const decision = evaluate(policy, {
    tool,
    user: identity.user,
    // `team` conditions: the call's teams as the core resolved them (ids and names).
    teams: identity.teams,
    metadata: identity.metadata,
    args: messageMetadata(unit.message.params),
  });
  if (decision.action !== 'deny') return { unit, tool, decision, refusal: null };
  const reason = decision.reason ?? 'denied by policy';
  return {
    unit,
    tool,
    decision,
    refusal: new AppError('policy_denied', {
      message: `Denied by policy: ${reason} (trace ${identity.traceId})`,
      details: {
        reason,
        ...(unit.skill ? { skill: auditName(unit.skill) } : {}),
        method: unit.canonical,
        ruleIndex: decision.ruleIndex,
        policyVersion: decision.policyVersion,
      },
    }),
  };
}

/**
 * Refusals recorded as `deny`: the gateway decided against the call — its policy, the agent's team
 * access, or content inspection of the message sent (a `block`, or what a `redact` could not mask
 * whole) — as MCP (gateway.decide.ts DENIALS) and LLM calls (llm.stages.ts llmAuditRow) record
 * them, so the dashboard's deny counts and the deny_spike alert count them alike. Others are errors.
 */
const A2A_DENIALS: ReadonlySet<string> = new Set([
  'policy_denied',
  'connection_forbidden',
  'content_blocked',
  'inspection_unmaskable',
]);

export function a2aAuditRow(base: AuditEventInsert, d: UnitDecision<A2aUnit>): AuditEventInsert {
  const details: Record<string, unknown> = { a2aMethod: d.unit.canonical };
  if (d.unit.skill) details.skill = d.unit.skill;
  if (d.unit.taskId) details.taskId = d.unit.taskId;
  // A request naming several tasks (ids in more than one place, referenceTaskIds): all of them.
  if (d.unit.addressed && d.unit.addressed.length > 1) details.taskIds = d.unit.addressed;
  if (d.unit.contexts) details.contextId = d.unit.contexts[0];
  if (d.unit.contexts && d.unit.contexts.length > 1) details.contextIds = d.unit.contexts;
  if (d.decision?.reason) details.reason = d.decision.reason;
  if (d.refusal && d.refusal.code !== 'policy_denied') details.refusal = d.refusal.message;
  if (d.refusal?.code === 'connection_forbidden') details.reason = 'team_access';
  return {
    ...base,
    type: 'a2a_call',
    method: auditMethod(d.unit.method),
    tool: d.tool,
    action: d.refusal
      ? A2A_DENIALS.has(d.refusal.code)
        ? 'deny'
        : d.refusal.code === 'approval_required'
          ? 'approval_required'
          : 'error'
      : (d.decision?.action ?? 'pass'),
    ruleIndex: d.decision?.ruleIndex ?? null,
    policyVersion: d.decision?.policyVersion ?? null,
    errorCode: d.refusal?.code ?? null,
    details,
  };
}

/** v1.0 `TASK_STATE_WORKING` and v0.3 `working` read the same: `working`. */
function stateName(state: unknown): string | null {
  if (typeof state !== 'string') return null;
  return state
    .replace(/^TASK_STATE_/, '')
    .toLowerCase()
    .replace(/_/g, '-')
    .slice(0, 40);
}

/** The task id and state a result (or stream event) reports, in v1.0 or v0.3 shape. */
function taskReport(result: unknown): { taskId: string; state: string } | null {
  if (!isRecord(result)) return null;
  const inner = isRecord(result.task)
    ? result.task
    : isRecord(result.statusUpdate)
      ? result.statusUpdate
      : result;
  const taskId =
    typeof inner.taskId === 'string' ? inner.taskId : typeof inner.id === 'string' ? inner.id : null;
  const state = isRecord(inner.status) ? stateName(inner.status.state) : null;
  return taskId && state ? { taskId: taskId.slice(0, 200), state } : null;
}

/** Response stage: each new task state the agent reports becomes a finding. Changes nothing. */
export function taskStage(call: StageCall): ResponseStage {
  let last: string | null = null;
  return {
    name: 'a2a_task',
    wants: (raw) => mayHaveKey(raw, 'status'),
    onMessage(message) {
      const report = isRecord(message) ? taskReport(message.result) : null;
      if (!report) return undefined;
      const key = `${report.taskId}:${report.state}`;
      if (key === last) return undefined;
      last = key;
      call.findings.push({
        stage: 'a2a_task',
        kind: 'task_state',
        severity: 'info',
        detail: { taskId: report.taskId, state: report.state },
      });
      return undefined;
    },
  };
}
