/**
 * Notification channels of an organization (docs/observability.md#notification-channels): CRUD, and
 * the one place their secrets are sealed and opened. The URL of a Slack webhook, a webhook's
 * signing secret and a SIEM token live only in the vault envelope (`secret_ciphertext`, AAD
 * `<org>:<channel>:notify`) and are never returned; a Slack channel shows only its origin.
 *
 * Who: reading is for those who read the whole organization's audit trail (owner, admin, auditor);
 * changing channels is `org:write` (owner, admin). Another organization's channel is 404.
 */
import type { Principal } from '../app.types';
import { adminAuditStatement, adminAuditStatementIf } from '../audit/audit.admin';
import { forbidden, grantOf, requirePermission } from '../auth/permissions';
import { secretFollowsOrigin } from '../connections/connection.secrets';
import type { NotifyChannelRow } from '../db/schema';
import { AppError } from '../lib/errors';
import { randomId } from '../lib/ids';
import { changedFields } from '../lib/patch.changes';
import { iso, parseStoredJson } from '../lib/values';
import { COUNT_LIMITS, insertBelowCap, requireInserted, rowExists } from '../shared/count.limits';
import { getVault } from '../vault/vault.crypto';
import { type ChannelSecret, type ChannelTarget, checkChannelUrl, type Severity } from './notify.format';
import type { ChannelCreate, ChannelDto, ChannelPatch } from './notify.schemas';

export type NotifyEnv = Pick<
  Env,
  'DB' | 'ENCRYPTION_KEY' | 'ENCRYPTION_KEY_PREVIOUS' | 'ALLOW_PRIVATE_UPSTREAMS'
>;

export interface DbChannel {
  id: string;
  org_id: string;
  name: string;
  type: NotifyChannelRow['type'];
  format: NotifyChannelRow['format'];
  display_url: string;
  secret_ciphertext: string;
  min_severity: Severity;
  event_types: string | null;
  enabled: number;
  created_at: number;
  updated_at: number;
}

/** A channel as routing and delivery see it (secret still sealed). */
export interface Channel extends ChannelTarget {
  id: string;
  orgId: string;
  minSeverity: Severity;
  eventTypes: string[] | null;
  enabled: boolean;
  sealed: string;
}

const aad = (orgId: string, channelId: string) => `${orgId}:${channelId}:notify`;

export function channelOf(row: DbChannel): Channel {
  const types = parseStoredJson(row.event_types);
  return {
    id: row.id,
    orgId: row.org_id,
    type: row.type,
    format: row.format,
    minSeverity: row.min_severity,
    eventTypes: Array.isArray(types) ? types.filter((t): t is string => typeof t === 'string') : null,
    enabled: row.enabled === 1,
    sealed: row.secret_ciphertext,
  };
}

function dto(row: DbChannel): ChannelDto {
  const channel = channelOf(row);
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    format: row.format,
    url: row.display_url,
    // A Slack channel's secret is its URL; a webhook always has a signing secret.
    hasSecret: true,
    minSeverity: channel.minSeverity,
    eventTypes: channel.eventTypes,
    enabled: channel.enabled,
    createdAt: iso(row.created_at)!,
    updatedAt: iso(row.updated_at)!,
  };
}

function requireUrl(env: NotifyEnv, url: string): URL {
  const checked = checkChannelUrl(env, url);
  if (typeof checked === 'string') {
    throw new AppError('validation_failed', {
      message: `The channel URL is refused (rule: ${checked}): it must be https, on a public host, with no credentials in it`,
      details: { issues: [{ location: 'body', path: 'url', message: 'URL refused', rule: checked }] },
    });
  }
  return checked;
}

export function requireChannelRead(principal: Principal): void {
  if (grantOf(principal, 'audit:read') !== 'all') throw forbidden('audit:read', principal.role);
}

async function seal(
  env: NotifyEnv,
  orgId: string,
  channelId: string,
  secret: ChannelSecret,
): Promise<string> {
  return (await getVault(env)).encrypt(JSON.stringify(secret), aad(orgId, channelId));
}

export async function openSecret(env: NotifyEnv, channel: Channel): Promise<ChannelSecret> {
  const plain = await (await getVault(env)).decrypt(channel.sealed, aad(channel.orgId, channel.id));
  return JSON.parse(plain) as ChannelSecret;
}

export async function loadChannel(db: D1Database, orgId: string, id: string): Promise<DbChannel> {
  const row = await db
    .prepare('SELECT * FROM notify_channels WHERE id = ? AND org_id = ?')
    .bind(id, orgId)
    .first<DbChannel>();
  if (!row) {
    throw new AppError('not_found', {
      message: 'Channel not found',
      details: { location: 'path', path: 'id' },
    });
  }
  return row;
}

export async function listChannels(env: NotifyEnv, principal: Principal): Promise<ChannelDto[]> {
  requireChannelRead(principal);
  const { results } = await env.DB.prepare(
    'SELECT * FROM notify_channels WHERE org_id = ? ORDER BY created_at, id',
  )
    .bind(principal.orgId)
    .all<DbChannel>();
  return results.map(dto);
}

export async function getChannel(env: NotifyEnv, principal: Principal, id: string): Promise<ChannelDto> {
  requireChannelRead(principal);
  return dto(await loadChannel(env.DB, principal.orgId, id));
}

/** What is shown of a URL: a Slack webhook's path and query are its secret. */
const displayUrl = (type: ChannelCreate['type'], url: URL) =>
  type === 'slack' ? `${url.origin}/…` : url.href;

export async function createChannel(
  env: NotifyEnv,
  principal: Principal,
  input: ChannelCreate,
): Promise<ChannelDto> {
  requirePermission(principal, 'org:write');
  const url = requireUrl(env, input.url);
  const id = randomId('nch');
  const secret: ChannelSecret = {
    url: url.href,
    ...(input.type === 'webhook' ? { secret: input.secret } : {}),
    ...(input.type === 'siem' && input.token ? { token: input.token } : {}),
  };
  const now = Date.now();
  const limit = COUNT_LIMITS.notifyChannels;
  const insert = insertBelowCap(
    env.DB,
    limit,
    [principal.orgId],
    `INSERT INTO notify_channels (id, org_id, name, type, format, display_url, secret_ciphertext, min_severity,
       event_types, enabled, created_by, created_at, updated_at)`,
    [
      id,
      principal.orgId,
      input.name,
      input.type,
      input.type === 'siem' ? input.format : null,
      displayUrl(input.type, url),
      await seal(env, principal.orgId, id, secret),
      input.minSeverity,
      input.eventTypes ? JSON.stringify(input.eventTypes) : null,
      input.enabled ? 1 : 0,
      principal.userId ?? null,
      now,
      now,
    ],
  );
  // Where alerts (and their details) go is recorded like any admin change: the shown URL only.
  const [inserted] = await env.DB.batch([
    insert,
    adminAuditStatementIf(
      env.DB,
      principal,
      {
        action: 'notify_channel.create',
        details: { channelId: id, type: input.type, url: displayUrl(input.type, url) },
      },
      rowExists('notify_channels', id),
    ),
  ]);
  requireInserted(inserted, limit);
  return getChannel(env, principal, id);
}

function channelAudit(
  db: D1Database,
  principal: Principal,
  action: string,
  channelId: string,
  details: Record<string, unknown> = {},
): D1PreparedStatement {
  return adminAuditStatement(db, principal, { action, details: { channelId, ...details } });
}

function refuseField(path: string, message: string): AppError {
  return new AppError('validation_failed', {
    message,
    details: { issues: [{ location: 'body', path, message }] },
  });
}

export async function updateChannel(
  env: NotifyEnv,
  principal: Principal,
  id: string,
  patch: ChannelPatch,
): Promise<ChannelDto> {
  requirePermission(principal, 'org:write');
  const row = await loadChannel(env.DB, principal.orgId, id);
  if (patch.secret !== undefined && row.type !== 'webhook')
    throw refuseField('secret', 'Only webhooks have a secret');
  if ((patch.token !== undefined || patch.format !== undefined) && row.type !== 'siem') {
    throw refuseField(
      patch.format !== undefined ? 'format' : 'token',
      'Only SIEM channels have a format and token',
    );
  }
  let sealed = row.secret_ciphertext;
  let shown = row.display_url;
  if (patch.url !== undefined || patch.secret !== undefined || patch.token !== undefined) {
    const secret = await openSecret(env, channelOf(row));
    if (patch.url !== undefined) {
      const url = requireUrl(env, patch.url);
      // A SIEM token is sent with every delivery: it goes only to the host it was given for. (A
      // webhook's signing secret never leaves the gateway; a Slack URL is its own secret.)
      const moved = secretFollowsOrigin({
        from: secret.url,
        to: url.href,
        keepsSecret: patch.token === undefined && secret.token !== undefined,
        urlPath: 'url',
        secretPath: 'token',
      });
      if (moved) throw moved;
      secret.url = url.href;
      shown = displayUrl(row.type, url);
    }
    if (patch.secret !== undefined) secret.secret = patch.secret;
    if (patch.token === null) delete secret.token;
    else if (patch.token !== undefined) secret.token = patch.token;
    sealed = await seal(env, principal.orgId, id, secret);
  }
  const update = env.DB.prepare(
    `UPDATE notify_channels SET name = ?, format = ?, display_url = ?, secret_ciphertext = ?, min_severity = ?,
       event_types = ?, enabled = ?, updated_at = ? WHERE id = ? AND org_id = ?`,
  ).bind(
    patch.name ?? row.name,
    patch.format ?? row.format,
    shown,
    sealed,
    patch.minSeverity ?? row.min_severity,
    patch.eventTypes === undefined
      ? row.event_types
      : patch.eventTypes === null
        ? null
        : JSON.stringify(patch.eventTypes),
    patch.enabled === undefined ? row.enabled : patch.enabled ? 1 : 0,
    Date.now(),
    id,
    principal.orgId,
  );
  // Field names only; a new URL as shown (a Slack URL's secret path never).
  const changed = changedFields(patch, {
    name: row.name,
    format: row.format,
    minSeverity: row.min_severity,
    enabled: row.enabled === 1,
  });
  // Nothing differs: nothing is written, and no row records a change that did not happen.
  if (changed.length === 0) return getChannel(env, principal, id);
  await env.DB.batch([
    update,
    channelAudit(env.DB, principal, 'notify_channel.update', id, {
      changed,
      ...(shown !== row.display_url ? { url: { from: row.display_url, to: shown } } : {}),
    }),
  ]);
  return getChannel(env, principal, id);
}

export async function deleteChannel(env: NotifyEnv, principal: Principal, id: string): Promise<void> {
  requirePermission(principal, 'org:write');
  await loadChannel(env.DB, principal.orgId, id);
  // Deliveries go with it (ON DELETE CASCADE): a dead letter of a deleted channel cannot be replayed.
  await env.DB.batch([
    env.DB.prepare('DELETE FROM notify_deliveries WHERE channel_id = ? AND org_id = ?').bind(
      id,
      principal.orgId,
    ),
    env.DB.prepare('DELETE FROM notify_channels WHERE id = ? AND org_id = ?').bind(id, principal.orgId),
    channelAudit(env.DB, principal, 'notify_channel.delete', id),
  ]);
}
