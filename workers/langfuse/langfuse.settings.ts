/**
 * An organization's Langfuse project (docs/observability.md#langfuse): one row in
 * `langfuse_settings` — the host, the public key, and the secret key sealed in the vault (AAD
 * `<org>:langfuse`), never returned. Owners and admins (`org:write`) read and change it: it says
 * where the organization's LLM call records go. The gateway learns of a change through the
 * configuration epoch (an API write bumps it: workers/config/config.announce.ts).
 */
import { z } from '@hono/zod-openapi';
import type { Principal } from '../app.types';
import { adminAuditStatement, adminAuditStatementIf } from '../audit/audit.admin';
import { requirePermission } from '../auth/permissions';
import { checkOutboundUrl } from '../connections/connection.rules';
import { secretFollowsOrigin } from '../connections/connection.secrets';
import { AppError } from '../lib/errors';
import { iso } from '../lib/values';
import { getVault } from '../vault/vault.crypto';

export type LangfuseEnv = Pick<
  Env,
  'DB' | 'ENCRYPTION_KEY' | 'ENCRYPTION_KEY_PREVIOUS' | 'ALLOW_PRIVATE_UPSTREAMS'
>;

export const langfuseAad = (orgId: string) => `${orgId}:langfuse`;

export const langfusePutSchema = z
  .strictObject({
    host: z.string().min(1).max(2000).openapi({
      description: 'The Langfuse base URL (https, public host), e.g. https://cloud.langfuse.com',
    }),
    publicKey: z.string().min(1).max(200).openapi({ description: "The project's public key (pk-lf-…)" }),
    secretKey: z.string().min(1).max(500).optional().openapi({
      description:
        "The project's secret key (sk-lf-…). Stored encrypted, never returned. Omit to keep the stored one",
    }),
    enabled: z.boolean().default(true),
  })
  .openapi('LangfuseSettingsPut');
export type LangfusePut = z.infer<typeof langfusePutSchema>;

export const langfuseSettingsSchema = z
  .object({
    enabled: z.boolean(),
    host: z.string(),
    publicKey: z.string(),
    hasSecretKey: z.literal(true),
    updatedAt: z.string(),
  })
  .openapi('LangfuseSettings');
export type LangfuseSettingsDto = z.infer<typeof langfuseSettingsSchema>;

export interface DbLangfuse {
  org_id: string;
  enabled: number;
  host: string;
  public_key: string;
  secret_ciphertext: string;
  updated_at: number;
}

export function readLangfuse(db: D1Database, orgId: string): Promise<DbLangfuse | null> {
  return db
    .prepare(
      'SELECT org_id, enabled, host, public_key, secret_ciphertext, updated_at FROM langfuse_settings WHERE org_id = ?',
    )
    .bind(orgId)
    .first<DbLangfuse>();
}

const dto = (row: DbLangfuse): LangfuseSettingsDto => ({
  enabled: row.enabled === 1,
  host: row.host,
  publicKey: row.public_key,
  hasSecretKey: true,
  updatedAt: iso(row.updated_at)!,
});

export async function getLangfuse(
  env: LangfuseEnv,
  principal: Principal,
): Promise<LangfuseSettingsDto | null> {
  requirePermission(principal, 'org:write');
  const row = await readLangfuse(env.DB, principal.orgId);
  return row ? dto(row) : null;
}

/** The host, checked with the upstream URL rules (the SSRF guard); its origin only is kept. */
export function checkedHost(env: Pick<Env, 'ALLOW_PRIVATE_UPSTREAMS'>, host: string): URL | string {
  const checked = checkOutboundUrl(env, host);
  return checked.ok ? checked.url : checked.rule;
}

export async function putLangfuse(
  env: LangfuseEnv,
  principal: Principal,
  input: LangfusePut,
): Promise<LangfuseSettingsDto> {
  requirePermission(principal, 'org:write');
  const host = checkedHost(env, input.host);
  if (typeof host === 'string') {
    throw new AppError('validation_failed', {
      message: `The host is refused (rule: ${host}): it must be https, on a public host, with no credentials in it`,
      details: { issues: [{ location: 'body', path: 'host', message: 'URL refused', rule: host }] },
    });
  }
  const existing = await readLangfuse(env.DB, principal.orgId);
  // The stored secret key goes only to the host it was given for.
  const moved = secretFollowsOrigin({
    from: existing?.host ?? null,
    to: host.href,
    keepsSecret: input.secretKey === undefined,
    urlPath: 'host',
    secretPath: 'secretKey',
  });
  if (moved) throw moved;
  let sealed = existing?.secret_ciphertext ?? null;
  if (input.secretKey !== undefined) {
    sealed = await (await getVault(env)).encrypt(input.secretKey, langfuseAad(principal.orgId));
  }
  if (!sealed) {
    throw new AppError('validation_failed', {
      message: 'secretKey is required the first time',
      details: { issues: [{ location: 'body', path: 'secretKey', message: 'Required' }] },
    });
  }
  // The base URL without a trailing slash; the ingestion path is appended when sending.
  const base = `${host.origin}${host.pathname.replace(/\/+$/, '')}`;
  // The settings already stored, with no new secret key: nothing is written, no row records it.
  if (
    existing &&
    input.secretKey === undefined &&
    existing.host === base &&
    existing.public_key === input.publicKey &&
    existing.enabled === (input.enabled ? 1 : 0)
  ) {
    return dto(existing);
  }
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO langfuse_settings (org_id, enabled, host, public_key, secret_ciphertext, updated_at)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (org_id) DO UPDATE SET enabled = excluded.enabled, host = excluded.host,
         public_key = excluded.public_key, secret_ciphertext = excluded.secret_ciphertext,
         updated_at = excluded.updated_at`,
    ).bind(principal.orgId, input.enabled ? 1 : 0, base, input.publicKey, sealed, Date.now()),
    // Where the organization's LLM calls go is a security decision: recorded, never the secret.
    adminAuditStatement(env.DB, principal, {
      action: 'langfuse.update',
      details: {
        host: { from: existing?.host ?? null, to: base },
        enabled: input.enabled,
        secretKey: input.secretKey !== undefined ? 'set' : 'kept',
      },
    }),
  ]);
  return dto((await readLangfuse(env.DB, principal.orgId))!);
}

export async function deleteLangfuse(env: LangfuseEnv, principal: Principal): Promise<void> {
  requirePermission(principal, 'org:write');
  // The record first, only if there is a setting to delete: deleting nothing writes nothing.
  await env.DB.batch([
    adminAuditStatementIf(
      env.DB,
      principal,
      { action: 'langfuse.delete' },
      { sql: 'SELECT 1 FROM langfuse_settings WHERE org_id = ?', binds: [principal.orgId] },
    ),
    env.DB.prepare('DELETE FROM langfuse_settings WHERE org_id = ?').bind(principal.orgId),
  ]);
}
