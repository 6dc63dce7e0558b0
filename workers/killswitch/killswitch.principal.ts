/**
 * Kill switches that name a *caller* of the management API, and the rules that keep a switch from
 * being undone by the one it holds:
 *
 *   - a caller whose API key is under an `apiKey` switch, or whose user is under a `user` switch,
 *     is refused every /api/v1 call (`principal_killed`): a killed key cannot mint a fresh key,
 *     revoke others or lift its own switch;
 *   - nobody may lift a switch that targets themselves: their own user, the key they call with,
 *     or any key their user created (otherwise the killed key's owner could lift it with another
 *     key or their cookie session);
 *   - nobody may pull a `user` switch on themselves (it would lock them out of the API for good,
 *     since they could not lift it either);
 *   - only an owner may pull a switch on an owner's key or an owner user ("admins do everything
 *     except touching owners", docs/permissions.md).
 *
 * A `user` switch targets an X-Igris-User value; it names a member when that value is the
 * member's user id or email address (case-insensitive), which is how agents usually name people.
 */
import type { Principal } from '../app.types';
import { hashApiKey } from '../auth/api-key.crypto';
import { AppError } from '../lib/errors';
import { killSwitchOnKeyHash, killSwitchOnPrincipal } from '../shared/killswitch.store';

/**
 * The active switch that holds this caller in the management API, or null: `apiKey` on the key it
 * calls with, `user` on its user. (Organization, connection and session switches stop gateway
 * calls only; the API must stay usable to lift them.)
 */
export async function killOnPrincipal(
  db: D1Database,
  principal: Principal,
): Promise<{ id: string; scope: 'apiKey' | 'user' } | null> {
  if (principal.apiKeyId === null && principal.userId === null) return null;
  return killSwitchOnPrincipal(db, principal.orgId, principal.apiKeyId, principal.userId);
}

/** Throws `principal_killed` when a kill switch holds the caller. */
export async function refuseKilledPrincipal(db: D1Database, principal: Principal): Promise<void> {
  refuseKill(await killOnPrincipal(db, principal));
}

/**
 * killOnPrincipal for the caller an API key authenticates, read by the key itself: it can run
 * beside the key lookup (one round trip for both) instead of after it.
 */
export async function killOnApiKey(
  db: D1Database,
  key: string,
): Promise<{ id: string; scope: 'apiKey' | 'user' } | null> {
  return killSwitchOnKeyHash(db, await hashApiKey(key));
}

/** Throws `principal_killed` for the switch that holds the caller, if any. */
export function refuseKill(kill: { id: string; scope: 'apiKey' | 'user' } | null): void {
  if (!kill) return;
  throw new AppError('principal_killed', {
    message:
      kill.scope === 'apiKey'
        ? 'This API key is under a kill switch: it can do nothing until another owner or admin lifts it'
        : 'Your user is under a kill switch: you can do nothing until another owner or admin lifts it',
    details: { killSwitchId: kill.id, scope: kill.scope },
  });
}

/** Whether a `user` target names this member (by user id or email). */
async function userTargetNames(db: D1Database, target: string, userId: string | null): Promise<boolean> {
  if (userId === null) return false;
  const row = await db
    .prepare(
      `SELECT 1 AS hit FROM users WHERE id = ?1 AND (lower(?2) = lower(id) OR lower(?2) = lower(email))`,
    )
    .bind(userId, target)
    .first();
  return row !== null;
}

/** Whether a switch (scope, target) holds the caller itself: its user, its key or a key its user made. */
export async function targetsPrincipal(
  db: D1Database,
  principal: Principal,
  scope: string,
  target: string,
): Promise<boolean> {
  if (scope === 'apiKey') {
    if (target === principal.apiKeyId) return true;
    if (principal.userId === null) return false;
    const own = await db
      .prepare('SELECT 1 AS hit FROM api_keys WHERE org_id = ? AND id = ? AND created_by = ?')
      .bind(principal.orgId, target, principal.userId)
      .first();
    return own !== null;
  }
  if (scope === 'user') return userTargetNames(db, target, principal.userId);
  return false;
}

/**
 * Whether a switch (scope, target) holds an owner: a key created by a current owner (or a system
 * owner key, created by nobody), or a `user` target naming an owner member.
 */
export async function targetsOwner(
  db: D1Database,
  orgId: string,
  scope: string,
  target: string,
): Promise<boolean> {
  if (scope === 'apiKey') return keyBelongsToOwner(db, orgId, target);
  if (scope !== 'user') return false;
  const row = await db
    .prepare(
      `SELECT 1 AS hit FROM members m JOIN users u ON u.id = m.user_id
       WHERE m.org_id = ?1 AND m.role = 'owner' AND (lower(?2) = lower(u.id) OR lower(?2) = lower(u.email))`,
    )
    .bind(orgId, target)
    .first();
  return row !== null;
}

/** Whether an API key of the organization is an owner's: created by a current owner, or a system owner key. */
export async function keyBelongsToOwner(db: D1Database, orgId: string, keyId: string): Promise<boolean> {
  const row = await db
    .prepare(
      `SELECT 1 AS hit FROM api_keys k LEFT JOIN members m ON m.org_id = k.org_id AND m.user_id = k.created_by
       WHERE k.org_id = ? AND k.id = ? AND (m.role = 'owner' OR (k.created_by IS NULL AND k.role = 'owner'))`,
    )
    .bind(orgId, keyId)
    .first();
  return row !== null;
}

export function ownerProtected(principal: Principal, permission: string, what: string): AppError {
  return new AppError('forbidden', {
    message: `Missing permission ${permission} for ${what} of an owner: only an owner may do that (role ${principal.role})`,
    details: { permission, role: principal.role, scope: 'owner' },
  });
}

/**
 * Switches on people and their keys (workers/killswitch/killswitch.principal.ts): only an owner
 * may hold an owner, and nobody may pull a `user` switch on themselves (they could not lift it).
 */
export async function checkPersonTarget(
  db: D1Database,
  principal: Principal,
  scope: string,
  target: string,
): Promise<void> {
  if (scope !== 'apiKey' && scope !== 'user') return;
  if (principal.role !== 'owner' && (await targetsOwner(db, principal.orgId, scope, target))) {
    throw ownerProtected(principal, 'killswitch:write', scope === 'apiKey' ? 'an API key' : 'the user');
  }
  if (scope === 'user' && (await targetsPrincipal(db, principal, scope, target))) {
    throw new AppError('forbidden', {
      message:
        'A user kill switch on yourself would lock you out of the API (you could not lift it): ask another owner or admin',
      details: { location: 'body', path: 'target', scope },
    });
  }
}

/** Refuses lifting an active switch that holds the caller itself. */
export async function checkLiftAllowed(
  db: D1Database,
  principal: Principal,
  row: { id: string; scope: string; target: string },
): Promise<void> {
  if (!(await targetsPrincipal(db, principal, row.scope, row.target))) return;
  // Otherwise a killed key's user could lift it with another of their keys or their session.
  throw new AppError('forbidden', {
    message: 'A kill switch on your own user or API key can only be lifted by another owner or admin',
    details: { location: 'path', path: 'id', killSwitchId: row.id, scope: row.scope },
  });
}
