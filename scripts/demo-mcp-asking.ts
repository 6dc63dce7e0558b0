/**
 * `/asking/<kind>` on the demo MCP server: an upstream that sends the client server→client
 * requests (`sampling/createMessage`, `elicitation/create`…) in hand-written answers, for the
 * gateway's minted server-request ids (test/workerd/gateway.responses.test.ts). Not MCP otherwise.
 * The server request's method is `?method=` (default `sampling/createMessage`) and its id `?sid=`,
 * read as JSON (default 7: a number; `"s-1"`: a string).
 *
 *   sse        a request gets an SSE answer: the server request, then the request's result
 *   json       a request gets a JSON batch body: [the server request, the request's result]
 *   escaped    like sse, the server request's keys \u-escaped ("\u006dethod", "\u0069d")
 *   plain      a request gets an SSE answer with a notification (no id) and its result: no server request
 *   lone       a request gets a JSON body that is the server request alone (no result)
 *   lonebatch  a request gets a JSON batch body holding only the server request
 *   (any)      on GET: an SSE stream carrying the server request, then its end
 * A notification or a response (the client's answer) gets 202 and no body, like a real server; the
 * recording proxy in front (test/workerd/upstream.recorder.ts) shows what arrived.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

const SSE = { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' };

export async function handleAsking(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: URLSearchParams,
  body: () => Promise<unknown>,
): Promise<boolean> {
  const kind = /^\/asking\/([a-z]+)$/.exec(path)?.[1];
  if (!kind) return false;
  const asked = {
    jsonrpc: '2.0',
    id: JSON.parse(query.get('sid') ?? '7') as unknown,
    method: query.get('method') ?? 'sampling/createMessage',
    params: { messages: [{ role: 'user', content: { type: 'text', text: 'hello?' } }], maxTokens: 5 },
  };
  const event = (message: unknown) => `event: message\ndata: ${JSON.stringify(message)}\n\n`;
  if (req.method === 'GET') {
    res.writeHead(200, SSE);
    res.end(event(asked));
    return true;
  }
  const message = (await body()) as { id?: unknown; method?: unknown } | undefined;
  if (message === undefined || Array.isArray(message) || message.id === undefined || !message.method) {
    res.writeHead(202).end();
    return true;
  }
  const result = { jsonrpc: '2.0', id: message.id, result: { content: [{ type: 'text', text: 'asked' }] } };
  switch (kind) {
    case 'sse':
      res.writeHead(200, SSE).end(event(asked) + event(result));
      return true;
    case 'json':
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify([asked, result]));
      return true;
    case 'escaped': {
      const escaped = JSON.stringify(asked)
        .replace('"method"', '"\\u006dethod"')
        .replace('"id"', '"\\u0069d"');
      res.writeHead(200, SSE).end(`event: message\ndata: ${escaped}\n\n${event(result)}`);
      return true;
    }
    case 'plain': {
      const note = { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'hi' } };
      res.writeHead(200, SSE).end(event(note) + event(result));
      return true;
    }
    case 'lone':
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(asked));
      return true;
    case 'lonebatch':
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify([asked]));
      return true;
    default:
      res.writeHead(404).end();
      return true;
  }
}
