/**
 * A scan finding's identity and the suppression in force for it (docs/tool-integrity.md#suppressions).
 * Pure: the D1 side is scans.suppress.ts.
 */
import { createHash } from 'node:crypto';
import type { ScanBlock } from '../integrity/integrity.types';
import type { ScanResultFinding } from './scans.checks';

export interface Suppression {
  id: string;
  fingerprint: string;
  kind: string;
  item: string;
  reason: string;
  expiresAt: number | null;
  createdBy: string;
  createdAt: number;
}

/**
 * Pure: the finding's identity (what a suppression names): hex SHA-256 (node:crypto, synchronous)
 * of the JSON of its kind, item, path and match. Suppressions store it: it must never change.
 */
export function findingFingerprint(f: Pick<ScanResultFinding, 'kind' | 'item' | 'path' | 'match'>): string {
  return createHash('sha256')
    .update(JSON.stringify([f.kind, f.item, f.path, f.match]), 'utf8')
    .digest('hex');
}

/** Pure: the suppression in force for a finding at `now`, or null. */
export function suppressionFor(
  fingerprint: string,
  suppressions: ReadonlyMap<string, Suppression>,
  now: number,
): Suppression | null {
  const s = suppressions.get(fingerprint);
  return s !== undefined && (s.expiresAt === null || s.expiresAt > now) ? s : null;
}

/** The block of a scan's critical findings under the suppressions at `now` (pure). */
export function blockOf(
  scanId: string,
  critical: readonly ScanResultFinding[],
  suppressions: ReadonlyMap<string, Suppression>,
  now: number,
): ScanBlock | null {
  const applied = critical.map((f) => suppressionFor(findingFingerprint(f), suppressions, now));
  const open = applied.filter((s) => s === null).length;
  if (open > 0) return { scanId, critical: open };
  const expiries = applied.map((s) => s?.expiresAt ?? null).filter((at): at is number => at !== null);
  if (expiries.length === 0) return null;
  const from = Math.min(...expiries);
  return { scanId, critical: expiries.filter((at) => at === from).length, from };
}
