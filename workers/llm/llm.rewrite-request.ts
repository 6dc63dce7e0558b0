/**
 * Request rewrites (pure): the changes the gateway makes to a parsed body before it forwards its
 * own serialization of it. Each returns a new body (the input is never mutated) and says what it
 * did, so the audit row and the response stages know.
 */
import type { LlmProvider } from './llm.catalog';
import type { LlmEndpoint } from './llm.endpoints';
import { MAX_TOKEN_FIELDS, type MaxTokensField } from './llm.request';

type Body = Record<string, unknown>;

export interface StreamUsageRewrite {
  body: Body;
  /**
   * True when the gateway asked for usage the caller did not: the answer's usage-only chunk
   * (`choices: []` with `usage`) is then the gateway's, and is removed from what the caller sees
   * (see isUsageOnlyChunk in llm.usage.ts).
   */
  injected: boolean;
}

/**
 * OpenAI-family streams report usage only when asked (`stream_options.include_usage: true`), in an
 * extra final chunk. Adds it to a streamed chat/completions request when the caller did not ask,
 * unless the provider sends usage unasked (`always`) or rejects the option (`none`, e.g. Cohere's
 * compatibility API). An explicit `include_usage: false` is overridden too (and remembered as
 * injected): usage is needed for token limits and cost, and the caller still sees no usage chunk.
 */
export function ensureStreamUsage(
  endpoint: LlmEndpoint,
  provider: LlmProvider,
  body: Body,
): StreamUsageRewrite {
  if (endpoint !== 'chat.completions' && endpoint !== 'completions') return { body, injected: false };
  if (body.stream !== true || provider.streamUsage !== 'include_usage') return { body, injected: false };
  const options = body.stream_options;
  const current =
    typeof options === 'object' && options !== null && !Array.isArray(options) ? (options as Body) : {};
  if (current.include_usage === true) return { body, injected: false };
  return { body: { ...body, stream_options: { ...current, include_usage: true } }, injected: true };
}

export interface CappedField {
  field: MaxTokensField;
  /** What the caller asked for; null when it set nothing and the gateway added the field. */
  from: number | null;
  to: number;
}

export interface CapRewrite {
  body: Body;
  capped: CappedField[];
}

/**
 * `tokenGuard.maxOutputTokens`: every output-token field above the cap is lowered to it, and when
 * the caller set none, the provider's field (catalog `maxTokensField`; `max_output_tokens` for
 * Responses, `max_tokens` for legacy completions) is added — otherwise the model's default (often
 * its maximum) would apply. Endpoints without an output-token field are left alone.
 */
export function capOutputTokens(
  endpoint: LlmEndpoint,
  provider: LlmProvider,
  body: Body,
  maxOutputTokens: number,
): CapRewrite {
  const fields = MAX_TOKEN_FIELDS[endpoint];
  if (!fields || !Number.isInteger(maxOutputTokens) || maxOutputTokens < 1) return { body, capped: [] };
  const capped: CappedField[] = [];
  const out: Body = { ...body };
  let present = false;
  for (const field of fields) {
    const value = body[field];
    if (typeof value !== 'number') continue;
    present = true;
    if (value > maxOutputTokens) {
      out[field] = maxOutputTokens;
      capped.push({ field, from: value, to: maxOutputTokens });
    }
  }
  if (!present) {
    const field = addedField(endpoint, provider);
    out[field] = maxOutputTokens;
    capped.push({ field, from: null, to: maxOutputTokens });
  }
  return { body: capped.length > 0 ? out : body, capped };
}

function addedField(endpoint: LlmEndpoint, provider: LlmProvider): MaxTokensField {
  if (endpoint === 'responses') return 'max_output_tokens';
  if (endpoint === 'chat.completions') return provider.maxTokensField;
  return 'max_tokens';
}
