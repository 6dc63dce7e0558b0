/**
 * A local OTLP/HTTP trace receiver for tests, and the decoder it uses — built on the OpenTelemetry
 * project's own `@opentelemetry/otlp-transformer`.
 *
 * Decoding: the JSON body is read as the package's `IExportTraceServiceRequest`, each span is
 * rebuilt as an OpenTelemetry SDK `ReadableSpan`, and the package's JsonTraceSerializer serializes
 * those spans again: what it writes must equal what was received, field for field (ids, kinds,
 * times, attributes with their value types, status, flags, resource and scope). So a payload the
 * gateway sends is exactly what OpenTelemetry JS's own exporter would send for the same spans.
 * The same spans are also encoded with the ProtobufTraceSerializer (binary OTLP).
 */
import { deepStrictEqual } from 'node:assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Attributes, HrTime, SpanContext } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { IKeyValue } from '@opentelemetry/otlp-transformer/build/src/common/internal-types';
import type {
  IExportTraceServiceRequest,
  ISpan,
} from '@opentelemetry/otlp-transformer/build/src/trace/internal-types';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';

export interface DecodedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  traceState: string | null;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  attributes: Record<string, unknown>;
  status: { code: number; message?: string };
  start: bigint;
  end: bigint;
  flags: number;
  resource: Record<string, unknown>;
}

function anyValue(v: IKeyValue['value']): unknown {
  if (v.stringValue !== undefined && v.stringValue !== null) return v.stringValue;
  if (v.boolValue !== undefined && v.boolValue !== null) return v.boolValue;
  if (v.intValue !== undefined && v.intValue !== null) return Number(v.intValue);
  if (v.doubleValue !== undefined && v.doubleValue !== null) return v.doubleValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(anyValue);
  throw new Error(`unsupported attribute value ${JSON.stringify(v)}`);
}

const attributesOf = (kvs: IKeyValue[] | undefined): Attributes =>
  Object.fromEntries((kvs ?? []).map((kv) => [kv.key, anyValue(kv.value)])) as Attributes;

function hrTime(nanos: unknown): HrTime {
  const n = BigInt(String(nanos));
  return [Number(n / 1_000_000_000n), Number(n % 1_000_000_000n)];
}

function readable(span: ISpan, resource: Resource, scope: { name: string; version?: string }): ReadableSpan {
  const traceId = String(span.traceId);
  const flags = span.flags ?? 0;
  const context: SpanContext = {
    traceId,
    spanId: String(span.spanId),
    traceFlags: flags & 0xff,
    ...(span.traceState ? { traceState: { serialize: () => span.traceState } as never } : {}),
  };
  const start = hrTime(span.startTimeUnixNano);
  const end = hrTime(span.endTimeUnixNano);
  return {
    name: span.name,
    kind: span.kind - 1,
    spanContext: () => context,
    ...(span.parentSpanId
      ? {
          parentSpanContext: {
            traceId,
            spanId: String(span.parentSpanId),
            traceFlags: flags & 0xff,
            isRemote: (flags & 0x200) !== 0,
          },
        }
      : {}),
    startTime: start,
    endTime: end,
    status: {
      code: span.status.code as number,
      ...(span.status.message ? { message: span.status.message } : {}),
    },
    attributes: attributesOf(span.attributes),
    links: [],
    events: [],
    duration: [end[0] - start[0], end[1] - start[1]],
    ended: true,
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  };
}

/** Decodes and validates an OTLP/HTTP JSON trace export body (throws if it is not what OTel writes). */
export function decodeOtlpJson(body: string): DecodedSpan[] {
  const request = JSON.parse(body) as IExportTraceServiceRequest;
  const spans: ReadableSpan[] = [];
  const decoded: DecodedSpan[] = [];
  for (const rs of request.resourceSpans ?? []) {
    // createResource reads only `attributes` and `schemaUrl`; spans are grouped by this object.
    const resourceAttributes = attributesOf(rs.resource?.attributes);
    const resource = { attributes: resourceAttributes } as unknown as Resource;
    for (const ss of rs.scopeSpans) {
      const scope = {
        name: ss.scope?.name ?? '',
        ...(ss.scope?.version ? { version: ss.scope.version } : {}),
      };
      for (const span of ss.spans ?? []) {
        spans.push(readable(span, resource, scope));
        decoded.push({
          traceId: String(span.traceId),
          spanId: String(span.spanId),
          parentSpanId: span.parentSpanId ? String(span.parentSpanId) : null,
          traceState: span.traceState ?? null,
          name: span.name,
          kind: span.kind,
          attributes: attributesOf(span.attributes),
          status: {
            code: span.status.code as number,
            ...(span.status.message ? { message: span.status.message } : {}),
          },
          start: BigInt(String(span.startTimeUnixNano)),
          end: BigInt(String(span.endTimeUnixNano)),
          flags: span.flags ?? 0,
          resource: resourceAttributes,
        });
      }
    }
  }
  const again = JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans)));
  deepStrictEqual(JSON.parse(body), again, 'the payload differs from what OpenTelemetry JS would export');
  const binary = ProtobufTraceSerializer.serializeRequest(spans);
  if (!binary || binary.length === 0) throw new Error('protobuf encoding of the spans failed');
  return decoded;
}

export interface ReceivedExport {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  spans: DecodedSpan[];
}

export interface OtlpReceiver {
  /** Base URL (http://127.0.0.1:<port>); export to `${url}/<tenant>/v1/traces`. */
  url: string;
  received: ReceivedExport[];
  /** Bodies that failed to decode (the test asserts there are none). */
  invalid: string[];
  close(): Promise<void>;
}

/** A real HTTP server that accepts OTLP/HTTP JSON trace exports on any path. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const received: ReceivedExport[] = [];
  const invalid: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      try {
        if (req.method !== 'POST' || !String(req.headers['content-type']).startsWith('application/json')) {
          throw new Error(`unexpected ${req.method} ${req.headers['content-type']}`);
        }
        received.push({ path: req.url ?? '', headers: { ...req.headers }, spans: decodeOtlpJson(body) });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch (err) {
        invalid.push(`${String(err)}\n${body}`);
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    invalid,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
