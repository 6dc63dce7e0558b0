/**
 * Structured logs (one JSON object a line, which Workers Logs indexes). Callers pass fields,
 * never raw headers or bodies. `redactSensitive` is a last line of defence: any value that looks
 * like an Igris key, a bearer token or a session token is masked before it is written, and every
 * string in the line is cleared of what the built-in credential detectors know (lib/echo.safe.ts
 * redactSecrets): fields can quote the caller's text (a path, a method, an error's message), and
 * an operator's log is no place for the caller's provider key. String by string, so the line stays
 * one JSON object whatever a match spans.
 *
 * Only `error` goes to console.error. Everything else goes to console.log: `wrangler dev` prints the
 * Worker's console.warn/console.error through its own formatter (`▲ [WARNING]`, `✘ [ERROR]`) in ANSI
 * colour whatever NO_COLOR says, and a line's `level` field already carries the severity.
 */
import { redactSecrets } from './echo.safe';

export type Level = 'debug' | 'info' | 'warn' | 'error';

const SECRET_PATTERNS: Array<[RegExp, string]> = [
  // ig_trace_… ids are not secrets (they correlate logs with audit rows); every other ig_ token is a key.
  [/\big_(?!trace_)[A-Za-z0-9_-]{8,}/g, '[REDACTED]'],
  [/\bBearer\s+[A-Za-z0-9._~+/=-]{8,}/gi, 'Bearer [REDACTED]'],
  [/igris\.session_token=[^;\s"]+/g, 'igris.session_token=[REDACTED]'],
];

export function redactSensitive(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

function describe(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}

/** JSON.stringify's replacer: each string value without what a credential detector knows. */
function secretFree(_key: string, value: unknown): unknown {
  return typeof value === 'string' ? redactSecrets(value) : value;
}

export function log(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
  const entry: Record<string, unknown> = { level, msg, time: new Date().toISOString() };
  for (const [key, value] of Object.entries(fields)) entry[key] = describe(value);
  const line = redactSensitive(JSON.stringify(entry, secretFree));
  if (level === 'error') console.error(line);
  else console.log(line);
}

/**
 * Refusals that are the product doing its job, though their HTTP status is 5xx by protocol: a kill
 * switch or a suspended session answers 503 "Session Suspended". They are expected outcomes (the audit
 * trail records each), so they log at `info`, never as an error an operator would be paged for.
 */
const EXPECTED_REFUSALS: ReadonlySet<string> = new Set(['session_suspended']);
/** The upstream's failures: worth a warning, but not our error. */
const UPSTREAM_FAILURES: ReadonlySet<string> = new Set([
  'upstream_unreachable',
  'upstream_timeout',
  'upstream_too_large',
  'upstream_invalid_answer',
]);

/** The level to log an error answered to a caller at, or null when it needs no log line (4xx). */
export function levelForError(code: string, status: number): Level | null {
  if (EXPECTED_REFUSALS.has(code)) return 'info';
  if (UPSTREAM_FAILURES.has(code)) return 'warn';
  return status >= 500 ? 'error' : null;
}
