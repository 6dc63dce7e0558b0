/**
 * How many scans keep their findings (docs/tool-integrity.md, "Scan history and retention"). Every
 * scan stores its findings and the server's description; with no bound a loop of scans (an admin
 * key, a CI job) grows D1 without end. Scans are not refused: the newest SCANS_KEPT scans of a
 * connection (and the newest SCANS_KEPT bare-URL scans of an organization) keep their findings,
 * and so does the connection's latest completed scan whatever its age — the one that decides
 * whether its critical findings block the connection (scans.suppress.ts scanBlockFor). An older
 * scan keeps a tombstone — id, connection or URL, status, error code, who ran it, when, when it
 * was pruned — and its `scans.create` audit row keeps the number of findings. Reading a pruned
 * scan (or suppressing one of its findings) answers 410 `pruned` with that tombstone.
 *
 * Tombstones are bounded as well: only the newest SCAN_TOMBSTONES_KEPT pruned scans of a history
 * keep their record, older ones are deleted and then answer 404 like an id that never existed.
 * Scan ids are random, so no watermark could tell a pruned id from an unknown one: a cap it is.
 * Storage per history is at most SCANS_KEPT scans with findings (+ the latest completed one) +
 * SCAN_TOMBSTONES_KEPT records, whatever the number of scans ever run.
 *
 * The prune runs in the scan's own D1 batch and touches only the scans just past the window
 * (`LIMIT … OFFSET SCANS_KEPT`), so a scan costs the same whatever the history.
 */
import { AppError } from '../lib/errors';

/** Scans per connection (and bare-URL scans per organization) that keep their findings. */
export const SCANS_KEPT = 200;

/** Pruned scans per history that keep their record (older ones are deleted: 404). */
export const SCAN_TOMBSTONES_KEPT = 200;

/** How many past the window one prune looks at (each scan pushes one out). */
const PRUNE_SPAN = 100;

/**
 * Empties findings and server of the scans just past the newest kept, in `connectionId`'s history
 * (null: bare-URL scans), then deletes the records just past the newest SCAN_TOMBSTONES_KEPT
 * pruned ones. Each scan adds at most one tombstone, so PRUNE_SPAN past the cap is enough.
 */
export function pruneScansStatements(
  db: D1Database,
  orgId: string,
  connectionId: string | null,
  now: number,
): [D1PreparedStatement, D1PreparedStatement] {
  return [
    emptyScansStatement(db, orgId, connectionId, now),
    dropScanTombstonesStatement(db, orgId, connectionId),
  ];
}

function dropScanTombstonesStatement(db: D1Database, orgId: string, connectionId: string | null) {
  return db
    .prepare(
      `DELETE FROM scans
       WHERE id IN (SELECT id FROM scans WHERE org_id = ?1 AND connection_id IS ?2 AND pruned_at IS NOT NULL
                    ORDER BY created_at DESC, id DESC LIMIT ?3 OFFSET ?4)`,
    )
    .bind(orgId, connectionId, PRUNE_SPAN, SCAN_TOMBSTONES_KEPT);
}

function emptyScansStatement(db: D1Database, orgId: string, connectionId: string | null, now: number) {
  return db
    .prepare(
      `UPDATE scans SET findings = '[]', server = NULL, pruned_at = ?1
       WHERE id IN (SELECT id FROM scans WHERE org_id = ?2 AND connection_id IS ?3
                    ORDER BY created_at DESC, id DESC LIMIT ?4 OFFSET ?5)
         AND pruned_at IS NULL
         AND id IS NOT (SELECT id FROM scans WHERE org_id = ?2 AND connection_id IS ?3 AND status = 'completed'
                        ORDER BY created_at DESC, id DESC LIMIT 1)`,
    )
    .bind(now, orgId, connectionId, PRUNE_SPAN, SCANS_KEPT);
}

/** What is kept of a pruned scan. */
export interface ScanTombstone {
  id: string;
  connection_id: string | null;
  connection_slug: string | null;
  target_url: string | null;
  created_by: string | null;
  status: string;
  error: string | null;
  created_at: number;
  pruned_at: number;
}

/** The typed answer for a pruned scan: 410 `pruned`, with its tombstone. */
export function scanPruned(scan: ScanTombstone): AppError {
  return new AppError('pruned', {
    message: `Scan ${scan.id} was pruned (only the newest ${SCANS_KEPT} scans keep their findings); its record is kept`,
    details: {
      location: 'path',
      path: 'id',
      id: scan.id,
      connectionId: scan.connection_id,
      connectionSlug: scan.connection_slug,
      targetUrl: scan.target_url,
      status: scan.status,
      error: scan.error,
      createdBy: scan.created_by,
      createdAt: new Date(scan.created_at).toISOString(),
      prunedAt: new Date(scan.pruned_at).toISOString(),
      kept: SCANS_KEPT,
    },
  });
}
