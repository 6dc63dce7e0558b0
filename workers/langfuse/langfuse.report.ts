/**
 * The gateway's side of the Langfuse export (docs/observability.md#langfuse): once an LLM call's
 * answer has ended (step 9 of the call core, already off the hot path under `waitUntil`), one
 * message on the notification queue for the organization's Langfuse project — if it has one.
 *
 * Whether it has one rides the isolate cache like the rest of the per-call configuration: one D1
 * read per organization, tagged with its configuration epoch (workers/config/config.epoch.ts) and
 * re-read after POLICY_CACHE_TTL_MS, so a call adds no D1 or KV read. Saving the settings is an API
 * write, which bumps the epoch: the next call of every isolate sees it. The host and keys are read
 * only by the queue consumer (langfuse.deliver.ts): the secret never sits in the gateway's caches.
 *
 * Why the queue and not a fetch in `waitUntil`: batching (one POST per organization for a queue
 * batch of calls from any isolate), retries with backoff while Langfuse is down, and nothing of
 * Langfuse's latency or availability near the call — the call's only cost is the enqueue.
 */
import { cacheMaxAgeMs, isCurrent, knownEpoch } from '../config/config.epoch';
import type { CallEnd } from '../gateway/gateway.adapter';
import type { CallIdentity } from '../gateway/gateway.identity';
import { boundedSet } from '../lib/bounded.map';
import { log } from '../lib/log';
import { iso } from '../lib/values';
import type { LlmUsage } from '../llm/llm.usage';
import { boundedContent, type LangfuseMessage } from './langfuse.event';

interface Cached {
  loadedAt: number;
  epoch: number;
  value: Promise<boolean>;
  /** The value once read (for the synchronous peek of the response stages). */
  known?: boolean;
}

const cache = new Map<string, Cached>();
const CACHE_LIMIT = 10_000;

type ReportEnv = Pick<Env, 'DB' | 'NOTIFY_QUEUE' | 'POLICY_CACHE_TTL_MS'>;

/** Whether the organization sends its LLM calls to Langfuse (cached per isolate and epoch). */
export function langfuseEnabled(
  env: Pick<Env, 'DB' | 'POLICY_CACHE_TTL_MS'>,
  orgId: string,
): Promise<boolean> {
  const hit = cache.get(orgId);
  if (hit && isCurrent(orgId, hit, cacheMaxAgeMs(env))) return hit.value;
  const entry: Cached = { loadedAt: Date.now(), epoch: knownEpoch(orgId), value: Promise.resolve(false) };
  entry.value = env.DB.prepare('SELECT enabled FROM langfuse_settings WHERE org_id = ?')
    .bind(orgId)
    .first<{ enabled: number }>()
    .then((row) => {
      entry.known = row?.enabled === 1;
      return entry.known;
    });
  boundedSet(cache, orgId, entry, CACHE_LIMIT);
  // A failed read is not cached: the next call tries again.
  entry.value.catch(() => {
    if (cache.get(orgId) === entry) cache.delete(orgId);
  });
  return entry.value;
}

/**
 * Synchronous and free, for deciding whether to capture an answer's content: false only when this
 * isolate knows the organization sends nothing to Langfuse (unknown: capture, bounded).
 */
export function langfuseMayBeOn(orgId: string): boolean {
  const hit = cache.get(orgId);
  // An answer read before the organization's last change (settings just saved) is not known.
  if (!hit || hit.epoch < knownEpoch(orgId)) return true;
  return hit.known !== false;
}

export interface LlmCallReport {
  orgId: string;
  connectionId: string;
  connectionSlug: string;
  identity: CallIdentity;
  endpoint: string;
  model: string | null;
  provider: string;
  end: CallEnd;
  usage: LlmUsage | null;
  costUsd: number | null;
  /** Only for connections with `logContent` on. */
  content?: { input: unknown; output: unknown };
}

/** Queues the call for the organization's Langfuse project, if it has one. Never throws. */
export async function reportLlmCall(env: ReportEnv, report: LlmCallReport, now = Date.now()): Promise<void> {
  try {
    if (!(await langfuseEnabled(env, report.orgId))) return;
    const { end, usage } = report;
    const message: LangfuseMessage = {
      kind: 'langfuse',
      orgId: report.orgId,
      generation: {
        id: end.eventId,
        traceId: report.identity.traceId,
        name: report.endpoint,
        model: report.model,
        provider: report.provider,
        connectionId: report.connectionId,
        connectionSlug: report.connectionSlug,
        user: report.identity.user,
        metadata: report.identity.metadata,
        startTime: iso(end.startedAt)!,
        endTime: iso(now)!,
        completionStartTime:
          typeof end.latencyMs === 'number'
            ? iso(end.startedAt + (end.gatewayMs ?? 0) + end.latencyMs)
            : null,
        upstreamStatus: end.upstreamStatus ?? null,
        error: end.how === 'complete' ? null : end.how === 'error' ? 'upstream_broken' : 'client_cancelled',
        usage: usage
          ? {
              input: usage.inputTokens,
              cachedInput: usage.cachedInputTokens,
              output: usage.outputTokens,
              reasoning: usage.reasoningTokens,
              total: usage.totalTokens,
            }
          : null,
        costUsd: report.costUsd,
        ...(report.content
          ? { input: boundedContent(report.content.input), output: boundedContent(report.content.output) }
          : {}),
      },
    };
    await env.NOTIFY_QUEUE.send(message);
  } catch (err) {
    log('warn', 'LLM call not queued for Langfuse', { orgId: report.orgId, err });
  }
}
