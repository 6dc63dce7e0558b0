/**
 * Policy document schema: what a connection owner may store as `{ rules: Rule[] }`.
 *
 * Pure module (no I/O): shared by the API (to refuse invalid documents with a precise
 * rule index + field path) and by the gateway (which compiles the validated document).
 */
import { z } from 'zod';
import { MAX_LISTED_KEYS, quoted } from '../lib/issues.list.js';
import { LLM_ENDPOINTS } from '../llm/llm.endpoints.js';
import { ARG_OPERATORS, type ArgCondition, type ArgOperator, argOperandSchemas } from './policy.args.js';
import {
  isSessionField,
  LABEL_MESSAGE,
  LABEL_PATTERN,
  SESSION_ACTIONS,
  sessionConditionIssue,
} from './policy.session.js';

export const MAX_RULES = 10_000;
export const MAX_GLOB_LENGTH = 256;
export const MAX_REASON_LENGTH = 500;
export const MAX_LIST_VALUES = 1000;
export const MAX_RATE_WINDOW_SECONDS = 86_400;
/** Segments allowed after `metadata.`; mirrors the 3-level nesting limit of X-Igris-Metadata. */
export const MAX_METADATA_PATH_DEPTH = 3;
/** Segments allowed after `args.` (tool arguments, LLM request fields, A2A message metadata). */
export const MAX_ARGS_PATH_DEPTH = 5;

/** The LLM endpoint names a rule's `endpoint` may list (workers/llm/llm.endpoints.ts), and `passthrough`. */
export const POLICY_ENDPOINTS = [...LLM_ENDPOINTS, 'passthrough'] as const;
export type PolicyEndpoint = (typeof POLICY_ENDPOINTS)[number];

export type Scalar = string | number | boolean;
/** `approve`: the call is held until an approver allows this exact call (docs/policies.md#approvals). */
export type RuleAction = 'allow' | 'deny' | 'alert' | 'approve';
export const RULE_ACTIONS = ['allow', 'deny', 'alert', 'approve'] as const satisfies readonly RuleAction[];
export type MetadataField = `metadata.${string}`;
export type ArgsField = `args.${string}`;
/** The MCP tool annotations a rule may read, from the pinned baseline (docs/tool-integrity.md). */
export const ANNOTATION_HINTS = [
  'readOnlyHint',
  'destructiveHint',
  'idempotentHint',
  'openWorldHint',
] as const;
export type AnnotationField = `annotations.${(typeof ANNOTATION_HINTS)[number]}`;
export type ConditionField = 'user' | 'team' | MetadataField | ArgsField | AnnotationField;
export type RateLimitKey = 'user' | 'apiKey' | 'connection' | MetadataField;

/** Field names: `user`, or `metadata.` followed by 1..3 non-empty, dot-separated segments. */
const METADATA_FIELD_RE = new RegExp(`^metadata\\.[^.]+(?:\\.[^.]+){0,${MAX_METADATA_PATH_DEPTH - 1}}$`);

export function isMetadataField(value: unknown): value is MetadataField {
  return typeof value === 'string' && METADATA_FIELD_RE.test(value);
}

/** `args.` followed by 1..5 non-empty, dot-separated keys (a key of digits also indexes an array). */
const ARGS_FIELD_RE = new RegExp(`^args\\.[^.]+(?:\\.[^.]+){0,${MAX_ARGS_PATH_DEPTH - 1}}$`);

export function isArgsField(value: unknown): value is ArgsField {
  return typeof value === 'string' && ARGS_FIELD_RE.test(value);
}

/** `annotations.readOnlyHint` and the other three hints of the MCP spec, nothing else. */
export function isAnnotationField(value: unknown): value is AnnotationField {
  return (
    typeof value === 'string' &&
    value.startsWith('annotations.') &&
    (ANNOTATION_HINTS as readonly string[]).includes(value.slice('annotations.'.length))
  );
}

/** `team` holds when the call belongs to the named team (id or name; a call may have several). */
export function isConditionField(value: unknown): value is ConditionField {
  return (
    value === 'user' ||
    value === 'team' ||
    isMetadataField(value) ||
    isArgsField(value) ||
    isAnnotationField(value)
  );
}

export function isPolicyEndpoint(value: unknown): value is PolicyEndpoint {
  return typeof value === 'string' && (POLICY_ENDPOINTS as readonly string[]).includes(value);
}

export function isRateLimitKey(value: unknown): value is RateLimitKey {
  return value === 'user' || value === 'apiKey' || value === 'connection' || isMetadataField(value);
}

const FIELD_MESSAGE = `field must be "user", "team", "metadata.<key>" with 1 to ${MAX_METADATA_PATH_DEPTH} or "args.<key>" with 1 to ${MAX_ARGS_PATH_DEPTH} non-empty dot-separated keys, or "annotations.<${ANNOTATION_HINTS.join('|')}>", "session.touched" or "session.called"`;

// z.number() already refuses NaN and ±Infinity, so every scalar is JSON-representable.
export const scalarSchema = z.union([z.string(), z.number(), z.boolean()], {
  error: 'expected a string, number or boolean',
});

const valueListSchema = z
  .array(scalarSchema, { error: 'expected an array of strings, numbers or booleans' })
  .min(1, 'list must contain at least 1 value')
  .max(MAX_LIST_VALUES, `list must contain at most ${MAX_LIST_VALUES} values`);

export type OperatorCondition =
  | { eq: Scalar }
  | { neq: Scalar }
  | { in: Scalar[] }
  | { nin: Scalar[] }
  | ArgCondition;
export type ValueOperator = 'eq' | 'neq' | 'in' | 'nin';
export type Operator = ValueOperator | ArgOperator;
/** A list is a session condition's shorthand (`session.touched: ["untrusted_input"]`, policy.session.ts). */
export type Condition = Scalar | OperatorCondition | string[];

/**
 * The list shorthand of a session condition (`session.touched: ["untrusted_input"]`) beside the
 * ordinary condition schema (which already parses `{ in: [...] }`): any list here, typed as strings
 * for Condition; the rule's superRefine checks every session field's value (policy.session.ts
 * sessionConditionIssue) and refuses a list on any other field — one precise issue either way.
 */
const sessionConditionSchema = z.array(z.custom<string>(() => true));

const ALL_OPERATORS = ['eq', 'neq', 'in', 'nin', ...ARG_OPERATORS] as const;
const OPERATOR_MESSAGE = `condition object must contain exactly one operator: ${ALL_OPERATORS.join(', ')}`;

function definedOperators(value: Record<string, unknown>): Operator[] {
  const ops: Operator[] = [];
  for (const op of ALL_OPERATORS) {
    if (value[op] !== undefined) ops.push(op);
  }
  return ops;
}

/** The operators a `team` condition understands (set membership over the call's teams). */
export function isValueOperator(op: string): op is ValueOperator {
  return op === 'eq' || op === 'neq' || op === 'in' || op === 'nin';
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
    ...argOperandSchemas,
  })
  .refine((value) => definedOperators(value).length === 1, OPERATOR_MESSAGE)
  .transform((value): OperatorCondition => {
    const op = definedOperators(value)[0]!;
    return { [op]: value[op] } as OperatorCondition;
  });

export const conditionSchema = z.union([scalarSchema, operatorConditionSchema], {
  error:
    'condition must be a string, number, boolean or an object with one operator (eq, neq, in, nin, prefix, …)',
});

/** The operator a condition uses (a bare scalar is `eq`). */
export function operatorOf(condition: Condition): Operator {
  return typeof condition === 'object' ? (Object.keys(condition)[0] as Operator) : 'eq';
}

/** Distinguishes "missing" from "wrong type", which zod's default message conflates. */
function typeError(name: string, expected: string) {
  return (issue: { input?: unknown }) =>
    issue.input === undefined ? `${name} is required` : `${name} must be ${expected}`;
}

// Explicit boolean: a type predicate here would narrow keys to ConditionField, and
// Record<'user' | …, Condition> would then make a 'user' condition mandatory.
const fieldSchema = z
  .string()
  .refine((field): boolean => isConditionField(field) || isSessionField(field), FIELD_MESSAGE);

/** `{ limit, windowSeconds, by }`: requests per window (`rateLimit`) or tokens per window (`tokenLimit`). */
function windowLimitSchema(name: 'rateLimit' | 'tokenLimit') {
  return z.strictObject(
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
    { error: `${name} must be an object { limit, windowSeconds, by }` },
  );
}

export const rateLimitSchema = windowLimitSchema('rateLimit');
/** Tokens per window (TPM-style), counted from the actual usage of admitted LLM calls. */
export const tokenLimitSchema = windowLimitSchema('tokenLimit');

const TOKEN_GUARD_FIELDS = ['maxInputTokens', 'maxOutputTokens', 'maxRequestMaxTokens'] as const;

function positiveTokens(name: (typeof TOKEN_GUARD_FIELDS)[number]) {
  return z
    .number({ error: typeError(name, 'a number') })
    .int(`${name} must be an integer`)
    .min(1, `${name} must be at least 1`)
    .optional();
}

/**
 * Per-request token bounds of an LLM call: refuse an estimated prompt over `maxInputTokens`, cap
 * the forwarded max-tokens field at `maxOutputTokens`, refuse a request asking for more than
 * `maxRequestMaxTokens`.
 */
export const tokenGuardSchema = z
  .strictObject(
    {
      maxInputTokens: positiveTokens('maxInputTokens'),
      maxOutputTokens: positiveTokens('maxOutputTokens'),
      maxRequestMaxTokens: positiveTokens('maxRequestMaxTokens'),
    },
    { error: `tokenGuard must be an object with at least one of ${TOKEN_GUARD_FIELDS.join(', ')}` },
  )
  .refine(
    (guard) => TOKEN_GUARD_FIELDS.some((field) => guard[field] !== undefined),
    `tokenGuard must set at least one of ${TOKEN_GUARD_FIELDS.join(', ')}`,
  );

function globSchema(name: 'tool' | 'model') {
  return z
    .string({ error: typeError(name, 'a string') })
    .min(1, `${name} glob must not be empty`)
    .max(MAX_GLOB_LENGTH, `${name} glob must be at most ${MAX_GLOB_LENGTH} characters`);
}

const ENDPOINT_MESSAGE = `endpoint must be one of ${POLICY_ENDPOINTS.map((e) => `"${e}"`).join(', ')}`;
// A string refined (not z.enum) so that, in the union below, a list fails the string branch on its
// type and the issue is reported on the offending list element.
const endpointNameSchema = z
  .string({ error: ENDPOINT_MESSAGE })
  .refine((name): boolean => isPolicyEndpoint(name), ENDPOINT_MESSAGE);

export const endpointSchema = z.union(
  [
    endpointNameSchema,
    z
      .array(endpointNameSchema, { error: 'endpoint must be a name or a list of names' })
      .min(1, 'endpoint list must contain at least 1 name')
      .max(POLICY_ENDPOINTS.length, `endpoint list must contain at most ${POLICY_ENDPOINTS.length} names`),
  ],
  { error: 'endpoint must be a name or a list of names' },
);

const RULE_TARGET_MESSAGE = 'a rule needs at least one of "tool", "model" or "endpoint"';

/** What a rule's `cleanOf` does to a tainted session: refuse the call, or hold it for an approver. */
export const TAINT_ACTIONS = ['deny', 'approve'] as const;
export type TaintAction = (typeof TAINT_ACTIONS)[number];

/** Session taint labels (issue 22): `untrusted_content`, `private_data`, `sink:network`… */
export const MAX_LABELS = 20;
export const labelSchema = z
  .string({ error: 'a label must be a string' })
  .regex(LABEL_PATTERN, LABEL_MESSAGE);
/** Labels an admitted call adds to its session. */
const labelsSchema = z
  .array(labelSchema, { error: 'labels must be a list of labels' })
  .min(1, 'labels must contain at least 1 label')
  .max(MAX_LABELS, `labels must contain at most ${MAX_LABELS} labels`);
/**
 * The session must be clean of each entry: a label, or a list of labels held together (a toxic
 * combination). Normalised to lists of labels.
 */
const cleanOfSchema = z
  .array(
    z.union([labelSchema, labelsSchema], { error: 'cleanOf entries must be a label or a list of labels' }),
    {
      error: 'cleanOf must be a list of labels or label lists',
    },
  )
  .min(1, 'cleanOf must contain at least 1 entry')
  .max(MAX_LABELS, `cleanOf must contain at most ${MAX_LABELS} entries`)
  .transform((entries) => entries.map((entry) => (typeof entry === 'string' ? [entry] : entry)));

export const ruleSchema = z
  .strictObject(
    {
      /** Tool (MCP) or model (LLM calls govern the model as their tool) glob; any name when absent. */
      tool: globSchema('tool').optional(),
      /** LLM calls only: the requested model's glob. A request without a model (MCP) never matches. */
      model: globSchema('model').optional(),
      /** LLM calls only: one endpoint name or a list. A request without an endpoint (MCP) never matches. */
      endpoint: endpointSchema.optional(),
      action: z.enum(RULE_ACTIONS, {
        error: typeError('action', '"allow", "deny", "alert" or "approve"'),
      }),
      conditions: z
        .record(
          fieldSchema,
          z.union([conditionSchema, sessionConditionSchema], {
            error:
              'condition must be a string, number, boolean or an object with one operator (eq, neq, in, nin, prefix, …)',
          }),
          {
            error: 'conditions must be an object mapping fields to conditions',
          },
        )
        .superRefine((conditions, ctx) => {
          for (const [field, condition] of Object.entries(conditions)) {
            const issue = isSessionField(field)
              ? sessionConditionIssue(field, condition)
              : Array.isArray(condition)
                ? 'a list is a session condition (session.touched / session.called); use { "in": [...] }'
                : null;
            if (issue) ctx.addIssue({ code: 'custom', path: [field], message: issue });
          }
          const team = conditions.team;
          if (team !== undefined && !isValueOperator(operatorOf(team))) {
            ctx.addIssue({
              code: 'custom',
              path: ['team'],
              message: 'team conditions support eq, neq, in and nin only',
            });
          }
        })
        .optional(),
      reason: z
        .string({ error: 'reason must be a string' })
        .max(MAX_REASON_LENGTH, `reason must be at most ${MAX_REASON_LENGTH} characters`)
        .optional(),
      rateLimit: rateLimitSchema.optional(),
      tokenLimit: tokenLimitSchema.optional(),
      tokenGuard: tokenGuardSchema.optional(),
      labels: labelsSchema.optional(),
      cleanOf: cleanOfSchema.optional(),
      /**
       * What a session that is not clean of `cleanOf` gets: `deny` (the default) refuses the call;
       * `approve` holds it for an approver like an `approve` rule (docs/policies.md#session-taint-toxic-flows).
       */
      onTaint: z.enum(TAINT_ACTIONS, { error: 'onTaint must be "deny" or "approve"' }).optional(),
    },
    { error: 'rule must be an object with "action" and at least one of "tool", "model" or "endpoint"' },
  )
  // A rule with none of the three would match every call of every protocol by accident.
  .refine(
    (rule) => rule.tool !== undefined || rule.model !== undefined || rule.endpoint !== undefined,
    RULE_TARGET_MESSAGE,
  )
  // Session facts are the agent's own past calls: they may take access away, never grant it.
  .refine(
    (rule) =>
      !Object.keys(rule.conditions ?? {}).some(isSessionField) ||
      (SESSION_ACTIONS as readonly string[]).includes(rule.action),
    {
      message:
        'session.touched / session.called conditions are allowed on "deny" and "approve" rules only (a session fact must not grant access)',
      path: ['action'],
    },
  )
  // A client's response to a server request cannot wait for an approver (docs/policies.md): say so
  // at save time rather than hold answers no one can retry (the runtime refuses them too).
  .refine((rule) => rule.action !== 'approve' || !rule.tool?.toLowerCase().startsWith('response:'), {
    message:
      '"approve" does not apply to response:<method> (a client\'s answer to a server request cannot be held and retried): use "allow", "alert" or "deny"',
    path: ['action'],
  })
  // onTaint says what a tainted session gets: without cleanOf nothing is ever tainted for the rule.
  .refine((rule) => rule.onTaint === undefined || rule.cleanOf !== undefined, {
    message: 'onTaint needs cleanOf (the labels the session must be clean of)',
    path: ['onTaint'],
  });

export const policySchema = z.strictObject(
  {
    rules: z
      .array(ruleSchema, { error: 'rules must be an array' })
      .max(MAX_RULES, `a policy may contain at most ${MAX_RULES} rules`),
  },
  { error: 'policy must be an object of the form { "rules": [...] }' },
);

export type RateLimit = z.infer<typeof rateLimitSchema>;
export type TokenLimit = z.infer<typeof tokenLimitSchema>;
export type TokenGuard = z.infer<typeof tokenGuardSchema>;
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
    case 'unrecognized_keys': {
      // Bounded (lib/issues.list.ts): a rule sent a million unknown keys is not answered key by key.
      const named = issue.keys.slice(0, MAX_LISTED_KEYS);
      for (const key of named)
        out.push(toPolicyIssue([...path, quoted(key)], `unknown field "${quoted(key)}"`));
      const more = issue.keys.length - named.length;
      if (more > 0) out.push(toPolicyIssue(path, `and ${more} more unknown fields`));
      return;
    }
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
