/**
 * The OAuth authorization-code flow with PKCE (S256) and `state`:
 *
 * start    → random state + code_verifier stored in oauth_states (state as SHA-256, 10-minute
 *            expiry), the state also set in a short-lived cookie bound to this browser, and a
 *            redirect to the provider with code_challenge = BASE64URL(SHA-256(verifier)).
 * callback → the state row is deleted as it is read (single use), must be unexpired, for this
 *            provider, and equal to the browser's cookie (so nobody can make a victim's browser
 *            finish a flow they started); then the code is exchanged with the verifier, and the
 *            identity read: GitHub's REST user + verified emails, Google's OIDC id_token verified
 *            with jose against the provider's JWKS (issuer, audience, expiry and nonce).
 *
 * Every answer of the provider is read with a cap (lib/http.bounded.ts REMOTE_BODY_LIMITS: the
 * token answer, GitHub's user and emails, Google's keys); over it the sign-in fails as any other
 * provider error does, and nothing is written. Of an error answer, the log keeps only its OAuth
 * error fields, echo-safe and without what was sent (lib/echo.remote.ts).
 */
import { createRemoteJWKSet, customFetch, jwtVerify } from 'jose';
import { z } from 'zod';
import { remoteErrorFields } from '../lib/echo.remote';
import { sha256Hex } from '../lib/hex';
import { cappedFetch, REMOTE_BODY_LIMITS, readRemoteText } from '../lib/http.bounded';
import { log } from '../lib/log';
import { randomToken } from './csrf.check';
import type { OAuthProvider, ProviderConfig } from './oauth.providers';

export const OAUTH_STATE_TTL_SECONDS = 10 * 60;
export const OAUTH_STATE_COOKIE = 'igris.oauth_state';
const FETCH_TIMEOUT_MS = 10_000;

/** A failure after the state was accepted: the browser is sent back to the dashboard with `auth_error`. */
export class OAuthFailure extends Error {
  constructor(
    readonly code: 'access_denied' | 'provider_error' | 'email_unverified' | 'account_conflict',
    readonly internal?: unknown,
  ) {
    super(code);
    this.name = 'OAuthFailure';
  }
}

export interface OAuthIdentity {
  providerAccountId: string;
  email: string | null;
  emailVerified: boolean;
  name: string;
}

function base64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

async function sha256Base64Url(value: string): Promise<string> {
  return base64Url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(value))));
}

export function pkceChallenge(verifier: string): Promise<string> {
  return sha256Base64Url(verifier);
}

/** The OIDC nonce, derived from the verifier so it needs no column of its own. */
function nonceFor(verifier: string): Promise<string> {
  return sha256Base64Url(`nonce:${verifier}`);
}

export interface StartedAuthorization {
  location: string;
  state: string;
}

export async function startAuthorization(
  db: D1Database,
  config: ProviderConfig,
  callbackUrl: string,
  redirectTo: string,
): Promise<StartedAuthorization> {
  const state = randomToken();
  const verifier = randomToken();
  const now = Date.now();
  await db.batch([
    db.prepare('DELETE FROM oauth_states WHERE expires_at < ?').bind(now),
    db
      .prepare(
        'INSERT INTO oauth_states (state, provider, code_verifier, redirect_to, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .bind(
        await sha256Hex(state),
        config.id,
        verifier,
        redirectTo,
        now,
        now + OAUTH_STATE_TTL_SECONDS * 1000,
      ),
  ]);
  const url = new URL(config.authorizeUrl);
  url.searchParams.set('client_id', config.clientId);
  url.searchParams.set('redirect_uri', callbackUrl);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', config.scope);
  url.searchParams.set('state', state);
  url.searchParams.set('code_challenge', await pkceChallenge(verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  if (config.id === 'google') url.searchParams.set('nonce', await nonceFor(verifier));
  return { location: url.toString(), state };
}

export interface ConsumedState {
  codeVerifier: string;
  redirectTo: string;
}

/** Reads and deletes the state in one statement: a second use (or a forged state) finds nothing. */
export async function consumeState(
  db: D1Database,
  provider: OAuthProvider,
  state: string,
): Promise<ConsumedState | null> {
  const row = await db
    .prepare(
      'DELETE FROM oauth_states WHERE state = ? RETURNING provider, code_verifier, redirect_to, expires_at',
    )
    .bind(await sha256Hex(state))
    .first<{ provider: string; code_verifier: string; redirect_to: string | null; expires_at: number }>();
  if (!row || row.provider !== provider || row.expires_at <= Date.now()) return null;
  return { codeVerifier: row.code_verifier, redirectTo: row.redirect_to ?? '/' };
}

const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  id_token: z.string().optional(),
});

/**
 * One request to the provider, its answer's JSON. `sent` is what the request carried that must not
 * reach a log line if the provider echoes it in an error (the code, the verifier, the client
 * secret, an access token): a failure keeps only the answer's OAuth error fields, without them and
 * echo-safe (lib/echo.remote.ts) — the log line is written from OAuthFailure.internal.
 */
async function providerFetch(
  url: string,
  init: RequestInit,
  what: string,
  maxBytes: number,
  sent: readonly string[],
): Promise<unknown> {
  let text: string;
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    text = await readRemoteText(res, maxBytes, what);
  } catch (err) {
    throw new OAuthFailure('provider_error', { what, err });
  }
  if (!res.ok)
    throw new OAuthFailure('provider_error', {
      what,
      status: res.status,
      bytes: text.length,
      ...remoteErrorFields(text, sent),
    });
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new OAuthFailure('provider_error', { what, err });
  }
}

async function exchangeCode(
  config: ProviderConfig,
  code: string,
  verifier: string,
  callbackUrl: string,
): Promise<z.infer<typeof tokenResponseSchema>> {
  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: callbackUrl,
    client_id: config.clientId,
    client_secret: config.clientSecret,
    code_verifier: verifier,
  });
  const sent = [code, verifier, config.clientSecret];
  const json = await providerFetch(
    config.tokenUrl,
    {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body,
    },
    'token',
    REMOTE_BODY_LIMITS.tokenResponse,
    sent,
  );
  // GitHub answers 200 with {"error": …} for a bad code or verifier. Not the whole answer in the
  // log: it may echo the request, or hold a token beside a field that failed.
  const parsed = tokenResponseSchema.safeParse(json);
  if (!parsed.success)
    throw new OAuthFailure('provider_error', { what: 'token', ...remoteErrorFields(json, sent) });
  return parsed.data;
}

const githubUserSchema = z.object({
  id: z.union([z.number(), z.string()]),
  login: z.string(),
  name: z.string().nullable().optional(),
});
const githubEmailsSchema = z.array(
  z.object({ email: z.string(), primary: z.boolean(), verified: z.boolean() }),
);

async function githubIdentity(config: ProviderConfig, accessToken: string): Promise<OAuthIdentity> {
  const headers = {
    Authorization: `Bearer ${accessToken}`,
    Accept: 'application/vnd.github+json',
    'X-GitHub-Api-Version': '2022-11-28',
    'User-Agent': 'igris-edge',
  };
  const [userJson, emailsJson] = await Promise.all([
    providerFetch(`${config.apiUrl}/user`, { headers }, 'github user', REMOTE_BODY_LIMITS.profile, [
      accessToken,
    ]),
    providerFetch(`${config.apiUrl}/user/emails`, { headers }, 'github emails', REMOTE_BODY_LIMITS.profile, [
      accessToken,
    ]),
  ]);
  const user = githubUserSchema.safeParse(userJson);
  const emails = githubEmailsSchema.safeParse(emailsJson);
  if (!user.success || !emails.success) throw new OAuthFailure('provider_error', { what: 'github profile' });
  // The primary address when it is verified, else any verified one: only verified ones ever link.
  const verified = emails.data.filter((e) => e.verified);
  const chosen = verified.find((e) => e.primary) ?? verified[0] ?? null;
  return {
    providerAccountId: String(user.data.id),
    email: chosen?.email.toLowerCase() ?? null,
    emailVerified: chosen !== null,
    name: user.data.name ?? user.data.login,
  };
}

const jwksCache = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

function jwksFor(url: string): ReturnType<typeof createRemoteJWKSet> {
  let jwks = jwksCache.get(url);
  if (!jwks) {
    // jose reads the key set with `.json()`, uncapped: it fetches through a capped fetch instead.
    jwks = createRemoteJWKSet(new URL(url), {
      [customFetch]: cappedFetch(REMOTE_BODY_LIMITS.jwks, 'sign-in provider keys'),
    });
    jwksCache.set(url, jwks);
  }
  return jwks;
}

async function googleIdentity(
  config: ProviderConfig,
  idToken: string | undefined,
  verifier: string,
): Promise<OAuthIdentity> {
  if (!idToken || !config.jwksUrl || !config.issuer) throw new OAuthFailure('provider_error', 'no id_token');
  // Google documents both spellings of its issuer.
  const issuers =
    config.issuer === 'https://accounts.google.com'
      ? [config.issuer, 'accounts.google.com']
      : [config.issuer];
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(idToken, jwksFor(config.jwksUrl), {
      issuer: issuers,
      audience: config.clientId,
      algorithms: ['RS256', 'ES256'],
    }));
  } catch (err) {
    // Only the reason: jose's errors carry the token's claims (the person's email) with them.
    const reason = err instanceof Error ? ((err as { code?: string }).code ?? err.name) : 'unknown';
    throw new OAuthFailure('provider_error', { what: 'id_token', reason });
  }
  if (payload.nonce !== (await nonceFor(verifier)))
    throw new OAuthFailure('provider_error', 'id_token nonce mismatch');
  if (typeof payload.sub !== 'string' || payload.sub === '')
    throw new OAuthFailure('provider_error', 'id_token sub');
  const email = typeof payload.email === 'string' ? payload.email.toLowerCase() : null;
  const verified = payload.email_verified === true || payload.email_verified === 'true';
  return {
    providerAccountId: payload.sub,
    email,
    emailVerified: email !== null && verified,
    name: typeof payload.name === 'string' ? payload.name : '',
  };
}

/** Exchanges the code (with the PKCE verifier) and reads who signed in. */
export async function completeAuthorization(
  config: ProviderConfig,
  code: string,
  verifier: string,
  callbackUrl: string,
): Promise<OAuthIdentity> {
  const tokens = await exchangeCode(config, code, verifier, callbackUrl);
  const identity =
    config.id === 'github'
      ? await githubIdentity(config, tokens.access_token)
      : await googleIdentity(config, tokens.id_token, verifier);
  log('info', 'oauth identity received', { provider: config.id, emailVerified: identity.emailVerified });
  return identity;
}
