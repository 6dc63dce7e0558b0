/**
 * Which models a caller sees through a connection (pure). The connection's `allowedModels` and its
 * policy hide the models they do not allow, the same way on the three routes that show one:
 *
 *   GET /v1/models (Igris list, llm.models.ts)   lists only `@slug/model` entries allowedModels
 *                                                admits and the policy could allow for someone
 *   GET /llm/<slug>/v1/models (the provider's)   `modelListStage`: the provider's list, with the
 *                                                entries the same test hides removed
 *   GET /llm/<slug>/v1/models/<id> (retrieve)    decided like any call (llmDecide, the id as the
 *                                                model); refused as `hiddenModel`: the provider's
 *                                                own 404 for a model that does not exist, so a
 *                                                retrieval tells no more than the lists do
 *
 * The provider's pagination cursors (Anthropic `first_id`, `last_id`) are kept as sent: they say
 * where the next page starts, and rewriting them would make a client page through the same
 * entries again.
 */
import { echoText } from '../lib/echo.safe';
import { AppError } from '../lib/errors';
import { type CompiledPolicy, couldEverAllow } from '../policy/policy.evaluate';
import type { ResponseStage } from './gateway.stages';

/** The refusal of a retrieval the connection does not allow: 404 in the provider's shape. */
export function hiddenModel(model: string): AppError {
  return new AppError('not_found', {
    // The caller's text: bounded, and hidden if it looks like a credential (lib/echo.safe.ts).
    message: `The model ${JSON.stringify(echoText(model, 128))} does not exist or you do not have access to it`,
    details: { reason: 'model_not_available', location: 'path', path: 'model' },
  });
}

/** True for the refusal `hiddenModel` makes (the audit row records it as a deny). */
export function isHiddenModel(err: AppError | null): boolean {
  return (
    err?.code === 'not_found' &&
    (err.details as { reason?: string } | undefined)?.reason === 'model_not_available'
  );
}

/** Whether a listed model is shown: allowedModels admits it and the policy could allow it. */
export function modelVisible(
  model: string,
  allowed: ((model: string) => boolean) | null,
  policy: CompiledPolicy | null,
): boolean {
  if (allowed && !allowed(model)) return false;
  return policy === null || couldEverAllow(policy, model, { model });
}

/**
 * Response stage of the provider's model list (`GET /models`, OpenAI `{object: "list", data}` and
 * Anthropic `{data, has_more, first_id, last_id}` alike): removes the `data` entries not shown,
 * and any entry without a string `id` (it cannot be judged).
 */
export function modelListStage(
  allowed: ((model: string) => boolean) | null,
  policy: CompiledPolicy | null,
): ResponseStage {
  return {
    name: 'llm_model_list',
    onMessage(message) {
      if (typeof message !== 'object' || message === null || Array.isArray(message)) return undefined;
      const data = (message as { data?: unknown }).data;
      if (!Array.isArray(data)) return undefined;
      const shown = data.filter((entry) => {
        const id = (entry as { id?: unknown } | null)?.id;
        return typeof id === 'string' && modelVisible(id, allowed, policy);
      });
      return shown.length === data.length ? undefined : { ...message, data: shown };
    },
  };
}
