/**
 * The recorder's pure half: what list snapshots show against the connection's inventory — which
 * items were added, changed (classified, integrity.classify.ts) or removed, and which are
 * unchanged. No I/O; the recorder (integrity.record.ts) writes the result.
 */
import { isRecord, parseStoredJson } from '../lib/values';
import { classifyChange, type DriftChange, highestSeverity } from './integrity.classify';
import type { ItemKind, ListedItem } from './integrity.fingerprint';
import type { ScanFinding } from './integrity.scan';
import type { ListSnapshot } from './integrity.stage';

/** The columns of `tool_inventory` the plan reads (integrity.store.ts reads the rest). */
export interface InventoryRow {
  id: string;
  kind: ItemKind;
  name: string;
  fingerprint: string | null;
  version: number;
  definition: string | null;
  removed: number;
  quarantined: number;
  quarantine_reason: string | null;
  approved_fingerprint: string | null;
  approved_by: string | null;
  approved_at: number | null;
  findings: string | null;
  first_seen: number;
  last_seen: number;
}

export function definitionOf(row: { definition: string | null }): Record<string, unknown> | null {
  if (row.definition === null) return null;
  const value = parseStoredJson(row.definition);
  return isRecord(value) ? value : null;
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
      const reworded = changes.some((c) =>
        ['added', 'description_changed', 'input_schema_changed'].includes(c.change),
      );
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
