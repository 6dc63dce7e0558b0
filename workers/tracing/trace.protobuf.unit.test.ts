/**
 * The `http/protobuf` encoding (trace.protobuf.ts) against the test receiver's decoder
 * (test/shared/otlp.receiver.ts): read with @opentelemetry/otlp-transformer's ProtobufReader,
 * rebuilt as SDK spans and re-encoded with its ProtobufTraceSerializer — the bytes must be equal.
 */
import { describe, expect, it } from 'vitest';
import { decodeOtlpJson, decodeOtlpProtobuf } from '../../test/shared/otlp.receiver';
import type { FinishedTrace } from './trace.call';
import { otlpRequest } from './trace.otlp';
import { otlpProtobuf } from './trace.protobuf';

const NOW = 1_764_800_000_123;

function trace(traceState: string | null): FinishedTrace {
  return {
    orgId: 'org_a',
    traceId: '0af7651916cd43dd8448eb211c80319c',
    traceState,
    spans: [
      {
        name: 'igris.gateway mcp github',
        spanId: '1111111111111111',
        parentId: 'b7ad6b7169203331',
        kind: 'server',
        start: NOW,
        end: NOW + 5,
        attributes: {
          'igris.connection.slug': 'github',
          'http.response.status_code': 200,
          'igris.rule.matched': true,
          'igris.rule.index': 0,
          'igris.policy.note': 'ünïcode ✓',
          ratio: 0.5,
          big: 2 ** 40,
        },
      },
      {
        name: 'igris.forward',
        spanId: '2222222222222222',
        parentId: '1111111111111111',
        kind: 'client',
        start: NOW + 1,
        end: NOW + 4,
        attributes: {},
        error: 'upstream_unreachable',
      },
      {
        name: 'igris.policy',
        spanId: '3333333333333333',
        parentId: '1111111111111111',
        kind: 'internal',
        start: NOW + 1,
        end: NOW + 1,
        attributes: { 'igris.decision': 'allow' },
      },
    ],
  };
}

describe('OTLP protobuf encoding', () => {
  it('writes the bytes OpenTelemetry JS’s ProtobufTraceSerializer writes, with the same content as the JSON', () => {
    for (const state of ['vendor=x', null]) {
      const request = otlpRequest('org_a', [trace(state), { ...trace(state), traceId: 'f'.repeat(32) }]);
      const fromProtobuf = decodeOtlpProtobuf(otlpProtobuf(request));
      expect(fromProtobuf).toHaveLength(6);
      // The same spans as the JSON export of the same request, field for field.
      expect(fromProtobuf).toEqual(decodeOtlpJson(JSON.stringify(request)));
    }
    const [root, forward] = decodeOtlpProtobuf(otlpProtobuf(otlpRequest('org_a', [trace('vendor=x')])));
    expect(root).toMatchObject({
      kind: 2,
      parentSpanId: 'b7ad6b7169203331',
      flags: 0x301,
      traceState: 'vendor=x',
      start: BigInt(NOW) * 1_000_000n,
      attributes: { 'igris.policy.note': 'ünïcode ✓', ratio: 0.5, big: 2 ** 40, 'igris.rule.matched': true },
      resource: { 'service.name': 'igris-edge', 'igris.org.id': 'org_a' },
    });
    expect(forward).toMatchObject({
      kind: 3,
      flags: 0x101,
      status: { code: 2, message: 'upstream_unreachable' },
    });
  });

  it('the decoder refuses bytes OpenTelemetry would not write', () => {
    const bytes = otlpProtobuf(otlpRequest('org_a', [trace(null)]));
    // The last span's flags (fixed32, the body's last four bytes) without HAS_IS_REMOTE (0x100), which
    // OpenTelemetry always sets: still well-formed protobuf, but not what it writes.
    const changed = bytes.slice();
    expect([...changed.slice(-4)]).toEqual([0x01, 0x01, 0, 0]);
    changed[changed.length - 3] = 0;
    expect(() => decodeOtlpProtobuf(changed)).toThrow();
    expect(() => decodeOtlpProtobuf(bytes.slice(0, bytes.length - 3))).toThrow();
  });
});
