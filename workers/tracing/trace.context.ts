/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) and the sampling decision. Pure.
 *
 * The gateway joins the caller's trace when the caller sends a valid `traceparent` (same trace id;
 * its root span's parent is the caller's span) and starts one otherwise. `tracestate` is the
 * caller's, passed on unchanged: the gateway adds no entry of its own.
 */
import { pooledHex } from '../lib/random.pool.js';

export interface TraceParent {
  traceId: string;
  /** The caller's span: the parent of the gateway's root span. */
  parentId: string;
  flags: number;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/**
 * A valid `traceparent`, or null (absent, malformed, all-zero ids, version ff). Version 00 must
 * have exactly four fields; a higher version may carry more, which are ignored (spec §3.2.4).
 */
export function parseTraceparent(value: string | null): TraceParent | null {
  if (!value) return null;
  const match = TRACEPARENT.exec(value.trim());
  if (!match) return null;
  const [, version, traceId, parentId, flags, rest] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string | undefined,
  ];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return null;
  if (traceId === ZERO_TRACE || parentId === ZERO_SPAN) return null;
  return { traceId, parentId, flags: Number.parseInt(flags, 16) };
}

export function formatTraceparent(traceId: string, spanId: string, sampled: boolean): string {
  return `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`;
}

// Drawn from the pool of random bytes (workers/lib/random.pool.ts): a call's ten ids cost no
// `getRandomValues` of their own.
export const newTraceId = (): string => pooledHex(16);
export const newSpanId = (): string => pooledHex(8);

/**
 * Whether a trace is recorded at `rate` (0..1): decided on the trace id alone, the way
 * OpenTelemetry JS's TraceIdRatioBasedSampler does (XOR of its 32-bit words against
 * rate × 2³²−1), so a service with the same ratio makes the same decision for the same trace.
 */
export function sampledAt(traceId: string, rate: number): boolean {
  if (rate >= 1) return true;
  if (!(rate > 0)) return false;
  let acc = 0;
  for (let i = 0; i < traceId.length / 8; i++) {
    acc = (acc ^ Number.parseInt(traceId.slice(i * 8, i * 8 + 8), 16)) >>> 0;
  }
  return acc < Math.floor(rate * 0xffffffff);
}
