/**
 * Issue 15's two LLM-only parts of the call (docs/budgets-and-prompts.md):
 *
 *   systemPromptStage  request stage: the governed system prompt chosen for the call
 *                      (prompt.select.ts; StageCall.prompt) rendered with the call's variables and
 *                      injected into what is forwarded (prompt.inject.ts). Runs first, so
 *                      tokenGuard and the budget estimate see the prompt the model will see. The
 *                      audit row records the prompt's id, version and hash — never the text.
 *                      Legacy `completions`, which cannot carry a system prompt, is refused; so is
 *                      a Responses stored `prompt` under `replace` (its instructions would stay),
 *                      and a passthrough call that may create model work (llm.passthrough.ts).
 *   llmCostEstimate    what a call may cost, reserved against its budgets: the call's estimated
 *                      tokens (llm.charge.ts `estimatedUsage`: the prompt estimate plus the output
 *                      cap), priced like the actual cost (organization overrides first). An
 *                      unpriced model is null: its actual cost is unknown as well, so a `block`
 *                      budget refuses it (budget.gate.ts) rather than let it run uncounted. Free
 *                      endpoints (models, count_tokens), reads and cancels are 0.
 */

import { echoText, echoUrlPath } from '../lib/echo.safe';
import { AppError } from '../lib/errors';
import type { LlmEndpointName } from '../llm/llm.endpoints';
import { estimatePromptTokens } from '../llm/llm.estimate';
import { passthroughKind, targetParts } from '../llm/llm.passthrough';
import { type PriceOverrides, priceCall } from '../llm/llm.prices';
import { injectSystemPrompt } from '../prompts/prompt.inject';
import { promptValues, renderPrompt } from '../prompts/prompt.template';
import type { StageCall, UnitDecision } from './gateway.stages';
import type { LlmRequest, LlmUnit } from './llm.adapter';
import { estimatedUsage } from './llm.charge';

/** What the audit row says about an injected prompt (llm.stages.ts `llmAuditRow`). */
export interface InjectedPrompt {
  promptId: string;
  name: string;
  version: number;
  sha256: string;
  mode: 'prepend' | 'replace';
  via: 'team' | 'connection';
  teamId: string | null;
}

export function systemPromptStage(
  call: StageCall,
  decisions: UnitDecision<LlmUnit>[],
): UnitDecision<LlmUnit>[] {
  const prompt = call.prompt;
  if (!prompt) return decisions;
  return decisions.map((d) => {
    const unit = d.unit;
    if (d.refusal) return d;
    if (unit.endpoint === 'passthrough') return passthroughUnderPrompt(d);
    if (!unit.body) return d;
    // Legacy completions generate from the caller's text as much as chat does, but have no place
    // for a system prompt: forwarding them would run the model without the governed prompt.
    if (unit.endpoint === 'completions') return { ...d, refusal: promptNotApplicable(unit.endpoint) };
    // A Responses `prompt` names a template stored at the provider, with instructions of its own
    // the gateway cannot see or remove: under `replace` it would be a system prompt of the caller's.
    if (
      prompt.mode === 'replace' &&
      (unit.endpoint === 'responses' || unit.endpoint === 'responses.input_tokens') &&
      unit.body.prompt != null
    )
      return { ...d, refusal: storedPromptRefused() };
    const values = promptValues(
      {
        user: call.identity.user,
        team: prompt.team?.name ?? call.teams[0]?.name ?? null,
        organization: call.orgName,
        connection: call.connectionSlug,
      },
      Date.now(),
    );
    const injected = injectSystemPrompt(
      unit.endpoint,
      unit.body,
      renderPrompt(prompt.text, values),
      prompt.mode,
    );
    if (!injected.injected) return d;
    unit.body = injected.body;
    unit.estimatedInputTokens = estimatePromptTokens(unit.endpoint, unit.body);
    unit.systemPrompt = {
      promptId: prompt.promptId,
      name: prompt.promptName,
      version: prompt.version,
      sha256: prompt.textHash,
      mode: prompt.mode,
      via: prompt.target,
      teamId: prompt.team?.id ?? null,
    };
    return d;
  });
}

/**
 * A passthrough call that may create model work (a batch, an Assistants run, a Realtime session…)
 * carries instructions and input the gateway does not read, in shapes it does not know: it cannot
 * put the governed prompt in them, and forwarding would run the model without it. Refused, like
 * legacy completions. Reads, removals and cancels (llm.passthrough.ts) run no model: they pass.
 */
function passthroughUnderPrompt(d: UnitDecision<LlmUnit>): UnitDecision<LlmUnit> {
  const target = d.unit.forwarded?.target;
  if (passthroughKind(target) !== 'work') return d;
  // The caller's own method and path (without its query), cut short and each segment that looks
  // like a credential hidden (lib/echo.safe.ts): it is theirs, and may be long or hold a key.
  const parts = targetParts(target);
  const route = `${echoText(parts?.method ?? 'POST', 16)} /v1${echoUrlPath(parts?.path ?? '')}`;
  return {
    ...d,
    refusal: new AppError('policy_denied', {
      message: `A governed system prompt applies to this call and ${route} is a passthrough call that may run a model on instructions the gateway cannot see or govern: only reads (GET, DELETE) and cancels pass while a prompt applies; use chat completions, Responses or Messages`,
      details: { reason: 'system_prompt_not_applicable', endpoint: 'passthrough' },
    }),
  };
}

/** 403 in the provider's shape, naming the field (`param: "prompt"`). */
function storedPromptRefused(): AppError {
  return new AppError('policy_denied', {
    message:
      'A governed system prompt replaces the caller’s on this call: a stored prompt (`prompt`) brings instructions of its own and cannot be used',
    details: { reason: 'system_prompt_replace', location: 'body', path: 'prompt' },
  });
}

/** 403 in the provider's shape (the SDKs' PermissionDeniedError), saying where to go instead. */
function promptNotApplicable(endpoint: string): AppError {
  return new AppError('policy_denied', {
    message: `A governed system prompt applies to this call and ${endpoint} cannot carry one: use chat completions, Responses or Messages`,
    details: { reason: 'system_prompt_not_applicable', endpoint },
  });
}

/**
 * Endpoints the provider does not bill (a model list or retrieval, Anthropic's token count): their
 * estimate is 0, whatever the model, so a `block` budget neither refuses them (an unpriced model)
 * nor books a reservation against them. They are still decided by allowedModels and the policy.
 */
const FREE_ENDPOINTS = new Set<LlmEndpointName>([
  'models',
  'messages.count_tokens',
  'responses.input_tokens',
]);

/**
 * Pure but for `overrides`, the organization's price overrides, read only when a budget applies.
 * Null when the call's cost cannot be counted: a model without a price, or a passthrough call a rule
 * allowed that may create billable work (`POST /v1/batches`, an Assistants run…) — the gateway
 * prices neither, so a `block` budget refuses them (budget.gate.ts) rather than let them run at $0.
 * Calls that create nothing cost 0: no model (`GET /models`), a free endpoint, a passthrough GET,
 * HEAD or DELETE, and a cancel (llm.passthrough.ts: an exact allow-list; it stops billed work).
 */
export async function llmCostEstimate(
  parsed: LlmRequest,
  overrides: () => Promise<PriceOverrides | undefined>,
): Promise<number | null> {
  const unit = parsed.units[0];
  if (unit.endpoint === 'passthrough') return passthroughKind(unit.forwarded?.target) === 'work' ? null : 0;
  if (FREE_ENDPOINTS.has(unit.endpoint)) return 0;
  const usage = estimatedUsage(unit);
  if (!usage || !unit.model) return 0;
  return priceCall(parsed.provider.id, unit.model, usage, await overrides()).costUsd;
}
