/**
 * Step 8 for an upstream's error answer (a 4xx or 5xx with a body) on a call with a stage that reads
 * such bodies (`ResponseStage.onErrorBody`: content inspection, inspection.error-answer.ts).
 *
 * An error answer carries what a 2xx can: an LLM provider's 400 quoting the prompt, an MCP server's
 * 500 with a stack trace or the arguments it choked on. The 2xx stages (gateway.rewrite.ts) never
 * see it, so without this an error would be a way around the answer's inspection. The body is read
 * once — the read gateway.forward.ts makes of every non-2xx body when it redacts the injected
 * credential (gateway.redact.ts `readErrorBody`: at most ERROR_BODY_CAP_BYTES, within the
 * connection's upstream timeout), made here when no credential made it there — and passed through
 * each such stage before any of it is sent: kept byte for byte, replaced (masked), or refused (an
 * AppError thrown, which the core answers in the protocol's wire shape).
 *
 * Fail closed: a body that could not be read whole — over the cap, past the timeout, broken off — is
 * not passed in part. Its tail could be the start of a value no rule can recognise cut short (a card
 * number's first twelve digits), and a 2xx answer over its cap is refused the same way
 * (`upstream_too_large`). So such an answer is refused: `upstream_too_large` (details.maxBytes),
 * `upstream_timeout`, or `upstream_unreachable`.
 *
 * No stage reads error bodies (a connection that inspects nothing): this does nothing, and an error
 * answer passes as it always did, streamed (or as the credential's redaction left it).
 */
import { AppError } from '../lib/errors.js';
import { ERROR_BODY_CAP_BYTES, type ErrorBody, type ErrorBodyCut } from './gateway.redact.js';
import { finishStages, init, isSuccess, type RewriteOptions } from './gateway.rewrite.js';
import type { ResponseStage } from './gateway.stages.js';

/** True when a stage reads an error answer's body. */
export function readsErrorBodies(stages: readonly ResponseStage[]): boolean {
  return stages.some((stage) => stage.onErrorBody !== undefined);
}

/** True when this answer is one for errorWithStages: a non-2xx with a body, and a stage that reads it. */
export function isInspectedError(
  upstream: Response,
  errorBody: (() => Promise<ErrorBody>) | undefined,
  stages: readonly ResponseStage[],
): errorBody is () => Promise<ErrorBody> {
  return !isSuccess(upstream.status) && errorBody !== undefined && readsErrorBodies(stages);
}

/**
 * The error answer as the caller gets it, read whole (its outcome settled here, as a JSON answer's
 * is); throws, after `onBodyDone('error')`, when a stage refuses it or it was not read whole.
 */
export async function errorWithStages(
  upstream: Response,
  errorBody: () => Promise<ErrorBody>,
  options: RewriteOptions,
): Promise<Response> {
  const { stages } = options;
  const fail = (err: AppError): never => {
    finishStages(stages, options.findings, options.onLateFindings);
    // The caller hung up while the body was read (the upstream read is tied to its signal).
    if (options.callerSignal?.aborted) options.onBodyDone?.('cancelled');
    else options.onBodyDone?.('error', err);
    throw err;
  };
  let body: ErrorBody;
  try {
    body = await errorBody();
  } catch (err) {
    return fail(new AppError('upstream_unreachable', { internal: err }));
  }
  if (body.cut) return fail(cutError(body.cut));
  let current = body.bytes;
  try {
    for (const stage of stages) current = stage.onErrorBody?.(current) ?? current;
  } catch (err) {
    if (err instanceof AppError) return fail(err);
    throw err;
  }
  finishStages(stages, options.findings, options.onLateFindings);
  options.onBodyDone?.('complete');
  return new Response(current as Uint8Array<ArrayBuffer>, init(upstream));
}

/** The refusal of an error answer not read whole (module comment: why it is not passed in part). */
function cutError(cut: ErrorBodyCut): AppError {
  const internal = `an upstream error answer not read whole (${cut}) under content inspection`;
  if (cut === 'cap')
    return new AppError('upstream_too_large', { internal, details: { maxBytes: ERROR_BODY_CAP_BYTES } });
  return new AppError(cut === 'time' ? 'upstream_timeout' : 'upstream_unreachable', { internal });
}
