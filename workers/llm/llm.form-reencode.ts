/**
 * A form body forwarded as the gateway's own encoding of the form it read, never as the caller's
 * bytes (docs/llm-gateway.md#forms-are-forwarded-re-encoded).
 *
 * Why: a multipart or URL-encoded body is read here with the runtime's parser — its `model`
 * fields (allowedModels), a batch file's lines, the texts content inspection scans — and the
 * provider reads it with its own. Parsers disagree on bytes outside the grammar's happy path: a
 * preamble or epilogue holding a second form, a part after the close delimiter, a delimiter not at a
 * line start, bare-LF line endings, `;` as a URL-encoded separator, a JSON text labelled as a form.
 * Refusing each known spelling (llm.multipart-type.ts) is a blocklist; forwarding the form as the
 * gateway serializes it from exactly the entries it parsed — in order, names, filenames and file
 * types kept, with a fresh boundary — leaves the provider nothing to read but what was decided on.
 *
 * The runtime serializes the form (a Request built on it: its boundary and Content-Type), so the
 * bytes are the ones a standard client would send for these entries. A text field's part
 * Content-Type is not kept (the runtime reads such a part as a string, decoded as UTF-8, and writes
 * it back as UTF-8): the provider reads the text the gateway read.
 */
import { AppError } from '../lib/errors';

/** The body the gateway forwards for a form, and the Content-Type naming its encoding. */
export interface ReencodedForm {
  bytes: Uint8Array;
  contentType: string;
}

/** The Content-Type of a re-encoded URL-encoded form (what the runtime sends for URLSearchParams). */
export const URLENCODED_TYPE = 'application/x-www-form-urlencoded;charset=UTF-8';

/**
 * The multipart body and Content-Type the runtime writes for `form`'s entries. Asynchronous: the
 * runtime streams a form body, so it is read back whole (its length is known, Content-Length right).
 */
export async function reencodeMultipart(form: FormData, maxBytes: number): Promise<ReencodedForm> {
  const request = new Request('https://form.invalid/', { method: 'POST', body: form });
  const contentType = request.headers.get('Content-Type');
  // The runtime always names its boundary; a form it could not type is not forwarded unread.
  if (!contentType?.toLowerCase().startsWith('multipart/form-data'))
    throw new AppError('internal', { internal: 'the runtime did not type a re-encoded form' });
  return { bytes: held(new Uint8Array(await request.arrayBuffer()), maxBytes), contentType };
}

/**
 * A URL-encoded form's entries as the runtime writes them (`application/x-www-form-urlencoded`
 * serializer: `&` between entries, `=` within, everything else that is not unreserved escaped).
 */
export function reencodeUrlencoded(entries: Iterable<[string, string]>, maxBytes: number): ReencodedForm {
  const params = new URLSearchParams();
  for (const [name, value] of entries) params.append(name, value);
  return { bytes: held(new TextEncoder().encode(params.toString()), maxBytes), contentType: URLENCODED_TYPE };
}

/**
 * A URL-encoded body's entries as the gateway reads them: the body as UTF-8 (a byte that is not is
 * U+FFFD, and that is what is forwarded), `&`-separated, `+` a space.
 */
export function urlencodedEntries(raw: Uint8Array): Array<[string, string]> {
  return [...new URLSearchParams(new TextDecoder().decode(raw))];
}

/**
 * The re-encoding is held to the connection's body limit as the caller's body was: escaping (a
 * name's quote, a URL-encoded byte that is not ASCII) and the runtime's part headers can make it
 * longer than what was sent, and the gateway sends no more than a caller could.
 */
function held(bytes: Uint8Array, maxBytes: number): Uint8Array {
  if (bytes.byteLength <= maxBytes) return bytes;
  throw new AppError('payload_too_large', {
    message: `The form, as the gateway forwards it (re-encoded), is larger than this connection's limit of ${maxBytes} bytes`,
    details: { location: 'body', maxBytes },
  });
}
