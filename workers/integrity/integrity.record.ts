/**
 * The recorder: what a list answer showed, compared with the connection's inventory in D1, off
 * the hot path (run by the core after the answer, `call.deferred`). Per changed item, in one D1
 * batch: the version row (INSERT OR IGNORE on connection/kind/name/version), the audit row and the
 * inventory update — both guarded by "my version row exists", so of two gateways that saw the
 * same change at once exactly one records it, writes the audit row and publishes the
 * `tool_drift` event (once per change, never per call). Then the hot-path state is re-published.
 *
 * Unchanged items only refresh `last_seen`, and at most once a minute, so listing is not a D1
 * write per call.
 */
import { eventHubFor } from '../../durable-objects/do.client';
import { directRowStatementIf } from '../audit/audit.admin';
import { randomId } from '../lib/ids';
import { log } from '../lib/log';
import { driftRow } from '../shared/audit.row';
import type { ToolDriftEvent } from '../shared/events.types';
import { type DriftChange, classifyChange, highestSeverity } from './integrity.classify';
import { governedNameOf, type ItemKind, type ListedItem } from './integrity.fingerprint';
import { type ScanFinding, scanDefinition, scanShadowing } from './integrity.scan';
import type { ListSnapshot } from './integrity.stage';
import type { CallIntegrity } from './integrity.state';
import { definitionOf, type InventoryRow, inventoryRows, otherConnectionTools, republishState } from './integrity.store';

/** `last_seen` of an unchanged item is refreshed at most this often. */
const LAST_SEEN_EVERY_MS = 60_000;

interface Where {
  orgId: string;
  connectionId: string;
  integrity: CallIntegrity;
}

/** One item's change, ready to write. */
export interface PlannedChange {
  kind: ItemKind;
  name: string;
  version: number;
  item: ListedItem | null;
  changes: DriftChange[];
  findings: ScanFinding[];
  quarantine: boolean;
  existing: InventoryRow | undefined;
}

const itemKey = (kind: string, name: string) => `${kind}\u0000${name}`;

/**
 * Pure: the changes the snapshots show against the inventory. A critical poisoning finding in a
 * new or reworded definition adds a critical `poisoned_description` change.
 */
export function planChanges(
  snapshots: readonly ListSnapshot[],
  rows: readonly InventoryRow[],
  scan: (item: ListedItem) => ScanFinding[],
  quarantineOnCritical: boolean,
): { planned: PlannedChange[]; unchanged: InventoryRow[] } {
  const byKey = new Map(rows.map((r) => [itemKey(r.kind, r.name), r]));
  const planned: PlannedChange[] = [];
  const unchanged: InventoryRow[] = [];
  const seen = new Set<string>();
  for (const snapshot of snapshots) {
    for (const item of snapshot.items) {
      const key = itemKey(item.kind, item.name);
      if (seen.has(key)) continue;
      seen.add(key);
      const existing = byKey.get(key);
      if (existing && !existing.removed && existing.fingerprint === item.fingerprint) {
        unchanged.push(existing);
        continue;
      }
      const before = existing && !existing.removed ? definitionOf(existing) : null;
      const changes = classifyChange(item.kind, before, item.definition);
      const findings = scan(item);
      const reworded = changes.some((c) => ['added', 'description_changed', 'input_schema_changed'].includes(c.change));
      if (reworded && findings.some((f) => f.severity === 'critical' && !NAME_ONLY.has(f.kind))) {
        changes.push({ change: 'poisoned_description', severity: 'critical' });
      }
      planned.push(plan(item.kind, item.name, existing, item, changes, findings, quarantineOnCritical));
    }
    if (!snapshot.complete) continue;
    // The whole list was seen: what it no longer lists was removed.
    for (const row of rows) {
      if (row.kind !== snapshot.kind || row.removed || seen.has(itemKey(row.kind, row.name))) continue;
      seen.add(itemKey(row.kind, row.name));
      planned.push(plan(row.kind, row.name, row, null, classifyChange(row.kind, {}, null), [], false));
    }
  }
  return { planned, unchanged };
}

/** Shadowing by name is reported, never "poisoning" of the wording. */
const NAME_ONLY = new Set<ScanFinding['kind']>(['shadowing', 'confusable_name', 'typosquat']);

function plan(
  kind: ItemKind,
  name: string,
  existing: InventoryRow | undefined,
  item: ListedItem | null,
  changes: DriftChange[],
  findings: ScanFinding[],
  quarantineOnCritical: boolean,
): PlannedChange {
  const critical = highestSeverity(changes) === 'critical';
  return {
    kind,
    name,
    version: (existing?.version ?? 0) + 1,
    item,
    changes,
    findings,
    // A removed item has nothing left to refuse; a first sighting is not drift from a baseline.
    quarantine: quarantineOnCritical && critical && item !== null && existing !== undefined,
    existing,
  };
}

export async function recordSnapshots(env: Env, where: Where, snapshots: readonly ListSnapshot[]): Promise<void> {
  try {
    await record(env, where, snapshots);
  } catch (err) {
    // Best effort: the next list answer is compared again, so a lost recording is only late.
    log('warn', 'tool integrity recording failed', { connectionId: where.connectionId, err });
  }
}

async function record(env: Env, where: Where, snapshots: readonly ListSnapshot[]): Promise<void> {
  const { orgId, connectionId, integrity } = where;
  const [rows, others] = await Promise.all([
    inventoryRows(env.DB, orgId, connectionId),
    otherConnectionTools(env.DB, orgId, connectionId),
  ]);
  const scan = (item: ListedItem) => [
    ...scanDefinition(item.definition),
    ...(item.kind === 'tool'
      ? scanShadowing(item.name, String(item.definition.description ?? ''), others)
      : []),
  ];
  const { planned, unchanged } = planChanges(snapshots, rows, scan, integrity.quarantineOnCritical);
  const now = Date.now();
  const stale = unchanged.filter((r) => now - r.last_seen >= LAST_SEEN_EVERY_MS).map((r) => r.id);
  const statements: D1PreparedStatement[] = [];
  if (stale.length > 0) {
    statements.push(
      env.DB.prepare(
        `UPDATE tool_inventory SET last_seen = ? WHERE org_id = ? AND connection_id = ? AND id IN (SELECT value FROM json_each(?))`,
      ).bind(now, orgId, connectionId, JSON.stringify(stale)),
    );
  }
  const drafts = planned.map((p) => draft(env.DB, where, p, now));
  for (const d of drafts) statements.push(...d.statements);
  if (statements.length === 0) return;
  const results = await env.DB.batch(statements);
  if (drafts.length === 0) return;
  // Which version rows are ours: the first statement of each draft is its INSERT OR IGNORE.
  let at = stale.length > 0 ? 1 : 0;
  const won: ToolDriftEvent[] = [];
  for (const d of drafts) {
    if ((results[at]?.meta.changes ?? 0) > 0) won.push(d.event);
    at += d.statements.length;
  }
  if (won.length === 0) return;
  await republishState(env, orgId, connectionId);
  // Already off the hot path (waitUntil): the events go now, in order, in one call.
  await eventHubFor(env, orgId).publish(won);
}

function draft(db: D1Database, where: Where, p: PlannedChange, now: number) {
  const versionId = randomId('tv');
  const severity = highestSeverity(p.changes);
  const names = p.changes.map((c) => c.change);
  const fingerprint = p.item?.fingerprint ?? null;
  const definition = p.item ? JSON.stringify(p.item.definition) : null;
  const governed = governedNameOf(p.kind, p.name);
  const mine = { sql: 'SELECT 1 FROM tool_versions WHERE id = ?', binds: [versionId] };
  const row = driftRow({
    orgId: where.orgId,
    connectionId: where.connectionId,
    connectionSlug: where.integrity.slug,
    tool: governed,
    details: {
      kind: p.kind,
      name: p.name,
      version: p.version,
      severity,
      changes: p.changes,
      fingerprint,
      previousFingerprint: p.existing && !p.existing.removed ? p.existing.fingerprint : null,
      findings: p.findings,
      quarantined: p.quarantine,
    },
  });
  const statements = [
    db
      .prepare(
        `INSERT OR IGNORE INTO tool_versions (id, org_id, connection_id, kind, name, version, fingerprint, definition, severity, changes, seen_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .bind(
        versionId,
        where.orgId,
        where.connectionId,
        p.kind,
        p.name,
        p.version,
        fingerprint,
        definition,
        severity,
        JSON.stringify({ changes: p.changes, findings: p.findings }),
        now,
      ),
    directRowStatementIf(db, row, mine),
    db
      .prepare(
        `INSERT INTO tool_inventory (id, org_id, connection_id, kind, name, fingerprint, version, definition, removed, quarantined, quarantine_reason, findings, first_seen, last_seen)
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (${mine.sql})
         ON CONFLICT (connection_id, kind, name) DO UPDATE SET
           fingerprint = excluded.fingerprint, version = excluded.version, definition = excluded.definition,
           removed = excluded.removed, findings = excluded.findings, last_seen = excluded.last_seen,
           quarantined = CASE WHEN excluded.quarantined = 1 THEN 1 ELSE tool_inventory.quarantined END,
           quarantine_reason = CASE WHEN excluded.quarantined = 1 THEN excluded.quarantine_reason ELSE tool_inventory.quarantine_reason END`,
      )
      .bind(
        randomId('ti'),
        where.orgId,
        where.connectionId,
        p.kind,
        p.name,
        fingerprint,
        p.version,
        definition,
        p.item === null ? 1 : 0,
        p.quarantine ? 1 : 0,
        p.quarantine ? `critical drift: ${names.join(', ')}` : null,
        JSON.stringify(p.findings),
        now,
        now,
        ...mine.binds,
      ),
  ];
  const event: ToolDriftEvent = {
    type: 'tool_drift',
    serverId: where.connectionId,
    slug: where.integrity.slug,
    kind: p.kind,
    toolName: p.name,
    version: p.version,
    severity,
    changes: names,
    fingerprint,
    quarantined: p.quarantine,
    timestamp: new Date(now).toISOString(),
  };
  return { statements, event };
}
