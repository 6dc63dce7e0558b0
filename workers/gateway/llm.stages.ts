/**
 * The LLM adapter's decisions and stages (llm.adapter.ts). Pure, except `llmFinalOutcome`, which
 * reads the organization's price overrides after the answer (llm.prices.cache.ts: from the isolate's
 * cache, D1 once per organization and configuration epoch).
 *
 *   llmDecide        allowedModels, then the policy (`model` / `endpoint` rules; the model is the
 *                    governed name, so `tool` globs match models too); a refused model retrieval
 *                    answers 404 like a model that does not exist
 *   tokenGuardStage  a matched rule's tokenGuard: refuse a prompt estimated over maxInputTokens or a
 *                    request asking for more than maxRequestMaxTokens; cap the output tokens to
 *                    maxOutputTokens in what is forwarded. Both output caps bound the request's
 *                    total: max tokens × the answers it asks for (`n`, `best_of`)
 *   usageStage       reads usage from the answer (JSON or SSE), and drops the usage-only chunk the
 *                    gateway asked for on the caller's behalf
 *   llmFinalOutcome  tokens and cost (server-side prices, org overrides first; unknown models null
 *                    and flagged, never guessed) for the audit row, the event and the token windows;
 *                    a successful answer without usage is charged the estimate, flagged as such
 */
import type { AuditEventInsert } from '../db/schema';
import { promptOf, WITHHELD_OUTPUT } from '../langfuse/langfuse.content';
import { reportLlmCall } from '../langfuse/langfuse.report';
import { echoText } from '../lib/echo.safe';
import { AppError } from '../lib/errors';
import { priceCall } from '../llm/llm.prices';
import { cachedPriceOverrides } from '../llm/llm.prices.cache';
import { capOutputTokens } from '../llm/llm.rewrite-request';
import { isUsageOnlyChunk, mayCarryUsage, type UsageMeter } from '../llm/llm.usage';
import type { CompiledPolicy, Decision, EvaluationRequest } from '../policy/policy.evaluate';
import { evaluate } from '../policy/policy.evaluate';
import type { CallEnd } from './gateway.adapter';
import type { CallIdentity } from './gateway.identity';
import { DROP, type ResponseStage, type StageCall, type UnitDecision } from './gateway.stages';
import type { LlmRequest, LlmUnit } from './llm.adapter';
import { answersAsked, estimatedUsage, usageToCharge } from './llm.charge';
import { hiddenModel, isHiddenModel } from './llm.model-visibility';

type LlmDecision = UnitDecision<LlmUnit>;

function denied(
  unit: LlmUnit,
  decision: Decision | null,
  reason: string,
  identity: CallIdentity,
): LlmDecision {
  return {
    unit,
    tool: unit.model,
    decision,
    refusal: new AppError('policy_denied', {
      message: `Denied by policy: ${reason} (trace ${identity.traceId})`,
      details: {
        reason,
        // The caller's text (lib/echo.safe.ts): a model named like a credential is not echoed.
        model: unit.model === null ? null : echoText(unit.model, 128),
        endpoint: unit.endpoint,
        ruleIndex: decision?.ruleIndex ?? null,
        policyVersion: decision?.policyVersion ?? null,
      },
    }),
  };
}

/**
 * allowedModels, then the policy. A model retrieval (`GET /models/<id>`) refused either way answers
 * as the provider answers a model that does not exist (llm.model-visibility.ts: the lists hide it
 * too); its row keeps the decision and why, as a deny.
 */
export function llmDecide(
  unit: LlmUnit,
  identity: CallIdentity,
  policy: CompiledPolicy,
  allowed: ((model: string) => boolean) | null,
): LlmDecision {
  const decided = decideModel(unit, identity, policy, allowed);
  if (!decided.refusal || unit.endpoint !== 'models' || unit.model === null) return decided;
  const reason = (decided.refusal.details as { reason?: string } | undefined)?.reason ?? null;
  return {
    ...decided,
    refusal: hiddenModel(unit.model),
    findings: [{ stage: 'policy', kind: 'model_hidden', severity: 'info', detail: { reason } }],
  };
}

function decideModel(
  unit: LlmUnit,
  identity: CallIdentity,
  policy: CompiledPolicy,
  allowed: ((model: string) => boolean) | null,
): LlmDecision {
  if (allowed && unit.model !== null && !allowed(unit.model)) {
    return denied(
      unit,
      null,
      `model ${JSON.stringify(echoText(unit.model, 128))} is not in this connection's allowedModels`,
      identity,
    );
  }
  // A passthrough body's model is held to allowedModels only: it never makes a `model` rule match.
  const raw = unit.passthroughModel;
  if (allowed && raw?.kind === 'named' && !allowed(raw.model)) {
    const reason = `model ${JSON.stringify(echoText(raw.model, 128))} is not in this connection's allowedModels`;
    return denied(unit, null, reason, identity);
  }
  // A batch runs each of its models: one outside the list refuses the whole call.
  const outside = allowed && raw?.kind === 'several' ? raw.models.find((m) => !allowed(m)) : undefined;
  if (outside !== undefined) {
    const reason = `model ${JSON.stringify(echoText(outside, 128))} is not in this connection's allowedModels`;
    return denied(unit, null, reason, identity);
  }
  if (allowed && raw?.kind === 'unreadable') {
    const reason = `${raw.why}, and this connection allows only listed models`;
    return denied(unit, null, reason, identity);
  }
  if (allowed && unit.model === null && unit.endpoint !== 'models' && unit.endpoint !== 'passthrough') {
    return denied(
      unit,
      null,
      'the request names no model and this connection allows only listed models',
      identity,
    );
  }
  const request: EvaluationRequest = {
    tool: unit.model ?? unit.endpoint,
    model: unit.model,
    endpoint: unit.endpoint,
    user: identity.user,
    teams: identity.teams,
    metadata: identity.metadata,
    // `args.*` reads the request body's fields (`args.temperature`, `args.tools.0.type`…).
    args: unit.body,
  };
  const decision = evaluate(policy, request);
  if (decision.action === 'deny')
    return denied(unit, decision, decision.reason ?? 'denied by policy', identity);
  return { unit, tool: unit.model, decision, refusal: null };
}

/** Request stage: the matched rule's tokenGuard. */
export function tokenGuardStage(call: StageCall, decisions: LlmDecision[]): LlmDecision[] {
  return decisions.map((d) => {
    const guard = d.decision?.tokenGuard;
    if (d.refusal || !guard) return d;
    const unit = d.unit;
    const estimate = unit.estimatedInputTokens;
    if (guard.maxInputTokens !== undefined && estimate !== null && estimate > guard.maxInputTokens) {
      return denied(
        unit,
        d.decision,
        `the prompt is estimated at ${estimate} input tokens, over this rule's maxInputTokens of ${guard.maxInputTokens}`,
        call.identity,
      );
    }
    // The caps are on everything the request can produce: `n` (or `best_of`) answers, each up to
    // the max-tokens field, all billed. A cap per answer would let `n: 8` ask for eight times it.
    const answers = answersAsked(unit);
    const perAnswer = unit.info?.requestedMaxTokens ?? null;
    const asked = perAnswer === null ? null : perAnswer * answers;
    if (guard.maxRequestMaxTokens !== undefined && asked !== null && asked > guard.maxRequestMaxTokens) {
      return denied(
        unit,
        d.decision,
        `the request asks for ${asked} output tokens${answers > 1 ? ` (${perAnswer} for each of ${answers} answers)` : ''}, over this rule's maxRequestMaxTokens of ${guard.maxRequestMaxTokens}`,
        call.identity,
      );
    }
    if (guard.maxOutputTokens !== undefined && unit.body && unit.endpoint !== 'passthrough') {
      // Each answer gets its share of the cap; a request for more answers than the cap has tokens
      // cannot be capped to anything and is refused.
      const share = Math.floor(guard.maxOutputTokens / answers);
      if (share < 1) {
        return denied(
          unit,
          d.decision,
          `the request asks for ${answers} answers, more than this rule's maxOutputTokens of ${guard.maxOutputTokens} output tokens can be shared among`,
          call.identity,
        );
      }
      const capped = capOutputTokens(unit.endpoint, unit.provider, unit.body, share);
      if (capped.capped.length > 0) {
        unit.body = capped.body;
        const detail = {
          maxOutputTokens: guard.maxOutputTokens,
          ...(answers > 1 ? { answers, perAnswer: share } : {}),
          fields: capped.capped,
        };
        return {
          ...d,
          findings: [
            ...(d.findings ?? []),
            { stage: 'token_guard', kind: 'output_capped', severity: 'info', detail },
          ],
        };
      }
    }
    return d;
  });
}

/** Response stage: usage from the answer; the usage-only chunk the gateway asked for is not the caller's. */
export function usageStage(meter: UsageMeter, injectedUsage: boolean): ResponseStage {
  return {
    name: 'llm_usage',
    wants: (raw) => mayCarryUsage(raw),
    onMessage(message) {
      meter.observe(message);
      return injectedUsage && isUsageOnlyChunk(message) ? DROP : undefined;
    },
  };
}

/** The audit row of one LLM call. */
export function llmAuditRow(base: AuditEventInsert, d: LlmDecision): AuditEventInsert {
  const details: Record<string, unknown> = {};
  if (d.decision?.reason) details.reason = d.decision.reason;
  if (d.refusal && d.refusal.code !== 'policy_denied') details.refusal = d.refusal.message;
  if (d.refusal?.code === 'policy_denied' && !d.decision)
    details.reason = (d.refusal.details as { reason: string }).reason;
  if (d.unit.estimatedInputTokens !== null) details.estimatedInputTokens = d.unit.estimatedInputTokens;
  if (d.unit.systemPrompt) details.systemPrompt = d.unit.systemPrompt;
  return {
    ...base,
    type: 'llm_call',
    method: d.unit.endpoint,
    tool: d.unit.model,
    model: d.unit.model,
    action: d.refusal
      ? d.refusal.code === 'policy_denied' ||
        d.refusal.code === 'content_blocked' ||
        d.refusal.code === 'inspection_unmaskable' ||
        isHiddenModel(d.refusal)
        ? 'deny'
        : d.refusal.code === 'approval_required'
          ? 'approval_required'
          : 'error'
      : (d.decision?.action ?? 'pass'),
    ruleIndex: d.decision?.ruleIndex ?? null,
    policyVersion: d.decision?.policyVersion ?? null,
    errorCode: d.refusal?.code ?? null,
    details: Object.keys(details).length > 0 ? details : null,
  };
}

/**
 * Tokens and cost, once the answer has ended. Prices: the organization's overrides, then the table.
 * A successful answer that ended without its usage report (the caller hung up before the usage
 * chunk, the stream broke, the provider reports none) is charged the estimate (llm.charge.ts) and
 * flagged `usage_estimated`, so a row's tokens and cost say whether the provider reported them.
 * The call is reported to the organization's Langfuse project at the same time, if it has one
 * (workers/langfuse/langfuse.report.ts: an enqueue, no read per call), with the reported usage only.
 */
export async function llmFinalOutcome(call: StageCall, parsed: LlmRequest | null, env: Env, end?: CallEnd) {
  const reported = parsed?.meter?.result() ?? null;
  const unit = parsed?.units[0];
  const { usage, estimated } =
    parsed?.meter && unit
      ? usageToCharge(
          { reported, final: parsed.meter.final(), upstreamStatus: end?.upstreamStatus },
          estimatedUsage(unit),
        )
      : { usage: reported, estimated: false };
  const overrides =
    parsed && usage ? await cachedPriceOverrides(env, call.orgId).catch(() => undefined) : undefined;
  const priced = parsed && usage ? priceCall(parsed.provider.id, unit!.model, usage, overrides) : null;
  if (parsed && end) {
    await reportLlmCall(env, {
      orgId: call.orgId,
      connectionId: call.connectionId,
      connectionSlug: call.connectionSlug,
      identity: call.identity,
      endpoint: unit!.endpoint,
      model: unit!.model,
      provider: parsed.provider.id,
      end,
      usage: reported,
      costUsd: estimated ? null : (priced?.costUsd ?? null),
      ...(parsed.content
        ? {
            content: {
              input: promptOf(unit!.body),
              // An answer inspection refused or masked: not its text (langfuse.content.ts).
              output: call.inspection?.answerWithheld ? WITHHELD_OUTPUT : parsed.content.output(),
            },
          }
        : {}),
    });
  }
  if (!parsed || !usage || !priced) return { outcome: {} };
  if (estimated) {
    call.findings.push({
      stage: 'llm_usage',
      kind: 'usage_estimated',
      severity: 'info',
      detail: {
        how: end?.how ?? 'complete',
        reported: reported !== null,
        inputTokens: usage.inputTokens,
        outputTokens: usage.outputTokens,
      },
    });
  }
  if (!priced.priced && unit!.model) {
    call.findings.push({
      stage: 'llm_usage',
      kind: 'unpriced_model',
      severity: 'info',
      detail: { model: unit!.model },
    });
  }
  return {
    outcome: {
      inputTokens: usage.inputTokens,
      cachedInputTokens: usage.cachedInputTokens,
      outputTokens: usage.outputTokens,
      reasoningTokens: usage.reasoningTokens,
      costUsd: priced.costUsd,
    },
    usedTokens: usage.totalTokens,
  };
}
