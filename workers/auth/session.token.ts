/**
 * The signed, short-lived token inside the `igris.session_token` cookie: a JWT (HS256, jose)
 * naming the server-side session record. The signature lets a request be refused without a
 * database read when the cookie is forged or stale; the record (auth_sessions) is still read on
 * every request, which is what makes sign-out and "sign out everywhere" immediate.
 *
 * Keys: SESSION_SECRET signs; SESSION_SECRET_PREVIOUS (optional) still verifies. Each key's `kid`
 * is derived from the secret itself (a hash prefix), so rotation needs no extra configuration:
 * set the new secret, move the old one to _PREVIOUS, and tokens are re-signed with the new key on
 * their next renewal (at most TOKEN_RENEW_AFTER_SECONDS later for an active session).
 */
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { AppError } from '../lib/errors';
import { log } from '../lib/log';

export const SESSION_COOKIE = 'igris.session_token';
/** A token is valid this long; an active session gets a fresh one (sliding) well before that. */
export const TOKEN_TTL_SECONDS = 60 * 60;
/** A request carrying a token older than this gets a renewed cookie. */
export const TOKEN_RENEW_AFTER_SECONDS = 10 * 60;
/** The server-side record's absolute lifetime: after this, sign in again. */
export const SESSION_MAX_AGE_SECONDS = 7 * 24 * 60 * 60;

const ISSUER = 'igris-edge';
const AUDIENCE = 'igris-dashboard';
const MIN_SECRET_LENGTH = 32;

export interface SessionClaims {
  /** auth_sessions.id */
  sid: string;
  /** users.id */
  sub: string;
  /** The session's CSRF token (see csrf.check.ts): returned to the dashboard by GET /api/auth/session. */
  csrf: string;
  /** Issued-at, seconds. */
  iat: number;
  /** True when signed with SESSION_SECRET_PREVIOUS: re-sign now. */
  previousKey: boolean;
}

interface SigningKey {
  kid: string;
  key: Uint8Array;
}

type SessionSecrets = Pick<Env, 'SESSION_SECRET' | 'SESSION_SECRET_PREVIOUS'>;

const keyCache = new Map<string, Promise<SigningKey>>();

function keyFor(secret: string): Promise<SigningKey> {
  let cached = keyCache.get(secret);
  if (!cached) {
    cached = (async () => {
      const key = new TextEncoder().encode(secret);
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', key));
      const kid = `s${Array.from(digest.slice(0, 6), (b) => b.toString(16).padStart(2, '0')).join('')}`;
      return { kid, key };
    })();
    keyCache.set(secret, cached);
  }
  return cached;
}

/** The current signing key; a missing or short SESSION_SECRET fails closed (500, logged). */
async function currentKey(env: SessionSecrets): Promise<SigningKey> {
  const secret = env.SESSION_SECRET?.trim();
  if (!secret || secret.length < MIN_SECRET_LENGTH) {
    throw new AppError('internal', {
      internal: `SESSION_SECRET is missing or shorter than ${MIN_SECRET_LENGTH} characters`,
    });
  }
  return keyFor(secret);
}

async function verificationKeys(env: SessionSecrets): Promise<Array<SigningKey & { previous: boolean }>> {
  const keys = [{ ...(await currentKey(env)), previous: false }];
  const previous = env.SESSION_SECRET_PREVIOUS?.trim();
  if (previous && previous.length >= MIN_SECRET_LENGTH)
    keys.push({ ...(await keyFor(previous)), previous: true });
  return keys;
}

export async function signSessionToken(
  env: SessionSecrets,
  claims: { sid: string; sub: string; csrf: string },
  /** Seconds since the epoch; now unless given (tests make old tokens this way). */
  issuedAt = Math.floor(Date.now() / 1000),
): Promise<string> {
  const { kid, key } = await currentKey(env);
  return new SignJWT({ sid: claims.sid, csrf: claims.csrf })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid })
    .setSubject(claims.sub)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + TOKEN_TTL_SECONDS)
    .sign(key);
}

/** The token's claims, or null when it is malformed, forged, expired or signed by an unknown key. */
export async function verifySessionToken(env: SessionSecrets, token: string): Promise<SessionClaims | null> {
  const keys = await verificationKeys(env);
  let kid: string | undefined;
  try {
    kid = decodeProtectedHeader(token).kid;
  } catch {
    return null;
  }
  const match = keys.find((k) => k.kid === kid);
  if (!match) return null;
  try {
    const { payload } = await jwtVerify(token, match.key, {
      algorithms: ['HS256'],
      issuer: ISSUER,
      audience: AUDIENCE,
    });
    if (
      typeof payload.sid !== 'string' ||
      typeof payload.sub !== 'string' ||
      typeof payload.csrf !== 'string'
    ) {
      return null;
    }
    return {
      sid: payload.sid,
      sub: payload.sub,
      csrf: payload.csrf,
      iat: payload.iat ?? 0,
      previousKey: match.previous,
    };
  } catch (err) {
    if (!(err instanceof joseErrors.JOSEError)) log('warn', 'session token verification failed', { err });
    return null;
  }
}
