/**
 * A careless upstream (Node side, served by the recording proxy under ECHO_PREFIX): it refuses every
 * request and echoes the credential it was sent — the `Authorization` / `X-Api-Key` value and the
 * URL that may carry it as a query parameter — in its error body and in debug headers, as real
 * upstreams do in "invalid key: …" messages. Tests prove the gateway hands none of it to the caller.
 * The status is the path's last segment when it is a number (`…/__echo/503`), else 401.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export const ECHO_PREFIX = '/__echo';

export function echoCredential(req: IncomingMessage, res: ServerResponse, url: URL): void {
  const auth = req.headers.authorization ?? '';
  const apiKey = String(req.headers['x-api-key'] ?? '');
  const last = url.pathname.split('/').pop() ?? '';
  const status = /^[45]\d\d$/.test(last) ? Number(last) : 401;
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: null,
    error: {
      code: -32001,
      type: 'invalid_request_error',
      message: `invalid key: ${auth || apiKey} (url ${req.url})`,
    },
  });
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'X-Debug-Auth': auth || apiKey,
    'X-Debug-Url': req.url ?? '',
  });
  res.end(body);
}
