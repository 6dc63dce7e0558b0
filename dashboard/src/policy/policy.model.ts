/**
 * The policy editor's model. The source of truth is the rules as JSON values (exactly what is
 * PUT), so the form and JSON views can never disagree: the form reads fields out of each rule and
 * writes them back; anything it cannot represent (an unknown field, a malformed condition) is kept
 * as is and left for the JSON view and the API's validation to point at.
 */
import type { FieldIssue } from '../api/api.types';

export type RuleDraft = Record<string, unknown>;
export type Action = 'allow' | 'deny' | 'alert' | 'approve';
export const ACTIONS: readonly Action[] = ['allow', 'deny', 'alert', 'approve'];

export type ConditionOp = 'equals' | 'eq' | 'neq' | 'in' | 'nin';
export type ValueType = 'string' | 'number' | 'boolean';

export interface ConditionRow {
  field: string;
  op: ConditionOp;
  /** One value, or a comma-separated list for in/nin. */
  text: string;
  type: ValueType;
  /** A condition the form cannot show (edit it in the JSON view). */
  raw: boolean;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeOf(value: unknown): ValueType {
  return typeof value === 'number' ? 'number' : typeof value === 'boolean' ? 'boolean' : 'string';
}

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

export function conditionRows(conditions: unknown): ConditionRow[] {
  if (!isRecord(conditions)) return [];
  return Object.entries(conditions).map(([field, condition]) => {
    if (isScalar(condition))
      return { field, op: 'equals', text: String(condition), type: typeOf(condition), raw: false };
    if (isRecord(condition)) {
      const ops = Object.keys(condition);
      const op = ops[0];
      const value = op === undefined ? undefined : condition[op];
      if (ops.length === 1 && (op === 'eq' || op === 'neq') && isScalar(value)) {
        return { field, op, text: String(value), type: typeOf(value), raw: false };
      }
      if (
        ops.length === 1 &&
        (op === 'in' || op === 'nin') &&
        Array.isArray(value) &&
        value.every(isScalar)
      ) {
        return { field, op, text: value.map(String).join(', '), type: typeOf(value[0]), raw: false };
      }
    }
    return { field, op: 'equals', text: JSON.stringify(condition), type: 'string', raw: true };
  });
}

function parseValue(text: string, type: ValueType): string | number | boolean {
  const trimmed = text.trim();
  if (type === 'number') {
    const n = Number(trimmed);
    // Not a number: sent as typed, so the API names the problem at this field.
    return trimmed !== '' && Number.isFinite(n) ? n : text;
  }
  if (type === 'boolean') return trimmed === 'true' ? true : trimmed === 'false' ? false : text;
  return text;
}

export function conditionValue(row: ConditionRow, previous: unknown): unknown {
  if (row.raw) return previous;
  if (row.op === 'in' || row.op === 'nin') {
    const list = row.text
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== '')
      .map((part) => parseValue(part, row.type));
    return { [row.op]: list };
  }
  const value = parseValue(row.text, row.type);
  return row.op === 'equals' ? value : { [row.op]: value };
}

/** Rows back into the conditions object (undefined when there are none, so the field is omitted). */
export function rowsToConditions(
  rows: ConditionRow[],
  previous: unknown,
): Record<string, unknown> | undefined {
  if (rows.length === 0) return undefined;
  const before = isRecord(previous) ? previous : {};
  const out: Record<string, unknown> = {};
  for (const row of rows) out[row.field] = conditionValue(row, before[row.field]);
  return out;
}

/** A field name for a new condition that does not collide with the rule's others. */
export function freshConditionField(rows: ConditionRow[]): string {
  const used = new Set(rows.map((r) => r.field));
  for (const candidate of ['user', 'metadata.role', 'metadata.team', 'metadata.environment']) {
    if (!used.has(candidate)) return candidate;
  }
  let n = 1;
  while (used.has(`metadata.key${n}`)) n++;
  return `metadata.key${n}`;
}

/** Sets or removes (undefined) one top-level field of a rule, keeping the field order readable. */
export function setRuleField(rule: RuleDraft, key: string, value: unknown): RuleDraft {
  const next: RuleDraft = {};
  const order = [
    'tool',
    'model',
    'endpoint',
    'action',
    'conditions',
    'rateLimit',
    'tokenLimit',
    'tokenGuard',
    'reason',
  ];
  const keys = [...new Set([...order.filter((k) => k in rule || k === key), ...Object.keys(rule)])];
  for (const k of keys) {
    const v = k === key ? value : rule[k];
    if (v !== undefined) next[k] = v;
  }
  return next;
}

/** One line about a rule, for the simulator trace and the versions list. */
export function ruleSummary(rule: unknown): string {
  if (!isRecord(rule)) return 'invalid rule';
  // What the rule matches: a tool glob, and/or (LLM connections) a model glob and endpoints.
  const target = [
    rule.tool === undefined ? null : String(rule.tool),
    rule.model === undefined ? null : `model ${String(rule.model)}`,
    rule.endpoint === undefined ? null : `endpoint ${[rule.endpoint].flat().map(String).join('|')}`,
  ].filter((t): t is string => t !== null);
  const parts = [`${String(rule.action ?? '?')} ${target.length > 0 ? target.join(' ') : '?'}`];
  if (isRecord(rule.conditions)) {
    parts.push(
      `when ${Object.entries(rule.conditions)
        .map(
          ([field, c]) =>
            `${field} ${isRecord(c) ? `${Object.keys(c)[0]} ${JSON.stringify(Object.values(c)[0])}` : `= ${JSON.stringify(c)}`}`,
        )
        .join(' and ')}`,
    );
  }
  if (isRecord(rule.rateLimit)) {
    parts.push(
      `max ${String(rule.rateLimit.limit)} per ${String(rule.rateLimit.windowSeconds)} s by ${String(rule.rateLimit.by)}`,
    );
  }
  return parts.join(' ');
}

// ---- validation issues (PUT answers them with ruleIndex + path) ----

export interface PlacedIssues {
  /** Problems with the document itself (not inside a rule). */
  document: string[];
  /** Per rule: field key (tool, action, reason, conditions.<field>, rateLimit.limit…) → messages; '' = the rule as a whole. */
  rules: Map<number, Map<string, string[]>>;
}

/** `rules[3].conditions.metadata.role.in` → rule 3, field `conditions.metadata.role`. */
export function placeIssues(issues: FieldIssue[], rules: RuleDraft[]): PlacedIssues {
  const placed: PlacedIssues = { document: [], rules: new Map() };
  for (const issue of issues) {
    const match = /^rules\[(\d+)\]\.?(.*)$/.exec(issue.path);
    const index = issue.ruleIndex ?? (match ? Number(match[1]) : null);
    if (index === null || index === undefined) {
      placed.document.push(issue.path ? `${issue.path}: ${issue.message}` : issue.message);
      continue;
    }
    const rest = match?.[2] ?? '';
    let key = '';
    if (['tool', 'action', 'reason'].includes(rest)) key = rest;
    else if (rest.startsWith('rateLimit.')) key = rest.split('.').slice(0, 2).join('.');
    else if (rest === 'rateLimit') key = 'rateLimit';
    else if (rest.startsWith('conditions.')) {
      const fields = Object.keys(
        isRecord(rules[index]?.conditions) ? (rules[index]?.conditions as object) : {},
      );
      const inside = rest.slice('conditions.'.length);
      // The longest condition field the path starts with (fields contain dots themselves).
      const field = fields
        .filter((f) => inside === f || inside.startsWith(`${f}.`))
        .sort((a, b) => b.length - a.length)[0];
      key = field ? `conditions.${field}` : 'conditions';
    } else if (rest === 'conditions') key = 'conditions';
    else if (rest !== '') key = '';
    const byField = placed.rules.get(index) ?? new Map<string, string[]>();
    const message = key === '' && rest !== '' ? `${rest}: ${issue.message}` : issue.message;
    byField.set(key, [...(byField.get(key) ?? []), message]);
    placed.rules.set(index, byField);
  }
  return placed;
}

export function prettyRules(rules: RuleDraft[]): string {
  return JSON.stringify({ rules }, null, 2);
}

/** The JSON view's text → rules, or the reason it is not a policy document. */
export function parseRulesText(
  text: string,
): { ok: true; rules: RuleDraft[] } | { ok: false; error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `Not valid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (!isRecord(value) || !Array.isArray(value.rules)) {
    return { ok: false, error: 'The document must be an object of the form { "rules": [ … ] }' };
  }
  // Non-object rules are kept as they are: the API reports them at their index.
  return { ok: true, rules: value.rules as RuleDraft[] };
}
