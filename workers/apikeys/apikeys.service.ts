/**
 * API keys of the caller's organization. The secret is generated here, returned once to the
 * creator and never stored, logged or audited: only its SHA-256 and a 10-character display prefix
 * are kept (workers/auth/api-key.crypto.ts). Every statement is scoped to `principal.orgId`.
 */
import type { Principal } from '../app.types';
import { adminAuditStatement, adminAuditStatementIf } from '../audit/audit.admin';
import { generateApiKey, hashApiKey } from '../auth/api-key.crypto';
import { ownOnly, requireOnResource, requirePermission } from '../auth/permissions';
import type { Role } from '../db/schema';
import { closeStreamsFor } from '../events/events.revoke';
import { keyBelongsToOwner, ownerProtected } from '../killswitch/killswitch.principal';
import { AppError } from '../lib/errors';
import { randomId } from '../lib/ids';
import { iso } from '../lib/values';
import { COUNT_LIMITS, insertBelowCap, requireInserted, rowExists } from '../shared/count.limits';
import { roleWithin } from '../shared/roles';
import type { ApiKeyDto, CreateApiKeyInput, CreatedApiKeyDto } from './apikeys.schemas';

export interface ApiKeysEnv {
  DB: D1Database;
  /** Revoking a key also ends its live event streams (workers/events/events.revoke.ts). */
  EVENT_HUB: Env['EVENT_HUB'];
}

interface ApiKeyDbRow {
  id: string;
  name: string;
  role: Role;
  prefix: string;
  created_by: string | null;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

// Never the hash: listings have no use for it.
const SELECT =
  'SELECT id, name, role, prefix, created_by, created_at, last_used_at, revoked_at FROM api_keys';

function toDto(row: ApiKeyDbRow): ApiKeyDto {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    prefix: row.prefix,
    createdBy: row.created_by,
    createdAt: new Date(row.created_at).toISOString(),
    lastUsedAt: iso(row.last_used_at),
    revokedAt: iso(row.revoked_at),
  };
}

export async function createApiKey(
  env: ApiKeysEnv,
  principal: Principal,
  input: CreateApiKeyInput,
): Promise<CreatedApiKeyDto> {
  requirePermission(principal, 'apikeys:write');
  // The ceiling is the caller's effective role (already capped by its key's role), so a
  // reduced key can never mint a stronger one.
  const role = input.role ?? principal.role;
  if (!roleWithin(role, principal.role)) {
    throw new AppError('forbidden', {
      message: `Missing permission apikeys:write for a ${role} key: a key may not exceed its creator's role (role ${principal.role})`,
      details: {
        permission: 'apikeys:write',
        role: principal.role,
        requestedRole: role,
        location: 'body',
        path: 'role',
      },
    });
  }
  const { key, prefix } = generateApiKey();
  const id = randomId('key');
  const now = Date.now();
  const [inserted] = await env.DB.batch([
    insertBelowCap(
      env.DB,
      COUNT_LIMITS.apiKeys,
      [principal.orgId],
      'INSERT INTO api_keys (id, org_id, created_by, name, role, prefix, hash, created_at)',
      [id, principal.orgId, principal.userId, input.name, role, prefix, await hashApiKey(key), now],
    ),
    adminAuditStatementIf(
      env.DB,
      principal,
      {
        action: 'api_key.create',
        // The display prefix only; the key itself never reaches the audit trail.
        details: { apiKeyId: id, name: input.name, role, prefix },
      },
      rowExists('api_keys', id),
    ),
  ]);
  requireInserted(inserted, COUNT_LIMITS.apiKeys);
  return { id, name: input.name, role, prefix, createdAt: new Date(now).toISOString(), key };
}

export async function listApiKeys(env: ApiKeysEnv, principal: Principal): Promise<ApiKeyDto[]> {
  const stmt = ownOnly(principal, 'apikeys:read')
    ? env.DB.prepare(`${SELECT} WHERE org_id = ? AND created_by = ? ORDER BY created_at, rowid`).bind(
        principal.orgId,
        principal.userId,
      )
    : env.DB.prepare(`${SELECT} WHERE org_id = ? ORDER BY created_at, rowid`).bind(principal.orgId);
  const { results } = await stmt.all<ApiKeyDbRow>();
  return results.map(toDto);
}

async function findKey(db: D1Database, orgId: string, id: string): Promise<ApiKeyDbRow> {
  const row = await db.prepare(`${SELECT} WHERE org_id = ? AND id = ?`).bind(orgId, id).first<ApiKeyDbRow>();
  if (!row) {
    throw new AppError('not_found', {
      message: 'API key not found',
      details: { location: 'path', path: 'id' },
    });
  }
  return row;
}

/**
 * Revokes a key: the very next call made with it gets 401 (authentication reads revoked_at on
 * every request). Revoking an already revoked key changes nothing and writes nothing.
 */
export async function revokeApiKey(env: ApiKeysEnv, principal: Principal, id: string): Promise<ApiKeyDto> {
  requirePermission(principal, 'apikeys:write');
  const row = await findKey(env.DB, principal.orgId, id);
  requireOnResource(principal, 'apikeys:write', row.created_by);
  // Admins do everything except touching owners: an owner's key is revoked by an owner.
  if (principal.role !== 'owner' && (await keyBelongsToOwner(env.DB, principal.orgId, row.id))) {
    throw ownerProtected(principal, 'apikeys:write', 'an API key');
  }
  if (row.revoked_at !== null) return toDto(row);
  const now = Date.now();
  await env.DB.batch([
    env.DB.prepare(
      'UPDATE api_keys SET revoked_at = ? WHERE id = ? AND org_id = ? AND revoked_at IS NULL',
    ).bind(now, row.id, principal.orgId),
    adminAuditStatement(env.DB, principal, {
      action: 'api_key.revoke',
      details: { apiKeyId: row.id, name: row.name, role: row.role, prefix: row.prefix },
    }),
  ]);
  await closeStreamsFor(env, [principal.orgId], { apiKeyId: row.id });
  return toDto({ ...row, revoked_at: now });
}
