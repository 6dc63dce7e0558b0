/**
 * Caller text as an error, a log line, an audit row or a live event may echo it. Pure.
 *
 * Errors name what was wrong: a JSON key (`details.path`), a method, a model, a skill. All of it
 * is text the caller chose, and nobody checked that it is not a credential: a JSON key can BE a
 * token (`{"sk-proj-…": 1}`), an agent can put a key where a method name goes. Whatever is echoed
 * lands in the answer, but also in the audit row and the live event (which other members of the
 * organization read) and in the logs (which operators read). So echoed caller text is:
 *   - bounded (ECHO_CHARS, then `…`) — a key or a method may be a megabyte;
 *   - printable only — control, format (bidi, zero-width) and separator characters become `?`,
 *     so an echo cannot forge a log line or hide what it says;
 *   - replaced whole by a placeholder (`[redacted]`, `[key]` for a path segment) when it looks
 *     like a secret: any built-in credential detector of content inspection matches it (the
 *     `secrets-default` pack, compiled once per isolate — the same rules, not a copy of them), or
 *     it holds a long high-entropy token (tokenLike, for credentials no detector knows).
 * Names the gateway knows (`tools/call`, `message/send`, …) are echoed as they are: callers pass
 * them to `echoName`, which only looks further at a name that is not one of them.
 */
import { builtinRules, packsNamed } from '../inspection/inspection.builtin';
import { compileRules, type Engine, type Finding } from '../inspection/inspection.engine';
import { maskSpans } from '../inspection/inspection.spans';
import { entropy } from '../inspection/inspection.validators';
import { boundedSet } from './bounded.map';

/** Characters of caller text an echo shows. */
export const ECHO_CHARS = 64;
/** How much of it is looked at for a secret: more than is shown, so a secret cut by the bound is still seen whole. */
const SCANNED_CHARS = 512;
export const REDACTED = '[redacted]';
export const KEY_PLACEHOLDER = '[key]';

let engine: Engine | null = null;

/** The built-in credential detectors (the `secrets-default` pack), compiled on first use. */
function secretEngine(): Engine {
  engine ??= compileRules(builtinRules(), packsNamed(['secrets-default']));
  return engine;
}

/**
 * A run of token characters this long, mixing letters and digits, with this much entropy per
 * character, is a credential as far as an echo is concerned. Names are made of short words and
 * numbers joined by `-`, `_`, `.`, `/` (`claude-3-5-sonnet-20241022`, `Llama-3.1-8B-Instruct`,
 * a UUID's 12 hex digits): no piece of them is 20 characters. A token's random part is.
 */
const TOKEN_RUN = /[A-Za-z0-9+/=]{20,}/g;
const MIN_TOKEN_BITS = 3;

function tokenLike(text: string): boolean {
  for (const [run] of text.matchAll(TOKEN_RUN)) {
    if (
      /[0-9]/.test(run) &&
      /[A-Za-z]/.test(run) &&
      entropy(run) >= MIN_TOKEN_BITS &&
      meanPieceLength(run) < MIN_WORD_PIECE
    )
      return true;
  }
  return false;
}

/**
 * A camelCase name with a version in it (`describeEc2InstancesV2`, `ModelContextProtocolServerV2Tools`)
 * is a long run of letters and digits with high entropy too, and an audit row that hid it would not
 * say which tool was called. What tells them apart is the pieces the run splits into at each change
 * of case or between letters and digits: words in a name (`describe`, `Ec`, `2`, `Instances` …, 3.7
 * characters on average), mostly one or two characters in a random token (`9`, `f`, `Kx`, `2`, `Lm` …).
 */
const PIECES = /[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+|[^A-Za-z0-9]+/g;
const MIN_WORD_PIECE = 3;

function meanPieceLength(run: string): number {
  let pieces = 0;
  for (const _ of run.matchAll(PIECES)) pieces++;
  return pieces === 0 ? run.length : run.length / pieces;
}

/** True when `text` (its first SCANNED_CHARS characters) looks like or holds a secret. */
export function looksSecret(text: string): boolean {
  const head = text.length > SCANNED_CHARS ? text.slice(0, SCANNED_CHARS) : text;
  return tokenLike(head) || knownSecret(head);
}

/**
 * True when a built-in credential detector matches `text` (its first SCANNED_CHARS characters):
 * for text that is random by nature (ids, trace ids), where the high-entropy rule would match
 * every legitimate value.
 */
export function knownSecret(text: string): boolean {
  const head = text.length > SCANNED_CHARS ? text.slice(0, SCANNED_CHARS) : text;
  return secretEngine().scan(head, 'args').length > 0;
}

/** Every span of `text` a built-in credential detector matches (none capped). */
export function secretSpans(text: string): Finding[] {
  return secretEngine().redactSpans(text, 'args');
}

/** Control, format (bidi, zero-width, tags), separator and unassigned/surrogate characters. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]|[^\S ]/gu;

/** `text` with its unprintable characters shown as `?`. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, '?');
}

/** `text` bounded to `max` characters (then `…`), unprintable characters shown as `?`. */
function bounded(text: string, max: number): string {
  return printable(text.length > max ? `${text.slice(0, max)}…` : text);
}

/** Caller text as an echo shows it: bounded, printable, `[redacted]` when it looks like a secret. */
export function echoText(text: string, max: number = ECHO_CHARS): string {
  return looksSecret(text) ? REDACTED : bounded(text, max);
}

/**
 * A name an audit row keeps in a column (a method, a tool, a model, a skill): as it is, unless it
 * looks like a secret (then `[redacted]`). Not cut short: a policy matched the name whole, and the
 * row must name what was decided (the caller's name was already bounded where it was read). Every
 * call writes one, and names repeat, so each distinct name is judged once per isolate.
 */
export function auditName(name: string): string {
  let secret = judged.get(name);
  if (secret === undefined) {
    secret = looksSecret(name);
    // Only short names are remembered: a cache of megabyte keys would be a cache of megabytes.
    if (name.length <= JUDGED_NAME_CHARS) boundedSet(judged, name, secret, JUDGED_NAMES);
  }
  return secret ? REDACTED : name;
}

const judged = new Map<string, boolean>();
const JUDGED_NAMES = 2048;
const JUDGED_NAME_CHARS = 256;

/**
 * knownSecret for text that repeats from call to call (an `X-Igris-User`): judged once per
 * isolate, as auditName's names are — a scan of every call's user was ~5 µs of each call.
 */
export function knownSecretOnce(text: string): boolean {
  let secret = judgedKnown.get(text);
  if (secret === undefined) {
    secret = knownSecret(text);
    if (text.length <= JUDGED_NAME_CHARS) boundedSet(judgedKnown, text, secret, JUDGED_NAMES);
  }
  return secret;
}

const judgedKnown = new Map<string, boolean>();

/** A name (method, model, tool, skill): as it is when `known` says the gateway knows it, else echoText. */
export function echoName(name: string, known: (name: string) => boolean, max: number = ECHO_CHARS): string {
  return known(name) ? name : echoText(name, max);
}

/**
 * An id the caller sent (a stored object's, a task's): providers' ids are long and random
 * (`resp_67cc…`), so the high-entropy rule would hide every one of them; an id is shown unless a
 * credential detector knows it.
 */
export function echoId(id: string, max: number = ECHO_CHARS * 2): string {
  return knownSecret(id) ? REDACTED : bounded(id, max);
}

/** A URL path (`/v1/files/abc`): each segment as echoText shows it, the whole bounded at `maxChars`. */
export function echoUrlPath(path: string, maxChars = 200): string {
  const head = path.length > SCANNED_CHARS ? path.slice(0, SCANNED_CHARS) : path;
  const shown = head
    .split('/')
    .map((segment) => (segment === '' ? '' : echoText(segment, maxChars)))
    .join('/');
  return shown.length > maxChars || path.length > head.length ? `${shown.slice(0, maxChars)}…` : shown;
}

/** One object key of a path: bounded and printable, `[key]` when it looks like a secret. */
export function echoKey(key: string, max: number = ECHO_CHARS): string {
  return looksSecret(key) ? KEY_PLACEHOLDER : bounded(key, max);
}

/**
 * A path (zod's issue path, a field path) as an echo shows it: `messages[0].content`, each key
 * through echoKey (array indices stay), the whole bounded at `maxChars` (then `…`).
 */
export function echoPath(segments: ReadonlyArray<PropertyKey>, maxChars = 256): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += `${out === '' ? '' : '.'}${echoKey(String(segment))}`;
    if (out.length > maxChars) return `${out.slice(0, maxChars)}…`;
  }
  return out;
}

/**
 * `text` with every span a built-in credential detector matches replaced by `[redacted]`, the
 * rest as it was: for text that is ours but may have caller text in it (an error message, a log
 * line), where masking the whole would hide what happened. Linear, like every scan; every span,
 * none left out by a rule's per-scan cap (Engine.redactSpans: every secret rule's action is `redact`).
 */
export function redactSecrets(text: string): string {
  return maskSpans(text, secretSpans(text), () => REDACTED);
}
