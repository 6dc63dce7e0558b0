/**
 * The rules of an LLM connection's provider settings as the API applies them
 * (workers/shared/connection.settings.ts: `allowedModels`, `streamIdleTimeoutMs`,
 * `heldStreamTimeoutMs`), so the Provider settings card (connection-llm.settings.tsx) shows a
 * mistake under its field before anything is sent. Pure: no React, no requests
 * (test/dashboard/connection-llm.rules.unit.test.ts holds them against the API's zod schema).
 */

export const MAX_MODEL_GLOBS = 100;
export const MAX_MODEL_GLOB_CHARS = 200;
/** Printable ASCII without spaces: model names have no whitespace or control characters. */
const MODEL_GLOB = /^[\x21-\x7e]+$/;

/** Both stream bounds: 1 s to 1 h, stored in whole milliseconds. */
export const MIN_TIMEOUT_MS = 1000;
export const MAX_TIMEOUT_MS = 3_600_000;
export const DEFAULT_STREAM_IDLE_MS = 300_000;
export const DEFAULT_HELD_STREAM_MS = 570_000;

/** The globs of the textarea, one per line: each line trimmed, blank lines dropped. */
export function modelLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

/** Why the list of globs would be refused (the first problem, naming its line), or null. */
export function modelsIssue(globs: readonly string[]): string | null {
  if (globs.length > MAX_MODEL_GLOBS) return `at most ${MAX_MODEL_GLOBS} model globs (${globs.length} given)`;
  for (const [index, glob] of globs.entries()) {
    if (glob.length > MAX_MODEL_GLOB_CHARS) {
      return `model ${index + 1}: a model glob is at most ${MAX_MODEL_GLOB_CHARS} characters`;
    }
    if (!MODEL_GLOB.test(glob)) {
      return `model ${index + 1} ("${glob}"): a model glob is printable ASCII without spaces`;
    }
  }
  return null;
}

/** A bound typed in seconds (decimals allowed) → milliseconds, or why it is refused. */
export function timeoutMs(seconds: string): { ms: number } | { issue: string } {
  const text = seconds.trim();
  const value = Number(text);
  if (text === '' || !Number.isFinite(value)) return { issue: 'a number of seconds, 1 to 3600' };
  const ms = Math.round(value * 1000);
  if (ms < MIN_TIMEOUT_MS || ms > MAX_TIMEOUT_MS)
    return { issue: 'between 1 second and 3600 seconds (1 hour)' };
  return { ms };
}

/** Milliseconds as the form shows them: seconds, up to three decimals. */
export function secondsOf(ms: number): string {
  return String(Math.round(ms) / 1000);
}

/** `570000` → "9.5 min", `45000` → "45 s": how long a bound is, for the field's hint. */
export function spoken(ms: number): string {
  if (ms >= 60_000) return `${Math.round(ms / 6000) / 10} min`;
  return `${Math.round(ms / 100) / 10} s`;
}
