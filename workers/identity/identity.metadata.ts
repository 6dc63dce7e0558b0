/**
 * Caller identity headers: X-Igris-Metadata, X-Igris-User and the trace id.
 *
 * Invalid values are never an error response: they are treated as ABSENT and the reason is
 * recorded (audit log / response header). Failing open to "absent" is safe because policy
 * conditions on a missing field skip their rule rather than allow.
 */
import { knownSecret, knownSecretOnce } from '../lib/echo.safe.js';
import { quoted } from '../lib/issues.list.js';
import { pooledHex } from '../lib/random.pool.js';
import { isRecord } from '../lib/values.js';

export const METADATA_MAX_BYTES = 4096;
/** The top-level object is level 1; each nested object or array adds one level. */
export const METADATA_MAX_DEPTH = 3;
export const USER_MAX_LENGTH = 256;
export const TRACE_ID_MAX_LENGTH = 128;
export const TRACE_ID_PREFIX = 'ig_trace_';
const LOOKS_LIKE_A_CREDENTIAL = 'it looks like a credential, which the gateway does not record';

export interface MetadataResult {
  metadata: Record<string, unknown> | null;
  ignoredReason: string | null;
}

export interface UserResult {
  user: string | null;
  ignoredReason: string | null;
}

export interface TraceIdResult {
  traceId: string;
  /** true when the supplied value was absent or invalid and a fresh id was generated. */
  generated: boolean;
  /** Why a supplied value was rejected; null when accepted or when none was supplied. */
  ignoredReason: string | null;
}

// ---------------------------------------------------------------------------------------------
// X-Igris-Metadata
// ---------------------------------------------------------------------------------------------

export function parseMetadata(raw: string | null | undefined): MetadataResult {
  if (raw === null || raw === undefined) return { metadata: null, ignoredReason: null };
  // Every UTF-16 code unit is at least one UTF-8 byte: oversized input is refused before counting.
  if (raw.length > METADATA_MAX_BYTES || utf8ByteLength(raw) > METADATA_MAX_BYTES)
    return ignored(`metadata exceeds ${METADATA_MAX_BYTES} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return ignored('metadata is not valid JSON');
  }
  if (!isRecord(parsed)) return ignored('metadata must be a JSON object');
  const problem = structureProblem(parsed, 1);
  return problem === null ? { metadata: parsed, ignoredReason: null } : ignored(problem);
}

function ignored(reason: string): MetadataResult {
  return { metadata: null, ignoredReason: reason };
}

/**
 * First depth or key violation in a JSON.parse result, or null. Recursion stops one level
 * past the limit, so its depth is bounded regardless of how deeply the input nests.
 */
function structureProblem(value: unknown, level: number): string | null {
  if (typeof value !== 'object' || value === null) return null;
  if (level > METADATA_MAX_DEPTH) return `metadata nesting exceeds ${METADATA_MAX_DEPTH} levels`;
  if (Array.isArray(value)) return firstProblem(value, level);
  for (const key of Object.keys(value)) {
    const keyIssue = keyProblem(key);
    if (keyIssue !== null) return keyIssue;
  }
  return firstProblem(Object.values(value), level);
}

function firstProblem(children: readonly unknown[], level: number): string | null {
  for (const child of children) {
    const problem = structureProblem(child, level + 1);
    if (problem !== null) return problem;
  }
  return null;
}

function keyProblem(key: string): string | null {
  // Dots separate path segments in policy fields (`metadata.a.b`), so a dotted key would be
  // unaddressable or, worse, ambiguous with a nested key.
  // The key is quoted into the row's metadata_error: bounded, `[key]` if it looks like a credential.
  if (key.includes('.')) return `metadata key ${JSON.stringify(quoted(key))} contains a dot`;
  // JSON.parse makes "__proto__" an own key, but any later Object.assign/merge of this object
  // would turn it into a prototype change; refuse it at the edge.
  if (key === '__proto__') return 'metadata key "__proto__" is not allowed';
  return null;
}

/**
 * UTF-8 length without allocating an encoded copy. Lone surrogates count 3 bytes, as
 * TextEncoder encodes them as U+FFFD.
 */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (isHighSurrogate(code) && isLowSurrogate(text.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

// ---------------------------------------------------------------------------------------------
// X-Igris-User
// ---------------------------------------------------------------------------------------------

// C0 controls, DEL and C1 controls: they corrupt logs and dashboards.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

export function parseUser(raw: string | null | undefined): UserResult {
  if (raw === null || raw === undefined) return { user: null, ignoredReason: null };
  const user = raw.trim();
  if (user === '') return { user: null, ignoredReason: 'user is empty' };
  if (user.length > USER_MAX_LENGTH) {
    return { user: null, ignoredReason: `user exceeds ${USER_MAX_LENGTH} characters` };
  }
  if (CONTROL_CHARACTERS.test(user)) return { user: null, ignoredReason: 'user contains control characters' };
  if (!user.isWellFormed()) return { user: null, ignoredReason: 'user contains invalid unicode' };
  // The user goes into every row of the call and its live event: a credential sent as one (a key
  // pasted into the wrong header) is not kept. Detectors only: user names are not random.
  if (knownSecretOnce(user)) return { user: null, ignoredReason: LOOKS_LIKE_A_CREDENTIAL };
  return { user, ignoredReason: null };
}

// ---------------------------------------------------------------------------------------------
// Trace id
// ---------------------------------------------------------------------------------------------

const TRACE_ID_RE = new RegExp(`^[A-Za-z0-9._:-]{1,${TRACE_ID_MAX_LENGTH}}$`);

export function isValidTraceId(value: string): boolean {
  return TRACE_ID_RE.test(value);
}

export function parseTraceId(raw: string | null | undefined): TraceIdResult {
  const valid = raw !== null && raw !== undefined && isValidTraceId(raw);
  // A trace id is echoed everywhere (rows, events, logs, refusal messages): a credential sent as
  // one is replaced like an invalid id. Detectors only: trace ids are random by design.
  const secret = valid && knownSecret(raw);
  if (valid && !secret) return { traceId: raw, generated: false, ignoredReason: null };
  const ignoredReason =
    raw === null || raw === undefined
      ? null
      : secret
        ? LOOKS_LIKE_A_CREDENTIAL
        : `trace id must be 1 to ${TRACE_ID_MAX_LENGTH} characters of A-Z a-z 0-9 . _ : -`;
  return { traceId: newTraceId(), generated: true, ignoredReason };
}

/** 'ig_trace_' + 128 random bits as 32 lowercase hex characters. */
export function newTraceId(): string {
  // Not a secret, and generated for most calls: from the pool (workers/lib/random.pool.ts).
  return TRACE_ID_PREFIX + pooledHex(16);
}
