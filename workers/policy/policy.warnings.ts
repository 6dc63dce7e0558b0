/**
 * Schema-aware warnings for `args.<path>` conditions: when a rule names an argument that the
 * input schema of a tool it matches does not have, or compares it with an operator its type can
 * never satisfy, the rule silently never applies (a missing/mistyped field skips it). Saving the
 * policy still succeeds — schemas drift and a rule may be written ahead of a tool — but the
 * author is told. Pure: the caller passes the schemas (the pinned tool inventory, issue 17).
 */
import { compileGlob } from '../shared/policy.glob.js';
import { NUMBER_OPERATORS, STRING_OPERATORS } from './policy.args.js';
import { normalizeName, normalizePattern } from './policy.normalize.js';
import { type Condition, operatorOf, type Policy } from './policy.schema.js';

export interface PolicyWarning {
  ruleIndex: number;
  /** e.g. `rules[2].conditions.args.path`. */
  path: string;
  tool: string;
  message: string;
}

/** Tool name → its JSON Schema `inputSchema` (as the upstream listed it). */
export type ToolSchemas = ReadonlyMap<string, unknown>;

/** Warnings are capped: a 10,000-rule policy against 500 tools must not answer megabytes. */
const MAX_WARNINGS = 100;

export function argumentWarnings(policy: Policy, schemas: ToolSchemas): PolicyWarning[] {
  const warnings: PolicyWarning[] = [];
  if (schemas.size === 0) return warnings;
  const tools = [...schemas.keys()].map((name) => ({ name, normal: normalizeName(name) }));
  policy.rules.forEach((rule, ruleIndex) => {
    const argFields = Object.entries(rule.conditions ?? {}).filter(([field]) => field.startsWith('args.'));
    // Only tool rules of MCP connections have input schemas; model/endpoint rules are LLM rules.
    if (
      argFields.length === 0 ||
      rule.tool === undefined ||
      rule.model !== undefined ||
      rule.endpoint !== undefined
    ) {
      return;
    }
    const matches = compileGlob(normalizePattern(rule.tool));
    for (const tool of tools) {
      if (!matches(tool.normal)) continue;
      for (const [field, condition] of argFields) {
        if (warnings.length >= MAX_WARNINGS) return;
        const message = fieldProblem(schemas.get(tool.name), field.split('.').slice(1), condition);
        if (message !== null) {
          warnings.push({
            ruleIndex,
            path: `rules[${ruleIndex}].conditions.${field}`,
            tool: tool.name,
            message: `tool "${tool.name}": ${message}`,
          });
        }
      }
    }
  });
  return warnings;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Why the condition can never hold against this schema, or null (including when unknowable). */
function fieldProblem(schema: unknown, path: readonly string[], condition: Condition): string | null {
  let node: unknown = schema;
  for (const key of path) {
    if (!isObject(node)) return null; // no usable schema: nothing to say
    const properties = node.properties;
    if (isObject(properties) && Object.hasOwn(properties, key)) {
      node = properties[key];
      continue;
    }
    if (/^\d+$/.test(key) && isObject(node.items)) {
      node = node.items;
      continue;
    }
    // A closed object (or one listing its properties without allowing others) has no such key.
    if (
      node.additionalProperties === false ||
      (isObject(properties) && node.additionalProperties === undefined)
    ) {
      return `its input schema has no argument "${path.join('.')}" — this condition can never hold, so the rule never applies`;
    }
    return null;
  }
  const types = typesOf(node);
  if (types === null) return null;
  const wanted = wantedTypes(condition);
  if (wanted === null || wanted.some((t) => types.includes(t))) return null;
  return `argument "${path.join('.')}" is ${types.join(' or ')} in its input schema, but ${operatorOf(condition)} needs ${wanted.join(' or ')} — the rule never applies`;
}

function typesOf(node: unknown): string[] | null {
  if (!isObject(node)) return null;
  const type = node.type;
  if (typeof type === 'string') return type === 'integer' ? ['number'] : [type];
  if (Array.isArray(type))
    return type
      .filter((t): t is string => typeof t === 'string')
      .map((t) => (t === 'integer' ? 'number' : t));
  return null;
}

/** The JSON types a value must have for the condition to be able to hold; null: any. */
function wantedTypes(condition: Condition): string[] | null {
  const op = operatorOf(condition);
  if (STRING_OPERATORS.has(op)) return ['string'];
  if (NUMBER_OPERATORS.has(op)) return ['number'];
  if (op === 'maxLength') return ['string', 'array'];
  if (op === 'exists') return null;
  const operand = typeof condition === 'object' ? Object.values(condition)[0] : condition;
  const values = Array.isArray(operand) ? operand : [operand];
  // neq/nin hold for any value of another type? No: non-scalars skip and scalars compare strictly,
  // so a value of a type absent from the operand list can still satisfy neq/nin — no warning.
  if (op === 'neq' || op === 'nin') return null;
  return [...new Set(values.map((v) => typeof v))];
}
