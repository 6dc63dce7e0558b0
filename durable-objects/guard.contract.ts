/**
 * The Worker ↔ ConnectionGuard contract, in one place: what the gateway and the API send to a
 * guard and what they get back, the agent-session id rules, and the kill-notice types. Both sides
 * import these types from here; the stubs are reached only through do.client.ts.
 *
 * Changing anything here changes what every guard in production accepts: old and new Workers run
 * side by side during a deploy, so fields are added as optional and never repurposed.
 */
import type { AuditEventInsert } from '../workers/db/schema';
import type { AuditOutcome } from './audit.rows';
import type { KillCaller, KillRecord, KillScope } from './kill.match';
import type { ListedKind } from './llm.objects';

export type { KillCaller, KillRecord, KillScope } from './kill.match';

/** One rate window to count this call against: the matched rule's `rateLimit`, with its key resolved. */
export interface RateCheck {
  ruleIndex: number;
  /** e.g. `v3:r2:user=alice@example.com` — resolved by the gateway from the rule's `by`. */
  key: string;
  limit: number;
  windowSeconds: number;
  /**
   * What the window counts. `requests` (default): this call counts 1 at admit. `tokens` (an LLM
   * rule's `tokenLimit`): admit refuses once the window's recorded tokens reach `limit`, and the
   * call's actual tokens are added when its usage is known (`CallOutcome.tokens`).
   */
  unit?: 'requests' | 'tokens';
}

/** Which guard an API call is for (every RPC names it, so a guard can start cold from any of them). */
export interface GuardTarget {
  orgId: string;
  connectionId: string;
}

export interface AdmitRequest extends GuardTarget {
  /**
   * Who is calling: matched against user / apiKey kill switches and recorded on the session.
   * `actor`: the authenticated principal as audit rows name it (`key:<id>`, `user:<id>` for an
   * OAuth access token's member), never a header; a caller without an API key has its rate windows
   * bounded under it (rate.bound.ts rateOwner). Optional: absent (older Workers) = shared `(none)`.
   */
  caller: {
    apiKeyId: string | null;
    user: string | null;
    mcpSessionId: string | null;
    actor?: string | null;
  };
  /** Rate windows of the matched rules (empty when no matched rule has a rateLimit). */
  rateChecks: RateCheck[];
  /** One audit row per governed unit of the request (a JSON-RPC batch has several). */
  audit: AuditEventInsert[];
  /** True when the rows are already final (refused calls): no outcome will follow. */
  final: boolean;
  /**
   * Session taint (issue 22), decided in this same round trip: refuse (verdict `tainted`) when
   * the session already holds every label of one `cleanOf` entry, else add `add` to it once the
   * call is admitted. Optional: absent (older Workers, or no rule with labels/cleanOf) = no taint.
   */
  taint?: TaintCheck;
  /**
   * The organization's configuration epoch of the data this call was decided on (key, connection,
   * policy…: workers/config/config.epoch.ts). A guard that knows a newer one answers `stale` and
   * records nothing. Optional: absent (older Workers) = never stale.
   */
  configEpoch?: number;
  /**
   * Outcomes of this isolate's earlier calls to the same guard that were still waiting to be sent
   * (workers/gateway/gateway.outcome.batch.ts): applied before this call is decided, in the same
   * transaction as its rows — one round trip and one write instead of a `complete` each. At most
   * MAX_OUTCOMES_PER_CALL. Optional: absent (older Workers) = none.
   */
  outcomes?: PendingOutcome[];
  /**
   * A2A task ownership (docs/a2a.md#who-may-address-a-task, durable-objects/task.owners.ts). With
   * `ids`, the call addresses those tasks (GetTask, CancelTask, a follow-up message…): the guard
   * admits it only if `caller` created every one of them through this connection, else answers
   * `task_unknown` (the rows recorded as a `deny`). With `list` (ListTasks), an admitted call gets
   * the caller's task ids back (`AdmitResult.ownedTasks`) to filter the agent's answer to.
   * Tasks are claimed from the outcomes of sends: a `task_state` finding (stage `a2a_task`) on
   * an `a2a_call` row whose `details.a2aMethod` is a send makes that task its caller's.
   * Optional: absent = the call addresses no task. Only checked on calls not already refused.
   * `protocol`: whose tasks (durable-objects/task.owners.ts taskKey); absent = A2A (older
   * Workers). MCP tasks are claimed from `mcp_task` / `task_created` findings on the row of the
   * request whose answer created them (workers/gateway/mcp.task.access.ts).
   * With `contexts` (a send naming a `contextId`: context.owners.ts), the call is refused
   * (`context_unknown`) if one of them was first used here by another caller; unrecorded ones pass.
   * With `answers` (an MCP body answering or cancelling server requests by their gateway-minted
   * ids: answered.ids.ts), the call is refused (`response_refused`) if one of them was answered
   * before (or is named twice), else they are recorded as answered once it is admitted. An older
   * guard ignores it (answers are then not one-shot during a deploy).
   * With `hosted` (a client's `notifications/tasks/status`: workers/gateway/mcp.client-tasks.ts),
   * the call is refused (`task_unknown`) unless its caller owns each id as a client-hosted task
   * (`mcp-client`, claimed from `mcp_task` / `client_task_created` findings on the row of the
   * client's response that created it) or as an MCP task.
   * With `protocol: "llm-response"`, `ids` are stored LLM responses the call names (a Responses
   * create's `previous_response_id`, `/responses/{id}`…: workers/gateway/llm.response.access.ts):
   * admitted only if `caller` created every one through this connection, else `response_unknown`
   * (durable-objects/response.owners.ts). An older guard looks them up as tasks and finds none:
   * refused (`task_unknown`), never admitted unchecked. The ids are object keys
   * (durable-objects/llm.objects.ts objectKey: a response's id as is, an output item, stored chat
   * completion, file, batch, message batch, fine-tuning job, vector store or upload behind `~<kind>:`). With `list` and `objects` (a provider list of
   * that kind, `GET /files`…), an admitted call gets its caller's ids of that kind back
   * (`ownedTasks`) to filter the answer to; an older guard returns none (everything filtered out).
   * With `protocol: "llm-batch"` (a batch create, `POST /batches {input_file_id}`, on a connection
   * with `allowedModels`), `ids` are checked exactly as for `llm-response`, and then the models
   * recorded at the upload of `batchInput` (one of `ids`: the input file's key) must all match one of
   * `allowedModels` (the connection's globs now): a file with no record (uploaded before this
   * check, in parts, not read, or naming more than MAX_FILE_MODELS) or naming another model is
   * refused (`models_refused`, durable-objects/batch.file-models.ts). An older guard looks the ids
   * up as tasks of that protocol and finds none: refused (`task_unknown`), never admitted unchecked.
   */
  tasks?: {
    ids?: string[];
    list?: boolean;
    protocol?: TaskProtocol;
    contexts?: string[];
    answers?: AnsweredIdRecord[];
    hosted?: string[];
    objects?: ListedKind;
    /** `llm-batch`: the key (objectKey) of the batch's input file. */
    batchInput?: string;
    /** `llm-batch`: the connection's `allowedModels` globs, which the input file's models must match. */
    allowedModels?: string[];
  };
}

/** A minted server-request id a body answers: its MAC (the record's key) and when it expires (ms). */
export interface AnsweredIdRecord {
  key: string;
  expiresAt: number;
}

/** Whose task ids a task-addressed call names: one record space per protocol. */
export type TaskProtocol = 'a2a' | 'mcp' | 'mcp-client' | 'llm-response' | 'llm-batch';

/** One call's outcome on its way to its guard (admit's `outcomes`, `completeMany`). */
export interface PendingOutcome {
  eventId: string;
  outcome: CallOutcome;
}

/** Outcomes applied per admit or completeMany; the gateway sends no more than this at once. */
export const MAX_OUTCOMES_PER_CALL = 200;

export interface TaintCheck {
  /** The agent session the labels belong to (see taintSession in the gateway): caller-scoped. */
  session: string;
  add: string[];
  cleanOf: string[][];
  /** The rule whose cleanOf is checked (for the refusal's details). */
  ruleIndex: number | null;
  /**
   * True when every rule with a cleanOf in this call says `onTaint: "approve"`: a tainted session
   * gets verdict `tainted` with `approval: true` and NOTHING is recorded (like `stale`) — the
   * gateway then holds the call for an approver, or consumes this exact call's approval, and
   * admits again. Optional: absent (older Workers) = refuse. An older guard ignores it and refuses:
   * the fail-closed reading.
   */
  approve?: boolean;
  /**
   * Governed names (normalised, policy.normalize.ts) of the call's admitted units, recorded as the
   * session's `called` facts once admitted (bounded per session: session.taint.ts). Optional.
   */
  called?: string[];
  /**
   * The rules with session conditions (`session.touched` / `session.called`) that the call would
   * match if their session conditions hold, in rule order before the rule it matches otherwise:
   * the guard refuses (or, with `approve`, holds) the call for the first one whose conditions
   * hold. Optional: absent = none. An older guard ignores it (see docs/policies.md).
   */
  gates?: SessionGate[];
  /**
   * True when the session is linked across connections (the caller sent an MCP session id or its
   * own X-Igris-Trace-Id): the guard shares what it records with the organization's agent-session
   * store (SessionFacts), so other connections of the same session see it.
   */
  linked?: boolean;
  /**
   * The facts other connections recorded for this session, read by the gateway from the
   * organization's agent-session store — only for calls with gates or cleanOf on a linked session.
   */
  shared?: SharedFacts;
}

/** One rule's session conditions, checked by the guard (workers/policy/policy.session.ts). */
export interface SessionGate {
  ruleIndex: number;
  /** Holds when the session touched ANY of these labels (null: no condition). */
  touched: readonly string[] | null;
  /** Holds when the session called a tool matching ANY of these normalised globs (null: no condition). */
  called: readonly string[] | null;
  /** The rule's action is `approve`: hold for an approver rather than refuse. */
  approve?: boolean;
}

/** An agent session's facts as the organization's store keeps them (durable-objects/session-facts.do.ts). */
export interface SharedFacts {
  labels: string[];
  called: string[];
}

/**
 * The guard's verdict. Precedence: kill switch, session taint, task (or stored response) then a
 * batch input file's recorded models, then context ownership, then answered server requests, then rate windows. A refused call's audit rows are rewritten by the guard (action `killed` /
 * `rate_limited` / `deny`) and spooled as final.
 */
export type AdmitResult =
  /** `ownedTasks`: only for a request with `tasks.list` (the caller's task ids of that protocol, most recent first). */
  | { verdict: 'admit'; sessionId: string; ownedTasks?: string[] }
  /** A task the call addresses (A2A or MCP) is not one its caller created here (or is unknown). Recorded. */
  | { verdict: 'task_unknown'; sessionId: string }
  /** A stored LLM response the call names was not created here by its caller (or is unknown). Recorded. */
  | {
      verdict: 'response_unknown';
      sessionId: string;
      /** The first object key named that is not the caller's (absent: an older guard, or none named). */
      key?: string;
    }
  /** An A2A context the send names was first used here by another caller. Recorded. */
  | { verdict: 'context_unknown'; sessionId: string }
  /**
   * A batch's input file (`key`) runs `model`, which `allowedModels` does not match, or (no
   * `model`) its models were not recorded at its upload. Recorded as a `deny` (batch.file-models.ts).
   */
  | { verdict: 'models_refused'; sessionId: string; key: string; model?: string }
  /**
   * A server request the body answers (or cancels) was answered before (`answered`), or the
   * connection's record of answered ids is full (`full`: fail closed). Recorded (answered.ids.ts).
   */
  | { verdict: 'response_refused'; sessionId: string; reason: 'answered' | 'full' }
  /** The call was decided on data older than a management change: re-read and decide again. */
  | { verdict: 'stale'; sessionId: string; configEpoch: number }
  | { verdict: 'killed'; sessionId: string; scope: KillScope; reason: string | null }
  /**
   * The session holds a label combination the matched rule's `cleanOf` forbids. With `approval`
   * (only when the request's taint said `approve`): nothing was recorded; the call needs an approval.
   */
  | { verdict: 'tainted'; sessionId: string; ruleIndex: number | null; held: string[]; approval?: true }
  | {
      verdict: 'rate_limited';
      sessionId: string;
      ruleIndex: number;
      retryAfterSeconds: number;
      limit: number;
      windowSeconds: number;
    };

/**
 * Something a request or response stage noticed (gateway.stages.ts). Small and free of secrets:
 * it is stored in the audit row's `details.findings` and sent in the live event as is.
 */
export interface Finding {
  /** The stage that recorded it (e.g. `inspection`, `tool_integrity`). */
  stage: string;
  /** What was found, in the stage's own vocabulary (e.g. `pii.email`, `tool_changed`). */
  kind: string;
  severity?: 'critical' | 'high' | 'medium' | 'low' | 'info';
  /** Which governed unit (audit row) of the call it concerns; the first when absent. */
  unit?: number;
  detail?: Record<string, unknown>;
}

/**
 * The outcome of an admitted call, for one of its audit rows (`complete`). Everything is optional:
 * the core sends status and latency when the answer's headers arrive (with the findings known by
 * then), and may send later findings of a streamed answer on their own; each is merged into the row.
 */
export type CallOutcome = AuditOutcome & {
  findings?: Finding[];
  /** An LLM call's actual tokens, added to the token windows it was admitted against. */
  tokens?: { checks: RateCheck[]; used: number };
  /** Milliseconds the gateway itself added to the call (not stored: the latency histogram's). */
  gatewayMs?: number;
};

/** The deterministic agent-session id of an (organization, connection) pair. */
export function agentSessionId(connectionId: string): string {
  return `ses_${connectionId.replace(/^con_/, '')}`;
}

/** The inverse of agentSessionId (connection ids are `con_…`); null for anything else. */
export function connectionIdOfSession(sessionId: string): string | null {
  return /^ses_[a-z0-9]+$/.test(sessionId) ? `con_${sessionId.slice(4)}` : null;
}

/** The name of the guard of a connection (the only place it is spelled). */
export function guardName(orgId: string, connectionId: string): string {
  return `${orgId}:${connectionId}`;
}

export interface WatchRequest extends GuardTarget {
  caller: KillCaller;
  /** Chosen by the gateway, so it can withdraw the watch with `unwatch` when its stream ends. */
  watchId: string;
  /**
   * The configuration epoch the stream's call was decided on. When present, the watch also ends
   * (with a ConfigNotice) as soon as the guard knows a newer epoch — at once if it already does —
   * so the gateway can re-validate the stream's key, connection and member after a management
   * change (workers/gateway/gateway.entitlement.ts). Optional: a gateway that does not send it
   * gets kill notices only, as before.
   */
  configEpoch?: number;
}

/** What watchKill resolves with when a kill switch that matches its caller holds. */
export interface KillNotice {
  killSwitchId: string;
  scope: KillScope;
  reason: string | null;
}

/** What watchKill resolves with when the guard learned an epoch newer than the watch's `configEpoch`. */
export interface ConfigNotice {
  configEpoch: number;
}

/** How a watch ends with something to act on: a kill switch, or a newer configuration to re-check. */
export type WatchNotice = KillNotice | ConfigNotice;

export function isConfigNotice(notice: WatchNotice): notice is ConfigNotice {
  return 'configEpoch' in notice;
}

/** An agent session's live state, as the guard keeps it (session.record.ts). */
export interface SessionState {
  orgId: string;
  connectionId: string;
  sessionId: string;
  mcpSessionId: string | null;
  apiKeyId: string | null;
  user: string | null;
  callCount: number;
  firstSeenAt: number;
  lastSeenAt: number;
}

export interface GuardSessionSnapshot {
  session: SessionState | null;
  /** Active kill switches that refuse every call of the session (organization, connection, session). */
  holds: KillRecord[];
}
