/**
 * Token usage from provider answers (pure, streaming-capable): feed every message of an answer to
 * `observe` — the JSON body, or each SSE event's parsed data, in order — then read `result()`.
 *
 * Shapes read (each provider reports counts cumulatively, so a later report replaces an earlier):
 *   OpenAI chat/completions  `usage.{prompt_tokens, completion_tokens, total_tokens}`, cached in
 *                            `prompt_tokens_details.cached_tokens`, reasoning in
 *                            `completion_tokens_details.reasoning_tokens`; streamed, in the final
 *                            chunk (`choices: []`) when `stream_options.include_usage` was set.
 *                            Groq's older `x_groq.usage` is read the same way.
 *   OpenAI embeddings        `usage.{prompt_tokens, total_tokens}`.
 *   OpenAI Responses         `usage.{input_tokens, output_tokens, total_tokens}`, cached in
 *                            `input_tokens_details.cached_tokens`, reasoning in
 *                            `output_tokens_details.reasoning_tokens`; streamed, in the
 *                            `response.completed` / `response.incomplete` / `response.failed` event.
 *   Anthropic Messages       `usage.{input_tokens, output_tokens, cache_read_input_tokens,
 *                            cache_creation_input_tokens}`; streamed, `message_start.message.usage`
 *                            then `message_delta.usage` (cumulative output, and input fields when
 *                            present). Anthropic's `input_tokens` EXCLUDES cache reads and writes.
 *
 * Normalised (`LlmUsage`): `inputTokens` is every prompt token including cache reads and writes
 * (OpenAI's meaning), so `inputTokens - cachedInputTokens - cacheWriteInputTokens` is the
 * uncached part in both families; `outputTokens` includes reasoning.
 */

import { hasAsciiEscape, mayHaveKey } from '../lib/json.keys';
import type { LlmFamily } from './llm.endpoints';

export interface LlmUsage {
  inputTokens: number;
  cachedInputTokens: number;
  cacheWriteInputTokens: number;
  outputTokens: number;
  /** Null when the provider did not report it. */
  reasoningTokens: number | null;
  totalTokens: number;
}

type Json = Record<string, unknown>;

function obj(value: unknown): Json | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : null;
}

/** A count as reported: a non-negative integer, else undefined (never NaN, never negative). */
function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** Anthropic's four counters, merged field by field (message_delta may carry only some). */
interface AnthropicCounters {
  input: number;
  cacheRead: number;
  cacheWrite: number;
  output: number;
}

export class UsageMeter {
  readonly #family: LlmFamily;
  #openai: LlmUsage | null = null;
  #anthropic: AnthropicCounters | null = null;
  #final = false;

  constructor(family: LlmFamily) {
    this.#family = family;
  }

  /** One message of the answer: a JSON body or one SSE event's data, already parsed. */
  observe(message: unknown): void {
    const m = obj(message);
    if (!m) return;
    if (this.#family === 'anthropic') {
      this.#observeAnthropic(m);
      return;
    }
    const type = m.type;
    if (type === 'response.completed' || type === 'response.incomplete' || type === 'response.failed') {
      this.#readOpenAi(obj(obj(m.response)?.usage));
      return;
    }
    this.#readOpenAi(obj(m.usage) ?? obj(obj(m.x_groq)?.usage));
  }

  /** The usage seen so far; null when the answer reported none. */
  result(): LlmUsage | null {
    if (this.#family === 'anthropic') {
      const a = this.#anthropic;
      if (!a) return null;
      const inputTokens = a.input + a.cacheRead + a.cacheWrite;
      return {
        inputTokens,
        cachedInputTokens: a.cacheRead,
        cacheWriteInputTokens: a.cacheWrite,
        outputTokens: a.output,
        reasoningTokens: null,
        totalTokens: inputTokens + a.output,
      };
    }
    return this.#openai ? { ...this.#openai } : null;
  }

  /**
   * Whether the answer's last usage report was seen: any OpenAI report (it comes once, complete);
   * for Anthropic, `message_delta` or a whole message (`message_start` has the prompt, but output 1).
   */
  final(): boolean {
    return this.#final;
  }

  #readOpenAi(usage: Json | null): void {
    if (!usage) return;
    // Chat/completions/embeddings name them prompt/completion; Responses names them input/output.
    const input = count(usage.prompt_tokens) ?? count(usage.input_tokens);
    const output = count(usage.completion_tokens) ?? count(usage.output_tokens);
    if (input === undefined && output === undefined) return;
    const inDetails = obj(usage.prompt_tokens_details) ?? obj(usage.input_tokens_details);
    const outDetails = obj(usage.completion_tokens_details) ?? obj(usage.output_tokens_details);
    const inputTokens = input ?? 0;
    const outputTokens = output ?? 0;
    this.#openai = {
      inputTokens,
      cachedInputTokens: Math.min(count(inDetails?.cached_tokens) ?? 0, inputTokens),
      cacheWriteInputTokens: 0,
      outputTokens,
      reasoningTokens: count(outDetails?.reasoning_tokens) ?? null,
      totalTokens: count(usage.total_tokens) ?? inputTokens + outputTokens,
    };
    this.#final = true;
  }

  #observeAnthropic(m: Json): void {
    if (m.type === 'message_start') {
      this.#mergeAnthropic(obj(obj(m.message)?.usage), true, false);
    } else if (m.type === 'message_delta') {
      this.#mergeAnthropic(obj(m.usage), false, true);
    } else if (m.type === 'message') {
      // A non-streamed Messages answer.
      this.#mergeAnthropic(obj(m.usage), true, true);
    }
  }

  #mergeAnthropic(usage: Json | null, fresh: boolean, last: boolean): void {
    if (!usage) return;
    const base: AnthropicCounters =
      fresh || !this.#anthropic
        ? { input: 0, cacheRead: 0, cacheWrite: 0, output: 0 }
        : { ...this.#anthropic };
    const input = count(usage.input_tokens);
    const cacheRead = count(usage.cache_read_input_tokens);
    const cacheWrite = count(usage.cache_creation_input_tokens);
    const output = count(usage.output_tokens);
    if ([input, cacheRead, cacheWrite, output].every((v) => v === undefined)) return;
    if (last) this.#final = true;
    this.#anthropic = {
      input: input ?? base.input,
      cacheRead: cacheRead ?? base.cacheRead,
      cacheWrite: cacheWrite ?? base.cacheWrite,
      output: output ?? base.output,
    };
  }
}

/**
 * Cheap pre-check on an SSE event's raw data (ResponseStage.wants): only events that may report
 * usage are parsed for it. Every shape above has the key `usage` (json.keys.ts: escapes included).
 *
 * An event whose every `"usage"` is followed by `: null` reports none: OpenAI-compatible streams
 * asked for usage (`include_usage`, which the gateway adds: llm.rewrite-request.ts) send
 * `"usage":null` in every chunk but the last, and parsing each of them for nothing was a measured
 * share of a streamed call's CPU (BENCHMARKS.md, session 19). A `"usage"` followed by `:` is an
 * object key in JSON text (a string value is followed by `,`, `}` or `]`), so its value is that
 * null: the meter would read nothing from the event. Text that is not JSON is passed on unparsed
 * either way (gateway.rewrite.ts).
 */
export function mayCarryUsage(raw: string): boolean {
  if (!mayHaveKey(raw, 'usage')) return false;
  if (hasAsciiEscape(raw)) return true;
  for (let at = raw.indexOf(USAGE_KEY); at !== -1; at = raw.indexOf(USAGE_KEY, at + 1)) {
    if (!nullValueAt(raw, at + USAGE_KEY.length)) return true;
  }
  return false;
}

const USAGE_KEY = '"usage"';

/** True when `raw` continues at `from` with `:` and `null`, JSON whitespace allowed around the colon. */
function nullValueAt(raw: string, from: number): boolean {
  let i = skipSpace(raw, from);
  if (raw.charCodeAt(i) !== 0x3a) return false; // ':'
  i = skipSpace(raw, i + 1);
  return raw.startsWith('null', i);
}

function skipSpace(raw: string, from: number): number {
  let i = from;
  for (;;) {
    const c = raw.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return i;
    i++;
  }
}

/**
 * The extra final chunk of an OpenAI chat/completions stream that `include_usage` asks for:
 * `{"object":"chat.completion.chunk","choices":[],"usage":{…}}`. When the gateway injected
 * `include_usage` (ensureStreamUsage → injected), this chunk is removed from what the caller sees.
 */
export function isUsageOnlyChunk(message: unknown): boolean {
  const m = obj(message);
  if (!m || !Array.isArray(m.choices) || m.choices.length > 0) return false;
  return obj(m.usage) !== null;
}
