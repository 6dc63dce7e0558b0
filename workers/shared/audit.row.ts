/**
 * Audit rows (`AuditEventInsert`) are built here, and only here: the fields every row of a call
 * shares (who made it, through which connection, under which trace) are filled in one place, so a
 * column added to the row reaches every kind of row at once. In the leaf layer because the
 * Durable Objects build rows too (the guard's anomaly rows, the spool's burst rows).
 *
 * The kinds of row, and who writes them:
 *   - a gateway call (`callRow`): the call core's first row, which the protocol adapter copies
 *     once per governed unit and the refusal path amends (workers/gateway/);
 *   - an anomaly (`anomalyRow`): made by the ConnectionGuard from the call that showed it;
 *   - a direct row (`directRow`): an administrative change, a session suspend/resume or a person's
 *     authentication event, written by the API in the same D1 batch as the change
 *     (workers/audit/audit.admin.ts);
 *   - amended rows (`withDetails`): a refusal burst's count, a guard's refusal, findings.
 * Pure: no I/O.
 */
import type { AUDIT_TYPES, AuditEventInsert } from '../db/schema';
import { eventId } from '../lib/ids';
import { recordOrEmpty } from '../lib/values';

type AuditType = (typeof AUDIT_TYPES)[number];

/** What the gateway knows of a call when it starts its row (nulls for what it does not know yet). */
export interface CallRowFields {
  id: string;
  orgId: string | null;
  connectionId: string | null;
  connectionSlug: string | null;
  apiKeyId: string | null;
  actor: string | null;
  user: string | null;
  traceId: string;
  metadata: AuditEventInsert['metadata'];
  metadataError: string | null;
  mcpSessionId: string | null;
  createdAt: number;
}

/** A gateway call's row before anything is decided: a `request` that passes. */
export function callRow(call: CallRowFields): AuditEventInsert {
  return {
    id: call.id,
    orgId: call.orgId,
    type: 'request',
    connectionId: call.connectionId,
    connectionSlug: call.connectionSlug,
    apiKeyId: call.apiKeyId,
    actor: call.actor,
    user: call.user,
    traceId: call.traceId,
    metadata: call.metadata,
    metadataError: call.metadataError,
    mcpSessionId: call.mcpSessionId,
    action: 'pass',
    createdAt: call.createdAt,
  };
}

/** The fields a row made *about* a call (an anomaly it showed) copies from the call's row. */
function sameCaller(call: AuditEventInsert) {
  return {
    orgId: call.orgId,
    connectionId: call.connectionId,
    connectionSlug: call.connectionSlug,
    sessionId: call.sessionId,
    mcpSessionId: call.mcpSessionId,
    apiKeyId: call.apiKeyId,
    actor: call.actor,
    user: call.user,
    traceId: call.traceId,
    metadata: call.metadata,
  };
}

export interface AnomalyRowFields {
  /** The anomaly type: the row's action, and `details.anomalyType`. */
  anomalyType: string;
  method: string | null;
  tool: string | null;
  details: Record<string, unknown>;
}

/** A type `anomaly` row: the caller of the call that showed it, and what was seen. */
export function anomalyRow(call: AuditEventInsert, anomaly: AnomalyRowFields, now: number): AuditEventInsert {
  return {
    id: eventId(now),
    type: 'anomaly',
    ...sameCaller(call),
    method: anomaly.method,
    tool: anomaly.tool,
    action: anomaly.anomalyType,
    details: { anomalyType: anomaly.anomalyType, ...anomaly.details },
    createdAt: now,
  };
}

/**
 * The row types written straight to D1 by the API (the gateway's types go through the spool), and
 * `anomaly` for tool drift, written by the integrity recorder off the hot path (`driftRow`).
 */
export type DirectAuditType = Extract<AuditType, 'admin' | 'session' | 'auth' | 'anomaly'>;

export interface DirectRowFields {
  orgId: string | null;
  type: DirectAuditType;
  connectionId: string | null;
  connectionSlug: string | null;
  sessionId: string | null;
  apiKeyId: string | null;
  actor: string | null;
  user: string | null;
  action: string;
  details: Record<string, unknown>;
}

export type DirectRow = DirectRowFields & { id: string; createdAt: number };

/** A row written by the API itself, now, with a fresh event id. */
export function directRow(fields: DirectRowFields): DirectRow {
  const now = Date.now();
  return { ...fields, id: eventId(now), createdAt: now };
}

/** The row with `extra` merged over its details (details that are not an object are replaced). */
export function withDetails(row: AuditEventInsert, extra: Record<string, unknown>): AuditEventInsert {
  return { ...row, details: { ...recordOrEmpty(row.details), ...extra } };
}

/** Rewrites a row the guard refused, in place: its action, error code, and why (merged into details). */
export function refuseRow(
  row: AuditEventInsert,
  action: 'killed' | 'rate_limited' | 'deny' | 'error',
  errorCode: string,
  why: Record<string, unknown>,
): void {
  row.action = action;
  row.errorCode = errorCode;
  row.details = withDetails(row, why).details;
}

export interface DriftRowFields {
  orgId: string;
  connectionId: string;
  connectionSlug: string;
  /** The governed name of the item (`tool`, `prompt:<name>`, `resource:<uri>`). */
  tool: string;
  details: Record<string, unknown>;
}

/**
 * A `tool_drift` row (type `anomaly`): a listed item of a connection changed (workers/integrity/).
 * No caller: the change is the upstream's, seen through whichever call listed it.
 */
export function driftRow(fields: DriftRowFields): DirectRow & { tool: string } {
  return {
    ...directRow({
      orgId: fields.orgId,
      type: 'anomaly',
      connectionId: fields.connectionId,
      connectionSlug: fields.connectionSlug,
      sessionId: null,
      apiKeyId: null,
      actor: null,
      user: null,
      action: 'tool_drift',
      details: fields.details,
    }),
    tool: fields.tool,
  };
}
