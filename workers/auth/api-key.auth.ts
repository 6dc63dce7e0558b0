/**
 * API key authentication: `Authorization: Bearer ig_…`. The key is hashed and looked up; the
 * key itself is never stored, logged or compared in plain text.
 *
 * A key acts with at most its creator's *current* role: if the creator is demoted the key is
 * demoted with them, and if they leave the organization the key stops working.
 */
import type { Principal } from '../app.types';
import type { Role } from '../db/schema';
import { AppError } from '../lib/errors';
import { roleAtMost } from '../shared/roles';
import { hashApiKey, looksLikeApiKey } from './api-key.crypto';

/**
 * The challenge every 401 carries (RFC 9110 requires one); the management API's stays this plain
 * one. On MCP and LLM connection routes the gateway replaces it with one that adds the route's
 * `resource_metadata` (workers/oauth/oauth.gateway.ts, withOAuthChallenge): there OAuth is offered
 * (docs/oauth.md), and MCP clients discover it from the 401. The message still says what was wrong.
 */
export const WWW_AUTHENTICATE = 'Bearer realm="igris"';

/** Sent when no credential came at all (also the API's answer when neither key nor session is present). */
export const MISSING_CREDENTIAL_MESSAGE =
  'Authentication required: send your Igris API key as "Authorization: Bearer ig_…"';

export function unauthorized(message: string = MISSING_CREDENTIAL_MESSAGE): AppError {
  return new AppError('unauthorized', { message, headers: { 'WWW-Authenticate': WWW_AUTHENTICATE } });
}

/**
 * Extracts the `ig_` key from an Authorization header; null when there is none. A header that is
 * present but unusable is refused here with a 401 that says why (not the Bearer scheme, or not an
 * Igris key), so a misconfigured client learns what to fix.
 */
export function bearerApiKey(authorization: string | null | undefined): string | null {
  if (!authorization?.trim()) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  const token = match?.[1];
  if (!token) {
    throw unauthorized('The Authorization header must be "Bearer ig_…" (Bearer scheme, one Igris API key)');
  }
  if (!looksLikeApiKey(token)) {
    throw unauthorized('The bearer token is not an Igris API key (they start with "ig_")');
  }
  return token;
}

/**
 * The gateway's MCP and LLM routes also take an OAuth access token from our authorization server
 * (docs/oauth.md): `userId:grantId:secret`, a shape no `ig_` key has. Anything else is refused as
 * bearerApiKey refuses it; the management API keeps using bearerApiKey (keys and sessions only).
 */
export function bearerCredential(authorization: string | null | undefined): string | null {
  const match = /^Bearer\s+([^\s:]+:[^\s:]+:[^\s:]+)\s*$/i.exec(authorization ?? '');
  if (match?.[1]) return match[1];
  return bearerApiKey(authorization);
}

export interface KeyLookupRow {
  id: string;
  org_id: string;
  role: Role;
  created_by: string | null;
  revoked_at: number | null;
  last_used_at: number | null;
  creator_role: Role | null;
}

/** The columns and join of a key lookup; the gateway extends them to resolve the connection in the same query. */
export const KEY_COLUMNS =
  'k.id, k.org_id, k.role, k.created_by, k.revoked_at, k.last_used_at, m.role AS creator_role';
export const KEY_FROM = 'api_keys k LEFT JOIN members m ON m.org_id = k.org_id AND m.user_id = k.created_by';
const LOOKUP_SQL = `SELECT ${KEY_COLUMNS} FROM ${KEY_FROM} WHERE k.hash = ?`;

/** Last-use is written at most once a minute per key, so a busy key does not write on every call. */
const LAST_USED_RESOLUTION_MS = 60_000;

export interface ApiKeyAuthResult {
  principal: Principal;
  /** A write to run off the hot path (waitUntil), or null. */
  touch: Promise<unknown> | null;
}

export async function authenticateApiKey(db: D1Database, key: string): Promise<ApiKeyAuthResult> {
  return principalFromKeyRow(db, await lookupKeyRow(db, await hashApiKey(key)));
}

/** The key row for a key's hash, or null: one D1 read, nothing written. */
export function lookupKeyRow(db: D1Database, hash: string): Promise<KeyLookupRow | null> {
  return db.prepare(LOOKUP_SQL).bind(hash).first<KeyLookupRow>();
}

/** Why a looked-up key may not act (unknown, revoked, orphaned): a 401 saying so, or null. */
export function keyRowRefusal(row: KeyLookupRow | null): AppError | null {
  // Saying "revoked" tells nothing to someone guessing keys: only a holder of the key can learn it.
  if (!row) return unauthorized('Unknown API key: check that the key was copied whole');
  if (row.revoked_at !== null) return unauthorized('API key revoked: create a new one');
  if (row.created_by !== null && row.creator_role === null) {
    return unauthorized('API key no longer valid: the member who created it left the organization');
  }
  return null;
}

/** Judges a looked-up key row: unknown, revoked or orphaned keys are refused with 401. */
export function principalFromKeyRow(db: D1Database, row: KeyLookupRow | null): ApiKeyAuthResult {
  const refusal = keyRowRefusal(row);
  if (refusal || !row) throw refusal ?? unauthorized();
  const role = row.creator_role ? roleAtMost(row.role, row.creator_role) : row.role;
  const now = Date.now();
  const touch =
    row.last_used_at === null || now - row.last_used_at > LAST_USED_RESOLUTION_MS
      ? db.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ?').bind(now, row.id).run()
      : null;
  return {
    principal: {
      kind: 'api_key',
      orgId: row.org_id,
      role,
      userId: row.created_by,
      apiKeyId: row.id,
      sessionId: null,
      actor: `key:${row.id}`,
    },
    touch,
  };
}
