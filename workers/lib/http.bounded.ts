/**
 * Bodies read with a byte cap: a caller's request, an upstream's answer, and every document the
 * gateway fetches for itself from a remote party (an authorization server's metadata and token
 * answers, a sign-in provider's answers and keys, a Langfuse acknowledgement). A hostile or broken
 * remote must not make the isolate buffer an unbounded body, so nothing is read past its cap:
 *
 * - a declared Content-Length over the cap is refused before anything is read (and, for a remote
 *   answer, the body is cancelled so the connection is dropped, not drained);
 * - a chunked body, or one whose length the runtime cannot vouch for (a Content-Encoding it
 *   decodes), is counted while it streams and cancelled at the cap.
 *
 * The caps of the remote documents are REMOTE_BODY_LIMITS (docs/security-model.md#remote-answer-limits).
 */
import { AppError } from './errors.js';
import { concatBytes } from './values.js';

const KIB = 1024;

/**
 * The caps of what the gateway reads from remote parties for itself, each well above the real
 * documents of its kind (Google's, Entra ID's and Okta's OIDC metadata are 2–5 KB, a token answer
 * or a JWKS a few KB, GitHub's user and emails answers a few KB, a Langfuse acknowledgement about
 * 100 bytes an event). Read by the same reader with caps of their own, named where they are read:
 * an AgentCard (a2a.card.ts MAX_CARD_BYTES), a scanned MCP server's answers (scans.client.ts
 * BODY_CAP). Capped elsewhere: an upstream's error body (gateway.redact.ts ERROR_BODY_CAP_BYTES,
 * cut there rather than refused), the OAuth library's ID-JAG issuer keys (64 KiB) and client
 * metadata documents (5 KiB). Webhook and OTLP answers are not read.
 */
export const REMOTE_BODY_LIMITS = {
  /** An authorization server's metadata (OIDC discovery or RFC 8414). */
  authServerMetadata: 256 * KIB,
  /** A token endpoint's answer (code redemption, refresh). */
  tokenResponse: 64 * KIB,
  /** A sign-in provider's JSON Web Key Set (the OAuth library caps ID-JAG issuers' at the same). */
  jwks: 64 * KIB,
  /** A sign-in provider's REST answers about the person (GitHub's user and emails). */
  profile: 64 * KIB,
  /** Langfuse's answer to an ingestion batch (read only for the events it refused). */
  ingestionAnswer: 64 * KIB,
} as const;

/**
 * The body's length as declared, or null when it is not one the runtime delivers as is: a
 * Content-Encoding the runtime decodes (an upstream's gzip) makes it the encoded length, so the
 * decoded body is counted while reading instead.
 */
export function declaredLength(message: Request | Response): number | null {
  const declared = Number.parseInt(message.headers.get('Content-Length') ?? '', 10);
  const identity = (message.headers.get('Content-Encoding') ?? 'identity').toLowerCase() === 'identity';
  return identity && Number.isFinite(declared) ? declared : null;
}

/**
 * A request's or an upstream answer's body, refused (`tooLarge()` thrown) once it is longer than
 * `maxBytes`, without buffering the rest. `declared` is the length the sender declared, when the
 * message's own headers no longer carry it (an upstream answer passed on by the gateway's
 * transport, whose Content-Length it drops): it only refuses early; the body is still counted.
 */
export async function readCapped(
  message: Request | Response,
  maxBytes: number,
  tooLarge: () => AppError,
  declared: number | null = null,
): Promise<Uint8Array> {
  if (declared !== null && declared > maxBytes) throw tooLarge();
  const own = declaredLength(message);
  if (own !== null && own > maxBytes) throw tooLarge();
  if (!message.body) return new Uint8Array(0);
  if (own !== null) {
    // A declared length within the cap: the runtime reads the body natively (and never delivers more
    // than the declared length), so no JavaScript loop over chunks is needed.
    const body = new Uint8Array(await message.arrayBuffer());
    if (body.byteLength > maxBytes) throw tooLarge();
    return body;
  }
  // Chunked (no length): count while reading, and stop at the cap instead of buffering the rest.
  const reader = message.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  return concatBytes(chunks, total);
}

/**
 * 502 `upstream_too_large` for a remote document over its cap: the public message is the code's
 * generic one; what was read, from where, and the cap go to the logs only (`internal`).
 */
export function remoteTooLarge(what: string, maxBytes: number): AppError {
  return new AppError('upstream_too_large', { internal: { what, maxBytes } });
}

/** How a remote answer over its cap is refused, and what is known of its length. */
export interface RemoteReadOptions {
  /** The error thrown over the cap (default: remoteTooLarge). */
  tooLarge?: () => AppError;
  /** The length the remote declared, when the answer's headers no longer carry it (readCapped). */
  declared?: number | null;
}

/**
 * A remote party's answer read whole, at most `maxBytes` (`remoteTooLarge` thrown over it, or
 * `options.tooLarge`). A refused body is cancelled, so the connection is dropped rather than drained.
 */
export async function readRemoteBody(
  response: Response,
  maxBytes: number,
  what: string,
  options: RemoteReadOptions = {},
): Promise<Uint8Array> {
  const tooLarge = options.tooLarge ?? (() => remoteTooLarge(what, maxBytes));
  try {
    return await readCapped(response, maxBytes, tooLarge, options.declared ?? null);
  } catch (err) {
    await response.body?.cancel().catch(() => {});
    throw err;
  }
}

/** As readRemoteBody, decoded as UTF-8 (a malformed sequence becomes U+FFFD, as `.text()` does). */
export async function readRemoteText(
  response: Response,
  maxBytes: number,
  what: string,
  options: RemoteReadOptions = {},
): Promise<string> {
  return new TextDecoder().decode(await readRemoteBody(response, maxBytes, what, options));
}

/** Statuses whose Response may carry no body (the constructor throws on one). */
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/**
 * A `fetch` for a library that fetches for itself (oauth4webapi's and jose's `customFetch`): the
 * answer read whole here, at most `maxBytes`, and handed to the library as a Response of those
 * bytes — so the library's own `.json()` can never buffer more. Over the cap the library's call
 * throws `remoteTooLarge` (the library does not catch a failing fetch).
 */
export function cappedFetch(maxBytes: number, what: string): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    const body = await readRemoteBody(response, maxBytes, what);
    const headers = new Headers(response.headers);
    // The bytes are the decoded body: its encoding and encoded length no longer describe them.
    headers.delete('Content-Encoding');
    headers.delete('Content-Length');
    return new Response(NULL_BODY_STATUSES.has(response.status) ? null : (body as BodyInit), {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  };
}
