/**
 * Bounds on what a dynamically registered client (RFC 7591, `/register`) may store. Registration is
 * anonymous and each one is a stored record that the consent page and the grants list show later,
 * so every array and string a client sends is capped: the library bounds only the body (1 MiB).
 * Pure (no I/O). Refusals use RFC 7591 §3.2.2's codes: `invalid_redirect_uri` for redirect URIs,
 * `invalid_client_metadata` for the rest (docs/oauth.md#rules).
 */
import type { ClientRegistrationCallbackResult } from '@cloudflare/workers-oauth-provider';

/** Cursor registers 3 callbacks, VS Code 2: 10 is room for any real client. */
export const MAX_REDIRECT_URIS = 10;
/** A URI (a redirect URI, client_uri, logo_uri, policy_uri, tos_uri, jwks_uri): as the API's URLs. */
export const MAX_URI_CHARS = 2048;
/** contacts, grant_types, response_types, token_endpoint_auth_methods_supported, …_alg_values_supported. */
export const MAX_LIST_ENTRIES = 10;
/** One entry of those lists (a grant type URN, an e-mail address), and client_name. */
export const MAX_NAME_CHARS = 256;
/** Localized fields (`client_name#fr`, `logo_uri#de`…). */
export const MAX_LOCALIZED_FIELDS = 20;

const LISTS = [
  'contacts',
  'grant_types',
  'response_types',
  'token_endpoint_auth_methods_supported',
  'token_endpoint_auth_signing_alg_values_supported',
] as const;
const URIS = ['client_uri', 'logo_uri', 'policy_uri', 'tos_uri', 'jwks_uri'] as const;
const LOCALIZABLE = new Set(['client_name', ...URIS]);

function refuse(code: 'invalid_redirect_uri' | 'invalid_client_metadata', description: string) {
  return { code, description, status: 400 } satisfies ClientRegistrationCallbackResult;
}

const tooLong = (value: unknown, max: number) => typeof value === 'string' && value.length > max;

/** The refusal of an over-large registration, or undefined when it is within every bound. */
export function registrationRefusal(
  metadata: Record<string, unknown>,
): ClientRegistrationCallbackResult | undefined {
  const redirects = metadata.redirect_uris;
  if (Array.isArray(redirects)) {
    if (redirects.length > MAX_REDIRECT_URIS)
      return refuse('invalid_redirect_uri', `redirect_uris may list at most ${MAX_REDIRECT_URIS} URIs`);
    if (redirects.some((uri) => tooLong(uri, MAX_URI_CHARS)))
      return refuse('invalid_redirect_uri', `a redirect URI is at most ${MAX_URI_CHARS} characters`);
  }
  for (const field of LISTS) {
    const list = metadata[field];
    if (!Array.isArray(list)) continue;
    if (list.length > MAX_LIST_ENTRIES)
      return refuse('invalid_client_metadata', `${field} may list at most ${MAX_LIST_ENTRIES} entries`);
    if (list.some((entry) => tooLong(entry, MAX_NAME_CHARS)))
      return refuse(
        'invalid_client_metadata',
        `an entry of ${field} is at most ${MAX_NAME_CHARS} characters`,
      );
  }
  if (tooLong(metadata.client_name, MAX_NAME_CHARS))
    return refuse('invalid_client_metadata', `client_name is at most ${MAX_NAME_CHARS} characters`);
  for (const field of URIS) {
    if (tooLong(metadata[field], MAX_URI_CHARS))
      return refuse('invalid_client_metadata', `${field} is at most ${MAX_URI_CHARS} characters`);
  }
  return localizedRefusal(metadata);
}

/** `client_name#fr` and the like: the library stores each one it recognises. */
function localizedRefusal(metadata: Record<string, unknown>): ClientRegistrationCallbackResult | undefined {
  let count = 0;
  for (const [key, value] of Object.entries(metadata)) {
    const hash = key.indexOf('#');
    if (hash <= 0 || !LOCALIZABLE.has(key.slice(0, hash))) continue;
    if (++count > MAX_LOCALIZED_FIELDS)
      return refuse(
        'invalid_client_metadata',
        `at most ${MAX_LOCALIZED_FIELDS} localized fields (name#lang)`,
      );
    if (key.length > MAX_NAME_CHARS || tooLong(value, MAX_URI_CHARS))
      return refuse('invalid_client_metadata', `a localized field is at most ${MAX_URI_CHARS} characters`);
  }
  return undefined;
}
