/**
 * How much of a validation failure an error answer lists. Without a bound the answer grows with the
 * input: a strict object sent a million unknown keys would answer with a million issues (or one
 * message naming them all), and a key may itself be a megabyte. So an answer lists the first
 * MAX_LISTED_ISSUES issues and says how many there were, names the first MAX_LISTED_KEYS unknown
 * keys of an object and how many more, and cuts every key or path it quotes at MAX_QUOTED_CHARS.
 *
 * Keys are the caller's text and a key can be a credential (`{"sk-proj-…": 1}`): every key or path
 * an answer quotes goes through lib/echo.safe.ts — a key that looks like a secret is shown as
 * `[key]`, and unprintable characters as `?`.
 */
import { echoPath, KEY_PLACEHOLDER, looksSecret, printable } from './echo.safe';

export const MAX_LISTED_ISSUES = 20;
export const MAX_LISTED_KEYS = 20;
export const MAX_QUOTED_CHARS = 128;

/** The first MAX_LISTED_ISSUES issues, and `issueCount` (all of them) when some were left out. */
export function listIssues<T>(issues: readonly T[]): { issues: T[]; issueCount?: number } {
  if (issues.length <= MAX_LISTED_ISSUES) return { issues: [...issues] };
  return { issues: issues.slice(0, MAX_LISTED_ISSUES), issueCount: issues.length };
}

/**
 * A key (or a path already rendered by quotedPath) as an error quotes it: at most MAX_QUOTED_CHARS
 * characters, then `…`; `[key]` when it looks like a secret.
 */
export function quoted(text: string): string {
  if (looksSecret(text)) return KEY_PLACEHOLDER;
  return printable(text.length <= MAX_QUOTED_CHARS ? text : `${text.slice(0, MAX_QUOTED_CHARS)}…`);
}

/** A path (zod's segments) as an error quotes it: `a.b[0].c`, each key as echoKey shows it, bounded. */
export function quotedPath(segments: ReadonlyArray<PropertyKey>): string {
  return echoPath(segments, MAX_QUOTED_CHARS);
}

/** `Unrecognized keys: "a", "b" and 3 more` — zod's message, with the list bounded. */
export function unknownKeysMessage(keys: readonly string[]): string {
  const named = keys.slice(0, MAX_LISTED_KEYS).map((key) => `"${quoted(key)}"`);
  const more = keys.length - named.length;
  const label = keys.length === 1 ? 'Unrecognized key' : 'Unrecognized keys';
  return `${label}: ${named.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}
