/**
 * A minimal, bounded MCP client for the scanner (docs/tool-integrity.md#mcp-scanner): the
 * handshake (initialize, notifications/initialized) and the three lists, page by page. It sends
 * through the gateway's own transport (`forward`: header allowlist, credential injected last,
 * redirects refused, header timeout), so a scan reaches exactly what a call would.
 *
 * Bounds, because the server being scanned is untrusted: one deadline for the whole scan (it
 * aborts the body reads too), BODY_CAP bytes per answer (lib/http.bounded.ts readRemoteText, so
 * `upstream_too_large` over it), PAGE_CAP pages and ITEM_CAP items per list.
 */
import { forward, type UpstreamTarget } from '../gateway/gateway.forward';
import { SseSplitter } from '../gateway/gateway.sse';
import { echoRemote } from '../lib/echo.remote';
import { AppError } from '../lib/errors';
import { readRemoteText } from '../lib/http.bounded';
import { isRecord } from '../lib/values';

export const BODY_CAP = 1024 * 1024;
export const PAGE_CAP = 5;
export const ITEM_CAP = 1000;
const PROTOCOL_VERSION = '2025-06-18';

export interface McpSession {
  target: UpstreamTarget;
  signal: AbortSignal;
  sessionId: string | null;
  nextId: number;
}

/** The JSON-RPC response with `id` in a JSON or SSE body (other messages are skipped). */
function responseIn(text: string, contentType: string, id: number): Record<string, unknown> | null {
  const messages: unknown[] = [];
  const parse = (raw: string) => {
    try {
      const value: unknown = JSON.parse(raw);
      messages.push(...(Array.isArray(value) ? value : [value]));
    } catch {
      // Not JSON: not an answer.
    }
  };
  if (contentType.includes('text/event-stream')) {
    for (const event of new SseSplitter().push(`${text}\n\n`)) if (event.data) parse(event.data);
  } else parse(text);
  const found = messages.find((m) => isRecord(m) && m.id === id);
  return isRecord(found) ? found : null;
}

export interface RpcAnswer {
  status: number;
  headers: Headers;
  message: Record<string, unknown> | null;
}

/** Sends one JSON-RPC message; for a request, returns the upstream's answer to it. */
export async function send(
  session: McpSession,
  method: string,
  params: Record<string, unknown> | undefined,
  notification = false,
): Promise<RpcAnswer> {
  const id = notification ? 0 : session.nextId++;
  const headers: Record<string, string> = {
    accept: 'application/json, text/event-stream',
    'content-type': 'application/json',
    'mcp-protocol-version': PROTOCOL_VERSION,
  };
  if (session.sessionId) headers['mcp-session-id'] = session.sessionId;
  const incoming = new Request(session.target.url, { method: 'POST', headers, signal: session.signal });
  const body = JSON.stringify({
    jsonrpc: '2.0',
    method,
    ...(notification ? {} : { id }),
    ...(params ? { params } : {}),
  });
  const { response, declaredBytes } = await forward('POST', incoming, session.target, body);
  // At most BODY_CAP (upstream_too_large over it): a Content-Length over it is refused before the
  // body is read, and the connection dropped rather than drained.
  const text = await readRemoteText(response, BODY_CAP, 'scanned MCP server answer', {
    declared: declaredBytes,
  });
  const message = notification ? null : responseIn(text, response.headers.get('content-type') ?? '', id);
  return { status: response.status, headers: response.headers, message };
}

/** Ends the upstream session (best effort: a server that keeps it will expire it). */
export async function endSession(session: McpSession): Promise<void> {
  if (!session.sessionId) return;
  const headers = { 'mcp-session-id': session.sessionId, 'mcp-protocol-version': PROTOCOL_VERSION };
  const incoming = new Request(session.target.url, { method: 'DELETE', headers, signal: session.signal });
  try {
    const { response } = await forward('DELETE', incoming, session.target, null);
    await response.body?.cancel();
  } catch {
    // Nothing to do: the scan's result does not depend on it.
  }
}

/** The `result` of a request, or an AppError naming the method that failed. */
export function resultOf(answer: RpcAnswer, method: string): Record<string, unknown> {
  if (answer.status >= 200 && answer.status < 300 && isRecord(answer.message?.result)) {
    return answer.message.result;
  }
  // The server's error is its text (up to BODY_CAP): echo-safe, should this internal reach a log.
  const error = answer.message?.error;
  throw new AppError('upstream_unreachable', {
    message: `Upstream did not answer ${method}`,
    internal: {
      status: answer.status,
      error: isRecord(error)
        ? { code: typeof error.code === 'number' ? error.code : null, message: echoRemote(error.message) }
        : null,
    },
  });
}

/** Every item of a list (`tools`, `prompts`, `resources`), following `nextCursor` up to the caps. */
export async function listAll(
  session: McpSession,
  kind: 'tools' | 'prompts' | 'resources',
): Promise<{ items: Record<string, unknown>[]; truncated: boolean }> {
  const items: Record<string, unknown>[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < PAGE_CAP; page++) {
    const result = resultOf(
      await send(session, `${kind}/list`, cursor ? { cursor } : undefined),
      `${kind}/list`,
    );
    const list = Array.isArray(result[kind]) ? (result[kind] as unknown[]) : [];
    for (const item of list) if (isRecord(item) && items.length < ITEM_CAP) items.push(item);
    cursor = typeof result.nextCursor === 'string' && result.nextCursor ? result.nextCursor : undefined;
    if (!cursor || items.length >= ITEM_CAP) return { items, truncated: cursor !== undefined };
  }
  return { items, truncated: cursor !== undefined };
}

export const CLIENT_INFO = { name: 'igris-edge-scanner', version: '1.0.0' };
export { PROTOCOL_VERSION };
