/**
 * Structured logs (one JSON object a line, which Workers Logs indexes). Callers pass fields,
 * never raw headers or bodies. `redactSensitive` is a last line of defence: any value that looks
 * like an Igris key, a bearer token or a session token is masked before it is written.
 */
type Level = 'debug' | 'info' | 'warn' | 'error';

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

export function log(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
  const entry: Record<string, unknown> = { level, msg, time: new Date().toISOString() };
  for (const [key, value] of Object.entries(fields)) entry[key] = describe(value);
  const line = redactSensitive(JSON.stringify(entry));
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.log(line);
}
