/**
 * Resolving `/v1/mcp/:slug` to a connection. The lookup is always scoped to the caller's
 * organization: another organization's slug is indistinguishable from one that does not exist.
 */

import type { Principal } from '../app.types';
import type { ApiKeyAuthResult } from '../auth/api-key.auth';
import { mayUseConnection } from '../auth/permissions';
import type { ConnectionDbRow } from '../connections/connections.read';
import type { ConnectionRow } from '../db/schema';
import { WeightedMap } from '../lib/bounded.map';
import { AppError } from '../lib/errors';
import { parseStoredJson } from '../lib/values';
import { type ConnectionSettings, readConnectionSettings } from '../shared/connection.settings';
import { getVault } from '../vault/vault.crypto';
import { memoizedSettings, SETTINGS_CACHE_BYTES, SETTINGS_CACHE_LIMIT } from './connection.caches';

export interface ResolvedConnection {
  id: string;
  orgId: string;
  slug: string;
  type: ConnectionRow['type'];
  upstreamUrl: string;
  authType: ConnectionRow['authType'];
  authHeaderName: string | null;
  credentialCiphertext: string | null;
  enabled: boolean;
  settings: ConnectionSettings;
  /** The member who created it: a developer uses their own connections (connections:use). */
  createdBy: string | null;
  /** Its latest policy version in D1, when the lookup read it (the policy loaded must be as new). */
  policyVersion?: number | null;
}

/** The columns of a connection the gateway reads on every call. */
type ConnectionLookupRow = Omit<ConnectionDbRow, 'name' | 'created_at' | 'updated_at' | 'last_used_at'>;

export interface CallerAndConnection {
  auth: ApiKeyAuthResult;
  /** Null when the slug names no connection of the caller's organization. */
  connection: ResolvedConnection | null;
}

export const CONNECTION_COLUMNS = `c.id AS c_id, c.org_id AS c_org_id, c.slug AS c_slug, c.type AS c_type,
  c.upstream_url AS c_upstream_url, c.auth_type AS c_auth_type, c.auth_header_name AS c_auth_header_name,
  c.credential_ciphertext AS c_credential_ciphertext, c.enabled AS c_enabled, c.settings AS c_settings,
  c.created_by AS c_created_by`;

export type JoinedConnectionColumns = {
  [K in keyof ConnectionLookupRow as `c_${K}`]: ConnectionLookupRow[K] | null;
};

/** The connection half of a row selected with CONNECTION_COLUMNS (null when the join found none). */
export function joinedConnection(row: JoinedConnectionColumns): ResolvedConnection | null {
  if (row.c_id === null) return null;
  return toResolved({
    id: row.c_id,
    org_id: row.c_org_id!,
    slug: row.c_slug!,
    type: row.c_type!,
    upstream_url: row.c_upstream_url!,
    auth_type: row.c_auth_type!,
    auth_header_name: row.c_auth_header_name,
    credential_ciphertext: row.c_credential_ciphertext,
    enabled: row.c_enabled!,
    settings: row.c_settings!,
    created_by: row.c_created_by,
  });
}

export function connectionNotFound(): AppError {
  return new AppError('not_found', {
    message: 'Connection not found',
    details: { location: 'path', path: 'slug' },
  });
}

/**
 * May this caller call through this connection now? `connections:use` (403 `connection_forbidden`),
 * then enabled (403 `connection_disabled`): one check, in this order, for a call (gateway.prepare.ts),
 * an agent card (a2a.routes.ts) and an open stream's re-check (gateway.entitlement.ts), so a caller
 * who may not use a connection never learns whether it is disabled. `used` runs between the two:
 * the call core closes its authentication span there, so the trace records the same either way.
 */
export function requireUsableConnection(
  principal: Principal,
  connection: ResolvedConnection,
  used?: () => void,
): void {
  requireConnectionUse(principal, connection);
  used?.();
  if (!connection.enabled) throw new AppError('connection_disabled');
}

/**
 * `connections:use`: may this key's member call tools through this connection (and so have its
 * stored credential sent upstream)? Asked right after the connection is resolved, before the body
 * is read. The answer names nothing about who may (owner, access list).
 */
export function requireConnectionUse(principal: Principal, connection: ResolvedConnection): void {
  const access = { createdBy: connection.createdBy, sharedWith: connection.settings.sharedWith };
  if (mayUseConnection(principal, access)) return;
  throw new AppError('connection_forbidden', {
    details: { location: 'path', path: 'slug', permission: 'connections:use' },
  });
}

/**
 * Parsed settings are memoized by their JSON text: zod runs once per distinct settings value per
 * isolate. Bounded by bytes too (connection.caches.ts): a settings text is up to 1 MiB.
 */
const settingsCache = new WeightedMap<string, ConnectionSettings>(SETTINGS_CACHE_LIMIT, SETTINGS_CACHE_BYTES);

function parsedSettings(text: string): ConnectionSettings {
  return memoizedSettings(settingsCache, text, (json) =>
    Object.freeze(readConnectionSettings(parseStoredJson(json))),
  );
}

function toResolved(row: ConnectionLookupRow): ResolvedConnection {
  return {
    id: row.id,
    orgId: row.org_id,
    slug: row.slug,
    type: row.type,
    upstreamUrl: row.upstream_url,
    authType: row.auth_type,
    authHeaderName: row.auth_header_name,
    credentialCiphertext: row.credential_ciphertext,
    enabled: row.enabled === 1,
    settings: parsedSettings(row.settings),
    createdBy: row.created_by,
  };
}

/** The vault's additional data: a ciphertext only decrypts for the row it was written for. */
export function credentialAad(orgId: string, connectionId: string): string {
  return `${orgId}:${connectionId}`;
}

/**
 * Decrypted credentials, per resolved connection object: kept exactly as long as the cached
 * connection it belongs to (a rotation is a management change, so the next call resolves a new
 * object and decrypts the new ciphertext). Never logged, never leaves the isolate but upstream.
 */
const credentials = new WeakMap<ResolvedConnection, Promise<string>>();

/** The stored credential, decrypted once per cached connection, just before forwarding. */
export async function upstreamCredential(env: Env, connection: ResolvedConnection): Promise<string | null> {
  if (connection.authType === 'none' || !connection.credentialCiphertext) return null;
  let decrypted = credentials.get(connection);
  if (!decrypted) {
    decrypted = decryptCredential(env, connection);
    credentials.set(connection, decrypted);
    decrypted.catch(() => credentials.delete(connection));
  }
  return decrypted;
}

async function decryptCredential(env: Env, connection: ResolvedConnection): Promise<string> {
  const vault = await getVault(env);
  try {
    return await vault.decrypt(
      connection.credentialCiphertext!,
      credentialAad(connection.orgId, connection.id),
    );
  } catch (err) {
    throw new AppError('internal', { message: 'Connection credential unavailable', internal: err });
  }
}
