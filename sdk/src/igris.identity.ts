/**
 * Identity for gateway calls: the X-Igris-User, X-Igris-Trace-Id and X-Igris-Metadata values.
 *
 * The gateway treats an invalid value as absent and carries on (workers/identity/
 * identity.metadata.ts): right for a gateway, surprising for a developer, because a policy
 * condition on a dropped field silently skips its rule. So the SDK applies the same limits
 * before sending and throws a typed error that says which value broke which rule.
 *
 * Web-standard APIs only (crypto.getRandomValues, JSON): this runs in Node, Workers, Deno and
 * browsers.
 */
import { IgrisIdentityError, IgrisMetadataError } from './igris.errors.js';
import {
  METADATA_MAX_BYTES,
  METADATA_MAX_DEPTH,
  TRACE_ID_MAX_LENGTH,
  TRACE_ID_PATTERN,
  TRACE_ID_PREFIX,
  USER_MAX_LENGTH,
} from './igris.limits.js';

export type MetadataValue = string | number | boolean | Metadata;
/**
 * Free-form attributes for policy conditions (`metadata.role`) and the audit trail. Values are
 * strings, finite numbers, booleans or nested objects (3 levels in all); `undefined` values are
 * left out, as JSON.stringify does.
 */
export interface Metadata {
  [key: string]: MetadataValue | undefined;
}

// ---------------------------------------------------------------------------------------------
// X-Igris-Metadata
// ---------------------------------------------------------------------------------------------

/**
 * The X-Igris-Metadata header value for `metadata`, or an IgrisMetadataError.
 *
 * Non-ASCII characters are written as \uXXXX escapes: fetch refuses header values outside
 * Latin-1, and the gateway's JSON.parse turns the escapes back into the same string. The size
 * limit is checked on this encoded value because that is what the gateway measures.
 */
export function encodeMetadata(metadata: unknown): string {
  if (!isPlainObject(metadata)) {
    throw new IgrisMetadataError('not_object', [], `must be a plain object, got ${describe(metadata)}`);
  }
  const header = toAsciiJson(JSON.stringify(copyChecked(metadata, [], 1)));
  // After escaping, every character is one byte.
  if (header.length > METADATA_MAX_BYTES) {
    throw new IgrisMetadataError(
      'size',
      [],
      `encodes to ${header.length} bytes, over the ${METADATA_MAX_BYTES}-byte limit ` +
        '(a non-ASCII character counts 6 bytes, as a \\uXXXX escape)',
    );
  }
  return header;
}

/**
 * Validates one object level and returns a plain copy of it. Serialising the copy (rather than
 * the caller's object) means getters run once and what was checked is exactly what is sent.
 * Recursion stops at the depth limit, so cycles end in a 'depth' error.
 */
function copyChecked(object: object, path: readonly string[], level: number): Record<string, unknown> {
  if (level > METADATA_MAX_DEPTH) {
    throw new IgrisMetadataError('depth', path, `nests deeper than ${METADATA_MAX_DEPTH} levels`);
  }
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(object)) {
    const here = [...path, key];
    if (key.includes('.')) {
      throw new IgrisMetadataError(
        'key_dot',
        here,
        'key contains a dot; policy fields use dots to address nested keys',
      );
    }
    if (key === '__proto__')
      throw new IgrisMetadataError('key_reserved', here, 'key "__proto__" is not allowed');
    const value: unknown = (object as Record<string, unknown>)[key];
    if (value === undefined) continue;
    copy[key] = copyValue(value, here, level);
  }
  return copy;
}

function copyValue(value: unknown, path: readonly string[], level: number): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isFinite(value)) return value;
      throw new IgrisMetadataError(
        'value_type',
        path,
        `${value} is not a finite number (JSON has no NaN or Infinity)`,
      );
    default:
      if (isPlainObject(value)) return copyChecked(value, path, level + 1);
      throw new IgrisMetadataError(
        'value_type',
        path,
        `values must be strings, numbers, booleans or plain objects, got ${describe(value)}`,
      );
  }
}

function isPlainObject(value: unknown): value is object {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `an instance of ${value.constructor?.name || 'a class'}`;
  return `a ${typeof value}`;
}

function toAsciiJson(json: string): string {
  return json.replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

// ---------------------------------------------------------------------------------------------
// X-Igris-User
// ---------------------------------------------------------------------------------------------

// C0 controls, DEL and C1 controls — the gateway's set.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;
const PRINTABLE_ASCII = /^[\u0020-\u007e]*$/;

/**
 * The X-Igris-User value for `user`: trimmed (as the gateway trims), at most USER_MAX_LENGTH
 * characters, no control characters — the gateway's rules — and printable ASCII, because an HTTP
 * header cannot carry other characters reliably (fetch rejects anything beyond Latin-1 outright).
 */
export function checkUser(user: unknown): string {
  if (typeof user !== 'string')
    throw new IgrisIdentityError('user', 'format', `must be a string, got ${describe(user)}`);
  const trimmed = user.trim();
  if (trimmed === '') throw new IgrisIdentityError('user', 'empty', 'is empty');
  if (trimmed.length > USER_MAX_LENGTH) {
    throw new IgrisIdentityError(
      'user',
      'too_long',
      `is ${trimmed.length} characters; the limit is ${USER_MAX_LENGTH}`,
    );
  }
  if (CONTROL_CHARACTERS.test(trimmed))
    throw new IgrisIdentityError('user', 'control_character', 'contains control characters');
  if (!PRINTABLE_ASCII.test(trimmed)) {
    throw new IgrisIdentityError(
      'user',
      'non_ascii',
      'contains non-ASCII characters, which HTTP headers cannot carry; use an ASCII id such as an email address or user id',
    );
  }
  return trimmed;
}

// ---------------------------------------------------------------------------------------------
// X-Igris-Trace-Id
// ---------------------------------------------------------------------------------------------

/** A caller-supplied trace id, refused when the gateway would replace it with its own. */
export function checkTraceId(traceId: unknown): string {
  if (typeof traceId !== 'string') {
    throw new IgrisIdentityError('traceId', 'format', `must be a string, got ${describe(traceId)}`);
  }
  if (traceId === '') throw new IgrisIdentityError('traceId', 'empty', 'is empty');
  if (traceId.length > TRACE_ID_MAX_LENGTH) {
    throw new IgrisIdentityError(
      'traceId',
      'too_long',
      `is ${traceId.length} characters; the limit is ${TRACE_ID_MAX_LENGTH}`,
    );
  }
  if (!TRACE_ID_PATTERN.test(traceId)) {
    throw new IgrisIdentityError('traceId', 'format', 'may only contain A-Z a-z 0-9 . _ : -');
  }
  return traceId;
}

/** 'ig_trace_' + 128 random bits as 32 lowercase hex characters (the gateway's own format). */
export function newTraceId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return TRACE_ID_PREFIX + hex;
}
