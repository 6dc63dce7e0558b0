/**
 * A local OTLP/HTTP trace receiver for tests, and the decoder it uses — built on the OpenTelemetry
 * project's own `@opentelemetry/otlp-transformer`.
 *
 * Decoding: the JSON body is read as the package's `IExportTraceServiceRequest`, each span is
 * rebuilt as an OpenTelemetry SDK `ReadableSpan`, and the package's JsonTraceSerializer serializes
 * those spans again: what it writes must equal what was received, field for field (ids, kinds,
 * times, attributes with their value types, status, flags, resource and scope). So a payload the
 * gateway sends is exactly what OpenTelemetry JS's own exporter would send for the same spans.
 * The same spans are also encoded with the ProtobufTraceSerializer (binary OTLP). A protobuf body
 * (`application/x-protobuf`) is read with the package's ProtobufReader, its spans rebuilt the same
 * way, and re-encoded with ProtobufTraceSerializer: the bytes must be identical.
 */
import { deepStrictEqual } from 'node:assert';
import { createServer, type Server } from 'node:http';
import type { Attributes, HrTime, SpanContext } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { IKeyValue } from '@opentelemetry/otlp-transformer/build/src/common/internal-types';
import { ProtobufReader } from '@opentelemetry/otlp-transformer/build/src/common/protobuf/protobuf-reader';
import type {
  IExportTraceServiceRequest,
  ISpan,
} from '@opentelemetry/otlp-transformer/build/src/trace/internal-types';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { listen } from './local.server';

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

/** The request's spans, as SDK `ReadableSpan`s (to re-serialize) and as the tests read them. */
function rebuild(request: IExportTraceServiceRequest): { spans: ReadableSpan[]; decoded: DecodedSpan[] } {
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
  return { spans, decoded };
}

/** Decodes and validates an OTLP/HTTP JSON trace export body (throws if it is not what OTel writes). */
export function decodeOtlpJson(body: string): DecodedSpan[] {
  const { spans, decoded } = rebuild(JSON.parse(body) as IExportTraceServiceRequest);
  const again = JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans)));
  deepStrictEqual(JSON.parse(body), again, 'the payload differs from what OpenTelemetry JS would export');
  const binary = ProtobufTraceSerializer.serializeRequest(spans);
  if (!binary || binary.length === 0) throw new Error('protobuf encoding of the spans failed');
  return decoded;
}

/**
 * Decodes and validates an OTLP/HTTP protobuf trace export body: read with the package's
 * ProtobufReader into the request's JSON shape, the spans rebuilt as SDK `ReadableSpan`s, and
 * re-encoded with ProtobufTraceSerializer — the bytes must be identical to what was received.
 */
export function decodeOtlpProtobuf(body: Uint8Array): DecodedSpan[] {
  const { spans, decoded } = rebuild(readTraceRequest(body));
  const again = ProtobufTraceSerializer.serializeRequest(spans);
  if (!again) throw new Error('protobuf encoding of the spans failed');
  deepStrictEqual(
    Buffer.from(body).toString('hex'),
    Buffer.from(again).toString('hex'),
    'the payload differs from what OpenTelemetry JS would export',
  );
  return decoded;
}

type Fields = (field: number, wireType: number, reader: ProtobufReader) => void;

/** Reads a message's fields, handing each to `onField` (which must consume it). */
function fields(bytes: Uint8Array, onField: Fields): void {
  const reader = new ProtobufReader(bytes);
  while (!reader.isAtEnd()) {
    const { fieldNumber, wireType } = reader.readTag();
    onField(fieldNumber, wireType, reader);
  }
}

/** fixed64 (wire type 1) as a uint64, or as a double. The package's reader has neither. */
function fixed64(reader: ProtobufReader, bytes: Uint8Array, as: 'uint' | 'double'): bigint | number {
  const view = new DataView(bytes.buffer, bytes.byteOffset + reader.pos, 8);
  reader.pos += 8;
  return as === 'uint' ? view.getBigUint64(0, true) : view.getFloat64(0, true);
}

function fixed32(reader: ProtobufReader, bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset + reader.pos, 4);
  reader.pos += 4;
  return view.getUint32(0, true);
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function readKeyValues(into: IKeyValue[]): Fields {
  return (field, wireType, r) => {
    if (field !== 1 && field !== 9) return r.skip(wireType);
    const kv: IKeyValue = { key: '', value: {} };
    fields(r.readBytes(), (f, w, kr) => {
      if (f === 1) kv.key = kr.readString();
      else if (f === 2) {
        const bytes = kr.readBytes();
        fields(bytes, (vf, vw, vr) => {
          if (vf === 1) kv.value.stringValue = vr.readString();
          else if (vf === 2) kv.value.boolValue = vr.readVarint() !== 0;
          else if (vf === 3) kv.value.intValue = vr.readVarint();
          else if (vf === 4) kv.value.doubleValue = fixed64(vr, bytes, 'double') as number;
          else vr.skip(vw);
        });
      } else kr.skip(w);
    });
    into.push(kv);
  };
}

function readSpan(bytes: Uint8Array): ISpan {
  const span = {
    attributes: [] as IKeyValue[],
    events: [],
    links: [],
    status: { code: 0 },
  } as unknown as ISpan & { attributes: IKeyValue[] };
  const attrs = readKeyValues(span.attributes);
  fields(bytes, (f, w, r) => {
    if (f === 1) span.traceId = hex(r.readBytes());
    else if (f === 2) span.spanId = hex(r.readBytes());
    else if (f === 3) span.traceState = r.readString();
    else if (f === 4) span.parentSpanId = hex(r.readBytes());
    else if (f === 5) span.name = r.readString();
    else if (f === 6) span.kind = r.readVarint();
    else if (f === 7) span.startTimeUnixNano = String(fixed64(r, bytes, 'uint'));
    else if (f === 8) span.endTimeUnixNano = String(fixed64(r, bytes, 'uint'));
    else if (f === 9) attrs(f, w, r);
    else if (f === 10) span.droppedAttributesCount = r.readVarint();
    else if (f === 12) span.droppedEventsCount = r.readVarint();
    else if (f === 14) span.droppedLinksCount = r.readVarint();
    else if (f === 15)
      fields(r.readBytes(), (sf, sw, sr) => {
        if (sf === 2) span.status.message = sr.readString();
        else if (sf === 3) span.status.code = sr.readVarint();
        else sr.skip(sw);
      });
    else if (f === 16) span.flags = fixed32(r, bytes);
    else throw new Error(`unexpected span field ${f}`);
  });
  return span;
}

/** An `ExportTraceServiceRequest` in protobuf, read into the shape of its JSON mapping. */
function readTraceRequest(body: Uint8Array): IExportTraceServiceRequest {
  const resourceSpans: IExportTraceServiceRequest['resourceSpans'] = [];
  fields(body, (f, w, r) => {
    if (f !== 1) return r.skip(w);
    const attributes: IKeyValue[] = [];
    const scopeSpans: { scope?: { name: string; version?: string }; spans: ISpan[] }[] = [];
    fields(r.readBytes(), (rf, rw, rr) => {
      if (rf === 1) fields(rr.readBytes(), readKeyValues(attributes));
      else if (rf === 2) {
        const scoped: (typeof scopeSpans)[number] = { spans: [] };
        fields(rr.readBytes(), (sf, sw, sr) => {
          if (sf === 1) {
            const scope: { name: string; version?: string } = { name: '' };
            fields(sr.readBytes(), (qf, qw, qr) => {
              if (qf === 1) scope.name = qr.readString();
              else if (qf === 2) scope.version = qr.readString();
              else qr.skip(qw);
            });
            scoped.scope = scope;
          } else if (sf === 2) scoped.spans.push(readSpan(sr.readBytes()));
          else sr.skip(sw);
        });
        scopeSpans.push(scoped);
      } else rr.skip(rw);
    });
    resourceSpans.push({ resource: { attributes, droppedAttributesCount: 0 }, scopeSpans } as never);
  });
  return { resourceSpans };
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

/** A real HTTP server that accepts OTLP/HTTP trace exports (JSON or protobuf) on any path. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const received: ReceivedExport[] = [];
  const invalid: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = raw.toString('utf8');
      try {
        const type = String(req.headers['content-type']);
        const protobuf = type.startsWith('application/x-protobuf');
        if (req.method !== 'POST' || !(protobuf || type.startsWith('application/json'))) {
          throw new Error(`unexpected ${req.method} ${req.headers['content-type']}`);
        }
        const spans = protobuf ? decodeOtlpProtobuf(new Uint8Array(raw)) : decodeOtlpJson(body);
        received.push({ path: req.url ?? '', headers: { ...req.headers }, spans });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch (err) {
        invalid.push(`${String(err)}\n${body}`);
        res.writeHead(400).end();
      }
    });
  });
  const { url, close } = await listen(server);
  return { url, received, invalid, close };
}
