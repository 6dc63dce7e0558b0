/**
 * Organizations for people: create one, switch the session's active one, leave one, remove a
 * member. Rules match the management API (workers/orgs): only an owner removes an owner, the last
 * owner can neither leave nor be removed, and a member's API keys die with their membership.
 * Every lookup is scoped to the caller's memberships: another organization answers 404.
 */

import type { Principal } from '../app.types';
import { adminAuditStatement } from '../audit/audit.admin';
import { announceConfigChange } from '../config/config.epoch';
import type { Role } from '../db/schema';
import { closeStreamsFor } from '../events/events.revoke';
import { AppError } from '../lib/errors';
// The same last-owner guard as the management API's member routes: one definition of the rule.
import { assertOwnerRemains, isOwnerGuardFailure } from '../orgs/orgs.service';
import { COUNT_LIMITS, requireBelowCap } from '../shared/count.limits';
import type { MembershipDto } from './auth.schemas';
import { listMemberships, newOrganizationStatements, newOrgSlug, personPrincipal } from './auth.users';
import { requirePermission } from './permissions';
import { setActiveOrgStatement } from './session.store';

function orgNotFound(path: string): AppError {
  return new AppError('not_found', {
    details: { location: path === 'organizationId' ? 'body' : 'path', path },
  });
}

function lastOwner(message: string): AppError {
  return new AppError('conflict', { message, details: { rule: 'last-owner' } });
}

async function membership(
  db: D1Database,
  orgId: string,
  userId: string,
): Promise<{ id: string; role: Role } | null> {
  return db
    .prepare('SELECT id, role FROM members WHERE org_id = ? AND user_id = ?')
    .bind(orgId, userId)
    .first<{ id: string; role: Role }>();
}

/** Statements that take a person out of an organization: membership, their keys, sessions pointing there. */
function departureStatements(db: D1Database, orgId: string, userId: string): D1PreparedStatement[] {
  return [
    db.prepare('DELETE FROM members WHERE org_id = ? AND user_id = ?').bind(orgId, userId),
    db
      .prepare(
        'UPDATE api_keys SET revoked_at = ? WHERE org_id = ? AND created_by = ? AND revoked_at IS NULL',
      )
      .bind(Date.now(), orgId, userId),
    db.prepare('UPDATE auth_sessions SET org_id = NULL WHERE user_id = ? AND org_id = ?').bind(userId, orgId),
  ];
}

export async function createOrganization(
  env: Env,
  session: { id: string; userId: string },
  input: { name: string; slug?: string | undefined },
): Promise<MembershipDto> {
  await requireBelowCap(env.DB, COUNT_LIMITS.organizationsPerPerson, [session.userId]);
  const slug = input.slug ?? newOrgSlug(input.name);
  const org = newOrganizationStatements(env.DB, session.userId, input.name, slug, session.id);
  try {
    await env.DB.batch([...org.statements, setActiveOrgStatement(env.DB, session.id, org.orgId)]);
  } catch (err) {
    if (/UNIQUE constraint failed: organizations\.slug/.test(String(err))) {
      throw new AppError('conflict', {
        message: 'That organization slug is taken',
        details: { location: 'body', path: 'slug' },
      });
    }
    throw err;
  }
  return { id: org.orgId, slug, name: input.name, role: 'owner' };
}

export async function switchOrganization(
  env: Env,
  session: { id: string; userId: string },
  orgId: string,
): Promise<void> {
  if (!(await membership(env.DB, orgId, session.userId))) throw orgNotFound('organizationId');
  await setActiveOrgStatement(env.DB, session.id, orgId).run();
}

/**
 * The signed-in user leaves an organization. When it was the session's active one, the session
 * moves to their next organization (or none).
 */
export async function leaveOrganization(
  env: Env,
  session: { id: string; userId: string },
  orgId: string,
): Promise<{ activeOrganization: MembershipDto | null }> {
  const mine = await membership(env.DB, orgId, session.userId);
  if (!mine) throw orgNotFound('id');
  const principal = personPrincipal(session.userId, orgId, mine.role, session.id);
  try {
    await env.DB.batch([
      ...departureStatements(env.DB, orgId, session.userId),
      adminAuditStatement(env.DB, principal, {
        action: 'member.leave',
        details: { userId: session.userId, role: mine.role },
      }),
      assertOwnerRemains(env.DB, orgId),
    ]);
  } catch (err) {
    if (isOwnerGuardFailure(err)) {
      throw lastOwner('The last owner cannot leave the organization: make someone else an owner first');
    }
    throw err;
  }
  await closeStreamsFor(env, [orgId], { userId: session.userId });
  // Their keys are revoked: gateways must stop using what they cached before this answers.
  await announceConfigChange(env, orgId);
  const next = (await listMemberships(env.DB, session.userId))[0] ?? null;
  await env.DB.prepare('UPDATE auth_sessions SET org_id = ? WHERE id = ? AND org_id IS NULL')
    .bind(next?.id ?? null, session.id)
    .run();
  return { activeOrganization: next };
}

/** Removes another member from the caller's active organization. */
export async function removeMember(
  env: Env,
  principal: Principal,
  userId: string,
): Promise<{ userId: string; role: Role }> {
  requirePermission(principal, 'members:write');
  const target = await membership(env.DB, principal.orgId, userId);
  if (!target) throw new AppError('not_found', { details: { location: 'path', path: 'userId' } });
  if (target.role === 'owner' && principal.role !== 'owner') {
    throw new AppError('forbidden', {
      message: `Missing permission members:write for the owner role: only an owner may remove an owner (role ${principal.role})`,
      details: { permission: 'members:write', role: principal.role, scope: 'owner' },
    });
  }
  try {
    await env.DB.batch([
      ...departureStatements(env.DB, principal.orgId, userId),
      adminAuditStatement(env.DB, principal, {
        action: 'member.remove',
        details: { memberId: target.id, userId, role: target.role },
      }),
      assertOwnerRemains(env.DB, principal.orgId),
    ]);
  } catch (err) {
    if (isOwnerGuardFailure(err)) throw lastOwner('The last owner of the organization cannot be removed');
    throw err;
  }
  await closeStreamsFor(env, [principal.orgId], { userId });
  await announceConfigChange(env, principal.orgId);
  return { userId, role: target.role };
}
