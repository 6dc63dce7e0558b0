/**
 * The isolate caches that hold connections, and what a connection weighs in them. Pure (no I/O,
 * no bindings): gateway.connection.ts, gateway.callers.ts and oauth/oauth.cache.ts keep their
 * logic (epochs, D1, tokens) and store here, so the bounds are testable in plain Node.
 *
 * Why by bytes and not only by count: a connection holds its settings (up to a management body,
 * 1 MiB of JSON: `inspection.overrides.rules` takes any keys; api.body-caps.ts), an 8,192-character
 * credential's ciphertext (connections.schemas.ts) and, once used, the credential decrypted
 * (gateway.connection.ts `upstreamCredential`). 10,000 of them — one tenant's keys × slugs, or
 * OAuth tokens — were hundreds of megabytes in an isolate of 128 MB that serves every organization.
 */
import { stringWeight, type WeightedMap } from '../lib/bounded.map';

/** What the weight of a cached connection is read from (ResolvedConnection has these). */
export interface WeighedConnection {
  id: string;
  orgId: string;
  slug: string;
  upstreamUrl: string;
  authHeaderName: string | null;
  credentialCiphertext: string | null;
  createdBy: string | null;
  settings: object;
}

/** Parsed settings by their JSON text; entries and bytes (the text and the parsed object). */
export const SETTINGS_CACHE_LIMIT = 1_000;
export const SETTINGS_CACHE_BYTES = 2 * 1024 * 1024;
/** The ig_ key cache's resolved connections (gateway.callers.ts), keyed by key hash and slug. */
export const RESOLVED_CACHE_LIMIT = 10_000;
export const RESOLVED_CACHE_BYTES = 12 * 1024 * 1024;
/** OAuth callers (oauth.cache.ts), keyed by token hash and resource. */
export const OAUTH_CACHE_LIMIT = 10_000;
export const OAUTH_CACHE_BYTES = 2 * 1024 * 1024;

/** A parsed settings object weighs this many bytes a character of the text it was parsed from. */
const SETTINGS_PARSED_FACTOR = 4;
/** A map entry, its stamp object and the connection object's own fields. */
const ENTRY_BYTES = 512;

/** The length of the text each parsed settings object came from. */
const settingsChars = new WeakMap<object, number>();

/** The parsed settings of `text`, parsed once per distinct text while the cache keeps it. */
export function memoizedSettings<S extends object>(
  cache: WeightedMap<string, S>,
  text: string,
  parse: (text: string) => S,
): S {
  const hit = cache.get(text);
  if (hit) return hit;
  const parsed = parse(text);
  settingsChars.set(parsed, text.length);
  cache.set(text, parsed, stringWeight(text) + settingsWeight(parsed));
  return parsed;
}

/** About the bytes a parsed settings object holds (0 for one not parsed by memoizedSettings). */
export function settingsWeight(settings: object): number {
  return (settingsChars.get(settings) ?? 0) * SETTINGS_PARSED_FACTOR;
}

/**
 * About the bytes a cached connection keeps alive: its strings, its parsed settings (counted in
 * full by every cache that holds it: the settings cache may have dropped them), and its credential
 * twice (the ciphertext, and the shorter decrypted credential kept beside it). Computed once,
 * when a cache takes the connection: O(1).
 */
export function connectionWeight(connection: WeighedConnection): number {
  const strings =
    connection.id.length +
    connection.orgId.length +
    connection.slug.length +
    connection.upstreamUrl.length +
    (connection.authHeaderName?.length ?? 0) +
    (connection.createdBy?.length ?? 0) +
    2 * (connection.credentialCiphertext?.length ?? 0);
  return ENTRY_BYTES + 2 * strings + settingsWeight(connection.settings);
}

/** Keeps `entry` (which holds `connection`) under `key`, weighed with the connection and the key. */
export function rememberConnection<E>(
  cache: WeightedMap<string, E>,
  key: string,
  entry: E,
  connection: WeighedConnection,
  extraChars = 0,
): void {
  cache.set(key, entry, connectionWeight(connection) + stringWeight(key) + 2 * extraChars);
}
