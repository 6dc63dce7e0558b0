/**
 * Reading connections: the row as D1 returns it, its API form (the DTO), and the reads every
 * other module uses — each scoped to `principal.orgId` and to what the principal may read (404
 * outside the organization, 403 for a Developer's connection that is not their own).
 */
import { a2aGatewayUrl } from '../a2a/a2a.card';
import type { Principal } from '../app.types';
import {
  mayUseConnection,
  ownOnly,
  requireOnResource,
  requirePermission,
  resourceRefusal,
} from '../auth/permissions';
import type { ConnectionRow } from '../db/schema';
import { AppError, type ErrorLocation } from '../lib/errors';
import { iso, parseStoredJson } from '../lib/values';
import { readConnectionSettings } from '../shared/connection.settings';
import { llmGatewayUrl } from './connection.llm';
import type { ConnectionDto } from './connections.schemas';

/** A connections row as D1 returns it (snake_case, settings as JSON text). */
export interface ConnectionDbRow {
  id: string;
  org_id: string;
  slug: string;
  name: string;
  type: ConnectionRow['type'];
  upstream_url: string;
  auth_type: ConnectionRow['authType'];
  auth_header_name: string | null;
  credential_ciphertext: string | null;
  enabled: number;
  settings: string;
  created_by: string | null;
  created_at: number;
  updated_at: number;
  last_used_at: number | null;
}

export interface ConnectionEnv {
  DB: D1Database;
  POLICY_KV: KVNamespace;
  ENCRYPTION_KEY: string;
  GUARD: Env['GUARD'];
  ENCRYPTION_KEY_PREVIOUS?: string;
  ALLOW_PRIVATE_UPSTREAMS?: string;
  PUBLIC_BASE_URL?: string;
}

export function gatewayUrl(baseUrl: string, slug: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/v1/mcp/${slug}`;
}

/** Stored JSON that fails to parse reads as {} (defaults), never as a 500. */
export function toDto(row: ConnectionDbRow, baseUrl: string): ConnectionDto {
  const settings = parseStoredJson(row.settings);
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    type: row.type,
    upstreamUrl: row.upstream_url,
    authType: row.auth_type,
    // One column, two meanings: the header name for 'header', the query parameter for 'query'.
    authHeaderName: row.auth_type === 'header' ? row.auth_header_name : null,
    authQueryParam: row.auth_type === 'query' ? row.auth_header_name : null,
    hasCredential: row.credential_ciphertext !== null,
    enabled: row.enabled === 1,
    settings: readConnectionSettings(settings),
    createdBy: row.created_by,
    createdAt: iso(row.created_at)!,
    updatedAt: iso(row.updated_at)!,
    lastUsedAt: iso(row.last_used_at),
    gatewayUrl:
      row.type === 'llm'
        ? llmGatewayUrl(baseUrl, row.slug)
        : row.type === 'a2a'
          ? a2aGatewayUrl(baseUrl, row.slug)
          : gatewayUrl(baseUrl, row.slug),
  };
}

const SELECT = `SELECT id, org_id, slug, name, type, upstream_url, auth_type, auth_header_name, credential_ciphertext,
  enabled, settings, created_by, created_at, updated_at, last_used_at FROM connections`;

/** Where the slug came from: a route's path by default; a body or query that names a connection says so. */
const SLUG_IN_PATH: ErrorLocation = { location: 'path', path: 'slug' };

export async function findRow(
  db: D1Database,
  orgId: string,
  slug: string,
  where: ErrorLocation = SLUG_IN_PATH,
): Promise<ConnectionDbRow> {
  const row = await db
    .prepare(`${SELECT} WHERE org_id = ? AND slug = ?`)
    .bind(orgId, slug)
    .first<ConnectionDbRow>();
  if (!row) throw new AppError('not_found', { message: 'Connection not found', details: where });
  return row;
}

/** Reads one connection the principal may read (404 outside the org, 403 for a Developer's non-own). */
export async function getConnectionRow(
  env: ConnectionEnv,
  principal: Principal,
  slug: string,
  permission:
    | 'connections:read'
    | 'connections:write'
    | 'policies:read'
    | 'policies:write'
    | 'sessions:read'
    | 'audit:read' = 'connections:read',
  where: ErrorLocation = SLUG_IN_PATH,
) {
  requirePermission(principal, permission);
  const row = await findRow(env.DB, principal.orgId, slug, where);
  requireOnResource(principal, permission, row.created_by);
  return row;
}

/** A listed connection: whole, or (`shared`) one the caller may only use, to be answered as its shared view. */
export interface ListedConnection {
  shared: boolean;
  dto: ConnectionDto;
}

/**
 * A developer's rows: their own, and those whose `settings.sharedWith` names them — in one query,
 * in the order of the organization's list. Stored JSON that does not parse, or a `sharedWith` that
 * is not an array, names nobody (CASE evaluates lazily: no JSON function reads text that is not
 * JSON). Scoped by `org_id` like every read: another organization's connection is never a row here,
 * whatever its list names. The query only narrows: listConnections decides each row with
 * mayUseConnection, the gateway's and the detail's own test.
 */
const DEVELOPER_ROWS = `${SELECT} WHERE org_id = ? AND (created_by = ? OR EXISTS (
  SELECT 1 FROM json_each(CASE WHEN json_valid(settings) THEN
    CASE WHEN json_type(settings, '$.sharedWith') = 'array' THEN settings END END, '$.sharedWith')
  WHERE value = ?))
  ORDER BY created_at, rowid`;

/**
 * The connections the principal sees in its list, in one D1 query, ordered by creation. Owners,
 * admins and auditors read every connection of the organization whole. A developer reads their own
 * whole and, marked `shared`, those shared with them (docs/permissions.md#sharing): they may use
 * those, so they must be able to find them, but not read them.
 */
export async function listConnections(
  env: ConnectionEnv,
  principal: Principal,
  baseUrl: string,
): Promise<ListedConnection[]> {
  if (!ownOnly(principal, 'connections:read')) {
    const { results } = await env.DB.prepare(`${SELECT} WHERE org_id = ? ORDER BY created_at, rowid`)
      .bind(principal.orgId)
      .all<ConnectionDbRow>();
    return results.map((row) => ({ shared: false, dto: toDto(row, baseUrl) }));
  }
  // A key with no member behind it owns nothing and is shared nothing.
  if (principal.userId === null) return [];
  const { results } = await env.DB.prepare(DEVELOPER_ROWS)
    .bind(principal.orgId, principal.userId, principal.userId)
    .all<ConnectionDbRow>();
  const listed: ListedConnection[] = [];
  for (const row of results) {
    const dto = toDto(row, baseUrl);
    if (!resourceRefusal(principal, 'connections:read', row.created_by)) listed.push({ shared: false, dto });
    else if (mayUseConnection(principal, { createdBy: row.created_by, sharedWith: dto.settings.sharedWith }))
      listed.push({ shared: true, dto });
  }
  return listed;
}

/**
 * One connection as the caller may see it: whole where they may read it; the shared view
 * (connection.viewer.ts) where they may only use it because it is shared with them; else the read
 * refusal as before (403 for a developer's non-own connection, 404 outside the organization).
 */
export async function getConnection(
  env: ConnectionEnv,
  principal: Principal,
  slug: string,
  baseUrl: string,
): Promise<{ shared: boolean; dto: ConnectionDto }> {
  requirePermission(principal, 'connections:read');
  const row = await findRow(env.DB, principal.orgId, slug);
  const refusal = resourceRefusal(principal, 'connections:read', row.created_by);
  const dto = toDto(row, baseUrl);
  if (!refusal) return { shared: false, dto };
  if (!mayUseConnection(principal, { createdBy: row.created_by, sharedWith: dto.settings.sharedWith })) {
    throw refusal;
  }
  return { shared: true, dto };
}
