/**
 * What a connection answer says about the caller alone (docs/oauth.md#upstream-mode,
 * docs/permissions.md#sharing):
 *
 * - `upstreamLinked`: on a connection in upstream OAuth mode, whether the caller linked their own
 *   upstream account. Read for a whole page in one query, and only ever about the caller's own
 *   links (`user_id = caller`), so no answer says whether another member linked.
 * - the **shared view**: a developer may use a connection shared with them (`settings.sharedWith`)
 *   without reading it (`connections:read` is their own). Its detail answers them with what they
 *   need to call it — its gateway URL, the provider they link an account at, and for an LLM
 *   connection its provider and models — and nothing of its settings, credential, policy or other
 *   members. Every change stays refused (`connections:write` is their own too).
 */
import type { Principal } from '../app.types';
import { mayUseConnection } from '../auth/permissions';
import type { ConnectionSettings } from '../shared/connection.settings';
import type { SharedConnectionDto } from './connections.schemas';

/** The connection fields the per-caller answer is computed from. */
export interface ViewedConnection {
  id: string;
  createdBy: string | null;
  settings: Pick<ConnectionSettings, 'upstreamOAuth' | 'sharedWith'>;
}

/**
 * Who may hold a link on a connection: it is in upstream mode, the caller may use it, and a member
 * is behind the call (a system key acts for nobody). For anyone else there is nothing to link: null.
 */
function mayLink(
  principal: Principal,
  connection: ViewedConnection,
): principal is Principal & { userId: string } {
  return (
    connection.settings.upstreamOAuth !== undefined &&
    principal.userId !== null &&
    mayUseConnection(principal, {
      createdBy: connection.createdBy,
      sharedWith: connection.settings.sharedWith,
    })
  );
}

/**
 * `upstreamLinked` for each connection (by id): true/false where the caller may link an account,
 * null where there is nothing to link. One D1 query whatever the number of connections, none when
 * no connection of the page is linkable.
 */
export async function upstreamLinks(
  db: D1Database,
  principal: Principal,
  connections: readonly ViewedConnection[],
): Promise<Map<string, boolean | null>> {
  const answer = new Map<string, boolean | null>(connections.map((c) => [c.id, null]));
  const linkable = connections.filter((c) => mayLink(principal, c)).map((c) => c.id);
  if (linkable.length === 0 || principal.userId === null) return answer;
  const { results } = await db
    .prepare(
      `SELECT connection_id FROM upstream_oauth_tokens
       WHERE org_id = ? AND user_id = ? AND connection_id IN (SELECT value FROM json_each(?))`,
    )
    .bind(principal.orgId, principal.userId, JSON.stringify(linkable))
    .all<{ connection_id: string }>();
  const linked = new Set(results.map((row) => row.connection_id));
  for (const id of linkable) answer.set(id, linked.has(id));
  return answer;
}

/** The shared view of a connection: what a sharee needs to call it, nothing else. */
export function sharedView(
  connection: {
    id: string;
    slug: string;
    name: string;
    type: SharedConnectionDto['type'];
    enabled: boolean;
    gatewayUrl: string;
    settings: ConnectionSettings;
  },
  upstreamLinked: boolean | null,
): SharedConnectionDto {
  const { settings } = connection;
  return {
    access: 'shared',
    id: connection.id,
    slug: connection.slug,
    name: connection.name,
    type: connection.type,
    enabled: connection.enabled,
    gatewayUrl: connection.gatewayUrl,
    // Only the provider's name (its issuer): not the gateway's client id, scopes or endpoints.
    upstreamOAuth: settings.upstreamOAuth ? { issuer: settings.upstreamOAuth.issuer } : null,
    upstreamLinked,
    llm:
      connection.type === 'llm'
        ? { provider: settings.provider ?? null, allowedModels: settings.allowedModels ?? [] }
        : null,
  };
}
