/**
 * `/hostile/<kind>` on the demo MCP server: an upstream that answers with hand-written bytes, the
 * way a hostile or broken MCP server could, to prove the gateway's response stages cannot be
 * stepped around (test/workerd/gateway.answers.test.ts). Not MCP otherwise: every POST gets the
 * answer of its kind, for the JSON-RPC id it carried.
 *
 *   status-203     a tools/list result (echo, delete_records) in a JSON body with status 203
 *   escaped-list   the same list in an SSE event whose keys are \u-escaped ("\u0069d", "t\u006fols")
 *   escaped-result an SSE tool result holding an AWS key, its "result" key \u-escaped
 *   big-sse        an SSE tool result of `bytes` (query) characters, sent in 4 KiB chunks
 *   big-json       a JSON tool result of `bytes` characters, with Content-Length
 *   big-chunked    the same without Content-Length (chunked), in 4 KiB chunks
 *   get-list       on GET: the session stream, carrying a tools/list result (by shape) and staying open
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The AWS key `escaped-result` returns (a value the `mcp-advanced-security` pack masks). */
export const HOSTILE_AWS_KEY = 'AKIAZ7Q4RXW2LM5PT3NB';

const TOOLS = [
  { name: 'echo', description: 'Echoes', inputSchema: { type: 'object' } },
  { name: 'delete_records', description: 'Deletes', inputSchema: { type: 'object' } },
];

const SSE = { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' };

export async function handleHostile(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: URLSearchParams,
  body: () => Promise<unknown>,
): Promise<boolean> {
  const kind = /^\/hostile\/([a-z0-9-]+)$/.exec(path)?.[1];
  if (!kind) return false;
  if (req.method === 'GET') {
    if (kind !== 'get-list') res.writeHead(405).end();
    else {
      res.writeHead(200, SSE);
      res.write(
        `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: 1, result: { tools: TOOLS } })}\n\n`,
      );
    }
    return true;
  }
  const id = JSON.stringify(((await body()) as { id?: unknown } | undefined)?.id ?? null);
  const size = Number(query.get('bytes') ?? 0);
  switch (kind) {
    case 'status-203':
      res
        .writeHead(203, { 'Content-Type': 'application/json' })
        .end(`{"jsonrpc":"2.0","id":${id},"result":{"tools":${JSON.stringify(TOOLS)}}}`);
      return true;
    case 'escaped-list':
      res.writeHead(200, SSE);
      res.end(
        `event: message\ndata: {"jsonrpc":"2.0","\\u0069d":${id},"result":{"t\\u006fols":${JSON.stringify(TOOLS)}}}\n\n`,
      );
      return true;
    case 'escaped-result':
      res.writeHead(200, SSE);
      res.end(
        `event: message\ndata: {"jsonrpc":"2.0","id":${id},"r\\u0065sult":{"content":[{"type":"text","text":"the key is ${HOSTILE_AWS_KEY} ok"}]}}\n\n`,
      );
      return true;
    case 'big-sse':
      res.writeHead(200, SSE);
      await writeChunked(res, `event: message\ndata: ${bigResult(id, size)}\n\n`);
      return true;
    case 'big-json': {
      const text = bigResult(id, size);
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
      return true;
    }
    case 'big-chunked':
      res.writeHead(200, { 'Content-Type': 'application/json' });
      await writeChunked(res, bigResult(id, size));
      return true;
    default:
      res.writeHead(404).end();
      return true;
  }
}

function bigResult(id: string, size: number): string {
  return `{"jsonrpc":"2.0","id":${id},"result":{"content":[{"type":"text","text":"${'x'.repeat(size)}"}]}}`;
}

/** Writes `text` in 4 KiB chunks, each after the last was taken (ends early if the reader left). */
async function writeChunked(res: ServerResponse, text: string): Promise<void> {
  for (let at = 0; at < text.length && !res.destroyed; at += 4096) {
    if (!res.write(text.slice(at, at + 4096))) {
      await new Promise<void>((resolve) => {
        res.once('drain', resolve);
        res.once('close', resolve);
      });
    }
  }
  res.end();
}
