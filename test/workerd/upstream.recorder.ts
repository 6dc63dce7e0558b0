/**
 * A recording proxy in front of the test upstream (Node side, started by global-setup.ts): every
 * request the gateway sends through it is logged — method, path, headers and body — and then
 * passed to the real upstream, whose answer is streamed back unchanged. Tests inside workerd read
 * the log over HTTP (`GET /__log?ua=<user agent>`) to prove what the upstream did, or did NOT,
 * receive (the gateway forwards `User-Agent`, so a unique one tags a test's calls). Under
 * `/__echo/` it is instead an upstream that echoes the credential it received (upstream.echo.ts).
 */
import { createServer, type IncomingMessage } from 'node:http';
import { keepIdleConnections, listen } from '../shared/local.server';
import { ECHO_PREFIX, echoCredential } from './upstream.echo';

export interface RecordedCall {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const HOP = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive']);

export async function startRecorder(target: string): Promise<{ url: string; close(): Promise<void> }> {
  const log: RecordedCall[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://recorder');
      if (url.pathname === '/__log') {
        const ua = url.searchParams.get('ua');
        const calls = log.filter((entry) => ua === null || entry.headers['user-agent'] === ua);
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(calls));
        return;
      }
      if (url.pathname.startsWith(`${ECHO_PREFIX}/`)) {
        await readBody(req);
        echoCredential(req, res, url);
        return;
      }
      const body = await readBody(req);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === 'string' && !HOP.has(name)) headers[name] = value;
      }
      log.push({ method: req.method ?? '', path: url.pathname, headers, body: body.toString('utf8') });
      if (log.length > 5000) log.shift();
      const answer = await fetch(`${target}${url.pathname}${url.search}`, {
        method: req.method,
        headers,
        body: body.length > 0 ? new Uint8Array(body) : undefined,
      });
      const out: Record<string, string> = {};
      answer.headers.forEach((value, name) => {
        if (!HOP.has(name)) out[name] = value;
      });
      res.writeHead(answer.status, out);
      if (answer.body) for await (const chunk of answer.body) res.write(chunk);
      res.end();
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(502).end(String(err));
      else res.end();
    });
  });
  const { url, close } = await listen(keepIdleConnections(server));
  return { url, close };
}
