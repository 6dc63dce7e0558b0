/**
 * Reading an LLM request body (pure): parse with size and depth caps, then read the few fields
 * the gateway decides on — model, stream, the output-token caps, the OpenAI `user` — with zod
 * schemas that are permissive (every other field passes through untouched) but strict about the
 * type of the fields we read. A `max_tokens` of "100" (a string) is refused rather than ignored:
 * a guard that skips a field it cannot read, while the provider coerces it, is no guard.
 *
 * The gateway forwards its own serialization of the parsed body (JSON.stringify of what was
 * decided on), as for MCP, so duplicate keys cannot be read one way here and another upstream.
 */
import { z } from 'zod';
import { AppError } from '../lib/errors';
import { strictUtf8 } from '../lib/values';
import { governedNameFault } from '../policy/policy.methods';
import type { LlmEndpoint } from './llm.endpoints';

export interface BodyLimits {
  maxBytes: number;
  /** Nesting depth of objects/arrays (the top-level object is depth 1). */
  maxDepth: number;
}

export const DEFAULT_BODY_LIMITS: BodyLimits = { maxBytes: 16 * 1024 * 1024, maxDepth: 64 };

function bodyError(message: string, path?: string): AppError {
  return new AppError('validation_failed', {
    message,
    details: { location: 'body', ...(path === undefined ? {} : { path }) },
  });
}

/** Parses a JSON request body: an object, within the byte and depth caps. */
export function parseLlmBody(
  bytes: Uint8Array,
  limits: BodyLimits = DEFAULT_BODY_LIMITS,
): Record<string, unknown> {
  if (bytes.byteLength > limits.maxBytes) {
    throw new AppError('payload_too_large', { details: { location: 'body', limitBytes: limits.maxBytes } });
  }
  let value: unknown;
  try {
    value = JSON.parse(strictUtf8(bytes));
  } catch {
    throw new AppError('parse_error', {
      message: 'Request body is not valid JSON',
      details: { location: 'body' },
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw bodyError('Request body must be a JSON object');
  }
  if (jsonDepth(value) > limits.maxDepth) {
    throw bodyError(`Request body nests deeper than ${limits.maxDepth} levels`);
  }
  return value as Record<string, unknown>;
}

/**
 * The `model` of a multipart upload (audio transcriptions): exactly one non-empty text field. The
 * body is forwarded as sent, so a second `model` (servers such as FastAPI read the last one) or a
 * file part named `model` would let the provider run another model than the one decided on.
 */
export function multipartModel(form: FormData): string {
  const models = form.getAll('model');
  const [model] = models;
  if (models.length !== 1 || typeof model !== 'string' || model === '') {
    throw bodyError('multipart/form-data body must carry exactly one text "model" field', 'model');
  }
  return checkModelName(model);
}

/**
 * The model is the governed name of an LLM call (policy `model` and `tool` rules, allowedModels),
 * so it is judged as an MCP tool name is (governedNameFault): a model holding whitespace, control
 * or invisible characters (`"gpt-4o "`, `"gpt-4o\u200b"`, a no-break space) could miss a rule
 * written for `gpt-4o` while a lenient provider trims it and runs `gpt-4o`. Refused (400, before
 * any decision), never forwarded.
 */
export function checkModelName(model: string): string {
  const fault = governedNameFault(model);
  if (fault) throw bodyError(`model ${fault}: no model is named like that`, 'model');
  return model;
}

/** Depth of a parsed JSON value, iteratively (no recursion, so no stack limit), linear in size. */
export function jsonDepth(value: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth > max) max = depth;
    const children = Array.isArray(current) ? current : Object.values(current);
    for (const child of children) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return max;
}

const tokens = z.number().int().nonnegative().nullish();
/** `n` / `best_of`: how many answers are generated, each billed (llm.charge.ts multiplies by it). */
const answers = z.number().int().positive().nullish();

/** Fields common to the JSON endpoints; everything else is kept as sent. */
const baseRequest = z.looseObject({
  model: z.string().min(1).max(256).optional(),
  stream: z.boolean().nullish(),
});

export const openAiChatRequestSchema = baseRequest.extend({
  messages: z.array(z.unknown()),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  max_tokens: tokens,
  max_completion_tokens: tokens,
  n: answers,
  user: z.string().max(512).optional(),
});

export const openAiCompletionRequestSchema = baseRequest.extend({
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  max_tokens: tokens,
  n: answers,
  best_of: answers,
  user: z.string().max(512).optional(),
});

export const openAiResponsesRequestSchema = baseRequest.extend({
  max_output_tokens: tokens,
  user: z.string().max(512).optional(),
});

export const openAiEmbeddingsRequestSchema = baseRequest.extend({
  input: z.unknown(),
  user: z.string().max(512).optional(),
});

export const anthropicMessagesRequestSchema = baseRequest.extend({
  messages: z.array(z.unknown()),
  max_tokens: tokens,
  // Anthropic's end-user id lives in metadata.user_id.
  metadata: z.looseObject({ user_id: z.string().max(512).nullish() }).nullish(),
});

const genericRequest = baseRequest.extend({ user: z.string().max(512).optional() });

const SCHEMAS: Partial<Record<LlmEndpoint, z.ZodType<Record<string, unknown>>>> = {
  'chat.completions': openAiChatRequestSchema,
  completions: openAiCompletionRequestSchema,
  responses: openAiResponsesRequestSchema,
  embeddings: openAiEmbeddingsRequestSchema,
  messages: anthropicMessagesRequestSchema,
  'messages.count_tokens': anthropicMessagesRequestSchema.extend({ max_tokens: tokens }),
};

/** The output-token fields, by endpoint, in the order the gateway reads and caps them. */
export const MAX_TOKEN_FIELDS: Readonly<Partial<Record<LlmEndpoint, readonly MaxTokensField[]>>> = {
  'chat.completions': ['max_tokens', 'max_completion_tokens'],
  completions: ['max_tokens'],
  responses: ['max_output_tokens'],
  messages: ['max_tokens'],
};

export type MaxTokensField = 'max_tokens' | 'max_completion_tokens' | 'max_output_tokens';

/** What the gateway reads from a request body. */
export interface LlmRequestInfo {
  model: string | null;
  stream: boolean;
  /** The output-token fields the caller set, with their values. */
  maxTokens: Partial<Record<MaxTokensField, number>>;
  /** The largest of them, or null when none was set (for `maxRequestMaxTokens`). */
  requestedMaxTokens: number | null;
  /** OpenAI `user` (or Anthropic `metadata.user_id`): used as the user when X-Igris-User is absent. */
  user: string | null;
  /** Chat/completions streams: what the caller set in `stream_options.include_usage` (null: absent). */
  includeUsage: boolean | null;
}

/**
 * Reads the governed fields of a parsed JSON body for `endpoint`. Throws `validation_failed`
 * (400, with `details.path`) when a field we read has the wrong type.
 */
export function readLlmRequest(endpoint: LlmEndpoint, body: Record<string, unknown>): LlmRequestInfo {
  const schema = SCHEMAS[endpoint] ?? genericRequest;
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map(String).join('.');
    throw bodyError(`Invalid request field "${path}": ${issue.message}`, path);
  }
  const data = parsed.data;
  const maxTokens: Partial<Record<MaxTokensField, number>> = {};
  for (const field of MAX_TOKEN_FIELDS[endpoint] ?? []) {
    const value = data[field];
    if (typeof value === 'number') maxTokens[field] = value;
  }
  const values = Object.values(maxTokens);
  const streamOptions = data.stream_options as { include_usage?: boolean } | null | undefined;
  const metadata = data.metadata as { user_id?: string | null } | null | undefined;
  const user = typeof data.user === 'string' ? data.user : (metadata?.user_id ?? null);
  return {
    model: typeof data.model === 'string' ? checkModelName(data.model) : null,
    stream: data.stream === true,
    maxTokens,
    requestedMaxTokens: values.length > 0 ? Math.max(...values) : null,
    user: user === '' ? null : user,
    includeUsage: typeof streamOptions?.include_usage === 'boolean' ? streamOptions.include_usage : null,
  };
}
