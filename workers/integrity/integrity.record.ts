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
import { announceConfigChange } from '../config/config.epoch';
import { randomId } from '../lib/ids';
import { log } from '../lib/log';
import { driftRow } from '../shared/audit.row';
import { rowExists } from '../shared/count.limits';
import type { ToolDriftEvent } from '../shared/events.types';
import { highestSeverity } from './integrity.classify';
import { governedNameOf, type ListedItem } from './integrity.fingerprint';
import { type PlannedChange, planChanges } from './integrity.plan';
import { rescanShadowing } from './integrity.rescan';
import { scanDefinition, scanShadowing } from './integrity.scan';
import type { ListSnapshot } from './integrity.stage';
import { inventoryRows, otherConnectionTools, republishState } from './integrity.store';
import type { CallIntegrity } from './integrity.types';

/** Most changes written by one recording (three statements each, in one D1 batch). */
const MAX_CHANGES_PER_RECORDING = 200;

/** `last_seen` of an unchanged item is refreshed at most this often. */
const LAST_SEEN_EVERY_MS = 60_000;

interface Where {
  orgId: string;
  connectionId: string;
  integrity: CallIntegrity;
}

export async function recordSnapshots(
  env: Env,
  where: Where,
  snapshots: readonly ListSnapshot[],
): Promise<void> {
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
  // One D1 batch per answer, bounded: a server listing thousands of new items is recorded over
  // its next few lists (what is not recorded now is still new then).
  const drafts = planned.slice(0, MAX_CHANGES_PER_RECORDING).map((p) => draft(env.DB, where, p, now));
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
  // Other isolates must stop using the integrity state they cached (fail_closed hides the change).
  await announceConfigChange(env, orgId);
  // A tool added (or removed) here may shadow (or stop shadowing) the other connections' tools:
  // their findings are re-scanned too.
  if (won.some((e) => e.kind === 'tool' && (e.version === 1 || e.fingerprint === null))) {
    await rescanShadowing(env.DB, orgId, { except: connectionId });
  }
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
  const mine = rowExists('tool_versions', versionId);
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
