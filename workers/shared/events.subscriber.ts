/**
 * Who is behind a live event stream, and whether they still may read it.
 *
 * A stream is authorized once, when it opens; after that the EventHub re-checks every subscriber
 * against D1 (`currentRoles`) every EVENTS_RECHECK_SECONDS, and the API pushes a close
 * (`closeStreamsFor`) the moment a key is revoked, a session signed out, or a member demoted or
 * removed. A stream ends when its principal's current role is no longer the role it subscribed
 * with: revoked or unknown key, key whose creator left, revoked or expired session, session moved
 * to another organization, any role change (the client reconnects and is authorized afresh, with
 * the new role's scope).
 */

import { z } from 'zod';
import { ROLES, type Role } from '../db/schema';

export const streamPrincipalSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('api_key'),
    apiKeyId: z.string().min(1).max(100),
    userId: z.string().min(1).max(100).nullable(),
    role: z.enum(ROLES),
  }),
  z.strictObject({
    kind: z.literal('session'),
    sessionId: z.string().min(1).max(100),
    userId: z.string().min(1).max(100),
    role: z.enum(ROLES),
  }),
]);

export type StreamPrincipal = z.infer<typeof streamPrincipalSchema>;

/** Which streams a pushed close targets; every given field must match. */
export interface StreamMatch {
  apiKeyId?: string;
  sessionId?: string;
  /** The member: their cookie sessions and the keys they created. */
  userId?: string;
  kind?: StreamPrincipal['kind'];
  /** Spared (the session that made the change, e.g. a password change signs out the others). */
  exceptSessionId?: string | null;
}

/** A principal's identity in the maps below: `key:<id>` or `session:<id>`. */
export function principalKey(p: StreamPrincipal): string {
  return p.kind === 'api_key' ? `key:${p.apiKeyId}` : `session:${p.sessionId}`;
}

export function matchesStream(p: StreamPrincipal, match: StreamMatch): boolean {
  if (match.kind !== undefined && match.kind !== p.kind) return false;
  if (match.apiKeyId !== undefined && (p.kind !== 'api_key' || p.apiKeyId !== match.apiKeyId)) return false;
  if (match.sessionId !== undefined && (p.kind !== 'session' || p.sessionId !== match.sessionId))
    return false;
  if (match.userId !== undefined && p.userId !== match.userId) return false;
  if (p.kind === 'session' && match.exceptSessionId && p.sessionId === match.exceptSessionId) return false;
  return true;
}

/** True while a subscriber may keep its stream: same role as when it subscribed (every role has audit:read). */
export function stillEntitled(p: StreamPrincipal, current: Role | null | undefined): boolean {
  return current !== null && current !== undefined && current === p.role;
}
