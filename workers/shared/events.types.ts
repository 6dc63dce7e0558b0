/**
 * Live events published to an organization's hub and streamed on GET /api/v1/events.
 * Field names follow Igris (`serverId` is the connection id) so existing dashboards keep working.
 */
import type { Finding } from '../../durable-objects/guard.contract';
import type { AuditOutcomeName } from './audit.outcome';

export interface ToolCallEvent {
  type: 'tool_call';
  serverId: string;
  sessionId: string | null;
  toolName: string | null;
  method: string | null;
  action: string;
  /** What happened after the decision (workers/shared/audit.outcome.ts): ok, upstream_error, timeout, refused… */
  outcome: AuditOutcomeName | null;
  /** The upstream's HTTP status (null when it was not reached or the call was refused). */
  upstreamStatus: number | null;
  /** Why the call was refused or failed (`upstream_unreachable`, `upstream_timeout`, `policy_denied`…). */
  errorCode: string | null;
  latencyMs: number | null;
  user: string | null;
  traceId: string | null;
  /** What the call's request and response stages found (gateway.stages.ts); absent when nothing. */
  findings?: Finding[];
  timestamp: string;
}

/**
 * An LLM call (workers/gateway/llm.adapter.ts), published when its answer has ended: the fields of
 * a tool call (`toolName` is the model, `method` the endpoint), plus tokens and cost (null when the
 * provider reported no usage or the model has no price).
 */
export interface LlmCallEvent extends Omit<ToolCallEvent, 'type'> {
  type: 'llm_call';
  model: string | null;
  inputTokens: number | null;
  cachedInputTokens: number | null;
  outputTokens: number | null;
  reasoningTokens: number | null;
  costUsd: number | null;
}

/**
 * Findings a streamed answer produced after its call's `tool_call` event was published. `timestamp`
 * is the call's (its audit row's `createdAt`), not when the findings were made.
 */
export interface FindingsEvent {
  type: 'findings';
  serverId: string;
  sessionId: string | null;
  toolName: string | null;
  traceId: string | null;
  findings: Finding[];
  timestamp: string;
}

export interface AnomalyEvent {
  type: 'anomaly';
  serverId: string;
  anomalyType: 'rate_spike' | 'destructive_pattern';
  toolName: string | null;
  currentRate: number | null;
  threshold: number | null;
  timestamp: string;
}

export interface SessionUpdateEvent {
  type: 'session_update';
  sessionId: string;
  serverId: string | null;
  status: 'active' | 'suspended';
  timestamp: string;
}

export interface ManagementEvent {
  type: 'policy_update' | 'connection_update';
  serverId: string;
  slug: string;
  change: string;
  version?: number;
  timestamp: string;
}

/** A budget reached its warning threshold: once per budget and period (workers/budgets/budget.gate.ts). */
export interface BudgetWarningEvent {
  type: 'budget_warning';
  /** The connection of the call whose cost crossed the threshold. */
  serverId: string;
  budgetId: string;
  name: string;
  scope: string;
  scopeRef: string | null;
  limitUsd: number;
  warnAtPercent: number;
  spentUsd: number;
  percent: number;
  periodStart: string | null;
  periodEnd: string | null;
  timestamp: string;
}

/**
 * A listed item of a connection changed (workers/integrity/): published once per change, by the
 * gateway whose version row won the insert — not once per call that lists it.
 */
export interface ToolDriftEvent {
  type: 'tool_drift';
  serverId: string;
  slug: string;
  kind: 'tool' | 'prompt' | 'resource';
  /** The tool or prompt name, or the resource URI. */
  toolName: string;
  version: number;
  severity: 'critical' | 'warning' | 'info';
  /** The classified changes (`added`, `removed`, `parameter_type_changed`, `poisoned_description`…). */
  changes: string[];
  fingerprint: string | null;
  /** True when the change quarantined the item (quarantineOnCritical). */
  quarantined: boolean;
  timestamp: string;
}

/**
 * A call was held for approval (`action: "approve"`, workers/approvals/approval.gate.ts): published
 * once per approval when it is created, not for each repeat of the held call.
 */
export interface ApprovalRequestedEvent {
  type: 'approval_requested';
  serverId: string;
  slug: string;
  approvalId: string;
  /** The dashboard page where an approver decides. */
  approvalUrl: string;
  toolName: string;
  argsHash: string;
  user: string | null;
  apiKeyId: string | null;
  traceId: string | null;
  expiresAt: string;
  timestamp: string;
}

/**
 * An A2A task changed state (workers/a2a/a2a.tasks.ts): published once per change the agent
 * reported through the gateway (a GetTask that reads the same state again publishes nothing).
 */
export interface A2aTaskEvent {
  type: 'a2a_task';
  serverId: string;
  slug: string;
  taskId: string;
  contextId: string | null;
  /** submitted, working, input-required, completed, failed, canceled, rejected, auth-required… */
  state: string;
  skill: string | null;
  /** The A2A method (v1.0 name) of the call whose answer reported the state. */
  method: string | null;
  user: string | null;
  traceId: string | null;
  timestamp: string;
}

export type GatewayEvent =
  | A2aTaskEvent
  | ApprovalRequestedEvent
  | ToolDriftEvent
  | BudgetWarningEvent
  | ToolCallEvent
  | LlmCallEvent
  | FindingsEvent
  | AnomalyEvent
  | SessionUpdateEvent
  | ManagementEvent;

/** The connection an event belongs to, for the `?connection=` filter. */
export function eventConnection(event: GatewayEvent): string | null {
  return event.serverId;
}
