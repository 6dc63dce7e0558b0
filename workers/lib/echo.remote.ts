/**
 * A remote party's error answer as a log line may keep it. Pure.
 *
 * An identity provider's or token endpoint's error body is the remote's text, and it may echo what
 * the gateway sent it: the authorization code, the PKCE verifier, a client secret (a misconfigured
 * provider, or a proxy in front of it, quoting the form it was posted). Logging the body raw — even
 * its first few hundred characters — would write those into the operators' logs, where the log's
 * last-line redaction (log.ts) only catches what the credential detectors know. So a log line keeps
 * only the OAuth error fields (RFC 6749 §5.2 `error`, `error_description`), each:
 *   - without any value the gateway sent in that exchange (`sent`: replaced by `[redacted]`);
 *   - then as echo-safety shows remote text (echo.safe.ts echoText): bounded, printable, and
 *     `[redacted]` whole when it still looks like a credential.
 * Nothing else of the body is kept, whatever its shape (HTML, a JSON object that quotes the request).
 * Other remote messages a log line quotes (a Langfuse refusal's) pass echoRemote the same way.
 */
import { ECHO_CHARS, echoText, REDACTED } from './echo.safe';

/** Characters of an `error_description` a log line shows (`error` is a short code: ECHO_CHARS). */
export const DESCRIPTION_CHARS = 200;
/** Only text this long is looked for in the answer: a short value would match ordinary words. */
const MIN_SENT_CHARS = 8;
/** How much of a remote body is parsed for its error fields (an OAuth error is a few hundred bytes). */
const PARSED_CHARS = 64 * 1024;

export interface RemoteErrorFields {
  error: string | null;
  description: string | null;
}

function parsed(body: unknown): unknown {
  if (typeof body !== 'string') return body;
  if (body.length > PARSED_CHARS) return null;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return null; // not JSON (an HTML error page): nothing of it is kept
  }
}

function withoutSent(text: string, sent: readonly string[]): string {
  let out = text;
  for (const value of sent)
    if (value.length >= MIN_SENT_CHARS && out.includes(value)) out = out.split(value).join(REDACTED);
  return out;
}

/**
 * One piece of a remote party's text (an error message) as a log line may show it: without any
 * value in `sent`, then echoText at `max` characters. Null when it is not a string.
 */
export function echoRemote(
  text: unknown,
  sent: readonly string[] = [],
  max: number = ECHO_CHARS,
): string | null {
  return typeof text === 'string' ? echoText(withoutSent(text, sent), max) : null;
}

/**
 * The `error` and `error_description` of a remote error answer (`body`: its text, or its parsed
 * JSON), safe for a log line: see the module comment. Null for a field that is absent or not a string.
 */
export function remoteErrorFields(body: unknown, sent: readonly string[] = []): RemoteErrorFields {
  const value = parsed(body);
  const record = value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  return {
    error: echoRemote(record.error, sent, ECHO_CHARS),
    description: echoRemote(record.error_description, sent, DESCRIPTION_CHARS),
  };
}
