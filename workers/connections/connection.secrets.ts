/**
 * Secrets and URLs: which query parameters look like credentials (refused in upstream URLs at save
 * time, because URLs are stored and shown in plain text), the redacted form of a URL for audit
 * rows, origin comparison for repointing a connection, and the parameter name of authType
 * "query". Pure: no I/O.
 */
import { z } from 'zod';
import { AppError } from '../lib/errors';

// ---------------------------------------------------------------------------------------------
// Secrets in the URL

/**
 * Query parameter names that carry credentials, compared lowercase with every non-alphanumeric
 * removed (so `api_key`, `API-Key` and `apiKey` are one name). Exact names for the short, generic
 * ones; any name *ending* in one of CREDENTIAL_SUFFIXES too (`x_access_token`, `github_secret`).
 */
const CREDENTIAL_PARAM_NAMES: ReadonlySet<string> = new Set([
  'key',
  'apikey',
  'token',
  'auth',
  'authorization',
  'secret',
  'password',
  'passwd',
  'pwd',
  'pass',
  'sig',
  'signature',
  'credential',
  'credentials',
  'jwt',
  'bearer',
  'session',
  'sessionid',
  'xamzcredential',
  'xamzsecuritytoken',
  'xgoogcredential',
]);
const CREDENTIAL_SUFFIXES = ['token', 'secret', 'password', 'apikey', 'signature', 'accesskey', 'privatekey'];

/** Whether a query parameter name looks like it carries a credential. */
export function isCredentialParamName(name: string): boolean {
  const flat = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (flat === '') return false;
  return CREDENTIAL_PARAM_NAMES.has(flat) || CREDENTIAL_SUFFIXES.some((s) => flat.endsWith(s));
}

/** The first non-empty query parameter of the URL whose name looks like a credential, or null. */
export function credentialQueryParam(url: URL): string | null {
  for (const [name, value] of url.searchParams) {
    if (value !== '' && isCredentialParamName(name)) return name;
  }
  return null;
}

/**
 * A URL safe to write to an audit row: no userinfo, and the values of credential-looking query
 * parameters replaced. New URLs cannot hold either (checkUpstreamUrl), but a URL stored before
 * those rules existed may. Unparseable input is not echoed at all.
 */
export function redactUpstreamUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '[unparseable URL]';
  }
  parsed.username = '';
  parsed.password = '';
  for (const name of new Set(parsed.searchParams.keys())) {
    if (isCredentialParamName(name)) parsed.searchParams.set(name, 'REDACTED');
  }
  return parsed.href;
}

/**
 * Whether two URLs share an origin (scheme, host, port as the URL parser normalizes them). An
 * unparseable URL shares no origin, so the caller takes the strict path.
 */
export function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

/**
 * A secret stored for one destination goes to that destination only. When a setting's URL moves
 * to another origin while a secret is stored for it, the same request must carry the secret for
 * the new host (or drop it): otherwise whoever may change the URL — without being able to read
 * the secret — could send it to a host of their choosing. Used by every outbound integration
 * whose secret travels with its requests (Langfuse, OTLP export, SIEM channels, upstream OAuth, A2A
 * card refreshes);
 * connections apply the same rule with an owner's `keepCredential` exception (checkRepoint).
 * Returns the refusal, or null when the change may go ahead.
 */
export function secretFollowsOrigin(change: {
  /** The stored URL, or null when nothing was stored yet. */
  from: string | null;
  to: string;
  /** Whether a secret for `from` is stored and would be kept by this change. */
  keepsSecret: boolean;
  /** The request fields: where the URL and the secret are sent. */
  urlPath: string;
  secretPath: string;
}): AppError | null {
  if (change.from === null || !change.keepsSecret || sameOrigin(change.from, change.to)) return null;
  const message = `${change.urlPath} moves to another origin: send ${change.secretPath} for the new host in the same request (the stored one is only ever sent where it was given for)`;
  return new AppError('validation_failed', {
    message,
    details: {
      issues: [
        { location: 'body', path: change.secretPath, message, rule: 'credential_required_for_new_origin' },
      ],
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Query-parameter auth

const MAX_QUERY_PARAM_LENGTH = 64;

/**
 * The name of the query parameter that carries the credential for authType "query". Unreserved
 * URL characters only (RFC 3986 §2.3), so the name is sent exactly as written.
 */
export const authQueryParamSchema = z
  .string()
  .min(1, 'query parameter name must not be empty')
  .max(MAX_QUERY_PARAM_LENGTH, `query parameter name must be at most ${MAX_QUERY_PARAM_LENGTH} characters`)
  .regex(/^[A-Za-z0-9._~-]+$/, 'query parameter name may only contain letters, digits and . _ ~ -');
