/**
 * What the gateway tells Langfuse about one LLM call (pure; docs/observability.md#langfuse).
 *
 * The gateway queues one `LangfuseGeneration` per finished LLM call (langfuse.report.ts); the
 * queue consumer (langfuse.deliver.ts) turns each into two events of Langfuse's public ingestion
 * API — `trace-create` (upserted on the call's Igris trace id, so every call of one trace lands on
 * one Langfuse trace) and `generation-create` (id = the call's audit event id) — and POSTs them in
 * one batch per organization to `<host>/api/public/ingestion`. The wire types are the official
 * ones of `@langfuse/core` (types only: nothing of the package is bundled into the Worker).
 *
 * Content (`input`, `output`) is present only when the connection has `settings.logContent` on;
 * otherwise Langfuse gets the figures and identifiers only.
 */
import type { IngestionEvent, IngestionRequest } from '@langfuse/core';
import { z } from 'zod';
import { isRecord } from '../lib/values';

/** Bound on each of input and output, in characters of their JSON (a queue message is at most 128 KB). */
export const CONTENT_LIMIT = 24_000;

export const langfuseGenerationSchema = z.object({
  /** The call's audit event id: the generation's id in Langfuse, and the link back to Igris. */
  id: z.string().min(1).max(100),
  traceId: z.string().min(1).max(200),
  /** The endpoint (`chat.completions`, `messages`, `responses`…). */
  name: z.string().min(1).max(100),
  model: z.string().max(200).nullable(),
  provider: z.string().max(64),
  connectionId: z.string().max(100),
  connectionSlug: z.string().max(100),
  user: z.string().max(200).nullable(),
  /** X-Igris-Metadata as accepted by the gateway. */
  metadata: z.record(z.string(), z.unknown()).nullable(),
  startTime: z.string().max(40),
  endTime: z.string().max(40),
  /** When the answer's headers arrived (time to first byte). */
  completionStartTime: z.string().max(40).nullable(),
  upstreamStatus: z.number().int().nullable(),
  /** `upstream_broken`, `client_cancelled`, or null for an answer read to its end. */
  error: z.string().max(100).nullable(),
  usage: z
    .object({
      input: z.number().int().nonnegative(),
      cachedInput: z.number().int().nonnegative(),
      output: z.number().int().nonnegative(),
      reasoning: z.number().int().nonnegative().nullable(),
      total: z.number().int().nonnegative(),
    })
    .nullable(),
  costUsd: z.number().nonnegative().nullable(),
  input: z.unknown().optional(),
  output: z.unknown().optional(),
});
export type LangfuseGeneration = z.infer<typeof langfuseGenerationSchema>;

/** The queue message (NOTIFY_QUEUE carries it beside the notification messages). */
export const langfuseMessageSchema = z.object({
  kind: z.literal('langfuse'),
  orgId: z.string().min(1).max(100),
  generation: langfuseGenerationSchema,
});
export type LangfuseMessage = z.infer<typeof langfuseMessageSchema>;

/**
 * A queue message this Worker wrote (langfuse.report.ts), or null when the body is not one. The
 * queue is written by the gateway only, once per exported LLM call, so the consumer checks the
 * fields it relies on with plain checks instead of parsing every message with the schema above
 * (issue 20: no zod per call on the gateway's own data); the schema stays the message's definition.
 */
export function readLangfuseMessage(body: unknown): LangfuseMessage | null {
  if (!isRecord(body) || body.kind !== 'langfuse') return null;
  const { orgId, generation: g } = body;
  if (typeof orgId !== 'string' || orgId.length === 0 || orgId.length > 100 || !isRecord(g)) return null;
  if (![g.id, g.traceId, g.name].every((t) => typeof t === 'string' && t.length > 0)) return null;
  if (![g.connectionSlug, g.startTime, g.endTime].every((t) => typeof t === 'string')) return null;
  if (g.usage !== null && g.usage !== undefined && !isRecord(g.usage)) return null;
  return body as LangfuseMessage;
}

export const isLangfuseMessage = (body: unknown): boolean =>
  typeof body === 'object' && body !== null && (body as { kind?: unknown }).kind === 'langfuse';

/** A value as sent: itself when its JSON is small enough, else its JSON cut at the limit. */
export function boundedContent(value: unknown): unknown {
  if (value === undefined) return undefined;
  const text = JSON.stringify(value);
  if (text === undefined) return undefined;
  return text.length <= CONTENT_LIMIT ? value : `${text.slice(0, CONTENT_LIMIT)}… [truncated by Igris Edge]`;
}

/** The ingestion batch of one organization's generations. */
export function ingestionBatch(
  generations: readonly LangfuseGeneration[],
  now: string,
  newId: () => string = () => crypto.randomUUID(),
): IngestionRequest {
  const batch: IngestionEvent[] = [];
  for (const g of generations) {
    const trace: IngestionEvent.TraceCreate = {
      type: 'trace-create',
      id: newId(),
      timestamp: now,
      body: {
        id: g.traceId,
        timestamp: g.startTime,
        name: `igris:${g.connectionSlug}`,
        ...(g.user ? { userId: g.user } : {}),
        metadata: { source: 'igris-edge', ...(g.metadata ?? {}) },
        tags: ['igris-edge', `connection:${g.connectionSlug}`],
      },
    };
    const failed = g.error !== null || (g.upstreamStatus !== null && g.upstreamStatus >= 400);
    const generation: IngestionEvent.GenerationCreate = {
      type: 'generation-create',
      id: newId(),
      timestamp: now,
      body: {
        id: g.id,
        traceId: g.traceId,
        name: g.name,
        startTime: g.startTime,
        endTime: g.endTime,
        ...(g.completionStartTime ? { completionStartTime: g.completionStartTime } : {}),
        ...(g.model ? { model: g.model } : {}),
        ...(g.usage
          ? {
              usageDetails: {
                input: g.usage.input - g.usage.cachedInput,
                input_cached_tokens: g.usage.cachedInput,
                output: g.usage.output,
                ...(g.usage.reasoning !== null ? { output_reasoning_tokens: g.usage.reasoning } : {}),
                total: g.usage.total,
              },
            }
          : {}),
        ...(g.costUsd !== null ? { costDetails: { total: g.costUsd } } : {}),
        level: failed ? 'ERROR' : 'DEFAULT',
        ...(failed ? { statusMessage: g.error ?? `upstream answered HTTP ${g.upstreamStatus}` } : {}),
        metadata: {
          provider: g.provider,
          connectionId: g.connectionId,
          connection: g.connectionSlug,
          upstreamStatus: g.upstreamStatus,
          igrisEventId: g.id,
          ...(g.user ? { user: g.user } : {}),
        },
        ...(g.input !== undefined ? { input: g.input } : {}),
        ...(g.output !== undefined ? { output: g.output } : {}),
      },
    };
    batch.push(trace, generation);
  }
  return { batch };
}
