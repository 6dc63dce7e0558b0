/**
 * A scan finding's identity and the suppression in force for it (docs/tool-integrity.md#suppressions).
 * Pure: the D1 side is scans.suppress.ts.
 */
import { sha256Hex } from '../integrity/integrity.sha256';
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

/** Pure: the finding's identity (what a suppression names). */
export function findingFingerprint(f: Pick<ScanResultFinding, 'kind' | 'item' | 'path' | 'match'>): string {
  return sha256Hex(JSON.stringify([f.kind, f.item, f.path, f.match]));
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
