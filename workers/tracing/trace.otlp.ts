/**
 * Finished traces as an OTLP/HTTP JSON `ExportTraceServiceRequest` (opentelemetry-proto
 * `collector/trace/v1`, JSON mapping: hex ids, nanosecond times as decimal strings). Pure.
 * Field for field what OpenTelemetry JS's own JsonTraceSerializer writes for the same spans
 * (test/e2e/tracing.e2e.test.ts decodes it at a receiver with @opentelemetry/otlp-transformer).
 */
import type { AttrValue, FinishedTrace, RecordedSpan } from './trace.call';

export const SERVICE_NAME = 'igris-edge';
export const SCOPE = { name: 'igris-edge.gateway', version: '1' } as const;

/** OTLP SpanKind: INTERNAL 1, SERVER 2, CLIENT 3. */
const KIND = { internal: 1, server: 2, client: 3 } as const;
/** OTLP StatusCode: UNSET 0, ERROR 2. */
const STATUS_ERROR = 2;
/** Span flags: W3C sampled, and "whether the parent is remote" is known (OTLP HAS_IS_REMOTE). */
const FLAGS_SAMPLED_HAS_IS_REMOTE = 0x101;
const FLAG_IS_REMOTE = 0x200;

type AnyValue =
  | { stringValue: string }
  | { intValue: number }
  | { doubleValue: number }
  | { boolValue: boolean };

function value(v: AttrValue): AnyValue {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  return Number.isInteger(v) ? { intValue: v } : { doubleValue: v };
}

const attributes = (attrs: Record<string, AttrValue>) =>
  Object.keys(attrs).map((key) => ({ key, value: value(attrs[key]!) }));

/** Epoch ms → ns as a decimal string (the Worker's clock has ms resolution: six zeros). */
const nanos = (ms: number) => `${Math.trunc(ms)}000000`;

function otlpSpan(trace: FinishedTrace, span: RecordedSpan, remoteParent: string | null) {
  const isRemote = span.parentId !== null && span.parentId === remoteParent;
  return {
    traceId: trace.traceId,
    spanId: span.spanId,
    ...(span.parentId ? { parentSpanId: span.parentId } : {}),
    ...(trace.traceState ? { traceState: trace.traceState } : {}),
    name: span.name,
    kind: KIND[span.kind],
    startTimeUnixNano: nanos(span.start),
    endTimeUnixNano: nanos(Math.max(span.end, span.start)),
    attributes: attributes(span.attributes),
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    status: span.error ? { code: STATUS_ERROR, message: span.error } : { code: 0 },
    links: [],
    droppedLinksCount: 0,
    flags: FLAGS_SAMPLED_HAS_IS_REMOTE | (isRemote ? FLAG_IS_REMOTE : 0),
  };
}

/** One request for one organization's traces (the exporter never mixes organizations). */
export function otlpRequest(orgId: string, traces: readonly FinishedTrace[]) {
  const spans = traces.flatMap((trace) => {
    // The root span's parent (the caller's span) is the only remote parent in a trace.
    const root = trace.spans.find((s) => s.kind === 'server');
    const remote = root?.parentId ?? null;
    return trace.spans.map((span) => otlpSpan(trace, span, remote));
  });
  return {
    resourceSpans: [
      {
        resource: {
          attributes: attributes({ 'service.name': SERVICE_NAME, 'igris.org.id': orgId }),
          droppedAttributesCount: 0,
        },
        scopeSpans: [{ scope: { name: SCOPE.name, version: SCOPE.version }, spans }],
      },
    ],
  };
}
