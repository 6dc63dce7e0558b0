/**
 * The permission matrix — enforced here and only here (docs/permissions.md is its prose twin).
 * API keys and cookie sessions both reach this with a Principal, so they are judged identically.
 *
 * | permission          | owner | admin | developer            | auditor |
 * |---------------------|-------|-------|----------------------|---------|
 * | connections:read    |  yes  |  yes  | own connections (shared ones: their shared view, listed too) | yes |
 * | connections:write   |  yes  |  yes  | own connections (+create) |  no |
 * | connections:use     |  yes  |  yes  | own + shared with them |  no   |
 * | policies:read       |  yes  |  yes  | own connections      |   yes   |
 * | policies:write      |  yes  |  yes  | own connections; own detections and prompts reaching only own connections | no |
 * | audit:read          |  yes  |  yes  | own connections      |   yes   |
 * | sessions:read       |  yes  |  yes  | own connections      |   yes   |
 * | sessions:write      |  yes  |  yes  | own connections      |   no    |
 * | killswitch:write    |  yes  |  yes  | no                   |   no    |
 * | tools:approve       |  yes  |  yes  | no                   |   no    |
 * | apikeys:read        |  yes  |  yes  | own keys             |   own keys |
 * | apikeys:write       |  yes  |  yes  | own keys (role ≤ own) | own keys (role ≤ own) |
 * | members:read        |  yes  |  yes  | yes                  |   yes   |
 * | members:write       |  yes  |  yes (not owners) | no       |   no    |
 * | org:write           |  yes  |  yes  | no                   |   no    |
 */
import type { Principal } from '../app.types';
import type { Role } from '../db/schema';
import { AppError } from '../lib/errors';

export type Permission =
  | 'connections:read'
  | 'connections:write'
  /** Calling tools through the gateway (`/v1/mcp/:slug`) with the connection's stored credential. */
  | 'connections:use'
  | 'policies:read'
  | 'policies:write'
  | 'audit:read'
  | 'sessions:read'
  | 'sessions:write'
  | 'killswitch:write'
  /** Approving or quarantining a connection's tools (tool integrity, docs/tool-integrity.md). */
  | 'tools:approve'
  | 'apikeys:read'
  | 'apikeys:write'
  | 'members:read'
  | 'members:write'
  | 'org:write';

/** `all`: every resource of the organization; `own`: only what the principal's user created. */
type Grant = 'all' | 'own' | null;

const MATRIX: Record<Role, Record<Permission, Grant>> = {
  owner: {
    'connections:read': 'all',
    'connections:write': 'all',
    'connections:use': 'all',
    'policies:read': 'all',
    'policies:write': 'all',
    'audit:read': 'all',
    'sessions:read': 'all',
    'sessions:write': 'all',
    'killswitch:write': 'all',
    'tools:approve': 'all',
    'apikeys:read': 'all',
    'apikeys:write': 'all',
    'members:read': 'all',
    'members:write': 'all',
    'org:write': 'all',
  },
  admin: {
    'connections:read': 'all',
    'connections:write': 'all',
    'connections:use': 'all',
    'policies:read': 'all',
    'policies:write': 'all',
    'audit:read': 'all',
    'sessions:read': 'all',
    'sessions:write': 'all',
    'killswitch:write': 'all',
    'tools:approve': 'all',
    'apikeys:read': 'all',
    'apikeys:write': 'all',
    'members:read': 'all',
    'members:write': 'all',
    'org:write': 'all',
  },
  developer: {
    'connections:read': 'own',
    'connections:write': 'own',
    // Own, or shared with the member through the connection's access list (see mayUseConnection).
    'connections:use': 'own',
    'policies:read': 'own',
    'policies:write': 'own',
    'audit:read': 'own',
    'sessions:read': 'own',
    'sessions:write': 'own',
    'killswitch:write': null,
    'tools:approve': null,
    'apikeys:read': 'own',
    'apikeys:write': 'own',
    'members:read': 'all',
    'members:write': null,
    'org:write': null,
  },
  auditor: {
    'connections:read': 'all',
    'connections:write': null,
    // Auditors read everything and run nothing: no connection, not even one shared with them.
    'connections:use': null,
    'policies:read': 'all',
    'policies:write': null,
    'audit:read': 'all',
    'sessions:read': 'all',
    'sessions:write': null,
    'killswitch:write': null,
    'tools:approve': null,
    'apikeys:read': 'own',
    'apikeys:write': 'own',
    'members:read': 'all',
    'members:write': null,
    'org:write': null,
  },
};

export function grantOf(principal: Principal, permission: Permission): Grant {
  return MATRIX[principal.role][permission];
}

/** Throws 403 naming the missing permission unless the principal holds it at least for its own resources. */
export function requirePermission(principal: Principal, permission: Permission): Grant {
  const grant = grantOf(principal, permission);
  if (!grant) throw forbidden(permission, principal.role);
  return grant;
}

/**
 * For one resource of the caller's own organization: a Developer may act only on what their user
 * created. (Resources of other organizations never get this far: lookups are org-scoped, so they
 * answer 404.)
 */
export function requireOnResource(
  principal: Principal,
  permission: Permission,
  createdBy: string | null,
): void {
  const refusal = resourceRefusal(principal, permission, createdBy);
  if (refusal) throw refusal;
}

/**
 * Why the principal may not act on one resource created by `createdBy` (requireOnResource's 403),
 * or null when it may. Also what a listing's per-item `canEdit` is computed from, so the list and
 * the change it offers are judged by the same code.
 */
export function resourceRefusal(
  principal: Principal,
  permission: Permission,
  createdBy: string | null,
): AppError | null {
  const grant = grantOf(principal, permission);
  if (!grant) return forbidden(permission, principal.role);
  if (grant === 'own' && (createdBy === null || createdBy !== principal.userId)) {
    return new AppError('forbidden', {
      message: `Missing permission ${permission} for resources created by others (role ${principal.role})`,
      details: { permission, role: principal.role, scope: 'own' },
    });
  }
  return null;
}

/**
 * A change whose effect reaches other resources (a detection pack applied by connections, a system
 * prompt assigned to connections and teams) is allowed only when the principal may act on every one
 * of them: `reached` lists their creators, `null` for what is nobody's own (a team, a system key's
 * connection). So an `own` grant changes only what reaches the member's own resources; reaching
 * anyone else's needs an `all` grant.
 */
export function requireReach(
  principal: Principal,
  permission: Permission,
  reached: readonly (string | null)[],
): void {
  const refusal = reachRefusal(principal, permission, reached);
  if (refusal) throw refusal;
}

/** Why the principal may not make a change reaching `reached` (requireReach's 403), or null. */
export function reachRefusal(
  principal: Principal,
  permission: Permission,
  reached: readonly (string | null)[],
): AppError | null {
  if (!grantOf(principal, permission)) return forbidden(permission, principal.role);
  for (const createdBy of reached) {
    const refusal = resourceRefusal(principal, permission, createdBy);
    if (refusal) return refusal;
  }
  return null;
}

/** True when a listing must be narrowed to the principal's own resources. */
export function ownOnly(principal: Principal, permission: Permission): boolean {
  return requirePermission(principal, permission) === 'own';
}

export function forbidden(permission: Permission, role: Role): AppError {
  return new AppError('forbidden', {
    message: `Missing permission ${permission} (role ${role})`,
    details: { permission, role },
  });
}

/** Who besides its creator may use a connection: its explicit access list (connection settings). */
export interface ConnectionAccess {
  createdBy: string | null;
  /** User ids of members the connection is shared with (`settings.sharedWith`). */
  sharedWith: readonly string[];
}

/**
 * `connections:use` on one connection: `all` grants reach every connection of the organization;
 * `own` reaches the connections the member created and those shared with them. A key without a
 * member behind it (a system key) has nothing of its own.
 *
 * Teams hook: when teams exist, a connection shared with a team the member belongs to is checked
 * here too (e.g. `access.sharedWithTeams` against the principal's team ids) — this is the one
 * place the gateway asks.
 */
export function mayUseConnection(principal: Principal, access: ConnectionAccess): boolean {
  const grant = grantOf(principal, 'connections:use');
  if (grant === 'all') return true;
  if (grant !== 'own' || principal.userId === null) return false;
  return access.createdBy === principal.userId || access.sharedWith.includes(principal.userId);
}
