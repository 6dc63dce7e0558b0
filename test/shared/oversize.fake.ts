/**
 * A local remote party whose answers can be made too large — real HTTP on 127.0.0.1 — for the
 * tests of the caps on what the gateway reads for itself (lib/http.bounded.ts REMOTE_BODY_LIMITS).
 *
 * Every URL starts with `/r/<run>/<padded>/<bytes>/<framing>`: the one kind of answer named by
 * `<padded>` is padded (a JSON string member, or an extra array item) to at least `<bytes>` bytes,
 * sent with a Content-Length (`declared`) or chunked without one (`streamed`); every other answer
 * is an ordinary, small one. `held` declares the padded answer's Content-Length too, but holds its
 * body back (HOLD_MS) until the client drops the connection: a reader that refuses a declared
 * length over its cap drops it before a byte of the body is written; one that reads first waits.
 * Under that prefix it serves, as real providers do:
 *
 * - `metadata`: an authorization server's metadata (OIDC discovery and RFC 8414), naming the
 *   prefix as issuer and `<prefix>/authorize`, `<prefix>/token`;
 * - `code` / `refresh`: `/token` answers for grant_type authorization_code / refresh_token (a
 *   Google-style id_token, RS256 by this fake's key, when the keys are the padded answer);
 * - `user` / `emails`: GitHub's `/user` and `/user/emails`;
 * - `jwks`: `/jwks`, the key that signs the id_tokens;
 * - `ingestion`: Langfuse's `/api/public/ingestion` acknowledgement (207; with `<padded>` `echo`,
 *   an event refused by a message that quotes the request's Basic credentials);
 * - `card`: an A2A AgentCard at `/.well-known/agent-card.json` (its JSON-RPC endpoint `<prefix>/a2a`);
 * - `tools`: an MCP server at `/mcp` (Streamable HTTP, JSON answers): initialize, the
 *   initialized notification (202), `tools/list` (one tool: the padded answer), DELETE (204).
 *
 * GET `/_log?run=<run>` says, per answer sent, whether the client read it to its end (`finished`)
 * or dropped the connection first — how a test sees that a reader stopped at its cap.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { listen } from './local.server';

export interface OversizeLogEntry {
  run: string;
  kind: string;
  padded: boolean;
  bytes: number;
  /** The whole answer was handed to the socket. */
  finished: boolean;
  /** The exchange is over: finished, or the client dropped the connection first. */
  closed: boolean;
  /** A byte of the body was handed to the socket (`held`: false when the client dropped it first). */
  bodyWritten: boolean;
}

type Framing = 'declared' | 'streamed' | 'held';

/** How long a `held` body is held back before it is written anyway (to a reader that waited for it). */
const HOLD_MS = 3000;

const CHUNK = 64 * 1024;

function base64Url(bytes: Buffer): string {
  return bytes.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** `body` as JSON of at least `min` bytes: a `x_padding` member (objects) or item (arrays). */
function padded(body: unknown, min: number): string {
  const plain = JSON.stringify(body);
  const fill = 'x'.repeat(Math.max(0, min - plain.length));
  if (Array.isArray(body))
    return JSON.stringify([
      ...body,
      { email: 'padding@example.com', primary: false, verified: false, x_padding: fill },
    ]);
  return JSON.stringify({ ...(body as object), x_padding: fill });
}

type Answer = (kind: string, body: unknown, status?: number) => void;

/** A minimal MCP server (JSON answers): enough for the scanner's handshake and its lists. */
async function mcp(req: http.IncomingMessage, res: http.ServerResponse, answer: Answer): Promise<void> {
  if (req.method === 'DELETE') return void res.writeHead(204).end();
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const message = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id?: number; method: string };
  if (message.id === undefined) return void res.writeHead(202).end();
  const result = (value: unknown) => ({ jsonrpc: '2.0', id: message.id, result: value });
  if (message.method === 'initialize')
    return answer(
      'initialize',
      result({
        protocolVersion: '2025-06-18',
        capabilities: { tools: {} },
        serverInfo: { name: 'oversize-mcp', version: '1.0.0' },
      }),
    );
  if (message.method === 'tools/list')
    return answer(
      'tools',
      result({
        tools: [
          {
            name: 'echo',
            description: 'Echoes its text.',
            inputSchema: { type: 'object', properties: { text: { type: 'string', maxLength: 100 } } },
          },
        ],
      }),
    );
  return answer('error', { jsonrpc: '2.0', id: message.id, error: { code: -32601, message: 'not found' } });
}

export async function startOversizeFake(): Promise<{ url: string; close(): Promise<void> }> {
  const signing = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(signing.publicKey)), kid: 'oversize-1', alg: 'RS256', use: 'sig' };
  const log: OversizeLogEntry[] = [];
  let base = '';
  let n = 0;

  /** Writes `text` honouring back-pressure; logs whether the client took all of it. */
  const send = (
    res: http.ServerResponse,
    entry: OversizeLogEntry,
    text: string,
    framing: Framing,
    status = 200,
  ) => {
    const bytes = Buffer.from(text);
    entry.bytes = bytes.byteLength;
    log.push(entry);
    const headers: Record<string, string | number> = { 'Content-Type': 'application/json' };
    if (framing !== 'streamed') headers['Content-Length'] = bytes.byteLength;
    res.writeHead(status, headers);
    res.on('finish', () => {
      entry.finished = true;
    });
    res.on('close', () => {
      entry.closed = true;
    });
    let offset = 0;
    const pump = () => {
      while (offset < bytes.byteLength && !res.destroyed) {
        const chunk = bytes.subarray(offset, offset + CHUNK);
        offset += chunk.byteLength;
        entry.bodyWritten = true;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      if (!res.destroyed) res.end();
    };
    if (framing !== 'held' || !entry.padded || bytes.byteLength === 0) return pump();
    // The head now, the body only once HOLD_MS have passed (unless the client hangs up first).
    res.flushHeaders();
    const timer = setTimeout(pump, HOLD_MS);
    res.once('close', () => clearTimeout(timer));
  };

  const readBody = async (req: http.IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };

  const idToken = async (form: URLSearchParams, issuer: string) => {
    const verifier = form.get('code_verifier') ?? '';
    const nonce = base64Url(createHash('sha256').update(`nonce:${verifier}`).digest());
    return new SignJWT({
      nonce,
      email: 'remote.limits@example.com',
      email_verified: true,
      name: 'Remote Limits',
    })
      .setProtectedHeader({ alg: 'RS256', kid: jwk.kid })
      .setIssuer(issuer)
      .setAudience(form.get('client_id') ?? '')
      .setSubject('oversize-subject')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(signing.privateKey);
  };

  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', base);
      if (url.pathname === '/_log') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(log.filter((e) => e.run === url.searchParams.get('run'))));
        return;
      }
      // RFC 8414 puts the well-known segment before the issuer's path.
      const rfc8414 = url.pathname.startsWith('/.well-known/oauth-authorization-server/');
      const path = rfc8414
        ? url.pathname.slice('/.well-known/oauth-authorization-server'.length)
        : url.pathname;
      const match = /^\/r\/([^/]+)\/([a-z]+)\/(\d+)\/(declared|streamed|held)(\/.*)?$/.exec(path);
      if (!match) {
        res.writeHead(404).end();
        return;
      }
      const [, run = '', pad = '', size = '0', framing = 'declared', rest = ''] = match;
      const prefix = `${base}/r/${run}/${pad}/${size}/${framing}`;
      const answer = (kind: string, body: unknown, status = 200) => {
        const entry: OversizeLogEntry = {
          run,
          kind,
          padded: pad === kind,
          bytes: 0,
          finished: false,
          closed: false,
          bodyWritten: false,
        };
        const text = pad === kind ? padded(body, Number(size)) : JSON.stringify(body);
        send(res, entry, text, framing as Framing, status);
      };
      if (rfc8414 || rest === '/.well-known/openid-configuration') {
        answer('metadata', {
          issuer: prefix,
          authorization_endpoint: `${prefix}/authorize`,
          token_endpoint: `${prefix}/token`,
          response_types_supported: ['code'],
          code_challenge_methods_supported: ['S256'],
        });
        return;
      }
      if (rest === '/token' && req.method === 'POST') {
        const form = new URLSearchParams(await readBody(req));
        const grant = form.get('grant_type');
        n += 1;
        const tokens = {
          access_token: `at-${run}-${n}`,
          token_type: 'Bearer',
          refresh_token: `rt-${run}-${n}`,
          expires_in: 3600,
          ...(pad === 'jwks' ? { id_token: await idToken(form, prefix) } : {}),
        };
        answer(grant === 'refresh_token' ? 'refresh' : 'code', tokens);
        return;
      }
      if (rest === '/user')
        return answer('user', { id: 4242, login: 'remote-limits', name: 'Remote Limits' });
      if (rest === '/user/emails')
        return answer('emails', [{ email: 'remote.limits@example.com', primary: true, verified: true }]);
      if (rest === '/jwks') return answer('jwks', { keys: [jwk] });
      if (rest === '/api/public/ingestion' && req.method === 'POST') {
        await readBody(req);
        if (pad === 'echo') {
          // A refusal that quotes the request's credentials (a proxy, a debugging build).
          const basic = (req.headers.authorization ?? '').replace(/^Basic /, '');
          const keys = Buffer.from(basic, 'base64').toString('utf8');
          const message = `event refused for Authorization: Basic ${basic} (keys ${keys})`;
          return answer(
            'ingestion',
            { successes: [], errors: [{ id: 'event-1', status: 400, message }] },
            207,
          );
        }
        return answer('ingestion', { successes: [{ id: 'event-1', status: 201 }], errors: [] }, 207);
      }
      if (rest === '/.well-known/agent-card.json')
        return answer('card', {
          name: 'Oversize agent',
          version: '1.0.0',
          supportedInterfaces: [{ url: `${prefix}/a2a`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' }],
          capabilities: {},
          skills: [{ id: 'echo', name: 'Echo' }],
        });
      if (rest === '/mcp') return mcp(req, res, answer);
      res.writeHead(404).end();
    } catch (err) {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err));
    }
  });
  const listening = await listen(server);
  base = listening.url;
  return { url: base, close: listening.close };
}
