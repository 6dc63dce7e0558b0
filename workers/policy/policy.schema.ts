/**
 * Policy document schema: what a connection owner may store as `{ rules: Rule[] }`.
 *
 * Pure module (no I/O): shared by the API (to refuse invalid documents with a precise
 * rule index + field path) and by the gateway (which compiles the validated document).
 */
import { z } from 'zod';

export const MAX_RULES = 10_000;
export const MAX_GLOB_LENGTH = 256;
export const MAX_REASON_LENGTH = 500;
export const MAX_LIST_VALUES = 1000;
export const MAX_RATE_WINDOW_SECONDS = 86_400;
/** Segments allowed after `metadata.`; mirrors the 3-level nesting limit of X-Igris-Metadata. */
export const MAX_METADATA_PATH_DEPTH = 3;

export type Scalar = string | number | boolean;
export type RuleAction = 'allow' | 'deny' | 'alert';
export type MetadataField = `metadata.${string}`;
export type ConditionField = 'user' | MetadataField;
export type RateLimitKey = 'user' | 'apiKey' | 'connection' | MetadataField;

/** Field names: `user`, or `metadata.` followed by 1..3 non-empty, dot-separated segments. */
const METADATA_FIELD_RE = new RegExp(`^metadata\\.[^.]+(?:\\.[^.]+){0,${MAX_METADATA_PATH_DEPTH - 1}}$`);

export function isMetadataField(value: unknown): value is MetadataField {
  return typeof value === 'string' && METADATA_FIELD_RE.test(value);
}

export function isConditionField(value: unknown): value is ConditionField {
  return value === 'user' || isMetadataField(value);
}

export function isRateLimitKey(value: unknown): value is RateLimitKey {
  return value === 'user' || value === 'apiKey' || value === 'connection' || isMetadataField(value);
}

const FIELD_MESSAGE = `field must be "user" or "metadata.<key>" with 1 to ${MAX_METADATA_PATH_DEPTH} non-empty dot-separated keys`;

// z.number() already refuses NaN and ±Infinity, so every scalar is JSON-representable.
export const scalarSchema = z.union([z.string(), z.number(), z.boolean()], {
  error: 'expected a string, number or boolean',
});

const valueListSchema = z
  .array(scalarSchema, { error: 'expected an array of strings, numbers or booleans' })
  .min(1, 'list must contain at least 1 value')
  .max(MAX_LIST_VALUES, `list must contain at most ${MAX_LIST_VALUES} values`);

export type OperatorCondition = { eq: Scalar } | { neq: Scalar } | { in: Scalar[] } | { nin: Scalar[] };
export type Operator = 'eq' | 'neq' | 'in' | 'nin';
export type Condition = Scalar | OperatorCondition;

const OPERATOR_MESSAGE = 'condition object must contain exactly one operator: eq, neq, in or nin';

function definedOperators(value: Record<string, unknown>): Operator[] {
  const ops: Operator[] = [];
  for (const op of ['eq', 'neq', 'in', 'nin'] as const) {
    if (value[op] !== undefined) ops.push(op);
  }
  return ops;
}

/**
 * One strict object with optional operators (plus an "exactly one" check) rather than a union
 * of four single-key objects: a union would report four unrelated failures for `{eq, neq}`,
 * whereas this yields one clear message. The transform narrows to the exact union type.
 */
const operatorConditionSchema = z
  .strictObject({
    eq: scalarSchema.optional(),
    neq: scalarSchema.optional(),
    in: valueListSchema.optional(),
    nin: valueListSchema.optional(),
  })
  .refine((value) => definedOperators(value).length === 1, OPERATOR_MESSAGE)
  .transform((value): OperatorCondition => {
    if (value.eq !== undefined) return { eq: value.eq };
    if (value.neq !== undefined) return { neq: value.neq };
    if (value.in !== undefined) return { in: value.in };
    return { nin: value.nin ?? [] };
  });

export const conditionSchema = z.union([scalarSchema, operatorConditionSchema], {
  error: 'condition must be a string, number, boolean or an object with one of eq, neq, in, nin',
});

/** Distinguishes "missing" from "wrong type", which zod's default message conflates. */
function typeError(name: string, expected: string) {
  return (issue: { input?: unknown }) =>
    issue.input === undefined ? `${name} is required` : `${name} must be ${expected}`;
}

// Explicit boolean: a type predicate here would narrow keys to ConditionField, and
// Record<'user' | …, Condition> would then make a 'user' condition mandatory.
const fieldSchema = z.string().refine((field): boolean => isConditionField(field), FIELD_MESSAGE);

export const rateLimitSchema = z.strictObject(
  {
    limit: z
      .number({ error: typeError('limit', 'a number') })
      .int('limit must be an integer')
      .min(1, 'limit must be at least 1'),
    windowSeconds: z
      .number({ error: typeError('windowSeconds', 'a number') })
      .int('windowSeconds must be an integer')
      .min(1, 'windowSeconds must be at least 1')
      .max(MAX_RATE_WINDOW_SECONDS, `windowSeconds must be at most ${MAX_RATE_WINDOW_SECONDS}`),
    by: z.custom<RateLimitKey>(isRateLimitKey, {
      error: 'by must be "user", "apiKey", "connection" or "metadata.<key>"',
    }),
  },
  { error: 'rateLimit must be an object { limit, windowSeconds, by }' },
);

export const ruleSchema = z.strictObject(
  {
    tool: z
      .string({ error: typeError('tool', 'a string') })
      .min(1, 'tool glob must not be empty')
      .max(MAX_GLOB_LENGTH, `tool glob must be at most ${MAX_GLOB_LENGTH} characters`),
    action: z.enum(['allow', 'deny', 'alert'], { error: typeError('action', '"allow", "deny" or "alert"') }),
    conditions: z
      .record(fieldSchema, conditionSchema, {
        error: 'conditions must be an object mapping fields to conditions',
      })
      .optional(),
    reason: z
      .string({ error: 'reason must be a string' })
      .max(MAX_REASON_LENGTH, `reason must be at most ${MAX_REASON_LENGTH} characters`)
      .optional(),
    rateLimit: rateLimitSchema.optional(),
  },
  { error: 'rule must be an object with at least "tool" and "action"' },
);

export const policySchema = z.strictObject(
  {
    rules: z
      .array(ruleSchema, { error: 'rules must be an array' })
      .max(MAX_RULES, `a policy may contain at most ${MAX_RULES} rules`),
  },
  { error: 'policy must be an object of the form { "rules": [...] }' },
);

export type RateLimit = z.infer<typeof rateLimitSchema>;
export type Rule = z.infer<typeof ruleSchema>;
export type Policy = z.infer<typeof policySchema>;

export interface PolicyIssue {
  /** Index of the offending rule, or null when the problem is with the document itself. */
  ruleIndex: number | null;
  /** Human-readable location, e.g. `rules[3].conditions.metadata.role.in`. */
  path: string;
  message: string;
}

export type ParsePolicyResult = { ok: true; policy: Policy } | { ok: false; issues: PolicyIssue[] };

export function parsePolicy(input: unknown): ParsePolicyResult {
  const result = policySchema.safeParse(input);
  if (result.success) return { ok: true, policy: result.data };
  const issues: PolicyIssue[] = [];
  for (const issue of result.error.issues) flattenIssue(issue, [], issues);
  return { ok: false, issues };
}

type ZodIssue = z.core.$ZodIssue;
type PathSegment = PropertyKey;

/**
 * Zod reports union/record failures as nested trees; API callers want one flat list of
 * "where + what". This picks the branch the author evidently meant and surfaces its leaves.
 */
function flattenIssue(issue: ZodIssue, base: readonly PathSegment[], out: PolicyIssue[]): void {
  const path = [...base, ...issue.path];
  switch (issue.code) {
    case 'invalid_union':
      flattenUnion(issue.errors, issue.message, path, out);
      return;
    case 'invalid_key':
    case 'invalid_element':
      // The key/element itself is the location; the nested issue carries the useful message.
      out.push(toPolicyIssue(path, issue.issues[0]?.message ?? issue.message));
      return;
    case 'unrecognized_keys':
      for (const key of issue.keys) out.push(toPolicyIssue([...path, key], `unknown field "${key}"`));
      return;
    default:
      out.push(toPolicyIssue(path, issue.message));
  }
}

function flattenUnion(
  branches: ZodIssue[][],
  message: string,
  path: PathSegment[],
  out: PolicyIssue[],
): void {
  // A branch that failed on the value's type is one the author did not mean (e.g. the
  // scalar branch for an object input); the remaining branch has the relevant details.
  const meant = branches.filter((branch) => !isTypeMismatch(branch));
  if (meant.length === 0) {
    out.push(toPolicyIssue(path, message));
    return;
  }
  const best = meant.reduce((a, b) => (b.length < a.length ? b : a));
  for (const issue of best) flattenIssue(issue, path, out);
}

function isTypeMismatch(branch: ZodIssue[]): boolean {
  return branch.some(
    (issue) =>
      issue.path.length === 0 &&
      (issue.code === 'invalid_type' ||
        (issue.code === 'invalid_union' && issue.errors.every((inner) => isTypeMismatch(inner)))),
  );
}

function toPolicyIssue(path: readonly PathSegment[], message: string): PolicyIssue {
  const ruleIndex = path[0] === 'rules' && typeof path[1] === 'number' ? path[1] : null;
  return { ruleIndex, path: formatPath(path), message };
}

export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out;
}
