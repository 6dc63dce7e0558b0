/**
 * Transport: building the upstream request and streaming the answer back. No policy lives here —
 * by the time `forward` is called every decision has been made.
 *
 * Request headers are forwarded by allowlist, not denylist: a security gateway should not pass
 * along headers it does not understand (the caller's `ig_` key, cookies, hop-by-hop and framing
 * headers, `X-Igris-*`, Cloudflare's own `cf-*`). The upstream credential is injected last so
 * nothing the caller sends can override it.
 */
import { AppError } from '../lib/errors';

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

export interface UpstreamTarget {
  url: string;
  authType: 'bearer' | 'header' | 'none';
  authHeaderName: string | null;
  credential: string | null;
  timeoutMs: number;
}

export function upstreamHeaders(incoming: Headers, target: UpstreamTarget): Headers {
  const headers = new Headers();
  for (const [name, value] of incoming) {
    if (FORWARDED_REQUEST_HEADERS.has(name.toLowerCase())) headers.set(name, value);
  }
  if (target.credential !== null) {
    if (target.authType === 'bearer') headers.set('Authorization', `Bearer ${target.credential}`);
    else if (target.authType === 'header' && target.authHeaderName)
      headers.set(target.authHeaderName, target.credential);
  }
  return headers;
}

export interface ForwardResult {
  response: Response;
  /** Milliseconds until the upstream's response headers arrived. */
  latencyMs: number;
}

/**
 * Sends the request upstream and returns a Response whose body is the upstream's body stream,
 * passed through chunk by chunk (SSE events reach the caller as the upstream writes them).
 */
export async function forward(
  method: 'GET' | 'POST' | 'DELETE',
  incoming: Request,
  target: UpstreamTarget,
  body: string | null,
): Promise<ForwardResult> {
  const started = performance.now();
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new Error('upstream timeout')), target.timeoutMs);
  // The caller hanging up cancels the upstream request too; the timeout covers only the wait
  // for response headers, not a long-lived SSE stream.
  const signal = AbortSignal.any([timeout.signal, incoming.signal]);
  let upstream: Response;
  try {
    upstream = await fetch(target.url, {
      method,
      headers: upstreamHeaders(incoming.headers, target),
      body,
      redirect: 'manual',
      signal,
    });
  } catch (err) {
    const code = timeout.signal.aborted ? 'upstream_timeout' : 'upstream_unreachable';
    throw new AppError(code, { internal: err });
  } finally {
    clearTimeout(timer);
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
  const headers = new Headers();
  for (const [name, value] of upstream.headers) {
    if (!DROPPED_RESPONSE_HEADERS.has(name.toLowerCase())) headers.set(name, value);
  }
  return {
    response: new Response(upstream.body, {
      status: upstream.status,
      statusText: upstream.statusText,
      headers,
    }),
    latencyMs,
  };
}
