/**
 * Connections: the credential vault entries behind `/v1/mcp/:slug` (and `/llm/:slug`,
 * `/v1/a2a/:slug`) — creating, updating, rotating and deleting them. Every function takes the
 * principal and scopes every statement to `principal.orgId`. Reads and the API form are in
 * connections.read.ts; the rules a body must meet beyond its schema in connection.input.ts.
 */

import { insertCardStatement, resolveCard } from '../a2a/a2a.registry';
import type { Principal } from '../app.types';
import { adminAuditStatement, adminAuditStatementIf } from '../audit/audit.admin';
import { requirePermission } from '../auth/permissions';
import { announceConfigChange } from '../config/config.epoch';
import type { ConnectionRow } from '../db/schema';
import { checkInspectionSettings } from '../inspection/detections.service';
import { AppError } from '../lib/errors';
import { randomId } from '../lib/ids';
import { changedFields } from '../lib/patch.changes';
import { parseStoredJson } from '../lib/values';
import { unpublishPolicy } from '../policy/policy.store';
import {
  type ConnectionSettings,
  connectionSettingsSchema,
  readConnectionSettings,
} from '../shared/connection.settings';
import { COUNT_LIMITS, insertBelowCap, requireInserted, rowExists } from '../shared/count.limits';
import { getVault } from '../vault/vault.crypto';
import { checkAuth, checkRepoint, checkUrl, fieldError } from './connection.input';
import { llmUpdateFields, refuseLlmSettings, upstreamFields } from './connection.llm';
import { redactUpstreamUrl } from './connection.secrets';
import { checkAllowedTeams, checkSharedWith, normalizeSharedWith } from './connection.sharing';
import { checkUpstreamOAuthMove, dropUpstreamTokens } from './connection.upstream-oauth';
import {
  type ConnectionDbRow,
  type ConnectionEnv,
  findRow,
  getConnectionRow,
  toDto,
} from './connections.read';
import type { ConnectionDto, CreateConnectionInput, UpdateConnectionInput } from './connections.schemas';

async function encryptCredential(
  env: ConnectionEnv,
  orgId: string,
  connectionId: string,
  credential: string,
) {
  const vault = await getVault(env);
  return vault.encrypt(credential, `${orgId}:${connectionId}`);
}

export async function createConnection(
  env: ConnectionEnv,
  principal: Principal,
  input: CreateConnectionInput,
  baseUrl: string,
): Promise<ConnectionDto> {
  requirePermission(principal, 'connections:write');
  // An agent's endpoint comes from its AgentCard (fetched or pasted; SSRF rules on both URLs).
  const agent = input.type === 'a2a' ? await resolveCard(env, input) : null;
  const { upstreamUrl, authType, authHeaderName, authQueryParam } = upstreamFields(
    agent ? { ...input, upstreamUrl: agent.endpoint } : input,
  );
  checkUrl(env, upstreamUrl);
  checkAuth({
    authType,
    authHeaderName,
    authQueryParam,
    hasCredential: input.credential !== undefined,
    upstreamUrl,
  });
  // A connection created without an explicit failMode takes the organization's default.
  const org = await env.DB.prepare('SELECT settings FROM organizations WHERE id = ?')
    .bind(principal.orgId)
    .first<{ settings: string }>();
  const orgDefault = (parseStoredJson(org?.settings ?? null) as { defaultFailMode?: unknown })
    .defaultFailMode;
  const settings = connectionSettingsSchema.parse({
    ...(orgDefault === 'open' || orgDefault === 'closed' ? { failMode: orgDefault } : {}),
    ...input.settings,
  });
  settings.sharedWith = normalizeSharedWith(settings.sharedWith);
  await checkSharedWith(env.DB, principal.orgId, settings.sharedWith);
  settings.allowedTeams = await checkAllowedTeams(env.DB, principal.orgId, settings.allowedTeams);
  await checkInspectionSettings(env, principal.orgId, settings.inspection);
  const id = randomId('con');
  const now = Date.now();
  const ciphertext = input.credential
    ? await encryptCredential(env, principal.orgId, id, input.credential)
    : null;
  let inserted: D1Result | undefined;
  try {
    [inserted] = await env.DB.batch([
      insertBelowCap(
        env.DB,
        COUNT_LIMITS.connections,
        [principal.orgId],
        `INSERT INTO connections (id, org_id, slug, name, type, upstream_url, auth_type, auth_header_name,
           credential_ciphertext, enabled, settings, created_by, created_at, updated_at)`,
        [
          id,
          principal.orgId,
          input.slug,
          input.name,
          input.type,
          upstreamUrl,
          authType,
          authHeaderName ?? authQueryParam ?? null,
          ciphertext,
          1,
          JSON.stringify(settings),
          principal.userId,
          now,
          now,
        ],
      ),
      adminAuditStatementIf(
        env.DB,
        principal,
        {
          action: 'connection.create',
          connectionId: id,
          connectionSlug: input.slug,
          details: {
            name: input.name,
            type: input.type,
            upstreamUrl,
            authType,
            ...(authQueryParam ? { authQueryParam } : {}),
            ...(settings.provider ? { provider: settings.provider } : {}),
            credential: ciphertext ? 'set' : 'none',
            ...(agent
              ? { agentCardUrl: agent.cardUrl, agentCard: agent.cardUrl ? 'fetched' : 'pasted' }
              : {}),
          },
        },
        rowExists('connections', id),
      ),
      ...(agent ? [insertCardStatement(env.DB, principal.orgId, id, agent)] : []),
    ]);
  } catch (err) {
    if (String(err).includes('UNIQUE')) {
      throw new AppError('conflict', {
        message: `A connection with slug "${input.slug}" already exists`,
        details: { location: 'body', path: 'slug' },
      });
    }
    throw err;
  }
  requireInserted(inserted, COUNT_LIMITS.connections);
  return toDto(await findRow(env.DB, principal.orgId, input.slug), baseUrl);
}

export async function updateConnection(
  env: ConnectionEnv,
  principal: Principal,
  slug: string,
  request: UpdateConnectionInput,
  baseUrl: string,
): Promise<{ dto: ConnectionDto; changed: string[] }> {
  const row = await getConnectionRow(env, principal, slug, 'connections:write');
  if (row.type !== 'llm') refuseLlmSettings(request.settings);
  if (row.type === 'a2a' && request.upstreamUrl !== undefined) {
    // The endpoint is the one the agent's card names: it moves with a card refresh, never alone.
    throw fieldError(
      'upstreamUrl',
      'an a2a connection’s endpoint comes from its AgentCard: POST /connections/{slug}/agent-card/refresh',
    );
  }
  // An llm connection's provider change implies a new base URL and credential style.
  const input =
    row.type === 'llm'
      ? llmUpdateFields(
          { upstream_url: row.upstream_url, settings: readConnectionSettings(parseStoredJson(row.settings)) },
          request,
        )
      : request;
  const authType = input.authType ?? row.auth_type;
  // auth_header_name holds the header name ('header') or the query parameter name ('query').
  const keepName = (type: ConnectionRow['authType']) =>
    authType === type && row.auth_type === type ? row.auth_header_name : null;
  const authHeaderName = input.authHeaderName !== undefined ? input.authHeaderName : keepName('header');
  const authQueryParam = input.authQueryParam !== undefined ? input.authQueryParam : keepName('query');
  // Switching to "none" drops the stored credential; keeping another type keeps it unless replaced.
  const keepsCredential = authType !== 'none' && row.credential_ciphertext !== null;
  const hasCredential = input.credential !== undefined || (keepsCredential && input.authType !== 'none');
  if (input.upstreamUrl !== undefined) checkUrl(env, input.upstreamUrl);
  const upstreamUrl = input.upstreamUrl ?? row.upstream_url;
  checkAuth({ authType, authHeaderName, authQueryParam, hasCredential, upstreamUrl });
  const repointed = checkRepoint(principal, row, input, keepsCredential);

  const stored: ConnectionSettings = readConnectionSettings(parseStoredJson(row.settings));
  let settings = stored;
  if (input.settings) settings = connectionSettingsSchema.parse({ ...settings, ...input.settings });
  const providerMoved = checkUpstreamOAuthMove({
    principal,
    before: { upstreamUrl: row.upstream_url, settings: stored },
    after: { upstreamUrl, settings },
    keepsCredential: keepsCredential && input.credential === undefined,
    keepCredential: input.keepCredential,
  });
  // Packs and overridden rules must exist when inspection settings are sent (content inspection).
  if (input.settings?.inspection) await checkInspectionSettings(env, principal.orgId, settings.inspection);
  if (input.settings?.sharedWith) {
    // Only a list sent now is checked: a member removed since the last save can no longer
    // authenticate anyway, and must not block unrelated changes.
    settings.sharedWith = normalizeSharedWith(settings.sharedWith);
    await checkSharedWith(env.DB, principal.orgId, settings.sharedWith);
  }
  if (input.settings?.allowedTeams)
    settings.allowedTeams = await checkAllowedTeams(env.DB, principal.orgId, settings.allowedTeams);
  const ciphertext =
    input.credential !== undefined
      ? await encryptCredential(env, principal.orgId, row.id, input.credential)
      : authType === 'none'
        ? null
        : row.credential_ciphertext;
  // A field sent with the value already stored is no change (a name, the enabled state, the URL).
  const changed: string[] = changedFields(input, {
    name: row.name,
    enabled: row.enabled === 1,
    upstreamUrl: row.upstream_url,
  }).filter((k) => k !== 'keepCredential');
  // Nothing differs: nothing is written, and no row records a change that did not happen.
  if (changed.length === 0) return { dto: toDto(row, baseUrl), changed };
  await env.DB.batch([
    env.DB.prepare(
      `UPDATE connections SET name = ?, upstream_url = ?, auth_type = ?, auth_header_name = ?, credential_ciphertext = ?,
         enabled = ?, settings = ?, updated_at = ? WHERE id = ? AND org_id = ?`,
    ).bind(
      input.name ?? row.name,
      upstreamUrl,
      authType,
      authHeaderName ?? authQueryParam ?? null,
      ciphertext,
      input.enabled === undefined ? row.enabled : input.enabled ? 1 : 0,
      JSON.stringify(settings),
      Date.now(),
      row.id,
      principal.orgId,
    ),
    // Tokens the old provider issued are not sent to a new one (connection.upstream-oauth.ts).
    ...(providerMoved ? [dropUpstreamTokens(env.DB, principal.orgId, row.id)] : []),
    adminAuditStatement(env.DB, principal, {
      action:
        input.enabled === false
          ? 'connection.disable'
          : input.enabled === true
            ? 'connection.enable'
            : 'connection.update',
      connectionId: row.id,
      connectionSlug: row.slug,
      // Field names only: the credential's value is never written anywhere but the vault. A new
      // upstream URL is recorded old and new (redacted), with what happened to the credential.
      details: {
        changed,
        ...(providerMoved ? { upstreamOAuthTokens: 'deleted' } : {}),
        ...(upstreamUrl !== row.upstream_url
          ? {
              upstreamUrl: { from: redactUpstreamUrl(row.upstream_url), to: redactUpstreamUrl(upstreamUrl) },
              originChanged: repointed,
              ...(repointed && keepsCredential
                ? { credential: input.credential !== undefined ? 'replaced' : 'kept' }
                : {}),
            }
          : {}),
      },
    }),
  ]);
  return { dto: toDto(await findRow(env.DB, principal.orgId, slug), baseUrl), changed };
}

export async function rotateCredential(
  env: ConnectionEnv,
  principal: Principal,
  slug: string,
  credential: string,
  baseUrl: string,
): Promise<ConnectionDto> {
  const row = await getConnectionRow(env, principal, slug, 'connections:write');
  if (row.auth_type === 'none') throw fieldError('credential', 'authType "none" does not take a credential');
  const ciphertext = await encryptCredential(env, principal.orgId, row.id, credential);
  await env.DB.batch([
    env.DB.prepare(
      'UPDATE connections SET credential_ciphertext = ?, updated_at = ? WHERE id = ? AND org_id = ?',
    ).bind(ciphertext, Date.now(), row.id, principal.orgId),
    adminAuditStatement(env.DB, principal, {
      action: 'connection.rotate',
      connectionId: row.id,
      connectionSlug: row.slug,
      details: { credential: 'rotated' },
    }),
  ]);
  return toDto(await findRow(env.DB, principal.orgId, slug), baseUrl);
}

export async function deleteConnection(
  env: ConnectionEnv,
  principal: Principal,
  slug: string,
): Promise<ConnectionDbRow> {
  const row = await getConnectionRow(env, principal, slug, 'connections:write');
  await env.DB.batch([
    env.DB.prepare('DELETE FROM policies WHERE connection_id = ? AND org_id = ?').bind(
      row.id,
      principal.orgId,
    ),
    env.DB.prepare('DELETE FROM agent_sessions WHERE connection_id = ? AND org_id = ?').bind(
      row.id,
      principal.orgId,
    ),
    env.DB.prepare('DELETE FROM connections WHERE id = ? AND org_id = ?').bind(row.id, principal.orgId),
    adminAuditStatement(env.DB, principal, {
      action: 'connection.delete',
      connectionId: row.id,
      connectionSlug: row.slug,
    }),
  ]);
  await unpublishPolicy(env.POLICY_KV, principal.orgId, row.id);
  // Its guard is no longer listed under the organization: tell it explicitly, so isolates that
  // cached the connection stop using it at their next call.
  await announceConfigChange(env, principal.orgId, [row.id]);
  return row;
}
