/**
 * A local fake of an upstream MCP server that wants each person's own OAuth token (issue 18,
 * upstream mode), with its authorization server — real HTTP on 127.0.0.1, strict where a real
 * one is strict:
 *
 * - RFC 8414 metadata at /.well-known/oauth-authorization-server (no OIDC document: the gateway's
 *   discovery falls back to it);
 * - /authorize requires the client id, state, response_type=code and an S256 challenge, then
 *   redirects back with a single-use code for the person the test names with `&persona=<name>`
 *   (standing in for that person signing in at the provider and clicking "allow"); without a
 *   persona it is a consent page, as a browser sees one: an "Account" field and an "Allow" button
 *   that send the same request with the persona typed in;
 * - /token (client_secret_post): authorization_code checks client secret, code, redirect_uri and
 *   BASE64URL(SHA-256(code_verifier)) = challenge; refresh_token rotates (the old one dies);
 * - /mcp: a minimal MCP endpoint that answers only with a live access token; `whoami` returns the
 *   person the token belongs to.
 * - POST /_revoke {persona}: the provider withdraws that person's refresh tokens; GET /_log: what
 *   /token and /mcp decided.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { keepIdleConnections, listen } from './local.server';

export const UPSTREAM_OAUTH_CLIENT = {
  clientId: 'igris-upstream-client',
  clientSecret: 'upstream-client-secret',
};

export interface UpstreamOAuthLogEntry {
  at: 'token' | 'mcp';
  grant?: string;
  persona?: string;
  outcome: 'ok' | 'refused';
  reason?: string;
  token?: string;
}

export async function startUpstreamOAuthFake(): Promise<{ url: string; close(): Promise<void> }> {
  const codes = new Map<string, { persona: string; redirectUri: string; challenge: string }>();
  const access = new Map<string, { persona: string; expiresAt: number }>();
  const refresh = new Map<string, string>();
  const log: UpstreamOAuthLogEntry[] = [];
  let base = '';
  let n = 0;

  const send = (
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
  /** The provider's sign-in and consent, in one form that repeats the request with a persona. */
  const consentPage = (res: http.ServerResponse, query: URLSearchParams) => {
    const hidden = [...query]
      .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
      .join('');
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Fake provider</title></head>
<body><h1>Allow ${escapeHtml(query.get('client_id') ?? '')} to use your account?</h1>
<form method="get" action="/authorize">${hidden}<label>Account <input name="persona" required></label>
<button type="submit">Allow</button></form></body></html>`);
  };
  const readBody = async (req: http.IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };
  const issue = (persona: string) => {
    n += 1;
    const at = `at-${persona}-${n}-${randomBytes(6).toString('hex')}`;
    const rt = `rt-${persona}-${n}-${randomBytes(6).toString('hex')}`;
    access.set(at, { persona, expiresAt: Date.now() + 3600_000 });
    refresh.set(rt, persona);
    return {
      access_token: at,
      refresh_token: rt,
      token_type: 'Bearer',
      expires_in: 3600,
      scope: 'mcp:tools',
    };
  };

  function token(form: URLSearchParams, res: http.ServerResponse) {
    const grant = form.get('grant_type') ?? '';
    const refuse = (reason: string, error = 'invalid_grant') => {
      log.push({ at: 'token', grant, outcome: 'refused', reason });
      send(res, 400, { error, error_description: reason });
    };
    if (
      form.get('client_id') !== UPSTREAM_OAUTH_CLIENT.clientId ||
      form.get('client_secret') !== UPSTREAM_OAUTH_CLIENT.clientSecret
    ) {
      return refuse('client authentication failed', 'invalid_client');
    }
    if (grant === 'authorization_code') {
      const pending = codes.get(form.get('code') ?? '');
      codes.delete(form.get('code') ?? '');
      if (!pending) return refuse('unknown or used code');
      if (pending.redirectUri !== form.get('redirect_uri')) return refuse('redirect_uri mismatch');
      const verifier = form.get('code_verifier') ?? '';
      if (createHash('sha256').update(verifier).digest('base64url') !== pending.challenge) {
        return refuse('PKCE verification failed');
      }
      log.push({ at: 'token', grant, persona: pending.persona, outcome: 'ok' });
      return send(res, 200, issue(pending.persona));
    }
    if (grant === 'refresh_token') {
      const persona = refresh.get(form.get('refresh_token') ?? '');
      if (!persona) return refuse('unknown, rotated or revoked refresh token');
      refresh.delete(form.get('refresh_token') ?? '');
      log.push({ at: 'token', grant, persona, outcome: 'ok' });
      return send(res, 200, issue(persona));
    }
    return refuse('unsupported grant', 'unsupported_grant_type');
  }

  function mcp(req: http.IncomingMessage, body: string, res: http.ServerResponse) {
    const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const live = access.get(bearer);
    if (!live || live.expiresAt < Date.now()) {
      log.push({ at: 'mcp', outcome: 'refused', reason: 'no live access token', token: bearer });
      return send(
        res,
        401,
        { error: 'invalid_token' },
        { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
      );
    }
    log.push({ at: 'mcp', persona: live.persona, outcome: 'ok', token: bearer });
    const msg = JSON.parse(body) as { id?: number; method: string; params?: { protocolVersion?: string } };
    // Notifications (no id) are accepted without an answer, as a stateless MCP server does.
    if (msg.id === undefined) {
      res.writeHead(202).end();
      return;
    }
    const result =
      msg.method === 'initialize'
        ? {
            protocolVersion: msg.params?.protocolVersion ?? '2025-06-18',
            capabilities: { tools: {} },
            serverInfo: { name: 'fake-upstream-oauth-mcp', version: '1.0.0' },
          }
        : msg.method === 'tools/list'
          ? {
              tools: [
                { name: 'whoami', description: 'Who the token belongs to', inputSchema: { type: 'object' } },
              ],
            }
          : { content: [{ type: 'text', text: live.persona }] };
    return send(res, 200, { jsonrpc: '2.0', id: msg.id, result });
  }

  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', base);
      const body = req.method === 'POST' ? await readBody(req) : '';
      if (url.pathname === '/.well-known/oauth-authorization-server') {
        return send(res, 200, {
          issuer: base,
          authorization_endpoint: `${base}/authorize`,
          token_endpoint: `${base}/token`,
          response_types_supported: ['code'],
          grant_types_supported: ['authorization_code', 'refresh_token'],
          code_challenge_methods_supported: ['S256'],
          token_endpoint_auth_methods_supported: ['client_secret_post'],
        });
      }
      if (url.pathname === '/authorize') {
        const q = url.searchParams;
        const redirectUri = q.get('redirect_uri') ?? '';
        const persona = q.get('persona');
        if (
          q.get('client_id') !== UPSTREAM_OAUTH_CLIENT.clientId ||
          !redirectUri ||
          !q.get('state') ||
          q.get('response_type') !== 'code' ||
          q.get('code_challenge_method') !== 'S256' ||
          !q.get('code_challenge')
        ) {
          return send(res, 400, { error: 'invalid_request' });
        }
        if (!persona) return consentPage(res, q);
        const code = randomBytes(12).toString('hex');
        codes.set(code, { persona, redirectUri, challenge: q.get('code_challenge') ?? '' });
        const back = new URL(redirectUri);
        back.searchParams.set('code', code);
        back.searchParams.set('state', q.get('state') ?? '');
        return send(res, 302, {}, { Location: back.href });
      }
      if (url.pathname === '/token' && req.method === 'POST') return token(new URLSearchParams(body), res);
      if (url.pathname === '/mcp' && req.method === 'POST') return mcp(req, body, res);
      // No server-initiated stream (stateless): the SDK client reads 405 as "none offered".
      if (url.pathname === '/mcp') return send(res, 405, { error: 'method_not_allowed' }, { Allow: 'POST' });
      if (url.pathname === '/_revoke' && req.method === 'POST') {
        const { persona } = JSON.parse(body) as { persona: string };
        for (const [rt, who] of refresh) if (who === persona) refresh.delete(rt);
        return send(res, 200, { ok: true });
      }
      if (url.pathname === '/_log') return send(res, 200, log);
      return send(res, 404, { error: 'not_found' });
    })().catch((err: unknown) => send(res, 500, { error: String(err) }));
  });
  base = (await listen(keepIdleConnections(server))).url;
  return {
    url: base,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
