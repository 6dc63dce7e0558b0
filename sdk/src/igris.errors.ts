/**
 * Every error the SDK throws is an IgrisError, so callers can catch the family with one check
 * and tell the cases apart by class (or by `name`, which survives bundling and structured clone).
 */
import type { Schemas } from './api.types.js';

export class IgrisError extends Error {
  override name = 'IgrisError';
}

/** The SDK was constructed or called with something unusable (no API key, a bad base URL or slug). */
export class IgrisConfigError extends IgrisError {
  override name = 'IgrisConfigError';
  /** The option or argument at fault: 'apiKey', 'baseUrl', 'slug', 'fetch'. */
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

export type MetadataRule =
  /** The metadata itself is not a plain object. */
  | 'not_object'
  /** A value is not a string, finite number, boolean or plain object. */
  | 'value_type'
  /** A key contains '.', which policy fields use to address nested keys (`metadata.a.b`). */
  | 'key_dot'
  /** The key "__proto__", which would turn into a prototype change when merged. */
  | 'key_reserved'
  /** An object nested deeper than METADATA_MAX_DEPTH levels. */
  | 'depth'
  /** The encoded header is larger than METADATA_MAX_BYTES. */
  | 'size';

/**
 * Metadata the gateway would ignore. The gateway never fails a call for bad metadata — it drops
 * the header and records why — so a policy that depends on it would silently not apply. The SDK
 * refuses it up front instead.
 */
export class IgrisMetadataError extends IgrisError {
  override name = 'IgrisMetadataError';
  readonly rule: MetadataRule;
  /** Keys from the top of the metadata object to the offending value or key; [] for the whole. */
  readonly path: readonly string[];
  constructor(rule: MetadataRule, path: readonly string[], message: string) {
    super(`${formatPath(path)}: ${message}`);
    this.rule = rule;
    this.path = path;
  }
}

export type IdentityRule = 'empty' | 'too_long' | 'control_character' | 'non_ascii' | 'format';

/** A user or trace id the gateway would ignore (it would drop the user, or replace the trace id). */
export class IgrisIdentityError extends IgrisError {
  override name = 'IgrisIdentityError';
  readonly field: 'user' | 'traceId';
  readonly rule: IdentityRule;
  constructor(field: 'user' | 'traceId', rule: IdentityRule, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
    this.rule = rule;
  }
}

/** The management API's error codes (from its OpenAPI document), plus the SDK's own two. */
export type ApiErrorCode = Schemas['Error']['error']['code'] | 'network_error' | 'invalid_response';

/**
 * A management API call that did not succeed. `status` is the HTTP status (0 when no response
 * arrived); `code`, `message` and `details` are the API's `{ error: { code, message, details } }`.
 */
export class IgrisApiError extends IgrisError {
  override name = 'IgrisApiError';
  readonly status: number;
  readonly code: ApiErrorCode;
  readonly details: unknown;
  readonly method: string;
  readonly path: string;

  constructor(init: {
    status: number;
    code: ApiErrorCode;
    message: string;
    details?: unknown;
    method: string;
    path: string;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.details = init.details;
    this.method = init.method;
    this.path = init.path;
  }
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `metadata.team["a.b"]` — dotted where unambiguous, bracketed otherwise. */
export function formatPath(path: readonly string[]): string {
  let out = 'metadata';
  for (const key of path) out += IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
  return out;
}
