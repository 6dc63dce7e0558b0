/**
 * Scraper tokens: `igm_…` bearer tokens that read one organization's metrics and nothing else, so a
 * Prometheus server needs no API key (which would carry a role's powers). Generated and stored like
 * API keys — 256 random bits, only the SHA-256 kept (workers/auth/api-key.crypto.ts says why).
 */
import { and, eq, isNull } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/d1';
import type { Principal } from '../app.types';
import { hashApiKey } from '../auth/api-key.crypto';
import { requirePermission } from '../auth/permissions';
import { metricsTokens } from '../db/schema';
import { AppError } from '../lib/errors';
import { randomId } from '../lib/ids';
import { iso } from '../lib/values';
import { COUNT_LIMITS, insertBelowCap, requireInserted } from '../shared/count.limits';

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
  const inserted = await insertBelowCap(
    env.DB,
    limit,
    [principal.orgId],
    'INSERT INTO metrics_tokens (id, org_id, name, prefix, hash, created_by, created_at)',
    [id, principal.orgId, name, token.slice(0, 10), await hashApiKey(token), principal.actor, Date.now()],
  ).run();
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
  const row = await drizzle(env.DB)
    .update(metricsTokens)
    .set({ revokedAt: Date.now() })
    .where(and(eq(metricsTokens.id, id), eq(metricsTokens.orgId, principal.orgId)))
    .returning()
    .get();
  if (!row) throw new AppError('not_found', { details: { location: 'path', path: 'id' } });
  return dto(row);
}
