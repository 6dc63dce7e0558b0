/**
 * An organization's OpenTelemetry export settings (docs/observability.md#tracing): one row in
 * `tracing_settings`. The endpoint's headers are sealed in the vault (AAD `<org>:tracing`) and
 * never returned, only their names. Owners and admins (`org:write`) read and change them: the
 * endpoint says where the organization's call metadata goes.
 *
 * The gateway reads them with the organization's governance snapshot (one D1 batch per
 * organization and configuration epoch, workers/governance/governance.cache.ts), so tracing adds
 * no read per call; a change here bumps the epoch (config.announce.ts) and is in force at once.
 */
import type { Principal } from '../app.types';
import { adminAuditStatement, adminAuditStatementIf } from '../audit/audit.admin';
import { requirePermission } from '../auth/permissions';
import { checkOutboundUrl } from '../connections/connection.rules';
import { secretFollowsOrigin } from '../connections/connection.secrets';
import { AppError } from '../lib/errors';
import { iso, parseStoredJson } from '../lib/values';
import type { OtlpProtocol, TracingTarget } from './trace.call';
import { sealHeaders } from './trace.export';
import type { TracingPut, TracingSettingsDto } from './tracing.schemas';

export type TracingEnv = Pick<
  Env,
  'DB' | 'ENCRYPTION_KEY' | 'ENCRYPTION_KEY_PREVIOUS' | 'ALLOW_PRIVATE_UPSTREAMS'
>;

export interface DbTracing {
  org_id: string;
  enabled: number;
  endpoint: string;
  sample_rate: number;
  header_names: string;
  headers_ciphertext: string | null;
  protocol: OtlpProtocol;
  updated_at: number;
}

/** The columns the governance snapshot reads (the same row, in its batch). */
export const TRACING_SELECT =
  'SELECT org_id, enabled, endpoint, sample_rate, header_names, headers_ciphertext, protocol, updated_at FROM tracing_settings WHERE org_id = ?';

/** What the call core needs: null when the organization does not trace. */
export function tracingTargetOf(row: DbTracing | undefined): TracingTarget | null {
  if (!row) return null;
  if (row.enabled !== 1) return null;
  return {
    endpoint: row.endpoint,
    sampleRate: row.sample_rate,
    sealedHeaders: row.headers_ciphertext,
    protocol: row.protocol,
  };
}

function dto(row: DbTracing): TracingSettingsDto {
  const names = parseStoredJson(row.header_names);
  return {
    enabled: row.enabled === 1,
    endpoint: row.endpoint,
    sampleRate: row.sample_rate,
    protocol: row.protocol,
    headerNames: Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : [],
    updatedAt: iso(row.updated_at)!,
  };
}

async function read(env: TracingEnv, orgId: string): Promise<DbTracing | null> {
  return env.DB.prepare(TRACING_SELECT).bind(orgId).first<DbTracing>();
}

export async function getTracing(env: TracingEnv, principal: Principal): Promise<TracingSettingsDto | null> {
  requirePermission(principal, 'org:write');
  const row = await read(env, principal.orgId);
  return row ? dto(row) : null;
}

export async function putTracing(
  env: TracingEnv,
  principal: Principal,
  input: TracingPut,
): Promise<TracingSettingsDto> {
  requirePermission(principal, 'org:write');
  const checked = checkOutboundUrl(env, input.endpoint);
  if (!checked.ok) {
    throw new AppError('validation_failed', {
      message: `The endpoint is refused (rule: ${checked.rule}): it must be https, on a public host, with no credentials in it`,
      details: {
        issues: [{ location: 'body', path: 'endpoint', message: 'URL refused', rule: checked.rule }],
      },
    });
  }
  const existing = await read(env, principal.orgId);
  // The stored header values (an OTLP backend's API key) go only to the endpoint they were given for.
  const moved = secretFollowsOrigin({
    from: existing?.endpoint ?? null,
    to: checked.url.href,
    keepsSecret: input.headers === undefined && Boolean(existing?.headers_ciphertext),
    urlPath: 'endpoint',
    secretPath: 'headers',
  });
  if (moved) throw moved;
  // The settings already stored, with no new headers: nothing is written, no row records it.
  if (
    existing &&
    input.headers === undefined &&
    existing.endpoint === checked.url.href &&
    existing.sample_rate === input.sampleRate &&
    existing.protocol === input.protocol &&
    existing.enabled === (input.enabled ? 1 : 0)
  ) {
    return dto(existing);
  }
  let names = existing?.header_names ?? '[]';
  let sealed = existing?.headers_ciphertext ?? null;
  if (input.headers !== undefined) {
    const entries = Object.keys(input.headers);
    names = JSON.stringify(entries);
    sealed = entries.length > 0 ? await sealHeaders(env, principal.orgId, input.headers) : null;
  }
  const upsert = env.DB.prepare(
    `INSERT INTO tracing_settings (org_id, enabled, endpoint, sample_rate, header_names, headers_ciphertext, protocol, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (org_id) DO UPDATE SET enabled = excluded.enabled, endpoint = excluded.endpoint,
       sample_rate = excluded.sample_rate, header_names = excluded.header_names,
       headers_ciphertext = excluded.headers_ciphertext, protocol = excluded.protocol,
       updated_at = excluded.updated_at`,
  ).bind(
    principal.orgId,
    input.enabled ? 1 : 0,
    checked.url.href,
    input.sampleRate,
    names,
    sealed,
    input.protocol,
    Date.now(),
  );
  await env.DB.batch([
    upsert,
    // Where the organization's traces go is a security decision: recorded, header names only.
    adminAuditStatement(env.DB, principal, {
      action: 'tracing.update',
      details: {
        endpoint: { from: existing?.endpoint ?? null, to: checked.url.href },
        enabled: input.enabled,
        headers: input.headers !== undefined ? Object.keys(input.headers) : 'kept',
      },
    }),
  ]);
  return dto((await read(env, principal.orgId))!);
}

export async function deleteTracing(env: TracingEnv, principal: Principal): Promise<void> {
  requirePermission(principal, 'org:write');
  // The record first, only if there is a setting to delete: deleting nothing writes nothing.
  await env.DB.batch([
    adminAuditStatementIf(
      env.DB,
      principal,
      { action: 'tracing.delete' },
      { sql: 'SELECT 1 FROM tracing_settings WHERE org_id = ?', binds: [principal.orgId] },
    ),
    env.DB.prepare('DELETE FROM tracing_settings WHERE org_id = ?').bind(principal.orgId),
  ]);
}
