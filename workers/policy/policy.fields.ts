/**
 * The names a policy rule may use (pure): limits, actions, the condition fields (`user`, `team`,
 * `metadata.*`, `args.*`, `annotations.*`, the session fields), rate-limit keys and LLM endpoint
 * names, with the predicates that recognise them. The document schema is policy.schema.ts, which
 * re-exports all of it.
 */
import { LLM_ENDPOINTS } from '../llm/llm.endpoints.js';

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
