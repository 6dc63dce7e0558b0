/**
 * A cheap prompt-token ESTIMATE (pure, linear in the body), for the `tokenGuard.maxInputTokens`
 * check and for budgets before the provider has answered. It is not a tokenizer, and is never
 * used for cost: cost comes from the usage the provider reports (llm.usage.ts).
 *
 * The rule, documented in docs/llm-gateway.md:
 *   - every string of the prompt (message text, Anthropic content blocks, tool results, tool-call
 *     arguments, system prompts, Responses `input`/`instructions`, completion `prompt`, embedding
 *     `input`) counts 1 token per 4 ASCII characters and 1 token per non-ASCII UTF-16 unit (CJK
 *     text is about one token per character; counting it at 1/4 would let 4× the limit through);
 *   - token-id arrays (`prompt`/`input` as numbers) count 1 token per number;
 *   - tool/function definitions count their JSON length / 4;
 *   - each image, audio, file or document part counts a flat MEDIA_PART_TOKENS (their base64 data
 *     is never counted as text), and each message adds MESSAGE_OVERHEAD_TOKENS (role, framing).
 * The result is rounded up. Real counts differ by tokenizer, typically within ±25% for English.
 */
import type { LlmEndpoint } from './llm.endpoints';

export const MESSAGE_OVERHEAD_TOKENS = 4;
export const MEDIA_PART_TOKENS = 1_000;

/** Content-part types that carry media, in either family (OpenAI chat/Responses, Anthropic). */
const MEDIA_TYPES = new Set([
  'image_url',
  'image',
  'input_image',
  'input_audio',
  'audio',
  'file',
  'input_file',
  'document',
]);

/** Keys whose values are binary payloads or references, never prompt text. */
const SKIPPED_KEYS = new Set([
  'image_url',
  'file_data',
  'b64_json',
  'data',
  'file_id',
  'url',
  'cache_control',
  'tool_use_id',
  'tool_call_id',
  'call_id',
]);

/** Which top-level fields hold the prompt, per endpoint. */
const PROMPT_FIELDS: Partial<Record<LlmEndpoint, readonly string[]>> = {
  'chat.completions': ['messages'],
  completions: ['prompt', 'suffix'],
  responses: ['input', 'instructions'],
  embeddings: ['input'],
  moderations: ['input'],
  messages: ['system', 'messages'],
  'messages.count_tokens': ['system', 'messages'],
  'responses.input_tokens': ['input', 'instructions'],
};

/** Which field holds a list of messages (each adds MESSAGE_OVERHEAD_TOKENS), per endpoint. */
const MESSAGE_FIELDS: Partial<Record<LlmEndpoint, string>> = {
  'chat.completions': 'messages',
  responses: 'input',
  messages: 'messages',
  'messages.count_tokens': 'messages',
  'responses.input_tokens': 'input',
};

const TOOL_FIELDS = ['tools', 'functions'] as const;

/** Counts what the estimate counts; `units` is in quarter-tokens so the sum stays an integer. */
class Tally {
  quarters = 0;

  text(value: string): void {
    let ascii = 0;
    let other = 0;
    for (let i = 0; i < value.length; i++) {
      if (value.charCodeAt(i) < 0x80) ascii++;
      else other++;
    }
    this.quarters += ascii + 4 * other;
  }

  tokens(n: number): void {
    this.quarters += 4 * n;
  }

  get total(): number {
    return Math.ceil(this.quarters / 4);
  }
}

/** Walks one prompt value iteratively (no recursion), counting strings, media parts and numbers. */
function walk(root: unknown, tally: Tally): void {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === 'string') {
      // A data URL pasted as text is still binary.
      if (!value.startsWith('data:')) tally.text(value);
    } else if (typeof value === 'number') {
      tally.tokens(1);
    } else if (Array.isArray(value)) {
      for (const item of value) stack.push(item);
    } else if (typeof value === 'object' && value !== null) {
      const record = value as Record<string, unknown>;
      if (typeof record.type === 'string' && MEDIA_TYPES.has(record.type)) {
        tally.tokens(MEDIA_PART_TOKENS);
        continue;
      }
      for (const [key, child] of Object.entries(record)) {
        // Only values are prompt text; `type`/`role` and ids are framing, covered by the overhead.
        if (SKIPPED_KEYS.has(key) || key === 'type' || key === 'role' || key === 'id') continue;
        // Numbers as object fields are settings (`index`, `budget_tokens`), not token ids.
        if (typeof child === 'number') continue;
        stack.push(child);
      }
    }
  }
}

/** The estimated prompt tokens of a parsed request body for `endpoint` (0 when it has no prompt). */
export function estimatePromptTokens(endpoint: LlmEndpoint, body: Record<string, unknown>): number {
  const fields = PROMPT_FIELDS[endpoint];
  if (!fields) return 0;
  const tally = new Tally();
  for (const field of fields) {
    const value = body[field];
    if (value === undefined || value === null) continue;
    walk(value, tally);
    if (Array.isArray(value) && field === MESSAGE_FIELDS[endpoint]) {
      const messages = value.filter(
        (item) => typeof item === 'object' && item !== null && !Array.isArray(item),
      ).length;
      tally.tokens(messages * MESSAGE_OVERHEAD_TOKENS);
    }
  }
  for (const field of TOOL_FIELDS) {
    const tools = body[field];
    if (Array.isArray(tools) && tools.length > 0) tally.text(JSON.stringify(tools));
  }
  return tally.total;
}
