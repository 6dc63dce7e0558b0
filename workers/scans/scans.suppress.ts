/**
 * Scan suppressions (docs/tool-integrity.md#suppressions): an owner or admin accepts one finding
 * of a connection's scans with a reason (and, optionally, an expiry). A finding is known by its
 * fingerprint — SHA-256 of its kind, item, path and match — so a suppressed finding is not
 * reported again while it stays the same, and is reported again as soon as it changes (another
 * match, another item). Suppressed findings stay in the scan, marked, out of its summary; in
 * SARIF they carry a `suppressions` entry (SARIF 2.1.0 §3.35).
 *
 * Also: the block a connection's latest scan puts on it (`blockOnCriticalScan`), computed here
 * from D1 and published with the tool-integrity state (integrity.store.ts) — never on the hot path.
 */
import type { ScanBlock } from '../integrity/integrity.types';
import { parseStoredJson } from '../lib/values';
import type { ScanResultFinding } from './scans.checks';
import { blockOf, findingFingerprint, type Suppression, suppressionFor } from './scans.finding';

export { blockOf, findingFingerprint, type Suppression, suppressionFor };

interface SuppressionRow {
  id: string;
  fingerprint: string;
  kind: string;
  item: string;
  reason: string;
  expires_at: number | null;
  created_by: string;
  created_at: number;
}

/** The connection's suppressions (expired ones included: they are shown, not applied), by fingerprint. */
export async function suppressionsOf(
  db: D1Database,
  orgId: string,
  connectionId: string,
): Promise<Map<string, Suppression>> {
  const { results } = await db
    .prepare(
      `SELECT id, fingerprint, kind, item, reason, expires_at, created_by, created_at FROM scan_suppressions
       WHERE org_id = ? AND connection_id = ?`,
    )
    .bind(orgId, connectionId)
    .all<SuppressionRow>();
  return new Map(
    results.map((r) => [
      r.fingerprint,
      {
        id: r.id,
        fingerprint: r.fingerprint,
        kind: r.kind,
        item: r.item,
        reason: r.reason,
        expiresAt: r.expires_at,
        createdBy: r.created_by,
        createdAt: r.created_at,
      },
    ]),
  );
}

/**
 * The block the connection's latest completed scan puts on it: its unsuppressed critical findings
 * (null when none). Published in the integrity state; applied only with `blockOnCriticalScan`.
 * When every critical finding is suppressed but some suppression expires, the block is published
 * ahead with `from` = the earliest expiry, so the hot path applies it from then on by itself.
 */
export async function scanBlockFor(
  db: D1Database,
  orgId: string,
  connectionId: string,
): Promise<ScanBlock | null> {
  const latest = await db
    .prepare(
      `SELECT id, findings FROM scans WHERE org_id = ? AND connection_id = ? AND status = 'completed'
       ORDER BY created_at DESC, id DESC LIMIT 1`,
    )
    .bind(orgId, connectionId)
    .first<{ id: string; findings: string }>();
  if (!latest) return null;
  const findings = parseStoredJson(latest.findings);
  if (!Array.isArray(findings)) return null;
  if (!(findings as ScanResultFinding[]).some((f) => f.severity === 'critical')) return null;
  const suppressions = await suppressionsOf(db, orgId, connectionId);
  return scanBlockOf(latest.id, findings as ScanResultFinding[], suppressions, Date.now());
}

/** The block a completed scan's findings put on its connection, given its suppressions (null: none). */
export function scanBlockOf(
  scanId: string,
  findings: readonly ScanResultFinding[],
  suppressions: ReadonlyMap<string, Suppression>,
  now: number,
): ScanBlock | null {
  const critical = findings.filter((f) => f.severity === 'critical');
  return critical.length === 0 ? null : blockOf(scanId, critical, suppressions, now);
}
