/**
 * Transport: building the upstream request and streaming the answer back. No policy lives here —
 * by the time `forward` is called every decision has been made.
 *
 * Request headers are forwarded by allowlist, not denylist: a security gateway should not pass
 * along headers it does not understand (the caller's `ig_` key, cookies, `Origin`, hop-by-hop and
 * framing headers, `X-Igris-*`, Cloudflare's own `cf-*`). The one open-ended family is
 * `Mcp-Param-*`: the spec says intermediaries MUST forward them (they mirror tool arguments the
 * upstream validates). Headers the caller names in `Connection` are hop-by-hop by definition
 * (RFC 9110 §7.6.1) and are never forwarded, whatever the allowlist says — when the header reaches
 * the Worker at all: workerd removes `Connection` before the Worker runs and Cloudflare's edge
 * replaces it with `Keep-Alive`, leaving the headers it named in place. So the allowlist is what
 * really keeps hop-by-hop headers back (no standard one is on it), and the only headers a caller
 * can name and still see forwarded are `Mcp-Param-*`, which the upstream validates anyway. The upstream
 * credential is injected last so nothing the caller sends can override it — as a header, or for
 * authType 'query' as a query parameter of the upstream URL (kept out of every error we log).
 * Whatever the upstream echoes of it is redacted from the answer's headers and from a non-2xx body
 * (gateway.redact.ts); a 2xx body streams back untouched.
 *
 * Timeouts: `upstreamTimeoutMs` bounds the wait for response headers of POST and DELETE. A GET
 * opens the server's long-lived stream, and SDK servers send its headers only with the first
 * event or keep-alive (server-everything: ~15 s), so a GET has no header timeout; it ends when
 * the caller hangs up. The response body is not timed here: an LLM stream's gaps (and a held
 * one's whole read) are bounded by gateway.stall.ts; MCP and A2A streams live as long as needed.
 */
import { AppError } from '../lib/errors.js';
import { declaredLength } from '../lib/http.bounded.js';
import { type ErrorBody, formsFor, holdsCredential, readErrorBody, redactText } from './gateway.redact.js';

const FORWARDED_REQUEST_HEADERS = new Set([
  'accept',
  'content-type',
  'last-event-id',
  'mcp-session-id',
  'mcp-protocol-version',
  'mcp-method',
  'mcp-name',
  'traceparent',
  'tracestate',
  'baggage',
  'user-agent',
]);

/** Mirrored tool-argument headers (2026-07-28): forwarded whatever their name. */
const FORWARDED_REQUEST_PREFIX = 'mcp-param-';

/** Response headers that describe the hop, not the message, or that must not reach the caller. */
const DROPPED_RESPONSE_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'content-length',
  'content-encoding',
  // An upstream cookie would be set on the gateway's domain, next to the dashboard session.
  'set-cookie',
  // The gateway is the caller's authority; the upstream's auth challenge would mislead MCP
  // clients into starting an OAuth flow against the upstream with the gateway's URL.
  'www-authenticate',
  'alt-svc',
  'server',
]);

/**
 * Every CORS response header of the upstream is dropped: the gateway owns CORS (gateway.origin.ts,
 * per connection's allowedOrigins). An upstream's `Access-Control-Allow-Origin: *` or
 * `…-Allow-Credentials: true` would otherwise let pages the connection never allowed read answers,
 * and `…-Expose-Headers` would widen what they see.
 */
const CORS_PREFIX = 'access-control-';

export interface UpstreamTarget {
  url: string;
  authType: 'bearer' | 'header' | 'query' | 'none';
  /** The header name for 'header'; the query parameter name for 'query' (one stored column). */
  authHeaderName: string | null;
  credential: string | null;
  timeoutMs: number;
  /**
   * Which caller headers (lower-case names) this protocol forwards; MCP's allowlist by default
   * (`mcpForwardsHeader`). Each protocol adapter names its own (gateway.adapter.ts `upstream`).
   */
  forwardsHeader?: (name: string) => boolean;
  /** Headers the gateway sets itself (e.g. a provider's `anthropic-version`), before the credential. */
  headers?: Record<string, string>;
}

/** Header names listed in `Connection`: they describe this hop only. */
function connectionTokens(headers: Headers): Set<string> {
  const value = headers.get('Connection');
  if (!value) return new Set();
  return new Set(
    value
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter(Boolean),
  );
}

/** MCP's request-header allowlist (see the module comment). */
export function mcpForwardsHeader(name: string): boolean {
  return FORWARDED_REQUEST_HEADERS.has(name) || name.startsWith(FORWARDED_REQUEST_PREFIX);
}

export function upstreamHeaders(incoming: Headers, target: UpstreamTarget): Record<string, string> {
  // A plain record, handed to fetch as is: building a Headers object here (and setting on it) cost
  // ~3x the record in a workerd micro-benchmark (BENCHMARKS.md, session 17). Keys are lower-case, so
  // a credential header always replaces whatever the caller sent under any spelling of its name.
  const headers: Record<string, string> = {};
  const hopByHop = connectionTokens(incoming);
  const forwardable = target.forwardsHeader ?? mcpForwardsHeader;
  for (const [rawName, value] of incoming) {
    const name = rawName.toLowerCase();
    if (forwardable(name) && !hopByHop.has(name)) headers[name] = value;
  }
  for (const [name, value] of Object.entries(target.headers ?? {})) headers[name.toLowerCase()] = value;
  if (target.credential !== null) {
    if (target.authType === 'bearer') headers.authorization = `Bearer ${target.credential}`;
    else if (target.authType === 'header' && target.authHeaderName)
      headers[target.authHeaderName.toLowerCase()] = target.credential;
  }
  return headers;
}

/**
 * The URL the request goes to: the stored upstream URL, plus the credential as a query parameter
 * for authType 'query' (set, not appended, so the URL cannot carry a second value of it).
 */
export function upstreamRequestUrl(target: UpstreamTarget): string {
  if (target.authType !== 'query' || target.credential === null || !target.authHeaderName) return target.url;
  const url = new URL(target.url);
  url.searchParams.set(target.authHeaderName, target.credential);
  return url.href;
}

/** A fetch failure with the credential cut out (a runtime error message may quote the URL). */
function scrubbed(err: unknown, target: UpstreamTarget): unknown {
  if (target.authType !== 'query' || !target.credential) return err;
  const forms = formsFor(target.credential);
  const scrub = (text: string) => redactText(text, forms);
  if (!(err instanceof Error)) return scrub(String(err));
  return { name: err.name, message: scrub(err.message), stack: scrub(err.stack ?? '') };
}

export interface ForwardResult {
  response: Response;
  /** Milliseconds until the upstream's response headers arrived. */
  latencyMs: number;
  /**
   * A non-2xx answer with a body: its one read (readErrorBody: capped, timed, the credential
   * redacted), made here already when a credential was injected, else when first asked for —
   * content inspection asks (gateway.error-answer.ts), and then `response`'s body is spent: what
   * is sent is built from these bytes. Absent for a 2xx or an answer without a body.
   */
  errorBody?: () => Promise<ErrorBody>;
  /**
   * The body length the upstream declared (lib/http.bounded.ts declaredLength), which `response`
   * no longer carries (Content-Length is a hop header): a reader that caps the answer refuses one
   * declared over its cap before reading it.
   */
  declaredBytes: number | null;
}

/**
 * Sends the request upstream and returns a Response whose body is the upstream's body stream,
 * passed through chunk by chunk (SSE events reach the caller as the upstream writes them).
 */
export async function forward(
  method: 'GET' | 'POST' | 'DELETE',
  incoming: Request,
  target: UpstreamTarget,
  body: BodyInit | null,
): Promise<ForwardResult> {
  const started = performance.now();
  const timeout = new AbortController();
  // See the module comment: a GET stream's headers may legitimately take longer than any
  // sensible header timeout.
  const timer =
    method === 'GET'
      ? null
      : setTimeout(() => timeout.abort(new Error('upstream timeout')), target.timeoutMs);
  // The caller hanging up cancels the upstream request too; once the body streams, the caller
  // cancelling it cancels the upstream body (for 2026-07-28 that is the cancellation signal).
  const signal = AbortSignal.any([timeout.signal, incoming.signal]);
  let upstream: Response;
  try {
    upstream = await fetch(upstreamRequestUrl(target), {
      method,
      headers: upstreamHeaders(incoming.headers, target),
      body,
      redirect: 'manual',
      signal,
    });
  } catch (err) {
    const code = timeout.signal.aborted ? 'upstream_timeout' : 'upstream_unreachable';
    throw new AppError(code, { internal: scrubbed(err, target) });
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
  const latencyMs = Math.round(performance.now() - started);
  if (upstream.status >= 300 && upstream.status < 400) {
    // Following a redirect could take the credential to another host; refuse instead.
    await upstream.body?.cancel();
    throw new AppError('upstream_unreachable', {
      message: 'Upstream answered with a redirect',
      internal: { status: upstream.status },
    });
  }
  return {
    ...(await downstreamResponse(upstream, target)),
    latencyMs,
    declaredBytes: declaredLength(upstream),
  };
}

const NO_FORMS: readonly string[] = [];

/**
 * The answer the caller gets. With no credential injected it is the upstream's, headers filtered.
 * With one, whatever the upstream echoes of it is redacted (gateway.redact.ts) from the headers,
 * the status text and a non-2xx body. A 2xx body is never read here: it streams back untouched
 * (the hot path; gateway.redact.ts says why its echo is the upstream's own flaw). A non-2xx body
 * is read at most once, whoever reads it first (`errorBody`).
 */
async function downstreamResponse(
  upstream: Response,
  target: UpstreamTarget,
): Promise<Pick<ForwardResult, 'response' | 'errorBody'>> {
  const forms = target.credential ? formsFor(target.credential) : NO_FORMS;
  const init: ResponseInit = {
    status: upstream.status,
    statusText: forms.length > 0 ? redactText(upstream.statusText, forms) : upstream.statusText,
    headers: downstreamHeaders(upstream.headers, forms),
  };
  if (upstream.ok || upstream.body === null) return { response: new Response(upstream.body, init) };
  let read: Promise<ErrorBody> | null = null;
  const once = (body: ReadableStream<Uint8Array>) => () => {
    read ??= readErrorBody(body, forms, target.timeoutMs);
    return read;
  };
  if (forms.length === 0) {
    // Streamed as it comes unless a stage asks for the body: then read from the response, once.
    const response = new Response(upstream.body, init);
    return { response, errorBody: once(response.body!) };
  }
  const errorBody = once(upstream.body);
  const { bytes } = await errorBody();
  return { response: new Response(bytes as Uint8Array<ArrayBuffer>, init), errorBody };
}

/**
 * The upstream's response headers minus those that describe the hop or must not reach the caller,
 * and with every form of the injected credential (`forms`, credentialForms) redacted from the
 * values — a header whose name holds one is dropped.
 */
export function downstreamHeaders(
  upstream: Headers,
  forms: readonly string[] = NO_FORMS,
): Record<string, string> {
  const headers: Record<string, string> = {};
  const hopByHop = connectionTokens(upstream);
  for (const [rawName, value] of upstream) {
    const name = rawName.toLowerCase();
    if (DROPPED_RESPONSE_HEADERS.has(name) || hopByHop.has(name) || name.startsWith(CORS_PREFIX)) continue;
    if (forms.length === 0) headers[name] = value;
    else if (!holdsCredential(name, forms)) headers[name] = redactText(value, forms);
  }
  return headers;
}
