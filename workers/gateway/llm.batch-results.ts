/**
 * A Message Batch's `results_url`, pointed at the gateway (docs/llm-gateway.md#stored-objects).
 *
 * Anthropic's answer about a batch names where its results are: the provider's own URL. The
 * Anthropic SDK's `messages.batches.results(id)` fetches that URL as given, with the client's
 * credentials — an `ig_` key sent past the gateway to a third party, which refuses it anyway. So
 * every `message_batch` in an answer (a create, a retrieve, a cancel, a list) gets the gateway's
 * path for the same results instead: the call that follows it is the caller's own, decided like any
 * other (the batch owner-checked, audited) and forwarded with the connection's credential. Pure.
 */
import { isObjectId } from '../../durable-objects/llm.objects';
import { mayHaveKey } from '../lib/json.keys';
import { isRecord } from '../lib/values';
import type { ResponseStage } from './gateway.stages';

/**
 * The gateway's base for this call (`https://<gateway>/llm/<slug>/v1`, what the SDK's base URL
 * and `/v1` make): the request's URL without the provider path it ends with; null when it does not.
 */
export function gatewayBase(requestUrl: URL, upstreamPath: string): string | null {
  const path = requestUrl.pathname;
  if (!upstreamPath.startsWith('/') || !path.endsWith(upstreamPath)) return null;
  return `${requestUrl.origin}${path.slice(0, path.length - upstreamPath.length)}`;
}

function rewrite(batch: unknown, base: string): boolean {
  if (!isRecord(batch) || batch.type !== 'message_batch' || typeof batch.results_url !== 'string')
    return false;
  if (!isObjectId(batch.id)) return false;
  batch.results_url = `${base}/messages/batches/${encodeURIComponent(batch.id)}/results`;
  return true;
}

/** Response stage: every `message_batch` of a JSON answer names its results at the gateway. */
export function batchResultsStage(base: string | null): ResponseStage | null {
  if (!base) return null;
  return {
    name: 'batch-results',
    wants: (raw) => mayHaveKey(raw, 'results_url'),
    onMessage(message) {
      if (!isRecord(message)) return undefined;
      let changed = rewrite(message, base);
      if (Array.isArray(message.data))
        for (const entry of message.data) changed = rewrite(entry, base) || changed;
      return changed ? message : undefined;
    },
  };
}
