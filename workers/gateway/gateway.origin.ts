/**
 * Browser callers: Origin validation and CORS for `/v1/mcp/:slug`.
 *
 * Why: the MCP transport spec requires servers to validate `Origin` (DNS-rebinding protection)
 * and to answer 403 when it is present and not allowed. Which origins are allowed:
 *   - the gateway's own origin: PUBLIC_BASE_URL when it is configured; when it is empty (local
 *     development) the origin the request was addressed to. Set PUBLIC_BASE_URL in production:
 *     without it "own origin" comes from the Host header, which a DNS-rebinding page controls.
 *     (API keys are never ambient credentials — no cookies are accepted here — so a rebinding
 *     page still cannot authenticate; the Origin check is the second line.)
 *   - the connection's `settings.allowedOrigins` (scheme://host[:port]; paths are ignored).
 * A request without Origin is not from a browser (SDK clients, curl, servers) and passes. The
 * literal `null` origin (sandboxed frames, file:) never matches.
 *
 * CORS: a preflight carries no Authorization header, so it cannot tell which organization's
 * connection is meant, nor its allowed origins. It therefore answers for any well-formed origin,
 * and the origin is checked on the actual request, after authentication; a refused origin gets
 * its 403 without CORS headers, so the page cannot read even that.
 */

/** Request headers MCP clients send (Mcp-Param-* are reflected from the preflight instead). */
const ALLOWED_REQUEST_HEADERS = [
  'Authorization',
  'Content-Type',
  'Accept',
  'Mcp-Session-Id',
  'MCP-Protocol-Version',
  'Mcp-Method',
  'Mcp-Name',
  'Last-Event-ID',
  'X-Igris-User',
  'X-Igris-Trace-Id',
  'X-Igris-Metadata',
  'traceparent',
  'tracestate',
];

const EXPOSED_RESPONSE_HEADERS = [
  'Mcp-Session-Id',
  'MCP-Protocol-Version',
  'X-Igris-Trace-Id',
  'Retry-After',
  'WWW-Authenticate',
];

const HEADER_TOKEN_LIST = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:[ \t]*,[ \t]*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*$/;

/** `scheme://host[:port]` of a URL or origin, or null when it has none (`null`, garbage). */
export function normalizeOrigin(value: string): string | null {
  try {
    const origin = new URL(value).origin;
    return origin === 'null' ? null : origin;
  } catch {
    return null;
  }
}

/** The gateway's own origin(s) for this request: see the module comment for the fallback. */
export function ownOrigins(requestUrl: string, publicBaseUrl: string): string[] {
  const configured = publicBaseUrl.trim() === '' ? null : normalizeOrigin(publicBaseUrl);
  const own = configured ?? normalizeOrigin(requestUrl);
  return own === null ? [] : [own];
}

/** True when there is no Origin (not a browser) or it is one of `allowed`. */
export function isOriginAllowed(origin: string | null, allowed: readonly string[]): boolean {
  if (origin === null) return true;
  const normalized = normalizeOrigin(origin);
  if (normalized === null) return false;
  return allowed.some((entry) => normalizeOrigin(entry) === normalized);
}

/** CORS headers for an actual request from an allowed browser origin. */
export function corsHeaders(origin: string): Record<string, string> {
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Expose-Headers': EXPOSED_RESPONSE_HEADERS.join(', '),
    Vary: 'Origin',
  };
}

/** Answers an OPTIONS preflight (see the module comment for why it cannot be per connection). */
export function preflightResponse(request: Request): Response {
  const origin = request.headers.get('Origin');
  const headers = new Headers({ Allow: 'GET, POST, DELETE, OPTIONS', Vary: 'Origin' });
  if (origin === null) return new Response(null, { status: 204, headers });
  if (normalizeOrigin(origin) === null) return new Response(null, { status: 403, headers });
  const asked = request.headers.get('Access-Control-Request-Headers');
  // Mcp-Param-{Name} headers are open-ended, so the asked-for list is reflected when well-formed.
  const allowHeaders = asked && HEADER_TOKEN_LIST.test(asked) ? asked : ALLOWED_REQUEST_HEADERS.join(', ');
  headers.set('Access-Control-Allow-Origin', origin);
  headers.set('Access-Control-Allow-Methods', 'GET, POST, DELETE');
  headers.set('Access-Control-Allow-Headers', allowHeaders);
  headers.set('Access-Control-Max-Age', '600');
  headers.append('Vary', 'Access-Control-Request-Headers');
  return new Response(null, { status: 204, headers });
}
