/**
 * Resolving `/v1/mcp/:slug` to a connection. The lookup is always scoped to the caller's
 * organization: another organization's slug is indistinguishable from one that does not exist.
 */

import { type ConnectionSettings, readConnectionSettings } from '../connections/connection.settings';
import type { ConnectionRow } from '../db/schema';
import { AppError } from '../lib/errors';
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
}

interface ConnectionLookupRow {
  id: string;
  org_id: string;
  slug: string;
  type: ConnectionRow['type'];
  upstream_url: string;
  auth_type: ConnectionRow['authType'];
  auth_header_name: string | null;
  credential_ciphertext: string | null;
  enabled: number;
  settings: string;
}

export async function resolveConnection(
  db: D1Database,
  orgId: string,
  slug: string,
): Promise<ResolvedConnection> {
  const row = await db
    .prepare(
      `SELECT id, org_id, slug, type, upstream_url, auth_type, auth_header_name, credential_ciphertext, enabled, settings
       FROM connections WHERE org_id = ? AND slug = ?`,
    )
    .bind(orgId, slug)
    .first<ConnectionLookupRow>();
  if (!row)
    throw new AppError('not_found', {
      message: 'Connection not found',
      details: { location: 'path', path: 'slug' },
    });
  let settings: unknown = {};
  try {
    settings = JSON.parse(row.settings);
  } catch {
    settings = {};
  }
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
    settings: readConnectionSettings(settings),
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
