/**
 * Shapes of the audit API: query filters, the opaque page cursor and the event as returned.
 * Pure (no bindings), so the parsing rules are unit-tested in plain Node.
 */
import { z } from '@hono/zod-openapi';
import { pathParamSchema } from '../api/api.openapi';
import { AUDIT_TYPES } from '../db/schema.js';
import { strictUtf8 } from '../lib/values.js';
import { AUDIT_OUTCOMES, auditOutcome } from '../shared/audit.outcome.js';

export const MAX_PAGE = 500;
export const DEFAULT_PAGE = 100;
/** Most events one trace answer carries (a trace is one agent task: far fewer in practice). */
export const TRACE_LIMIT = 1000;

// ---------------------------------------------------------------------------------------------
// Times: ISO 8601 or milliseconds since the epoch.
// ---------------------------------------------------------------------------------------------

const ISO_RE = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/;

/** `1732233600000` or `2026-11-22T03:00:00Z` (or a bare date, read as UTC midnight) → ms; null if neither. */
export function parseTime(raw: string): number | null {
  const value = raw.trim();
  if (/^\d{1,15}$/.test(value)) return Number(value);
  if (!ISO_RE.test(value)) return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

export const timeParam = (description: string) =>
  z
    .string()
    .max(40)
    .transform((raw, ctx) => {
      const ms = parseTime(raw);
      if (ms === null) {
        ctx.addIssue({
          code: 'custom',
          message: 'expected an ISO 8601 time or milliseconds since the epoch',
        });
        return z.NEVER;
      }
      return ms;
    })
    .optional()
    .openapi({ type: 'string', description, example: '2026-11-01T00:00:00Z' });

// ---------------------------------------------------------------------------------------------
// Cursor: opaque to clients; (created_at, id) of the last row of the previous page.
// ---------------------------------------------------------------------------------------------

export interface CursorPosition {
  createdAt: number;
  id: string;
}

function toBase64Url(text: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

function fromBase64Url(text: string): string {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const bytes = Uint8Array.from(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
  return strictUtf8(bytes);
}

export function encodeCursor(position: CursorPosition): string {
  return toBase64Url(JSON.stringify([position.createdAt, position.id]));
}

/** The position a cursor names, or null when it is not one of ours. */
export function decodeCursor(cursor: string): CursorPosition | null {
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(cursor)) return null;
  try {
    const value: unknown = JSON.parse(fromBase64Url(cursor));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      Number.isSafeInteger(value[0]) &&
      typeof value[1] === 'string' &&
      value[1].length > 0 &&
      value[1].length <= 200
    ) {
      return { createdAt: value[0] as number, id: value[1] };
    }
  } catch {
    // not base64url JSON
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Query parameters.
// ---------------------------------------------------------------------------------------------

const text = (description: string, max = 256) =>
  z.string().min(1).max(max).optional().openapi({ description });

/** The filters shared by the list and the export. */
export const auditFilterShape = {
  connection: text('Connection slug or id'),
  traceId: text('Trace id (X-Igris-Trace-Id)', 128),
  user: text('End user (X-Igris-User)'),
  tool: text('Tool (or `resource:…` / `prompt:…`) name', 512),
  action: text(
    'allow, deny, alert, error, killed, rate_limited, pass, unauthenticated … or an admin verb',
    64,
  ),
  type: z.enum(AUDIT_TYPES).optional().openapi({ description: 'Event type' }),
  session: text('Agent session id', 128),
  model: text('LLM model as the caller named it (LLM calls only)'),
  outcome: z.enum(AUDIT_OUTCOMES).optional().openapi({
    description:
      'What happened after the decision: ok, upstream_rejected (4xx), upstream_error (unreachable or 5xx), timeout, outcome_unknown, refused',
  }),
  lifecycle: z.enum(['include', 'exclude']).default('include').openapi({
    description:
      '`exclude` leaves out protocol lifecycle rows: initialize, ping, notifications/*, and the transport’s GET stream / DELETE session rows',
  }),
  from: timeParam('Only events at or after this time (ISO 8601 or ms)'),
  to: timeParam('Only events before this time (ISO 8601 or ms)'),
};

export const auditListQuerySchema = z.object({
  ...auditFilterShape,
  cursor: z
    .string()
    .max(400)
    .transform((raw, ctx) => {
      const position = decodeCursor(raw);
      if (!position) {
        ctx.addIssue({ code: 'custom', message: 'not a cursor returned by this API' });
        return z.NEVER;
      }
      return position;
    })
    .optional()
    .openapi({ type: 'string', description: 'nextCursor of the previous page' }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_PAGE)
    .default(DEFAULT_PAGE)
    .openapi({ type: 'integer', description: `Page size, 1 to ${MAX_PAGE}` }),
});

export const auditExportQuerySchema = z.object({
  ...auditFilterShape,
  format: z.enum(['ndjson', 'csv']).default('ndjson'),
});

export type AuditFilters = Omit<z.output<typeof auditExportQuerySchema>, 'format'>;
export type AuditListQuery = z.output<typeof auditListQuerySchema>;
export type ExportFormat = z.output<typeof auditExportQuerySchema>['format'];

export const eventIdParamSchema = pathParamSchema('id', 'evt_…', 128);

export const traceIdParamSchema = pathParamSchema('traceId', 'ig_trace_…', 128);

// ---------------------------------------------------------------------------------------------
// The event as returned.
// ---------------------------------------------------------------------------------------------

export const auditEventSchema = z
  .object({
    id: z.string(),
    orgId: z.string().nullable(),
    type: z.enum(AUDIT_TYPES),
    connectionId: z.string().nullable(),
    connectionSlug: z.string().nullable(),
    sessionId: z.string().nullable(),
    mcpSessionId: z.string().nullable(),
    apiKeyId: z.string().nullable(),
    actor: z.string().nullable(),
    user: z.string().nullable(),
    traceId: z.string().nullable(),
    metadata: z.unknown().nullable(),
    metadataError: z.string().nullable(),
    method: z.string().nullable(),
    tool: z.string().nullable(),
    action: z.string(),
    ruleIndex: z.number().int().nullable(),
    policyVersion: z.number().int().nullable(),
    upstreamStatus: z.number().int().nullable(),
    latencyMs: z.number().int().nullable(),
    errorCode: z.string().nullable(),
    outcome: z.enum(AUDIT_OUTCOMES).nullable().openapi({
      description:
        'What happened after the decision (calls only; null for admin, anomaly, session, auth rows)',
    }),
    details: z.unknown().nullable(),
    model: z.string().nullable().openapi({ description: 'LLM calls: the model as the caller named it' }),
    inputTokens: z.number().int().nullable().openapi({
      description: 'LLM calls: prompt tokens as the provider reported them (cache reads and writes included)',
    }),
    cachedInputTokens: z
      .number()
      .int()
      .nullable()
      .openapi({ description: 'LLM calls: prompt tokens read from cache' }),
    outputTokens: z
      .number()
      .int()
      .nullable()
      .openapi({ description: 'LLM calls: completion tokens (reasoning included)' }),
    reasoningTokens: z
      .number()
      .int()
      .nullable()
      .openapi({ description: 'LLM calls: reasoning tokens, where reported' }),
    costUsd: z.number().nullable().openapi({
      description:
        'LLM calls: cost in USD from the price table or an organization override; null when unpriced',
    }),
    createdAt: z.string().openapi({ description: 'ISO 8601' }),
  })
  .openapi('AuditEvent');

export type AuditEventDto = z.output<typeof auditEventSchema>;

/** An audit_events row as D1 returns it (snake_case, JSON as text). */
export interface AuditEventDbRow {
  id: string;
  org_id: string | null;
  type: AuditEventDto['type'];
  connection_id: string | null;
  connection_slug: string | null;
  session_id: string | null;
  mcp_session_id: string | null;
  api_key_id: string | null;
  actor: string | null;
  user: string | null;
  trace_id: string | null;
  metadata: string | null;
  metadata_error: string | null;
  method: string | null;
  tool: string | null;
  action: string;
  rule_index: number | null;
  policy_version: number | null;
  upstream_status: number | null;
  latency_ms: number | null;
  error_code: string | null;
  details: string | null;
  model: string | null;
  input_tokens: number | null;
  cached_input_tokens: number | null;
  output_tokens: number | null;
  reasoning_tokens: number | null;
  cost_usd: number | null;
  created_at: number;
}

/** JSON columns parsed; a value that is not valid JSON (never written by us) is returned as text. */
function parseJsonColumn(value: string | null): unknown {
  if (value === null) return null;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

export function toAuditEventDto(row: AuditEventDbRow): AuditEventDto {
  return {
    id: row.id,
    orgId: row.org_id,
    type: row.type,
    connectionId: row.connection_id,
    connectionSlug: row.connection_slug,
    sessionId: row.session_id,
    mcpSessionId: row.mcp_session_id,
    apiKeyId: row.api_key_id,
    actor: row.actor,
    user: row.user,
    traceId: row.trace_id,
    metadata: parseJsonColumn(row.metadata),
    metadataError: row.metadata_error,
    method: row.method,
    tool: row.tool,
    action: row.action,
    ruleIndex: row.rule_index,
    policyVersion: row.policy_version,
    upstreamStatus: row.upstream_status,
    latencyMs: row.latency_ms,
    errorCode: row.error_code,
    outcome: auditOutcome({
      type: row.type,
      action: row.action,
      upstreamStatus: row.upstream_status,
      errorCode: row.error_code,
    }),
    details: parseJsonColumn(row.details),
    model: row.model ?? null,
    inputTokens: row.input_tokens ?? null,
    cachedInputTokens: row.cached_input_tokens ?? null,
    outputTokens: row.output_tokens ?? null,
    reasoningTokens: row.reasoning_tokens ?? null,
    costUsd: row.cost_usd ?? null,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

export const auditPageSchema = z
  .object({
    events: z.array(auditEventSchema),
    nextCursor: z
      .string()
      .nullable()
      .openapi({ description: 'Pass as `cursor` for the next page; null at the end' }),
  })
  .openapi('AuditEventPage');

export const traceSchema = z
  .object({
    traceId: z.string(),
    events: z.array(auditEventSchema).openapi({ description: 'Oldest first' }),
    truncated: z.boolean().openapi({
      description: `True when the trace has more than ${TRACE_LIMIT} events (the oldest ${TRACE_LIMIT} are returned)`,
    }),
  })
  .openapi('Trace');
