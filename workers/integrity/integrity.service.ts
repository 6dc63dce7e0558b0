/**
 * The tool-integrity API: a connection's listed items with fingerprints and approval state, their
 * version history, and the two owner/admin actions — approve exact fingerprints (the pinned
 * baseline; lifts a quarantine) and quarantine an item. Every query is scoped to the principal's
 * organization (another organization's connection is 404); every action writes its audit row in
 * the same D1 batch and re-publishes the gateway's hot-path state (integrity.store.ts).
 */
import type { Principal } from '../app.types';
import { adminAuditStatement } from '../audit/audit.admin';
import { requirePermission } from '../auth/permissions';
import { type ConnectionEnv, getConnectionRow } from '../connections/connections.read';
import { AppError } from '../lib/errors';
import { iso, parseStoredJson } from '../lib/values';
import { scanBlockFor } from '../scans/scans.suppress';
import { readConnectionSettings } from '../shared/connection.settings';
import { governedNameOf } from './integrity.fingerprint';
import { definitionOf, type InventoryRow } from './integrity.plan';
import { rescanShadowing } from './integrity.rescan';
import type { ApproveInput, QuarantineInput, ToolItemDto } from './integrity.schemas';
import { inventoryRows, republishState } from './integrity.store';
import { blockInForce, type ScanBlock } from './integrity.types';

type Env_ = ConnectionEnv;

function findingsOf(text: string | null): ToolItemDto['findings'] {
  const value = text === null ? [] : parseStoredJson(text);
  return Array.isArray(value) ? (value as ToolItemDto['findings']) : [];
}

function toDto(row: InventoryRow): ToolItemDto {
  return {
    kind: row.kind,
    name: row.name,
    governedName: governedNameOf(row.kind, row.name),
    fingerprint: row.fingerprint,
    version: row.version,
    removed: row.removed === 1,
    quarantined: row.quarantined === 1,
    quarantineReason: row.quarantine_reason,
    approvedFingerprint: row.approved_fingerprint,
    approved: row.removed === 0 && row.fingerprint !== null && row.fingerprint === row.approved_fingerprint,
    approvedBy: row.approved_by,
    approvedAt: iso(row.approved_at),
    findings: findingsOf(row.findings),
    definition: definitionOf(row),
    firstSeen: iso(row.first_seen)!,
    lastSeen: iso(row.last_seen)!,
  };
}

/** The block in force now (one published ahead of a suppression's expiry is not yet), as the API shows it. */
function shownBlock(block: ScanBlock | null): { scanId: string; critical: number } | null {
  const inForce = blockInForce(block, Date.now());
  return inForce ? { scanId: inForce.scanId, critical: inForce.critical } : null;
}

export async function listTools(env: Env_, principal: Principal, slug: string) {
  const connection = await getConnectionRow(env, principal, slug);
  const { integrity } = readConnectionSettings(parseStoredJson(connection.settings));
  const [rows, scanBlock] = await Promise.all([
    inventoryRows(env.DB, principal.orgId, connection.id),
    scanBlockFor(env.DB, principal.orgId, connection.id),
  ]);
  return {
    connection: connection.slug,
    discovery: integrity.discovery,
    quarantineOnCritical: integrity.quarantineOnCritical,
    blockOnCriticalScan: integrity.blockOnCriticalScan,
    scanBlock: shownBlock(scanBlock),
    items: rows.map(toDto),
  };
}

interface VersionRow {
  kind: InventoryRow['kind'];
  name: string;
  version: number;
  fingerprint: string | null;
  severity: 'critical' | 'warning' | 'info';
  changes: string;
  definition: string | null;
  seen_at: number;
}

export async function toolHistory(
  env: Env_,
  principal: Principal,
  slug: string,
  query: { kind?: InventoryRow['kind'] | undefined; name?: string | undefined; limit: number },
) {
  const connection = await getConnectionRow(env, principal, slug);
  const { results } = await env.DB.prepare(
    `SELECT kind, name, version, fingerprint, severity, changes, definition, seen_at FROM tool_versions
     WHERE org_id = ? AND connection_id = ? AND (? IS NULL OR kind = ?) AND (? IS NULL OR name = ?)
     ORDER BY seen_at DESC, version DESC LIMIT ?`,
  )
    .bind(
      principal.orgId,
      connection.id,
      query.kind ?? null,
      query.kind ?? null,
      query.name ?? null,
      query.name ?? null,
      query.limit,
    )
    .all<VersionRow>();
  return {
    versions: results.map((row) => {
      const recorded = parseStoredJson(row.changes) as { changes?: unknown; findings?: unknown };
      return {
        kind: row.kind,
        name: row.name,
        version: row.version,
        fingerprint: row.fingerprint,
        severity: row.severity,
        changes: Array.isArray(recorded.changes) ? (recorded.changes as Record<string, unknown>[]) : [],
        findings: Array.isArray(recorded.findings) ? (recorded.findings as ToolItemDto['findings']) : [],
        definition: definitionOf(row),
        seenAt: iso(row.seen_at)!,
      };
    }),
  };
}

/** The connection for an owner/admin action (404 outside the org, 403 without tools:approve). */
async function forAction(env: Env_, principal: Principal, slug: string) {
  requirePermission(principal, 'tools:approve');
  return getConnectionRow(env, principal, slug);
}

export async function approveTools(env: Env_, principal: Principal, slug: string, input: ApproveInput) {
  const connection = await forAction(env, principal, slug);
  const rows = await inventoryRows(env.DB, principal.orgId, connection.id);
  const byKey = new Map(rows.map((r) => [`${r.kind}\u0000${r.name}`, r]));
  const wanted = input.all
    ? rows
        .filter((r) => r.removed === 0 && r.fingerprint !== null)
        .map((r) => ({ kind: r.kind, name: r.name, fingerprint: r.fingerprint! }))
    : input.items!;
  wanted.forEach((item, i) => {
    const row = byKey.get(`${item.kind}\u0000${item.name}`);
    if (!row) {
      throw new AppError('not_found', {
        message: `No ${item.kind} named ${JSON.stringify(item.name.slice(0, 100))} was listed by this connection`,
        details: { location: 'body', path: `items[${i}].name` },
      });
    }
    if (row.removed === 1 || row.fingerprint !== item.fingerprint) {
      // Approval is of an exact definition: one that changed since it was reviewed is not approved.
      throw new AppError('conflict', {
        message: 'The item’s current definition is not the fingerprint given: review it again',
        details: { location: 'body', path: `items[${i}].fingerprint`, current: row.fingerprint },
      });
    }
  });
  const now = Date.now();
  const statements = wanted.map((item) =>
    env.DB.prepare(
      `UPDATE tool_inventory SET approved_fingerprint = ?, approved_by = ?, approved_at = ?, quarantined = 0, quarantine_reason = NULL
       WHERE org_id = ? AND connection_id = ? AND kind = ? AND name = ? AND fingerprint = ?`,
    ).bind(
      item.fingerprint,
      principal.actor,
      now,
      principal.orgId,
      connection.id,
      item.kind,
      item.name,
      item.fingerprint,
    ),
  );
  if (statements.length > 0) {
    statements.push(
      adminAuditStatement(env.DB, principal, {
        action: 'tools.approve',
        connectionId: connection.id,
        connectionSlug: connection.slug,
        details: { items: wanted.slice(0, 100), count: wanted.length },
      }),
    );
    await env.DB.batch(statements);
    await republishState(env, principal.orgId, connection.id);
  }
  return listTools(env, principal, slug);
}

export async function quarantineTool(env: Env_, principal: Principal, slug: string, input: QuarantineInput) {
  const connection = await forAction(env, principal, slug);
  const reason = input.reason ?? 'quarantined by hand';
  const known = await env.DB.prepare(
    'SELECT 1 FROM tool_inventory WHERE org_id = ? AND connection_id = ? AND kind = ? AND name = ?',
  )
    .bind(principal.orgId, connection.id, input.kind, input.name)
    .first();
  if (!known) {
    throw new AppError('not_found', {
      message: 'No such item was listed by this connection',
      details: { location: 'body', path: 'name' },
    });
  }
  await env.DB.batch([
    env.DB.prepare(
      'UPDATE tool_inventory SET quarantined = 1, quarantine_reason = ? WHERE org_id = ? AND connection_id = ? AND kind = ? AND name = ?',
    ).bind(reason, principal.orgId, connection.id, input.kind, input.name),
    adminAuditStatement(env.DB, principal, {
      action: 'tools.quarantine',
      connectionId: connection.id,
      connectionSlug: connection.slug,
      details: { kind: input.kind, name: input.name.slice(0, 200), reason },
    }),
  ]);
  await republishState(env, principal.orgId, connection.id);
  return listTools(env, principal, slug);
}

/** Re-scans the connection's tools for shadowing now (integrity.rescan.ts); audited. */
export async function rescanTools(env: Env_, principal: Principal, slug: string) {
  const connection = await forAction(env, principal, slug);
  await rescanShadowing(env.DB, principal.orgId, { only: connection.id }, (changed) =>
    adminAuditStatement(env.DB, principal, {
      action: 'tools.rescan',
      connectionId: connection.id,
      connectionSlug: connection.slug,
      details: { changed },
    }),
  );
  return listTools(env, principal, slug);
}
