/**
 * What an LLM call is charged (pure): the one estimate of a call's tokens, and the usage charged
 * when its answer has ended.
 *
 *   estimatedUsage  the estimated prompt tokens (llm.estimate.ts) plus the request's output cap as
 *                   forwarded (after tokenGuard's caps), or DEFAULT_OUTPUT_RESERVE_TOKENS when it
 *                   sets none, times the answers it asks for (`n`, `best_of`). Budgets reserve it before the call (llm.governance.ts
 *                   `llmCostEstimate`); it is charged after the call when no usage came.
 *   usageToCharge   the provider's usage when it reported all of it; otherwise, for a successful
 *                   answer, the estimate (`estimated: true`, so the row can say so).
 *
 * Why an answer without usage is not free: the gateway asks for the stream's usage chunk on the
 * caller's behalf and removes it, and that chunk comes after `finish_reason`. A caller who hangs
 * up in between has the whole answer; charging it nothing would let any `tokenLimit` or budget be
 * dodged. The same holds for a stream that breaks, and for a provider that reports no usage at all.
 * An error answer (status ≥ 300) is charged what it reported, if anything: the provider refused it.
 */
import type { LlmEndpointName } from '../llm/llm.endpoints';
import { MAX_TOKEN_FIELDS } from '../llm/llm.request';
import type { LlmUsage } from '../llm/llm.usage';

/** What the estimate reads of an LLM call (llm.adapter.ts `LlmUnit`). */
export interface EstimatedCall {
  endpoint: LlmEndpointName;
  model: string | null;
  /** The body as forwarded (after the request stages: tokenGuard's caps, the system prompt). */
  body: Record<string, unknown> | null;
  estimatedInputTokens: number | null;
}

/** Output tokens reserved for a request that sets no max-tokens field. */
export const DEFAULT_OUTPUT_RESERVE_TOKENS = 4_096;

const ENDPOINTS_WITH_OUTPUT = new Set(['chat.completions', 'completions', 'responses', 'messages']);

/** The largest output cap in the body as forwarded (after tokenGuard's caps), or null. */
function outputCap(unit: EstimatedCall): number | null {
  if (unit.endpoint === 'passthrough' || !unit.body) return null;
  let cap: number | null = null;
  for (const field of MAX_TOKEN_FIELDS[unit.endpoint] ?? []) {
    const value = unit.body[field];
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0) cap = Math.max(cap ?? 0, value);
  }
  return cap;
}

/**
 * How many answers the output cap applies to: OpenAI chat and completions generate `n` choices
 * (completions `best_of`, of which `n` are returned) and the provider bills every one, each up to
 * the cap. (llm.request.ts refuses an `n` or `best_of` that is not a positive integer.) Responses
 * and Anthropic Messages have no such field: one answer. tokenGuard's caps are on this total too.
 */
export function answersAsked(unit: Pick<EstimatedCall, 'endpoint' | 'body'>): number {
  if (unit.endpoint !== 'chat.completions' && unit.endpoint !== 'completions') return 1;
  let count = 1;
  for (const field of ['n', 'best_of']) {
    const value = unit.body?.[field];
    if (typeof value === 'number' && Number.isSafeInteger(value) && value > count) count = value;
  }
  return count;
}

/** The tokens a call may use, as far as the request tells; null for a call with no model. */
export function estimatedUsage(unit: EstimatedCall): LlmUsage | null {
  if (!unit.model || unit.endpoint === 'passthrough') return null;
  const input = unit.estimatedInputTokens ?? 0;
  const output = ENDPOINTS_WITH_OUTPUT.has(unit.endpoint)
    ? (outputCap(unit) ?? DEFAULT_OUTPUT_RESERVE_TOKENS) * answersAsked(unit)
    : 0;
  return {
    inputTokens: input,
    cachedInputTokens: 0,
    cacheWriteInputTokens: 0,
    outputTokens: output,
    reasoningTokens: null,
    totalTokens: input + output,
  };
}

export interface ChargedUsage {
  usage: LlmUsage | null;
  /** True when `usage` is (partly) the estimate, not the provider's report. */
  estimated: boolean;
}

export interface AnswerUsage {
  /** What the provider reported (UsageMeter.result()). */
  reported: LlmUsage | null;
  /** Whether its last report came (UsageMeter.final()): Anthropic sends output counts last. */
  final: boolean;
  upstreamStatus: number | null | undefined;
}

export function usageToCharge(answer: AnswerUsage, estimate: LlmUsage | null): ChargedUsage {
  const { reported, final, upstreamStatus } = answer;
  const succeeded = typeof upstreamStatus === 'number' && upstreamStatus >= 200 && upstreamStatus < 300;
  if ((reported && final) || !succeeded || !estimate) return { usage: reported, estimated: false };
  // A partial report (Anthropic's message_start: the exact prompt, output still 1) keeps its exact
  // counts; the output is at least the estimate's cap.
  const inputTokens = reported?.inputTokens ?? estimate.inputTokens;
  const outputTokens = Math.max(reported?.outputTokens ?? 0, estimate.outputTokens);
  return {
    usage: {
      inputTokens,
      cachedInputTokens: reported?.cachedInputTokens ?? 0,
      cacheWriteInputTokens: reported?.cacheWriteInputTokens ?? 0,
      outputTokens,
      reasoningTokens: reported?.reasoningTokens ?? null,
      totalTokens: inputTokens + outputTokens,
    },
    estimated: true,
  };
}
