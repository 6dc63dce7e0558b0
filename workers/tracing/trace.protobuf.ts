/**
 * The OTLP/HTTP protobuf encoding (`http/protobuf`, `Content-Type: application/x-protobuf`) of the
 * request trace.otlp.ts builds: the same `ExportTraceServiceRequest`, as opentelemetry-proto's
 * binary wire format instead of its JSON mapping. Pure.
 *
 * Why a minimal encoder here rather than @opentelemetry/otlp-transformer's ProtobufTraceSerializer:
 * that serializer takes the OpenTelemetry SDK's `ReadableSpan` objects (Resource, HrTime, span
 * contexts, from @opentelemetry/sdk-trace, resources and core), so using it would mean shipping the
 * SDK in the Worker and rebuilding every span as an SDK object per export, for a wire format of a
 * dozen fields. This writes exactly what that serializer writes, field for field and in its order
 * (so the bytes are identical): the test receiver (test/shared/otlp.receiver.ts) decodes each body,
 * rebuilds the spans as SDK `ReadableSpan`s and re-encodes them with ProtobufTraceSerializer; the
 * bytes must match.
 *
 * Field numbers (opentelemetry/proto/trace/v1/trace.proto, common/v1/common.proto,
 * resource/v1/resource.proto, collector/trace/v1/trace_service.proto):
 *   ExportTraceServiceRequest  1 resource_spans
 *   ResourceSpans              1 resource, 2 scope_spans
 *   Resource                   1 attributes, 2 dropped_attributes_count
 *   ScopeSpans                 1 scope, 2 spans
 *   InstrumentationScope       1 name, 2 version
 *   Span                       1 trace_id, 2 span_id, 3 trace_state, 4 parent_span_id, 5 name,
 *                              6 kind, 7 start_time_unix_nano (fixed64), 8 end_time_unix_nano
 *                              (fixed64), 9 attributes, 10 dropped_attributes_count, 11 events,
 *                              12 dropped_events_count, 13 links, 14 dropped_links_count,
 *                              15 status, 16 flags (fixed32)
 *   Status                     2 message, 3 code
 *   KeyValue                   1 key, 2 value;  AnyValue 1 string, 2 bool, 3 int, 4 double
 */
import type { otlpRequest } from './trace.otlp';

export type OtlpRequest = ReturnType<typeof otlpRequest>;
type OtlpSpan = OtlpRequest['resourceSpans'][number]['scopeSpans'][number]['spans'][number];
type KeyValue = OtlpSpan['attributes'][number];

export const PROTOBUF_CONTENT_TYPE = 'application/x-protobuf';

/** Protobuf wire types. */
const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

const utf8 = new TextEncoder();

/** Appends protobuf fields to a growing byte list; a nested message is written to its own writer first (its length prefixes it). */
class Writer {
  readonly bytes: number[] = [];

  varint(value: number | bigint): void {
    // int64 on the wire: a negative number is its 64-bit two's complement (ten bytes).
    let v = BigInt.asUintN(64, BigInt(value));
    while (v > 0x7fn) {
      this.bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.bytes.push(Number(v));
  }

  tag(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  uint(field: number, value: number): void {
    this.tag(field, VARINT);
    this.varint(value);
  }

  raw(field: number, bytes: ArrayLike<number>): void {
    this.tag(field, LEN);
    this.varint(bytes.length);
    for (let i = 0; i < bytes.length; i++) this.bytes.push(bytes[i]!);
  }

  string(field: number, value: string): void {
    this.raw(field, utf8.encode(value));
  }

  /** A hex id (trace or span id) as `bytes`. */
  hex(field: number, value: string): void {
    const out: number[] = [];
    for (let i = 0; i + 1 < value.length; i += 2) out.push(Number.parseInt(value.slice(i, i + 2), 16));
    this.raw(field, out);
  }

  fixed32(field: number, value: number): void {
    this.tag(field, I32);
    const v = value >>> 0;
    this.bytes.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  }

  /** A uint64 given as a decimal string (OTLP JSON's nanosecond times), little-endian. */
  fixed64(field: number, decimal: string): void {
    this.tag(field, I64);
    const view = new DataView(new ArrayBuffer(8));
    view.setBigUint64(0, BigInt(decimal), true);
    for (let i = 0; i < 8; i++) this.bytes.push(view.getUint8(i));
  }

  double(field: number, value: number): void {
    this.tag(field, I64);
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, value, true);
    for (let i = 0; i < 8; i++) this.bytes.push(view.getUint8(i));
  }

  message(field: number, write: (w: Writer) => void): void {
    const inner = new Writer();
    write(inner);
    this.raw(field, inner.bytes);
  }
}

function keyValue(w: Writer, kv: KeyValue): void {
  w.string(1, kv.key);
  w.message(2, (v) => {
    const value = kv.value;
    if ('stringValue' in value) v.string(1, value.stringValue);
    else if ('boolValue' in value) v.uint(2, value.boolValue ? 1 : 0);
    else if ('intValue' in value) {
      v.tag(3, VARINT);
      v.varint(value.intValue);
    } else v.double(4, value.doubleValue);
  });
}

function attributes(w: Writer, field: number, kvs: readonly KeyValue[]): void {
  for (const kv of kvs) w.message(field, (m) => keyValue(m, kv));
}

function span(w: Writer, s: OtlpSpan): void {
  w.hex(1, s.traceId);
  w.hex(2, s.spanId);
  if (s.traceState) w.string(3, s.traceState);
  if (s.parentSpanId) w.hex(4, s.parentSpanId);
  w.string(5, s.name);
  w.uint(6, s.kind); // never 0 (UNSPECIFIED) here, which OpenTelemetry would leave out
  w.fixed64(7, s.startTimeUnixNano);
  w.fixed64(8, s.endTimeUnixNano);
  attributes(w, 9, s.attributes);
  w.uint(10, s.droppedAttributesCount);
  // 11 events and 13 links: the gateway records none.
  w.uint(12, s.droppedEventsCount);
  w.uint(14, s.droppedLinksCount);
  w.message(15, (st) => {
    if ('message' in s.status && s.status.message) st.string(2, s.status.message);
    st.uint(3, s.status.code);
  });
  if (s.flags) w.fixed32(16, s.flags);
}

/** The request as OTLP protobuf bytes. */
export function otlpProtobuf(request: OtlpRequest): Uint8Array {
  const w = new Writer();
  for (const rs of request.resourceSpans) {
    w.message(1, (r) => {
      r.message(1, (res) => {
        attributes(res, 1, rs.resource.attributes);
        res.uint(2, rs.resource.droppedAttributesCount);
      });
      for (const ss of rs.scopeSpans) {
        r.message(2, (scoped) => {
          scoped.message(1, (scope) => {
            scope.string(1, ss.scope.name);
            if (ss.scope.version) scope.string(2, ss.scope.version);
          });
          for (const s of ss.spans) scoped.message(2, (m) => span(m, s));
        });
      }
    });
  }
  return Uint8Array.from(w.bytes);
}
