/**
 * The caller's organization and its members. Every statement is scoped to `principal.orgId`: a
 * member id of another organization is "not found", never "forbidden".
 *
 * Owner rules: only an owner may grant the owner role or change or remove an owner, and an
 * organization always keeps at least one owner. The latter is checked up front for a clear error
 * and asserted again inside the write's own batch, so two concurrent demotions cannot both pass.
 */
import type { Principal } from '../app.types';
import { adminAuditStatement } from '../audit/audit.admin';
import { requirePermission } from '../auth/permissions';
import type { Role } from '../db/schema';
import { closeStreamsFor } from '../events/events.revoke';
import { AppError } from '../lib/errors';
import {
  type MemberDto,
  type OrganizationDto,
  readOrganizationSettings,
  type UpdateOrganizationInput,
} from './orgs.schemas';

export interface OrgsEnv {
  DB: D1Database;
  /** A demoted or removed member's live event streams are closed (workers/events/events.revoke.ts). */
  EVENT_HUB: Env['EVENT_HUB'];
}

interface OrganizationDbRow {
  id: string;
  slug: string;
  name: string;
  settings: string;
}

interface MemberDbRow {
  id: string;
  user_id: string;
  email: string;
  name: string;
  role: Role;
  created_at: number;
}

// ---------------------------------------------------------------------------------------------
// Organization

async function findOrganization(db: D1Database, orgId: string): Promise<OrganizationDbRow> {
  const row = await db
    .prepare('SELECT id, slug, name, settings FROM organizations WHERE id = ?')
    .bind(orgId)
    .first<OrganizationDbRow>();
  if (!row) throw new AppError('not_found', { message: 'Organization not found' });
  return row;
}

function toOrganizationDto(row: OrganizationDbRow, principal: Principal): OrganizationDto {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    role: principal.role,
    settings: readOrganizationSettings(row.settings),
  };
}

export async function getCurrentOrganization(env: OrgsEnv, principal: Principal): Promise<OrganizationDto> {
  return toOrganizationDto(await findOrganization(env.DB, principal.orgId), principal);
}

export async function updateCurrentOrganization(
  env: OrgsEnv,
  principal: Principal,
  input: UpdateOrganizationInput,
): Promise<OrganizationDto> {
  requirePermission(principal, 'org:write');
  const current = await findOrganization(env.DB, principal.orgId);
  const stored = readOrganizationSettings(current.settings) as Record<string, unknown>;
  const sets: string[] = [];
  const args: unknown[] = [];
  const changed: Record<string, unknown> = {};
  // A value sent that is already stored is no change: not written, not in the audit row.
  if (input.name !== undefined && input.name !== current.name) {
    sets.push('name = ?');
    args.push(input.name);
    changed.name = input.name;
  }
  // Settings are merged field by field inside the UPDATE (json_set), so a concurrent change of
  // another field is not lost, and stored fields this API does not know are kept.
  const settingPaths: string[] = [];
  const settingArgs: unknown[] = [];
  for (const [field, value] of Object.entries(input.settings ?? {})) {
    if (value === undefined || JSON.stringify(value) === JSON.stringify(stored[field])) continue;
    settingPaths.push(`'$.${field}', json(?)`);
    settingArgs.push(JSON.stringify(value));
    changed[`settings.${field}`] = value;
  }
  if (settingPaths.length > 0) {
    sets.push(
      `settings = json_set(CASE WHEN json_valid(settings) AND json_type(settings) = 'object' THEN settings ELSE '{}' END, ${settingPaths.join(', ')})`,
    );
    args.push(...settingArgs);
  }
  if (sets.length === 0) return toOrganizationDto(current, principal);
  await env.DB.batch([
    env.DB.prepare(`UPDATE organizations SET ${sets.join(', ')} WHERE id = ?`).bind(...args, principal.orgId),
    adminAuditStatement(env.DB, principal, {
      action: 'organization.update',
      details: { organizationId: principal.orgId, changed },
    }),
  ]);
  return getCurrentOrganization(env, principal);
}

// ---------------------------------------------------------------------------------------------
// Members

const MEMBER_SELECT = `SELECT m.id, m.user_id, u.email, u.name, m.role, m.created_at
  FROM members m JOIN users u ON u.id = m.user_id`;

function toMemberDto(row: MemberDbRow): MemberDto {
  return {
    id: row.id,
    userId: row.user_id,
    email: row.email,
    name: row.name,
    role: row.role,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

export async function listMembers(env: OrgsEnv, principal: Principal): Promise<MemberDto[]> {
  requirePermission(principal, 'members:read');
  const { results } = await env.DB.prepare(
    `${MEMBER_SELECT} WHERE m.org_id = ? ORDER BY m.created_at, m.rowid`,
  )
    .bind(principal.orgId)
    .all<MemberDbRow>();
  return results.map(toMemberDto);
}

async function findMember(db: D1Database, orgId: string, id: string): Promise<MemberDbRow> {
  const row = await db
    .prepare(`${MEMBER_SELECT} WHERE m.org_id = ? AND m.id = ?`)
    .bind(orgId, id)
    .first<MemberDbRow>();
  if (!row) {
    throw new AppError('not_found', {
      message: 'Member not found',
      details: { location: 'path', path: 'id' },
    });
  }
  return row;
}

function ownerOnly(principal: Principal, what: string): AppError {
  return new AppError('forbidden', {
    message: `Missing permission members:write for the owner role: only an owner may ${what} (role ${principal.role})`,
    details: { permission: 'members:write', role: principal.role, scope: 'owner' },
  });
}

function lastOwner(verb: 'demoted' | 'removed'): AppError {
  return new AppError('conflict', {
    message: `The last owner of the organization cannot be ${verb}`,
    details: { location: 'path', path: 'id', rule: 'last-owner' },
  });
}

async function ownerCount(db: D1Database, orgId: string): Promise<number> {
  const row = await db
    .prepare("SELECT count(*) AS n FROM members WHERE org_id = ? AND role = 'owner'")
    .bind(orgId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/**
 * The last statement of a batch that changes owners: when the organization would be left without
 * one, it inserts a row that violates NOT NULL, which fails and rolls back the whole batch
 * (change and audit row alike).
 */
export function assertOwnerRemains(db: D1Database, orgId: string): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO members (id, org_id, user_id, role)
       SELECT 'last-owner-guard', ?, NULL, NULL
       WHERE NOT EXISTS (SELECT 1 FROM members WHERE org_id = ? AND role = 'owner')`,
    )
    .bind(orgId, orgId);
}

export function isOwnerGuardFailure(err: unknown): boolean {
  return /NOT NULL constraint failed: members\./.test(String(err));
}

export async function updateMemberRole(
  env: OrgsEnv,
  principal: Principal,
  id: string,
  role: Role,
): Promise<MemberDto> {
  requirePermission(principal, 'members:write');
  const member = await findMember(env.DB, principal.orgId, id);
  if ((member.role === 'owner' || role === 'owner') && principal.role !== 'owner') {
    throw ownerOnly(principal, member.role === 'owner' ? 'change an owner' : 'grant the owner role');
  }
  if (member.role === role) return toMemberDto(member);
  if (member.role === 'owner' && (await ownerCount(env.DB, principal.orgId)) <= 1) throw lastOwner('demoted');
  try {
    await env.DB.batch([
      env.DB.prepare('UPDATE members SET role = ? WHERE id = ? AND org_id = ?').bind(
        role,
        member.id,
        principal.orgId,
      ),
      adminAuditStatement(env.DB, principal, {
        action: 'member.update',
        details: { memberId: member.id, userId: member.user_id, from: member.role, to: role },
      }),
      assertOwnerRemains(env.DB, principal.orgId),
    ]);
  } catch (err) {
    if (isOwnerGuardFailure(err)) throw lastOwner('demoted');
    throw err;
  }
  await closeStreamsFor(env, [principal.orgId], { userId: member.user_id });
  return toMemberDto({ ...member, role });
}

/**
 * Removes a member. Their API keys stop working at once: authentication refuses keys whose
 * creator is no longer a member, and the keys are also revoked here so that re-adding the person
 * later does not bring old keys back to life.
 */
export async function removeMember(
  env: OrgsEnv,
  principal: Principal,
  id: string,
): Promise<{ member: MemberDto; revokedKeys: number }> {
  requirePermission(principal, 'members:write');
  const member = await findMember(env.DB, principal.orgId, id);
  if (member.role === 'owner' && principal.role !== 'owner') throw ownerOnly(principal, 'remove an owner');
  if (member.role === 'owner' && (await ownerCount(env.DB, principal.orgId)) <= 1) throw lastOwner('removed');
  let revokedKeys = 0;
  try {
    const results = await env.DB.batch([
      env.DB.prepare('DELETE FROM members WHERE id = ? AND org_id = ?').bind(member.id, principal.orgId),
      env.DB.prepare(
        'UPDATE api_keys SET revoked_at = ? WHERE org_id = ? AND created_by = ? AND revoked_at IS NULL',
      ).bind(Date.now(), principal.orgId, member.user_id),
      adminAuditStatement(env.DB, principal, {
        action: 'member.remove',
        details: { memberId: member.id, userId: member.user_id, role: member.role },
      }),
      assertOwnerRemains(env.DB, principal.orgId),
    ]);
    revokedKeys = results[1]?.meta.changes ?? 0;
  } catch (err) {
    if (isOwnerGuardFailure(err)) throw lastOwner('removed');
    throw err;
  }
  await closeStreamsFor(env, [principal.orgId], { userId: member.user_id });
  return { member: toMemberDto(member), revokedKeys };
}
