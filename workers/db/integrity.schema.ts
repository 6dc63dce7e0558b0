/**
 * Tool integrity, the MCP scanner and its suppressions (docs/tool-integrity.md), and content inspection's custom rules and packs (docs/detections.md).
 * Part of the D1 schema (workers/db/schema.ts re-exports every table).
 */
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { createdAt } from './columns.schema';
import { connections, organizations } from './core.schema';

// ---------------------------------------------------------------------------------------------
// Tool integrity (issue 17): fingerprints, drift history, approvals and quarantine per connection.
// Written off the hot path by workers/integrity/integrity.record.ts and by the API; what the
// gateway needs per call is published to KV (`integrity:<org>:<connection>`, integrity.state.ts).
// ---------------------------------------------------------------------------------------------

/** What a list answer lists: `tools/list` tools, `prompts/list` prompts, `resources/list` resources. */
export const INTEGRITY_KINDS = ['tool', 'prompt', 'resource'] as const;
export const DRIFT_SEVERITIES = ['critical', 'warning', 'info'] as const;

/** The current state of every item a connection's upstream ever listed: one row per (kind, name). */
export const toolInventory = sqliteTable(
  'tool_inventory',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    connectionId: text('connection_id')
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: INTEGRITY_KINDS }).notNull(),
    /** The tool or prompt name, or the resource URI, as the upstream listed it. */
    name: text('name').notNull(),
    /** SHA-256 (hex) of the canonical definition; null once the item was removed. */
    fingerprint: text('fingerprint'),
    /** 1 at first sight, +1 at every change (including removal). */
    version: integer('version').notNull(),
    /** The canonical definition last seen (description, schemas, annotations). */
    definition: text('definition', { mode: 'json' }),
    removed: integer('removed', { mode: 'boolean' }).notNull().default(false),
    /** Refused and hidden until re-approved (set by critical drift with quarantineOnCritical, or by hand). */
    quarantined: integer('quarantined', { mode: 'boolean' }).notNull().default(false),
    quarantineReason: text('quarantine_reason'),
    /** The fingerprint an owner/admin approved (the pinned baseline); null = never approved. */
    approvedFingerprint: text('approved_fingerprint'),
    approvedBy: text('approved_by'),
    approvedAt: integer('approved_at', { mode: 'number' }),
    /** The poisoning/shadowing scan's findings on the current definition (integrity.scan.ts). */
    findings: text('findings', { mode: 'json' }),
    firstSeen: integer('first_seen', { mode: 'number' }).notNull(),
    lastSeen: integer('last_seen', { mode: 'number' }).notNull(),
  },
  (t) => [
    uniqueIndex('tool_inventory_item').on(t.connectionId, t.kind, t.name),
    index('tool_inventory_org').on(t.orgId, t.connectionId),
  ],
);

/**
 * Every version of every item, with the classified changes from the version before. The unique
 * (connection, kind, name, version) makes recording idempotent across isolates: of two gateways
 * that saw the same change at once, one insert wins and only the winner writes the audit row
 * and publishes the `tool_drift` event.
 */
export const toolVersions = sqliteTable(
  'tool_versions',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    connectionId: text('connection_id')
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: INTEGRITY_KINDS }).notNull(),
    name: text('name').notNull(),
    version: integer('version').notNull(),
    /** Null for a removal. */
    fingerprint: text('fingerprint'),
    definition: text('definition', { mode: 'json' }),
    /** The highest severity of `changes`. */
    severity: text('severity', { enum: DRIFT_SEVERITIES }).notNull(),
    /** JSON: the classified changes (integrity.classify.ts) and scan findings. */
    changes: text('changes', { mode: 'json' }).notNull(),
    seenAt: integer('seen_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    uniqueIndex('tool_versions_item_version').on(t.connectionId, t.kind, t.name, t.version),
    index('tool_versions_org').on(t.orgId, t.connectionId, t.seenAt),
  ],
);

export type ToolInventoryRow = typeof toolInventory.$inferSelect;
export type ToolVersionRow = typeof toolVersions.$inferSelect;

// MCP scanner (issue 17, docs/tool-integrity.md#mcp-scanner): one row per scan of a connection's
// upstream — what the server said about itself, and the findings (JSON, never a credential).
export const SCAN_STATUSES = ['completed', 'failed'] as const;

export const scans = sqliteTable(
  'scans',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    /** Null for a scan of a bare URL (not a connection). */
    connectionId: text('connection_id').references(() => connections.id, { onDelete: 'cascade' }),
    connectionSlug: text('connection_slug'),
    /** The scanned URL of a bare-URL scan (a connection's scan names its connection instead). */
    targetUrl: text('target_url'),
    createdBy: text('created_by'),
    status: text('status', { enum: SCAN_STATUSES }).notNull(),
    /** JSON: serverInfo, protocolVersion, item counts. */
    server: text('server', { mode: 'json' }),
    /** JSON array of findings (kind, severity, item, path, match, message). */
    findings: text('findings', { mode: 'json' }).notNull(),
    /** Why a failed scan failed (an error code; never the upstream's text). */
    error: text('error'),
    /**
     * When the findings and server were pruned (emptied) because 200 newer scans of the same
     * connection (or bare-URL scans of the organization) exist: scans.retention.ts. Null: kept.
     */
    prunedAt: integer('pruned_at'),
    createdAt: createdAt(),
  },
  (t) => [index('scans_org_connection').on(t.orgId, t.connectionId, t.createdAt)],
);
export type ScanRow = typeof scans.$inferSelect;

// Scan suppressions (issue 17, docs/tool-integrity.md#suppressions): an owner/admin accepts one
// finding of a connection's scans, with a reason and an optional expiry. The finding is matched by
// its fingerprint (kind, item, path, match): when it changes, it is reported again.
export const scanSuppressions = sqliteTable(
  'scan_suppressions',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    connectionId: text('connection_id')
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    /** SHA-256 (hex) of the finding's kind, item, path and match (scans.suppress.ts). */
    fingerprint: text('fingerprint').notNull(),
    kind: text('kind').notNull(),
    item: text('item').notNull(),
    reason: text('reason').notNull(),
    /** Null: until deleted. */
    expiresAt: integer('expires_at', { mode: 'number' }),
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('scan_suppressions_finding').on(t.connectionId, t.fingerprint)],
);
export type ScanSuppressionRow = typeof scanSuppressions.$inferSelect;

// Content inspection (issue 16): an organization's custom detection rules and packs
// (docs/detections.md). Each is stored as its validated JSON (workers/inspection/inspection.schema.ts);
// the gateway compiles them with the built-in rules when a connection's packs name them.

/** A custom detection rule; `ruleId` is the rule's own dotted id, unique in its organization. */
export const detectionRules = sqliteTable(
  'detection_rules',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    ruleId: text('rule_id').notNull(),
    /** The rule as validated by validateCustomRule (JSON). */
    rule: text('rule', { mode: 'json' }).notNull(),
    createdBy: text('created_by'),
    createdAt: createdAt(),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [uniqueIndex('detection_rules_org_rule').on(t.orgId, t.ruleId)],
);
export type DetectionRuleRow = typeof detectionRules.$inferSelect;

/** A custom detection pack; `name` is unique in its organization and may not shadow a built-in pack. */
export const detectionPacks = sqliteTable(
  'detection_packs',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** The pack as validated by packSchema (JSON). */
    pack: text('pack', { mode: 'json' }).notNull(),
    createdBy: text('created_by'),
    createdAt: createdAt(),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [uniqueIndex('detection_packs_org_name').on(t.orgId, t.name)],
);
export type DetectionPackRow = typeof detectionPacks.$inferSelect;
