/**
 * Administrative audit rows: written in the same D1 batch (transaction) as the change they
 * describe, so a change and its record can't exist without each other. They carry the actor and
 * a summary of what changed — names of fields, never secret values.
 */
import type { Principal } from '../app.types';
import { eventId } from '../lib/ids';

export interface AdminChange {
  action: string;
  connectionId?: string | null;
  connectionSlug?: string | null;
  sessionId?: string | null;
  details?: Record<string, unknown>;
}

export function adminAuditStatement(
  db: D1Database,
  principal: Principal,
  change: AdminChange,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO audit_events (id, org_id, type, connection_id, connection_slug, session_id, api_key_id, actor, action, details, created_at)
       VALUES (?, ?, 'admin', ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(
      eventId(),
      principal.orgId,
      change.connectionId ?? null,
      change.connectionSlug ?? null,
      change.sessionId ?? null,
      principal.apiKeyId,
      principal.actor,
      change.action,
      JSON.stringify(change.details ?? {}),
      Date.now(),
    );
}
