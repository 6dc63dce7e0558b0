/**
 * The pure half of the shadowing re-scan (integrity.rescan.ts): a stored tool's findings with its
 * name-based ones (shadowing, confusable_name, typosquat, cross_tool_reference) recomputed against
 * the organization's other tools now, the definition's own findings kept. No I/O.
 */
import { isRecord, parseStoredJson } from '../lib/values';
import { type OtherTool, type ScanFinding, scanShadowing } from './integrity.scan';

export const SHADOW_KINDS: ReadonlySet<string> = new Set([
  'shadowing',
  'confusable_name',
  'typosquat',
  'cross_tool_reference',
]);

/** Pure: the row's new findings, or null when nothing changed. */
export function refreshedFindings(
  row: { name: string; definition: string | null; findings: string | null },
  others: readonly OtherTool[],
): ScanFinding[] | null {
  const stored = row.findings === null ? [] : parseStoredJson(row.findings);
  const previous = Array.isArray(stored) ? (stored as ScanFinding[]) : [];
  const own = previous.filter((f) => !SHADOW_KINDS.has(f.kind));
  const definition = row.definition === null ? null : parseStoredJson(row.definition);
  const description = isRecord(definition) ? String(definition.description ?? '') : '';
  const next = [...own, ...scanShadowing(row.name, description, others)];
  const key = (list: readonly ScanFinding[]) =>
    JSON.stringify(list.filter((f) => SHADOW_KINDS.has(f.kind)).map((f) => [f.kind, f.path, f.match]));
  return key(previous) === key(next) ? null : next;
}
