/**
 * Drift classification: what changed between two definitions of a listed item, and how much it
 * matters (docs/tool-integrity.md#change-classes).
 *
 *   critical  removed; an input parameter removed, its type changed, or made required; a new
 *             required parameter (a caller's existing calls break or change meaning)
 *   warning   new item; new optional parameter; output schema changed; any annotation changed
 *             (e.g. readOnlyHint true → false, destructiveHint false → true)
 *   info      description, title or other wording changed — raised to critical by the recorder
 *             when the new wording trips the poisoning scan (integrity.scan.ts)
 * Pure, linear in the size of the two definitions.
 */
import { isRecord } from '../lib/values.js';
import { canonicalJson, type ItemKind } from './integrity.fingerprint.js';

export type Severity = 'critical' | 'warning' | 'info';

export interface DriftChange {
  change:
    | 'added'
    | 'removed'
    | 'parameter_removed'
    | 'parameter_type_changed'
    | 'parameter_made_required'
    | 'required_parameter_added'
    | 'optional_parameter_added'
    | 'input_schema_changed'
    | 'output_schema_changed'
    | 'annotation_changed'
    | 'description_changed'
    | 'definition_changed'
    | 'poisoned_description';
  severity: Severity;
  /** The parameter or annotation concerned, when there is one. */
  field?: string;
  from?: unknown;
  to?: unknown;
}

const RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

export function highestSeverity(changes: readonly { severity: Severity }[]): Severity {
  let top: Severity = 'info';
  for (const c of changes) if (RANK[c.severity] > RANK[top]) top = c.severity;
  return top;
}

/** Parameters of a definition: a tool's inputSchema properties, a prompt's arguments. */
interface Parameter {
  type: string;
  required: boolean;
}

function parameters(kind: ItemKind, definition: Record<string, unknown>): Map<string, Parameter> {
  const out = new Map<string, Parameter>();
  if (kind === 'prompt') {
    const args = Array.isArray(definition.arguments) ? definition.arguments : [];
    for (const arg of args) {
      if (isRecord(arg) && typeof arg.name === 'string') {
        out.set(arg.name, { type: 'string', required: arg.required === true });
      }
    }
    return out;
  }
  const schema = definition.inputSchema;
  if (!isRecord(schema) || !isRecord(schema.properties)) return out;
  const required = new Set(
    Array.isArray(schema.required) ? schema.required.filter((r) => typeof r === 'string') : [],
  );
  for (const [name, prop] of Object.entries(schema.properties)) {
    out.set(name, { type: typeOf(prop), required: required.has(name) });
  }
  return out;
}

/** A property's declared type, as comparable text (`string`, `["number","null"]`, `object`…). */
function typeOf(prop: unknown): string {
  if (!isRecord(prop)) return 'any';
  if (prop.type !== undefined) return canonicalJson(prop.type);
  if (prop.enum !== undefined) return 'enum';
  if (prop.anyOf !== undefined || prop.oneOf !== undefined) return 'union';
  return 'any';
}

function parameterChanges(kind: ItemKind, before: Record<string, unknown>, after: Record<string, unknown>) {
  const changes: DriftChange[] = [];
  const was = parameters(kind, before);
  const now = parameters(kind, after);
  for (const [name, old] of was) {
    const cur = now.get(name);
    if (!cur) changes.push({ change: 'parameter_removed', severity: 'critical', field: name });
    else if (cur.type !== old.type)
      changes.push({
        change: 'parameter_type_changed',
        severity: 'critical',
        field: name,
        from: old.type,
        to: cur.type,
      });
    else if (cur.required && !old.required)
      changes.push({ change: 'parameter_made_required', severity: 'critical', field: name });
  }
  for (const [name, cur] of now) {
    if (was.has(name)) continue;
    changes.push(
      cur.required
        ? { change: 'required_parameter_added', severity: 'critical', field: name }
        : { change: 'optional_parameter_added', severity: 'warning', field: name },
    );
  }
  return changes;
}

function annotationChanges(before: unknown, after: unknown): DriftChange[] {
  const was = isRecord(before) ? before : {};
  const now = isRecord(after) ? after : {};
  const changes: DriftChange[] = [];
  for (const key of new Set([...Object.keys(was), ...Object.keys(now)])) {
    if (canonicalJson(was[key]) === canonicalJson(now[key])) continue;
    changes.push({
      change: 'annotation_changed',
      severity: 'warning',
      field: key,
      from: was[key] ?? null,
      to: now[key] ?? null,
    });
  }
  return changes;
}

const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);

/** The classified changes from `before` to `after` (null = absent); [] when nothing changed. */
export function classifyChange(
  kind: ItemKind,
  before: Record<string, unknown> | null,
  after: Record<string, unknown> | null,
): DriftChange[] {
  if (before === null && after === null) return [];
  if (before === null) return [{ change: 'added', severity: 'warning' }];
  if (after === null) return [{ change: 'removed', severity: 'critical' }];
  if (same(before, after)) return [];
  const changes = parameterChanges(kind, before, after);
  const schemaKey = kind === 'prompt' ? 'arguments' : 'inputSchema';
  if (changes.length === 0 && !same(before[schemaKey], after[schemaKey])) {
    // Wording inside the schema (a parameter's description, a default): read by the model.
    changes.push({ change: 'input_schema_changed', severity: 'info' });
  }
  if (!same(before.outputSchema, after.outputSchema))
    changes.push({ change: 'output_schema_changed', severity: 'warning' });
  changes.push(...annotationChanges(before.annotations, after.annotations));
  if (!same(before.description, after.description) || !same(before.title, after.title)) {
    changes.push({ change: 'description_changed', severity: 'info' });
  }
  if (changes.length === 0) changes.push({ change: 'definition_changed', severity: 'info' });
  return changes;
}
