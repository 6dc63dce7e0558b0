/**
 * Resolving `/v1/mcp/:slug` to a connection. The lookup is always scoped to the caller's
 * organization: another organization's slug is indistinguishable from one that does not exist.
 */

import type { Principal } from '../app.types';
import {
  type ApiKeyAuthResult,
  KEY_COLUMNS,
  KEY_FROM,
  type KeyLookupRow,
  principalFromKeyRow,
} from '../auth/api-key.auth';
import { hashApiKey } from '../auth/api-key.crypto';
import { mayUseConnection } from '../auth/permissions';
import type { ConnectionDbRow } from '../connections/connections.service';
import type { ConnectionRow } from '../db/schema';
import { AppError } from '../lib/errors';
import { parseStoredJson } from '../lib/values';
import { type ConnectionSettings, readConnectionSettings } from '../shared/connection.settings';
import { getVault } from '../vault/vault.crypto';

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

// One D1 round trip for both steps. The connection is joined on the key's own organization, so a
// slug of another tenant can't be reached (it reads as "not found"), exactly as two queries would.
const CALLER_AND_CONNECTION_SQL = `SELECT ${KEY_COLUMNS}, ${CONNECTION_COLUMNS}
  FROM ${KEY_FROM} LEFT JOIN connections c ON c.org_id = k.org_id AND c.slug = ?
  WHERE k.hash = ?`;

export type JoinedConnectionColumns = {
  [K in keyof ConnectionLookupRow as `c_${K}`]: ConnectionLookupRow[K] | null;
};
type JoinedRow = KeyLookupRow & JoinedConnectionColumns;

/**
 * Authenticates the key and resolves the slug in its organization. The key is judged first: a bad
 * key is 401 whatever the slug, and only an authenticated caller learns whether a slug exists.
 */
export async function authenticateAndResolve(
  db: D1Database,
  key: string,
  slug: string,
): Promise<CallerAndConnection> {
  const row = await db
    .prepare(CALLER_AND_CONNECTION_SQL)
    .bind(slug, await hashApiKey(key))
    .first<JoinedRow>();
  const auth = principalFromKeyRow(db, row);
  return { auth, connection: row ? joinedConnection(row) : null };
}

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

/** Parsed settings are memoized by their JSON text: zod runs once per distinct settings value per isolate. */
const settingsCache = new Map<string, ConnectionSettings>();

function parsedSettings(text: string): ConnectionSettings {
  const hit = settingsCache.get(text);
  if (hit) return hit;
  const parsed = Object.freeze(readConnectionSettings(parseStoredJson(text)));
  if (settingsCache.size >= 1_000) settingsCache.clear();
  settingsCache.set(text, parsed);
  return parsed;
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

/** Decrypts the stored credential just before forwarding; it lives only in this request's memory. */
export async function upstreamCredential(env: Env, connection: ResolvedConnection): Promise<string | null> {
  if (connection.authType === 'none' || !connection.credentialCiphertext) return null;
  const vault = await getVault(env);
  try {
    return await vault.decrypt(
      connection.credentialCiphertext,
      credentialAad(connection.orgId, connection.id),
    );
  } catch (err) {
    throw new AppError('internal', { message: 'Connection credential unavailable', internal: err });
  }
}
