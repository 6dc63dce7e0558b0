/**
 * Teams (table `teams`, `team_members`): groups of people (user id or X-Igris-User value) and API
 * keys. Every statement is scoped to the caller's organization; another organization's team,
 * member or key is "not found". Every change is audited in the same batch and drops this
 * isolate's governance snapshot (governance.cache.ts), so the gateway sees it at once here and
 * within POLICY_CACHE_TTL_MS elsewhere.
 */
import type { Principal } from '../app.types';
import { adminAuditStatement, adminAuditStatementIf } from '../audit/audit.admin';
import { requirePermission } from '../auth/permissions';
import type { TeamMemberKind } from '../db/schema';
import { invalidateGovernance } from '../governance/governance.cache';
import { AppError } from '../lib/errors';
import { randomId } from '../lib/ids';
import { changedFields } from '../lib/patch.changes';
import { iso } from '../lib/values';
import {
  COUNT_LIMITS,
  insertBelowCap,
  limitReached,
  requireInserted,
  rowExists,
} from '../shared/count.limits';
import type { TeamDto, TeamMemberDto } from './teams.schemas';

interface TeamRow {
  id: string;
  name: string;
  description: string;
  created_at: number;
  updated_at: number;
}
interface MemberRow {
  id: string;
  team_id: string;
  kind: TeamMemberKind;
  ref: string;
  created_at: number;
}

const memberDto = (m: MemberRow): TeamMemberDto => ({
  id: m.id,
  kind: m.kind,
  ref: m.ref,
  createdAt: iso(m.created_at)!,
});

function teamDto(t: TeamRow, members: MemberRow[]): TeamDto {
  return {
    id: t.id,
    name: t.name,
    description: t.description,
    members: members.filter((m) => m.team_id === t.id).map(memberDto),
    createdAt: iso(t.created_at)!,
    updatedAt: iso(t.updated_at)!,
  };
}

export function teamNotFound(path = 'id'): AppError {
  return new AppError('not_found', { message: 'Team not found', details: { location: 'path', path } });
}

function nameTaken(): AppError {
  return new AppError('conflict', {
    message: 'A team with this name already exists',
    details: { location: 'body', path: 'name' },
  });
}

export async function listTeams(db: D1Database, principal: Principal): Promise<TeamDto[]> {
  requirePermission(principal, 'members:read');
  const [teams, members] = await db.batch([
    db.prepare('SELECT * FROM teams WHERE org_id = ? ORDER BY name').bind(principal.orgId),
    db.prepare('SELECT * FROM team_members WHERE org_id = ? ORDER BY created_at').bind(principal.orgId),
  ]);
  const rows = members!.results as MemberRow[];
  return (teams!.results as TeamRow[]).map((t) => teamDto(t, rows));
}

export async function getTeam(db: D1Database, principal: Principal, id: string): Promise<TeamDto> {
  requirePermission(principal, 'members:read');
  return readTeam(db, principal.orgId, id);
}

/** The team of the organization, or 404 (also used by budgets and prompt assignments). */
export async function readTeam(db: D1Database, orgId: string, id: string, path = 'id'): Promise<TeamDto> {
  const [team, members] = await db.batch([
    db.prepare('SELECT * FROM teams WHERE org_id = ? AND id = ?').bind(orgId, id),
    db
      .prepare('SELECT * FROM team_members WHERE org_id = ? AND team_id = ? ORDER BY created_at')
      .bind(orgId, id),
  ]);
  const row = team!.results[0] as TeamRow | undefined;
  if (!row) throw teamNotFound(path);
  return teamDto(row, members!.results as MemberRow[]);
}

export async function createTeam(
  db: D1Database,
  principal: Principal,
  input: { name: string; description?: string | undefined },
): Promise<TeamDto> {
  requirePermission(principal, 'members:write');
  const id = randomId('team');
  const now = Date.now();
  let created: D1Result | undefined;
  try {
    [created] = await db.batch([
      insertBelowCap(
        db,
        COUNT_LIMITS.teams,
        [principal.orgId],
        'INSERT INTO teams (id, org_id, name, description, updated_at)',
        [id, principal.orgId, input.name, input.description ?? '', now],
      ),
      adminAuditStatementIf(
        db,
        principal,
        { action: 'team.create', details: { teamId: id, name: input.name } },
        rowExists('teams', id),
      ),
    ]);
  } catch (err) {
    if (String(err).includes('UNIQUE')) throw nameTaken();
    throw err;
  }
  requireInserted(created, COUNT_LIMITS.teams);
  invalidateGovernance(principal.orgId);
  return readTeam(db, principal.orgId, id);
}

export async function updateTeam(
  db: D1Database,
  principal: Principal,
  id: string,
  input: { name?: string | undefined; description?: string | undefined },
): Promise<TeamDto> {
  requirePermission(principal, 'members:write');
  const before = await readTeam(db, principal.orgId, id);
  const fields = changedFields(input, before, ['name', 'description']);
  // Nothing differs: nothing is written, and no row records a change that did not happen.
  if (fields.length === 0) return before;
  try {
    await db.batch([
      db
        .prepare('UPDATE teams SET name = ?, description = ?, updated_at = ? WHERE org_id = ? AND id = ?')
        .bind(
          input.name ?? before.name,
          input.description ?? before.description,
          Date.now(),
          principal.orgId,
          id,
        ),
      adminAuditStatement(db, principal, {
        action: 'team.update',
        details: { teamId: id, fields },
      }),
    ]);
  } catch (err) {
    if (String(err).includes('UNIQUE')) throw nameTaken();
    throw err;
  }
  invalidateGovernance(principal.orgId);
  return readTeam(db, principal.orgId, id);
}

export async function deleteTeam(db: D1Database, principal: Principal, id: string): Promise<void> {
  requirePermission(principal, 'members:write');
  const before = await readTeam(db, principal.orgId, id);
  await db.batch([
    db.prepare('DELETE FROM team_members WHERE org_id = ? AND team_id = ?').bind(principal.orgId, id),
    db
      .prepare("DELETE FROM budgets WHERE org_id = ? AND scope = 'team' AND scope_ref = ?")
      .bind(principal.orgId, id),
    db
      .prepare("DELETE FROM system_prompt_assignments WHERE org_id = ? AND target = 'team' AND target_id = ?")
      .bind(principal.orgId, id),
    db.prepare('DELETE FROM teams WHERE org_id = ? AND id = ?').bind(principal.orgId, id),
    adminAuditStatement(db, principal, { action: 'team.delete', details: { teamId: id, name: before.name } }),
  ]);
  invalidateGovernance(principal.orgId);
}

/** The member's kind and reference, after checking a user or key belongs to the organization. */
async function memberRef(
  db: D1Database,
  orgId: string,
  input: { userId?: string | undefined; externalUser?: string | undefined; apiKeyId?: string | undefined },
): Promise<{ kind: TeamMemberKind; ref: string }> {
  if (input.userId !== undefined) {
    const found = await db
      .prepare('SELECT 1 AS ok FROM members WHERE org_id = ? AND user_id = ?')
      .bind(orgId, input.userId)
      .first();
    if (!found)
      throw new AppError('not_found', {
        message: 'User not found',
        details: { location: 'body', path: 'userId' },
      });
    return { kind: 'user', ref: input.userId };
  }
  if (input.apiKeyId !== undefined) {
    const found = await db
      .prepare('SELECT 1 AS ok FROM api_keys WHERE org_id = ? AND id = ?')
      .bind(orgId, input.apiKeyId)
      .first();
    if (!found)
      throw new AppError('not_found', {
        message: 'API key not found',
        details: { location: 'body', path: 'apiKeyId' },
      });
    return { kind: 'api_key', ref: input.apiKeyId };
  }
  return { kind: 'external_user', ref: input.externalUser! };
}

export async function addTeamMember(
  db: D1Database,
  principal: Principal,
  teamId: string,
  input: { userId?: string | undefined; externalUser?: string | undefined; apiKeyId?: string | undefined },
): Promise<TeamDto> {
  requirePermission(principal, 'members:write');
  await readTeam(db, principal.orgId, teamId);
  const { kind, ref } = await memberRef(db, principal.orgId, input);
  // Adding a member already there changes nothing and is not refused at the cap; the audit row is
  // written only when this insert made the member (its new id is there), so a repeat writes none.
  const memberId = randomId('tmm');
  const present = {
    sql: 'SELECT 1 FROM team_members WHERE team_id = ? AND kind = ? AND ref = ?',
    binds: [teamId, kind, ref],
  };
  const limit = COUNT_LIMITS.teamMembers;
  const [added] = await db.batch([
    insertBelowCap(
      db,
      limit,
      [principal.orgId],
      'INSERT INTO team_members (id, org_id, team_id, kind, ref)',
      [memberId, principal.orgId, teamId, kind, ref],
      { orExisting: present, tail: 'ON CONFLICT (team_id, kind, ref) DO NOTHING' },
    ),
    adminAuditStatementIf(
      db,
      principal,
      { action: 'team.member_add', details: { teamId, kind, ref } },
      rowExists('team_members', memberId),
    ),
  ]);
  if (added?.meta.changes === 0) {
    const there = await db
      .prepare(present.sql)
      .bind(...present.binds)
      .first();
    if (!there) throw limitReached(limit);
  }
  invalidateGovernance(principal.orgId);
  return readTeam(db, principal.orgId, teamId);
}

export async function removeTeamMember(
  db: D1Database,
  principal: Principal,
  teamId: string,
  memberId: string,
): Promise<TeamDto> {
  requirePermission(principal, 'members:write');
  const team = await readTeam(db, principal.orgId, teamId);
  const member = team.members.find((m) => m.id === memberId);
  if (!member) {
    throw new AppError('not_found', {
      message: 'Team member not found',
      details: { location: 'path', path: 'memberId' },
    });
  }
  await db.batch([
    db.prepare('DELETE FROM team_members WHERE org_id = ? AND id = ?').bind(principal.orgId, memberId),
    adminAuditStatement(db, principal, {
      action: 'team.member_remove',
      details: { teamId, kind: member.kind, ref: member.ref },
    }),
  ]);
  invalidateGovernance(principal.orgId);
  return readTeam(db, principal.orgId, teamId);
}
