/**
 * Findings in audit rows. Request stages attach findings to a unit's decision before the guard
 * is reached, so they are written with the row; response stages' findings reach the row later,
 * with the outcome (the guard appends them: durable-objects/audit.findings.ts). Either way
 * they end up in one place: `details.findings`, an array, in the order they were made.
 */
import { withFindings } from '../../durable-objects/audit.findings';
import type { AuditEventInsert } from '../db/schema';
import type { UnitDecision } from './gateway.stages';

/** The rows with each unit's request-side findings in `details.findings` (rows without any untouched). */
export function attachFindings<U>(
  rows: AuditEventInsert[],
  decisions: readonly UnitDecision<U>[],
): AuditEventInsert[] {
  decisions.forEach((d, i) => {
    const row = rows[i];
    if (!row || !d.findings?.length) return;
    row.details = withFindings(row.details, d.findings);
  });
  return rows;
}
