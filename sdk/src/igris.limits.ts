/**
 * The gateway's identity limits, as the SDK enforces them before anything is sent.
 *
 * These mirror workers/identity/identity.metadata.ts (the gateway's parser). They are declared
 * here rather than imported because the published package must be self-contained; the unit test
 * igris.parity.unit.test.ts imports the gateway's module and fails if the two ever disagree.
 */

/** Size of the X-Igris-Metadata header value, in UTF-8 bytes. */
export const METADATA_MAX_BYTES = 4096;
/** The metadata object itself is level 1; each nested object adds one level. */
export const METADATA_MAX_DEPTH = 3;
/** X-Igris-User, after trimming surrounding whitespace. */
export const USER_MAX_LENGTH = 256;
export const TRACE_ID_MAX_LENGTH = 128;
export const TRACE_ID_PREFIX = 'ig_trace_';
/** What the gateway accepts as a trace id; anything else it replaces with a fresh one. */
export const TRACE_ID_PATTERN: RegExp = new RegExp(`^[A-Za-z0-9._:-]{1,${TRACE_ID_MAX_LENGTH}}$`);
/** Connection slugs, as the management API validates them (seed 001: 3–64, starts alphanumeric). */
export const SLUG_PATTERN: RegExp = /^[a-z0-9][a-z0-9_-]{2,63}$/;

export const USER_HEADER = 'X-Igris-User';
export const TRACE_HEADER = 'X-Igris-Trace-Id';
export const METADATA_HEADER = 'X-Igris-Metadata';
