/**
 * The byte cap of the OAuth forms: the token endpoint's body and the consent page's. `/token` is
 * open to anyone (a client presents a code, a refresh token or an assertion), and both this route
 * and the OAuth library read its form whole: without a cap, an anonymous caller's 100 MB form would be buffered twice. A token request is
 * a handful of form fields; the largest, an ID-JAG assertion (Cross App Access), is a few KiB. The
 * consent form (signed-in people only) is a handle, a decision, a connection and its scopes.
 *
 * Read once with the gateway's streamed reader (a declared length over the cap is refused unread; a
 * chunked body is cut off at the cap); the route and the library then read the same bytes again
 * from a request built on them. Over the cap: 413 with the OAuth error shape (RFC 6749 §5.2
 * `invalid_request`), as the library answers an oversized registration.
 */
import { AppError } from '../lib/errors';
import { readCapped } from '../lib/http.bounded';

export const TOKEN_BODY_BYTES = 64 * 1024;

/** The request with its body read within `maxBytes`, or the 413 answer to send instead. */
export async function cappedFormRequest(
  request: Request,
  maxBytes = TOKEN_BODY_BYTES,
): Promise<Request | Response> {
  if (request.body === null) return request;
  try {
    const bytes = await readCapped(request, maxBytes, () => new AppError('payload_too_large'));
    return new Request(request, { body: bytes });
  } catch (err) {
    if (!(err instanceof AppError) || err.code !== 'payload_too_large') throw err;
    return Response.json(
      {
        error: 'invalid_request',
        error_description: `Request payload too large, must be at most ${maxBytes} bytes`,
      },
      { status: 413, headers: { 'Cache-Control': 'no-store' } },
    );
  }
}
