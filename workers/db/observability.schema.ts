/**
 * Observability (docs/observability.md): metrics scraper tokens, the audit hash chain, signing keys and checkpoints, alerts, notification channels, tracing and Langfuse settings.
 * Part of the D1 schema (workers/db/schema.ts re-exports every table).
 */
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { createdAt } from './columns.schema';
import { organizations } from './core.schema';

// Observability (issue 19): scraper tokens for GET /api/v1/metrics/prometheus, and the audit hash
// chain (docs/observability.md).

/**
 * A bearer token that may read its organization's metrics and nothing else (`igm_…`). Only its
 * SHA-256 is stored, like an API key's.
 */
export const metricsTokens = sqliteTable(
  'metrics_tokens',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    prefix: text('prefix').notNull(),
    hash: text('hash').notNull().unique(),
    createdBy: text('created_by'),
    revokedAt: integer('revoked_at', { mode: 'number' }),
    createdAt: createdAt(),
  },
  (t) => [index('metrics_tokens_org').on(t.orgId)],
);
export type MetricsTokenRow = typeof metricsTokens.$inferSelect;

/**
 * The tamper-evident audit trail: one link per write of an audit row by a spool, in the order the
 * spool wrote them. `hash = SHA-256(prev_hash | seq | event_id | row_hash)`, `row_hash` the SHA-256
 * of the row as written (durable-objects/audit.chain.ts). Written in the same D1 batch as the row.
 */
export const auditChain = sqliteTable(
  'audit_chain',
  {
    /** The spool that wrote it (`ConnectionGuard:<org>:<connection>`, `AuditSpool:<org>:<shard>`). */
    chain: text('chain').notNull(),
    seq: integer('seq').notNull(),
    orgId: text('org_id'),
    eventId: text('event_id').notNull(),
    rowHash: text('row_hash').notNull(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
    createdAt: integer('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.chain, t.seq] }),
    index('audit_chain_org').on(t.orgId, t.chain, t.seq),
    index('audit_chain_event').on(t.eventId),
  ],
);

// Alert inbox (issue 19): alerts raised by the guards' rules (durable-objects/alert.rules.ts),
// deduplicated by fingerprint while open or acknowledged (docs/observability.md).
export const ALERT_STATUSES = ['open', 'acknowledged', 'resolved', 'dismissed'] as const;
export const ALERT_SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;

export const alerts = sqliteTable(
  'alerts',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    /** Same fingerprint while open/acknowledged = the same alert seen again (`count` grows). */
    fingerprint: text('fingerprint').notNull(),
    /** anomaly | kill_switch | detection | drift | deny_spike */
    type: text('type').notNull(),
    severity: text('severity', { enum: ALERT_SEVERITIES }).notNull(),
    title: text('title').notNull(),
    status: text('status', { enum: ALERT_STATUSES }).notNull().default('open'),
    connectionId: text('connection_id'),
    assignee: text('assignee'),
    comment: text('comment'),
    count: integer('count').notNull().default(1),
    /** JSON: what raised it (ids, figures, rule) — never content or secrets. */
    details: text('details', { mode: 'json' }),
    firstSeenAt: integer('first_seen_at', { mode: 'number' }).notNull(),
    lastSeenAt: integer('last_seen_at', { mode: 'number' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    uniqueIndex('alerts_active_fingerprint')
      .on(t.orgId, t.fingerprint)
      .where(sql`status IN ('open', 'acknowledged')`),
    index('alerts_org_seen').on(t.orgId, t.lastSeenAt),
  ],
);
export type AlertRow = typeof alerts.$inferSelect;

// Notification channels (issue 19, docs/observability.md#notification-channels): where an
// organization's alerts are sent (webhook, Slack, SIEM), and one delivery row per (event, channel)
// — its retries, and the dead-letter list that can be replayed (workers/notify/).
export const NOTIFY_CHANNEL_TYPES = ['webhook', 'slack', 'siem'] as const;
/** How a SIEM channel writes an event: NDJSON, CEF lines, Splunk HEC events, Elastic bulk (ECS). */
export const SIEM_FORMATS = ['ndjson', 'cef', 'splunk_hec', 'elastic_bulk'] as const;
export const DELIVERY_STATUSES = ['pending', 'delivered', 'dead'] as const;

export const notifyChannels = sqliteTable(
  'notify_channels',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    type: text('type', { enum: NOTIFY_CHANNEL_TYPES }).notNull(),
    /** SIEM channels only. */
    format: text('format', { enum: SIEM_FORMATS }),
    /** What may be shown: the URL of a webhook/SIEM channel; only the origin of a Slack webhook (its path is the secret). */
    displayUrl: text('display_url').notNull(),
    /** Vault envelope of JSON `{url, secret?, token?}` (AAD `<org>:<channel>:notify`); never returned. */
    secretCiphertext: text('secret_ciphertext').notNull(),
    /** Routing: events below this severity are not sent. */
    minSeverity: text('min_severity', { enum: ALERT_SEVERITIES }).notNull().default('info'),
    /** JSON array of event types (alert types, `budget`, `approval_requested`); null = every type. */
    eventTypes: text('event_types', { mode: 'json' }),
    enabled: integer('enabled').notNull().default(1),
    createdBy: text('created_by'),
    createdAt: createdAt(),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('notify_channels_org').on(t.orgId)],
);
export type NotifyChannelRow = typeof notifyChannels.$inferSelect;

export const notifyDeliveries = sqliteTable(
  'notify_deliveries',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    channelId: text('channel_id')
      .notNull()
      .references(() => notifyChannels.id, { onDelete: 'cascade' }),
    eventType: text('event_type').notNull(),
    alertId: text('alert_id'),
    /** JSON: the event as routed (the alert's fields at that time) — never content or secrets. */
    payload: text('payload', { mode: 'json' }).notNull(),
    status: text('status', { enum: DELIVERY_STATUSES }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    /** Why the last attempt failed (`http_500`, `timeout`, `network`, `redirect`, `url_refused`). */
    lastError: text('last_error'),
    createdAt: createdAt(),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
    deliveredAt: integer('delivered_at', { mode: 'number' }),
  },
  (t) => [index('notify_deliveries_org_status').on(t.orgId, t.status, t.createdAt)],
);
export type NotifyDeliveryRow = typeof notifyDeliveries.$inferSelect;

// Signed audit checkpoints (issue 19, docs/observability.md#signed-export-and-offline-verification):
// one Ed25519 key per organization. The private key is sealed in the vault (AAD
// `<org>:<id>:audit-signing`); the public key is published with every signed export.
export const auditSigningKeys = sqliteTable('audit_signing_keys', {
  id: text('id').primaryKey(),
  orgId: text('org_id')
    .notNull()
    .unique()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  /** base64url of the raw 32-byte Ed25519 public key. */
  publicKey: text('public_key').notNull(),
  /** Vault envelope of the PKCS#8 private key (base64). */
  privateCiphertext: text('private_ciphertext').notNull(),
  createdAt: createdAt(),
});

/** OTLP/HTTP encodings a trace export can use (OTEL_EXPORTER_OTLP_PROTOCOL's names). */
export const OTLP_PROTOCOLS = ['http/json', 'http/protobuf'] as const;

// OpenTelemetry tracing (issue 19, docs/observability.md#tracing): one OTLP/HTTP export target per
// organization. The endpoint's headers (an API key for the collector, usually) are sealed in the
// vault (AAD `<org>:tracing`) and never returned; only their names are.
export const tracingSettings = sqliteTable('tracing_settings', {
  orgId: text('org_id')
    .primaryKey()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
  /** The OTLP/HTTP traces URL (e.g. `https://collector.example.com/v1/traces`). */
  endpoint: text('endpoint').notNull(),
  /** Fraction of traces recorded, 0..1 (decided on the trace id, like OpenTelemetry's TraceIdRatioBased). */
  sampleRate: real('sample_rate').notNull().default(1),
  /** JSON array of the header names (shown to admins); the values are only in the envelope. */
  headerNames: text('header_names').notNull().default('[]'),
  /** Vault envelope of a JSON object name → value; null when no header is set. */
  headersCiphertext: text('headers_ciphertext'),
  /** The OTLP/HTTP encoding: `http/json` (default) or `http/protobuf` (binary, workers/tracing/trace.protobuf.ts). */
  protocol: text('protocol', { enum: OTLP_PROTOCOLS }).notNull().default('http/json'),
  updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
});
export type TracingSettingsRow = typeof tracingSettings.$inferSelect;

// Langfuse export (issue 19, docs/observability.md#langfuse): one Langfuse project per organization
// that its LLM calls are sent to (workers/langfuse/). The secret key is sealed in the vault (AAD
// `<org>:langfuse`) and never returned; the public key is shown.
export const langfuseSettings = sqliteTable('langfuse_settings', {
  orgId: text('org_id')
    .primaryKey()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
  /** The Langfuse base URL (e.g. `https://cloud.langfuse.com`); batches go to `<host>/api/public/ingestion`. */
  host: text('host').notNull(),
  publicKey: text('public_key').notNull(),
  /** Vault envelope of the secret key. */
  secretCiphertext: text('secret_ciphertext').notNull(),
  updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
});
export type LangfuseSettingsRow = typeof langfuseSettings.$inferSelect;

// Periodic signed audit checkpoints (issue 19, docs/observability.md#periodic-checkpoints): the cron
// signs each organization's chain heads with its audit signing key whenever they moved, so a chain
// rewritten in D1 afterwards no longer matches a checkpoint kept elsewhere (workers/audit/audit.checkpoints.ts).
export const auditCheckpoints = sqliteTable(
  'audit_checkpoints',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    /** The signed payload's `createdAt` (ISO), exactly as signed. */
    signedAt: text('signed_at').notNull(),
    /** JSON array of {chain, first, seq, hash}: every chain's head when signed. */
    heads: text('heads').notNull(),
    keyId: text('key_id').notNull(),
    publicKey: text('public_key').notNull(),
    /** base64url Ed25519 signature over the checkpoint payload (audit.signed-export.ts checkpointPayload). */
    signature: text('signature').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('audit_checkpoints_org_created').on(t.orgId, t.createdAt)],
);
export type AuditCheckpointRow = typeof auditCheckpoints.$inferSelect;
