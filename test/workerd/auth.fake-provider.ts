/**
 * A local fake of GitHub OAuth and Google OIDC for the sign-in tests (no internet). Real HTTP on
 * 127.0.0.1, strict where the real providers are strict:
 *
 * - /authorize requires client_id, the registered redirect_uri, state and an S256 code_challenge,
 *   then redirects back with a single-use code for a "persona" the test registered beforehand
 *   (POST /_personas) and names with `&persona=<id>` — standing in for the person clicking "allow";
 *   `&deny=1` stands for clicking "cancel".
 * - /token checks client id + secret, the code (single use, 60 s), the redirect_uri, and that
 *   BASE64URL(SHA-256(code_verifier)) equals the code_challenge — a client without PKCE fails.
 * - GitHub: /api/user and /api/user/emails with the access token. Google: an id_token signed
 *   RS256 by this fake's key, published at /jwks, with iss/aud/nonce/exp like Google's.
 *
 * GET /_log lists what /token decided, so tests can see PKCE was really checked. A persona with
 * `tokenError: 'echo'` gets its code refused by an error answer that quotes the request.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { keepIdleConnections, listen } from '../shared/local.server';

export const FAKE_CLIENTS = {
  github: { clientId: 'test-github-client', clientSecret: 'test-github-secret' },
  google: { clientId: 'test-google-client.apps.example', clientSecret: 'test-google-secret' },
} as const;

type Provider = keyof typeof FAKE_CLIENTS;

export interface Persona {
  /** Provider account id (GitHub numeric id as a string, Google `sub`). */
  id: string;
  email: string;
  emailVerified: boolean;
  name?: string;
  /** Google only: make the id_token untrustworthy in one specific way. */
  idTokenFlaw?: 'foreign-key' | 'wrong-audience' | 'wrong-nonce' | 'expired';
  /**
   * `echo`: /token refuses the code with an error that quotes the form it was posted (code,
   * verifier, client secret), as a misconfigured provider or a proxy in front of one may.
   */
  tokenError?: 'echo';
}

interface PendingCode {
  provider: Provider;
  persona: Persona;
  redirectUri: string;
  challenge: string;
  nonce: string | null;
  expiresAt: number;
}

export interface TokenLogEntry {
  provider: Provider;
  /** The persona the code was issued for, once /token has found the code (tests filter by it). */
  persona?: string;
  outcome: 'issued' | 'refused';
  reason?: string;
  pkce?: 'S256-verified';
}

export interface RunningFakeProvider {
  url: string;
  close(): Promise<void>;
}

const b64url = (buf: Buffer) => buf.toString('base64url');

export async function startFakeProvider(): Promise<RunningFakeProvider> {
  const personas = new Map<string, Persona>();
  const codes = new Map<string, PendingCode>();
  const tokens = new Map<string, Persona>();
  const log: TokenLogEntry[] = [];
  const signing = await generateKeyPair('RS256', { extractable: true });
  const foreign = await generateKeyPair('RS256', { extractable: true });
  const publicJwk = {
    ...(await exportJWK(signing.publicKey)),
    kid: 'fake-google-1',
    alg: 'RS256',
    use: 'sig',
  };
  let baseUrl = '';

  const send = (
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const readBody = async (req: http.IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };

  function authorize(provider: Provider, url: URL, res: http.ServerResponse) {
    const q = url.searchParams;
    const redirectUri = q.get('redirect_uri');
    if (q.get('client_id') !== FAKE_CLIENTS[provider].clientId || !redirectUri) {
      return send(res, 400, { error: 'invalid_client' });
    }
    const back = new URL(redirectUri);
    const state = q.get('state');
    if (state) back.searchParams.set('state', state);
    if (q.get('deny') === '1') {
      back.searchParams.set('error', 'access_denied');
      return send(res, 302, {}, { Location: back.toString() });
    }
    const challenge = q.get('code_challenge');
    if (
      !state ||
      !challenge ||
      q.get('code_challenge_method') !== 'S256' ||
      q.get('response_type') !== 'code'
    ) {
      return send(res, 400, { error: 'invalid_request', error_description: 'state and S256 PKCE required' });
    }
    const persona = personas.get(q.get('persona') ?? '');
    if (!persona) return send(res, 400, { error: 'unknown persona (test setup)' });
    const code = b64url(randomBytes(24));
    codes.set(code, {
      provider,
      persona,
      redirectUri,
      challenge,
      nonce: q.get('nonce'),
      expiresAt: Date.now() + 60_000,
    });
    back.searchParams.set('code', code);
    return send(res, 302, {}, { Location: back.toString() });
  }

  async function token(provider: Provider, req: http.IncomingMessage, res: http.ServerResponse) {
    const form = new URLSearchParams(await readBody(req));
    let persona: string | undefined;
    const refuse = (reason: string) => {
      log.push({ provider, ...(persona ? { persona } : {}), outcome: 'refused', reason });
      // GitHub answers 200 with an error object; Google a 400.
      return provider === 'github'
        ? send(res, 200, { error: 'bad_verification_code', error_description: reason })
        : send(res, 400, { error: 'invalid_grant', error_description: reason });
    };
    const client = FAKE_CLIENTS[provider];
    if (form.get('client_id') !== client.clientId || form.get('client_secret') !== client.clientSecret) {
      return refuse('client authentication failed');
    }
    if (provider === 'google' && form.get('grant_type') !== 'authorization_code') return refuse('grant_type');
    const code = form.get('code') ?? '';
    const pending = codes.get(code);
    codes.delete(code); // single use, whatever happens next
    if (!pending || pending.provider !== provider || pending.expiresAt < Date.now())
      return refuse('unknown code');
    persona = pending.persona.id;
    if (pending.persona.tokenError === 'echo') {
      log.push({ provider, persona, outcome: 'refused', reason: 'echoed the request (test setup)' });
      const description = `authorization code ${code} refused for client_secret=${form.get('client_secret')} code_verifier=${form.get('code_verifier')}`;
      const body = {
        error: 'invalid_grant',
        error_description: description,
        request: Object.fromEntries(form),
      };
      return send(res, provider === 'github' ? 200 : 400, body);
    }
    if (form.get('redirect_uri') !== pending.redirectUri) return refuse('redirect_uri mismatch');
    const verifier = form.get('code_verifier');
    if (!verifier) return refuse('code_verifier missing');
    if (b64url(createHash('sha256').update(verifier).digest()) !== pending.challenge) {
      return refuse('code_verifier does not match code_challenge');
    }
    const accessToken = `fake_${provider}_${b64url(randomBytes(24))}`;
    tokens.set(accessToken, pending.persona);
    log.push({ provider, persona, outcome: 'issued', pkce: 'S256-verified' });
    if (provider === 'github') {
      return send(res, 200, {
        access_token: accessToken,
        token_type: 'bearer',
        scope: 'read:user,user:email',
      });
    }
    const p = pending.persona;
    const now = Math.floor(Date.now() / 1000);
    const idToken = await new SignJWT({
      email: p.email,
      email_verified: p.emailVerified,
      name: p.name ?? '',
      nonce: p.idTokenFlaw === 'wrong-nonce' ? 'not-the-nonce' : pending.nonce,
    })
      .setProtectedHeader({ alg: 'RS256', kid: 'fake-google-1', typ: 'JWT' })
      .setIssuer(`${baseUrl}/google`)
      .setAudience(p.idTokenFlaw === 'wrong-audience' ? 'someone-else' : client.clientId)
      .setSubject(p.id)
      .setIssuedAt(p.idTokenFlaw === 'expired' ? now - 7200 : now)
      .setExpirationTime(p.idTokenFlaw === 'expired' ? now - 3600 : now + 3600)
      .sign(p.idTokenFlaw === 'foreign-key' ? foreign.privateKey : signing.privateKey);
    return send(res, 200, {
      access_token: accessToken,
      token_type: 'Bearer',
      id_token: idToken,
      expires_in: 3600,
    });
  }

  function githubApi(path: string, req: http.IncomingMessage, res: http.ServerResponse) {
    const auth = req.headers.authorization ?? '';
    const persona = tokens.get(auth.replace(/^Bearer\s+/i, ''));
    if (!persona) return send(res, 401, { message: 'Bad credentials' });
    if (path === '/user') {
      return send(res, 200, {
        id: Number(persona.id),
        login: persona.email.split('@')[0],
        name: persona.name ?? null,
      });
    }
    if (path === '/user/emails') {
      return send(res, 200, [
        { email: persona.email, primary: true, verified: persona.emailVerified, visibility: 'private' },
        {
          email: `${persona.id}+noreply@users.noreply.github.test`,
          primary: false,
          verified: false,
          visibility: null,
        },
      ]);
    }
    return send(res, 404, { message: 'Not Found' });
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', baseUrl);
    const route = `${req.method} ${url.pathname}`;
    void (async () => {
      if (route === 'POST /_personas') {
        const persona = JSON.parse(await readBody(req)) as Persona;
        personas.set(persona.id, persona);
        return send(res, 201, { id: persona.id });
      }
      if (route === 'GET /_log') return send(res, 200, log);
      if (route === 'GET /github/login/oauth/authorize') return authorize('github', url, res);
      if (route === 'POST /github/login/oauth/access_token') return token('github', req, res);
      if (req.method === 'GET' && url.pathname.startsWith('/github/api/')) {
        return githubApi(url.pathname.slice('/github/api'.length), req, res);
      }
      if (route === 'GET /google/authorize') return authorize('google', url, res);
      if (route === 'POST /google/token') return token('google', req, res);
      if (route === 'GET /google/jwks') return send(res, 200, { keys: [publicJwk] });
      return send(res, 404, { error: 'not found' });
    })().catch((err: unknown) => send(res, 500, { error: String(err) }));
  });
  baseUrl = (await listen(keepIdleConnections(server))).url;
  return {
    url: baseUrl,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
