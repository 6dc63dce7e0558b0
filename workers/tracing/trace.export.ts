/**
 * Sending finished traces to each organization's OTLP/HTTP endpoint, batched, off the hot path.
 *
 * Why `waitUntil` and an isolate buffer rather than a Queue: a trace is telemetry, not a record
 * (the audit row is the record, durably spooled by the guard). A Queue would add a send — a
 * subrequest — to every traced call, and its consumer a D1 read of the organization's endpoint
 * per batch; the buffer adds neither. Traces of one organization that end within
 * TRACE_FLUSH_MS of each other in an isolate go in ONE request (or sooner, at TRACE_BATCH_SPANS);
 * the call that opened the batch keeps it alive with `waitUntil`. The price, documented: a trace
 * is lost if the isolate is evicted within that second or the collector is down (no retry).
 *
 * Tenant isolation: batches are keyed by organization and target; a request carries only that
 * organization's spans and goes only to that organization's endpoint with its own headers.
 */
import { checkOutboundUrl } from '../connections/connection.rules';
import { log } from '../lib/log';
import { getVault } from '../vault/vault.crypto';
import type { FinishedTrace, PendingExport, TracingTarget } from './trace.call';
import { openedHeaders } from './trace.headers';
import { otlpRequest } from './trace.otlp';
import { otlpProtobuf, PROTOBUF_CONTENT_TYPE } from './trace.protobuf';

export const TRACE_FLUSH_MS = 1000;
export const TRACE_BATCH_SPANS = 512;
const EXPORT_TIMEOUT_MS = 10_000;

interface Batch {
  orgId: string;
  target: TracingTarget;
  traces: FinishedTrace[];
  spans: number;
}

const open = new Map<string, Batch>();

export type ExportEnv = Pick<Env, 'ENCRYPTION_KEY' | 'ENCRYPTION_KEY_PREVIOUS' | 'ALLOW_PRIVATE_UPSTREAMS'>;

/** Hands a call's trace to its organization's batch; the work is kept alive with `waitUntil`. */
export function exportTrace(
  env: ExportEnv,
  ctx: Pick<ExecutionContext, 'waitUntil'>,
  pending: PendingExport | null,
): void {
  if (!pending) return;
  ctx.waitUntil(
    pending.trace
      .then((trace) => add(env, pending.orgId, pending.target, trace))
      .catch((err: unknown) => log('warn', 'trace export failed', { orgId: pending.orgId, err })),
  );
}

function add(env: ExportEnv, orgId: string, target: TracingTarget, trace: FinishedTrace): Promise<void> {
  // A changed endpoint or header set starts its own batch: nothing goes to a target it was not meant for.
  const key = `${orgId}\u0000${target.endpoint}\u0000${target.sealedHeaders ?? ''}\u0000${target.protocol ?? ''}`;
  const batch = open.get(key);
  if (batch) {
    batch.traces.push(trace);
    batch.spans += trace.spans.length;
    if (batch.spans < TRACE_BATCH_SPANS) return Promise.resolve(); // its opener flushes it
    open.delete(key);
    return send(env, batch);
  }
  const fresh: Batch = { orgId, target, traces: [trace], spans: trace.spans.length };
  open.set(key, fresh);
  return new Promise<void>((resolve) => setTimeout(resolve, TRACE_FLUSH_MS)).then(() => {
    // Already sent when it filled up.
    if (open.get(key) !== fresh) return;
    open.delete(key);
    return send(env, fresh);
  });
}

async function send(env: ExportEnv, batch: Batch): Promise<void> {
  // Checked again before sending, as Langfuse and notification channels are: a stored endpoint
  // the URL rules refuse (saved under other rules, or written around the API) gets nothing.
  const checked = checkOutboundUrl(env, batch.target.endpoint);
  if (!checked.ok) {
    log('warn', 'OTLP endpoint refused by the URL rules; traces dropped', {
      orgId: batch.orgId,
      rule: checked.rule,
    });
    return;
  }
  const headers = await openHeaders(env, batch.orgId, batch.target.sealedHeaders);
  const request = otlpRequest(batch.orgId, batch.traces);
  const binary = batch.target.protocol === 'http/protobuf';
  const response = await fetch(batch.target.endpoint, {
    method: 'POST',
    headers: { ...headers, 'content-type': binary ? PROTOBUF_CONTENT_TYPE : 'application/json' },
    body: binary ? otlpProtobuf(request) : JSON.stringify(request),
    redirect: 'manual',
    signal: AbortSignal.timeout(EXPORT_TIMEOUT_MS),
  });
  await response.body?.cancel();
  if (!response.ok) {
    // The status only: the endpoint's headers are secrets, and its URL may name a tenant.
    log('warn', 'OTLP endpoint refused a trace batch', { orgId: batch.orgId, status: response.status });
  }
}

const AAD = (orgId: string) => `${orgId}:tracing`;
export function sealHeaders(env: ExportEnv, orgId: string, headers: Record<string, string>): Promise<string> {
  return getVault(env).then((vault) => vault.encrypt(JSON.stringify(headers), AAD(orgId)));
}

function openHeaders(env: ExportEnv, orgId: string, sealed: string | null): Promise<Record<string, string>> {
  if (!sealed) return Promise.resolve({});
  // Decrypted once per settings version, not per batch (trace.headers.ts keeps them, bounded).
  return openedHeaders(orgId, sealed, (text) =>
    getVault(env)
      .then((vault) => vault.decrypt(text, AAD(orgId)))
      .then((plain) => JSON.parse(plain) as Record<string, string>),
  );
}
