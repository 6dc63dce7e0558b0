/**
 * Policy document schema: what a connection owner may store as `{ rules: Rule[] }`.
 *
 * Pure module (no I/O): shared by the API (to refuse invalid documents with a precise
 * rule index + field path) and by the gateway (which compiles the validated document).
 */
import { z } from 'zod';
import { ARG_OPERATORS, type ArgCondition, type ArgOperator, argOperandSchemas } from './policy.args.js';
import {
  ANNOTATION_HINTS,
  isConditionField,
  isPolicyEndpoint,
  isRateLimitKey,
  MAX_ARGS_PATH_DEPTH,
  MAX_GLOB_LENGTH,
  MAX_LIST_VALUES,
  MAX_METADATA_PATH_DEPTH,
  MAX_RATE_WINDOW_SECONDS,
  MAX_REASON_LENGTH,
  MAX_RULES,
  POLICY_ENDPOINTS,
  type RateLimitKey,
  RULE_ACTIONS,
  type Scalar,
} from './policy.fields.js';
import { flattenIssue, type PolicyIssue } from './policy.issues.js';
import {
  isSessionField,
  LABEL_MESSAGE,
  LABEL_PATTERN,
  SESSION_ACTIONS,
  sessionConditionIssue,
} from './policy.session.js';

export * from './policy.fields.js';
export { formatPath, type PolicyIssue } from './policy.issues.js';

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

export type ParsePolicyResult = { ok: true; policy: Policy } | { ok: false; issues: PolicyIssue[] };

export function parsePolicy(input: unknown): ParsePolicyResult {
  const result = policySchema.safeParse(input);
  if (result.success) return { ok: true, policy: result.data };
  const issues: PolicyIssue[] = [];
  for (const issue of result.error.issues) flattenIssue(issue, [], issues);
  return { ok: false, issues };
}
