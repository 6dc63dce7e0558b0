/**
 * Scraper tokens: `igm_…` bearer tokens that read one organization's metrics and nothing else, so a
 * Prometheus server needs no API key (which would carry a role's powers). Generated and stored like
 * API keys — 256 random bits, only the SHA-256 kept (workers/auth/api-key.crypto.ts says why).
 */
import { and, eq, isNull } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/d1';
import type { Principal } from '../app.types';
import { adminAuditStatement, adminAuditStatementIf } from '../audit/audit.admin';
import { hashApiKey } from '../auth/api-key.crypto';
import { requirePermission } from '../auth/permissions';
import { metricsTokens } from '../db/schema';
import { AppError } from '../lib/errors';
import { randomId } from '../lib/ids';
import { iso } from '../lib/values';
import { COUNT_LIMITS, insertBelowCap, requireInserted, rowExists } from '../shared/count.limits';

const TOKEN_PATTERN = /^igm_[A-Za-z0-9_-]{40,60}$/;

function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `igm_${btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}`;
}

export function looksLikeScraperToken(value: string): boolean {
  return TOKEN_PATTERN.test(value);
}

/** The organization a live scraper token reads, or null (unknown or revoked: the caller answers 401). */
export async function scraperOrg(db: D1Database, token: string): Promise<string | null> {
  if (!looksLikeScraperToken(token)) return null;
  const row = await drizzle(db)
    .select({ orgId: metricsTokens.orgId })
    .from(metricsTokens)
    .where(and(eq(metricsTokens.hash, await hashApiKey(token)), isNull(metricsTokens.revokedAt)))
    .get();
  return row?.orgId ?? null;
}

export interface MetricsTokenDto {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
}

function dto(row: typeof metricsTokens.$inferSelect): MetricsTokenDto {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    createdAt: iso(row.createdAt)!,
    revokedAt: iso(row.revokedAt),
  };
}

export async function createScraperToken(
  env: Env,
  principal: Principal,
  name: string,
): Promise<MetricsTokenDto & { token: string }> {
  requirePermission(principal, 'org:write');
  const token = newToken();
  const id = randomId('mtk');
  const limit = COUNT_LIMITS.metricsTokens;
  const prefix = token.slice(0, 10);
  // A token that reads the organization's metrics is a credential like an API key: its issue is
  // in the audit trail (written only if the count limit let the token in), the token never is.
  const [inserted] = await env.DB.batch([
    insertBelowCap(
      env.DB,
      limit,
      [principal.orgId],
      'INSERT INTO metrics_tokens (id, org_id, name, prefix, hash, created_by, created_at)',
      [id, principal.orgId, name, prefix, await hashApiKey(token), principal.actor, Date.now()],
    ),
    adminAuditStatementIf(
      env.DB,
      principal,
      { action: 'metrics_token.create', details: { metricsTokenId: id, name, prefix } },
      rowExists('metrics_tokens', id),
    ),
  ]);
  requireInserted(inserted, limit);
  const row = await drizzle(env.DB).select().from(metricsTokens).where(eq(metricsTokens.id, id)).get();
  return { ...dto(row!), token };
}

export async function listScraperTokens(env: Env, principal: Principal): Promise<MetricsTokenDto[]> {
  requirePermission(principal, 'org:write');
  const rows = await drizzle(env.DB)
    .select()
    .from(metricsTokens)
    .where(eq(metricsTokens.orgId, principal.orgId))
    .orderBy(metricsTokens.createdAt)
    .all();
  return rows.map(dto);
}

export async function revokeScraperToken(
  env: Env,
  principal: Principal,
  id: string,
): Promise<MetricsTokenDto> {
  requirePermission(principal, 'org:write');
  const db = drizzle(env.DB);
  const row = await db
    .select()
    .from(metricsTokens)
    .where(and(eq(metricsTokens.id, id), eq(metricsTokens.orgId, principal.orgId)))
    .get();
  if (!row) throw new AppError('not_found', { details: { location: 'path', path: 'id' } });
  // Revoking a revoked token changes nothing and writes nothing (as for API keys).
  if (row.revokedAt !== null) return dto(row);
  const now = Date.now();
  await env.DB.batch([
    env.DB.prepare(
      'UPDATE metrics_tokens SET revoked_at = ? WHERE id = ? AND org_id = ? AND revoked_at IS NULL',
    ).bind(now, id, principal.orgId),
    adminAuditStatement(env.DB, principal, {
      action: 'metrics_token.revoke',
      details: { metricsTokenId: id, name: row.name, prefix: row.prefix },
    }),
  ]);
  return dto({ ...row, revokedAt: now });
}
