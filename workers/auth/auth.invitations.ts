/**
 * Invitations: an owner or admin invites an email address with a role; the address receives a
 * single-use token that expires after INVITATION_TTL_DAYS. Only the token's SHA-256 is stored.
 *
 * Acceptance is bound to the address: the signed-in user's email (or the sign-up's) must be the
 * invited one. Consumption is one conditional UPDATE, so a token works exactly once even when two
 * requests race. Accepting proves the address (the token was mailed there), so it is marked verified.
 */
import type { Principal } from '../app.types';
import { adminAuditStatement, adminAuditStatementIf, authAuditStatement } from '../audit/audit.admin';
import type { Role } from '../db/schema';
import { invitationMessage } from '../email/email.messages';
import { createEmailSender } from '../email/email.sender';
import { AppError } from '../lib/errors';
import { sha256Hex } from '../lib/hex';
import { randomId } from '../lib/ids';
import { log } from '../lib/log';
import { COUNT_LIMITS, insertBelowCap, requireInserted, rowExists } from '../shared/count.limits';
import { roleWithin } from '../shared/roles';
import type { InvitationDto, MembershipDto } from './auth.schemas';
import { findUserById, personPrincipal } from './auth.users';
import { randomToken } from './csrf.check';
import { requirePermission } from './permissions';
import { setActiveOrgStatement } from './session.store';

export const INVITATION_TTL_DAYS = 7;

interface InvitationRow {
  id: string;
  org_id: string;
  email: string;
  role: Role;
  invited_by: string | null;
  created_at: number;
  expires_at: number;
  accepted_at: number | null;
  revoked_at: number | null;
}

export interface ConsumedInvitation {
  id: string;
  orgId: string;
  role: Role;
}

function toDto(row: InvitationRow): InvitationDto {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    invitedBy: row.invited_by,
    createdAt: new Date(row.created_at).toISOString(),
    expiresAt: new Date(row.expires_at).toISOString(),
  };
}

function invalidInvitation(): AppError {
  return new AppError('bad_request', {
    message: 'Invitation is invalid, expired or already used',
    details: { location: 'body', path: 'token' },
  });
}

/** Checks a token without consuming it: usable, and meant for `email`. */
export async function inspectInvitation(
  db: D1Database,
  token: string,
  email: string,
): Promise<{ id: string }> {
  const row = await db
    .prepare('SELECT * FROM invitations WHERE token_hash = ?')
    .bind(await sha256Hex(token))
    .first<InvitationRow>();
  if (!row || row.accepted_at !== null || row.revoked_at !== null || row.expires_at <= Date.now()) {
    throw invalidInvitation();
  }
  if (row.email !== email.toLowerCase()) {
    throw new AppError('forbidden', {
      message: 'This invitation was sent to a different email address',
      details: { location: 'body', path: 'token', rule: 'invitation-email' },
    });
  }
  return { id: row.id };
}

/** Marks the invitation accepted, once: a second (or racing) use gets the 400. */
export async function consumeInvitation(
  db: D1Database,
  id: string,
  email: string,
): Promise<ConsumedInvitation> {
  const now = Date.now();
  const row = await db
    .prepare(
      `UPDATE invitations SET accepted_at = ?
       WHERE id = ? AND email = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?
       RETURNING id, org_id, role`,
    )
    .bind(now, id, email.toLowerCase(), now)
    .first<{ id: string; org_id: string; role: Role }>();
  if (!row) throw invalidInvitation();
  return { id: row.id, orgId: row.org_id, role: row.role };
}

/** Undoes a consumption when the join that followed it failed, so the invitee can try again. */
export async function unconsumeInvitation(db: D1Database, id: string): Promise<void> {
  await db
    .prepare('UPDATE invitations SET accepted_at = NULL WHERE id = ?')
    .bind(id)
    .run()
    .catch((err: unknown) =>
      log('error', 'could not release an invitation after a failed join', { err, id }),
    );
}

/**
 * Membership, verified address and the audit rows of a user joining through an invitation: the
 * organization's change (`member.join`, admin) and the person's acceptance (`auth.invitation_accept`).
 */
export function joinStatements(
  db: D1Database,
  user: { id: string; email: string },
  invitation: ConsumedInvitation,
  sessionId: string | null,
): D1PreparedStatement[] {
  const userId = user.id;
  return [
    db
      .prepare('INSERT INTO members (id, org_id, user_id, role, created_at) VALUES (?, ?, ?, ?, ?)')
      .bind(randomId('mem'), invitation.orgId, userId, invitation.role, Date.now()),
    db.prepare('UPDATE users SET email_verified = 1 WHERE id = ?').bind(userId),
    adminAuditStatement(db, personPrincipal(userId, invitation.orgId, invitation.role, sessionId), {
      action: 'member.join',
      details: { userId, role: invitation.role, invitationId: invitation.id },
    }),
    authAuditStatement(db, {
      action: 'auth.invitation_accept',
      orgId: invitation.orgId,
      userId,
      email: user.email,
      details: { invitationId: invitation.id, role: invitation.role },
    }),
  ];
}

export async function createInvitation(
  env: Env,
  principal: Principal,
  input: { email: string; role: Role },
  baseUrl: string,
): Promise<InvitationDto> {
  requirePermission(principal, 'members:write');
  if (!roleWithin(input.role, principal.role)) {
    throw new AppError('forbidden', {
      message: `Missing permission members:write for the ${input.role} role: a ${principal.role} cannot grant it`,
      details: { permission: 'members:write', role: principal.role, scope: input.role },
    });
  }
  const member = await env.DB.prepare(
    'SELECT 1 AS x FROM members m JOIN users u ON u.id = m.user_id WHERE m.org_id = ? AND u.email = ?',
  )
    .bind(principal.orgId, input.email)
    .first();
  if (member) {
    throw new AppError('conflict', {
      message: 'That address already belongs to a member of this organization',
      details: { location: 'body', path: 'email' },
    });
  }
  const org = await env.DB.prepare('SELECT name FROM organizations WHERE id = ?')
    .bind(principal.orgId)
    .first<{ name: string }>();
  const token = randomToken();
  const now = Date.now();
  const row: InvitationRow = {
    id: randomId('inv'),
    org_id: principal.orgId,
    email: input.email,
    role: input.role,
    invited_by: principal.userId,
    created_at: now,
    expires_at: now + INVITATION_TTL_DAYS * 86_400_000,
    accepted_at: null,
    revoked_at: null,
  };
  // The new invitation first, counted against the live ones of other addresses (the one it
  // replaces does not count); then, only if it was written, the old token of the same address is
  // revoked and the change audited — a refused invitation changes nothing (count.limits.ts).
  const limit = COUNT_LIMITS.invitations;
  const created = rowExists('invitations', row.id);
  const [inserted] = await env.DB.batch([
    insertBelowCap(
      env.DB,
      limit,
      [principal.orgId, now, input.email],
      'INSERT INTO invitations (id, org_id, email, role, token_hash, invited_by, created_at, expires_at)',
      [row.id, row.org_id, row.email, row.role, await sha256Hex(token), row.invited_by, now, row.expires_at],
    ),
    // One live invitation per address and organization: a new one replaces the old token.
    env.DB.prepare(
      `UPDATE invitations SET revoked_at = ? WHERE org_id = ? AND email = ? AND accepted_at IS NULL
         AND revoked_at IS NULL AND id <> ? AND EXISTS (${created.sql})`,
    ).bind(now, principal.orgId, input.email, row.id, ...created.binds),
    adminAuditStatementIf(
      env.DB,
      principal,
      {
        action: 'invitation.create',
        details: { invitationId: row.id, email: row.email, role: row.role },
      },
      created,
    ),
  ]);
  requireInserted(inserted, limit);
  const link = `${baseUrl}/accept-invitation?token=${encodeURIComponent(token)}`;
  try {
    await createEmailSender(env).send(
      invitationMessage(
        input.email,
        org?.name ?? 'an organization',
        input.role,
        link,
        token,
        INVITATION_TTL_DAYS,
      ),
    );
  } catch (err) {
    await env.DB.prepare('UPDATE invitations SET revoked_at = ? WHERE id = ?').bind(Date.now(), row.id).run();
    throw new AppError('internal', { message: 'The invitation mail could not be sent', internal: err });
  }
  return toDto(row);
}

export async function listInvitations(env: Env, principal: Principal): Promise<InvitationDto[]> {
  requirePermission(principal, 'members:read');
  const { results } = await env.DB.prepare(
    `SELECT * FROM invitations WHERE org_id = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?
     ORDER BY created_at`,
  )
    .bind(principal.orgId, Date.now())
    .all<InvitationRow>();
  return results.map(toDto);
}

export async function revokeInvitation(env: Env, principal: Principal, id: string): Promise<InvitationDto> {
  requirePermission(principal, 'members:write');
  const row = await env.DB.prepare(
    'SELECT * FROM invitations WHERE id = ? AND org_id = ? AND accepted_at IS NULL AND revoked_at IS NULL',
  )
    .bind(id, principal.orgId)
    .first<InvitationRow>();
  if (!row) throw new AppError('not_found', { details: { location: 'path', path: 'id' } });
  await env.DB.batch([
    env.DB.prepare('UPDATE invitations SET revoked_at = ? WHERE id = ? AND org_id = ?').bind(
      Date.now(),
      id,
      principal.orgId,
    ),
    adminAuditStatement(env.DB, principal, {
      action: 'invitation.revoke',
      details: { invitationId: id, email: row.email, role: row.role },
    }),
  ]);
  return toDto(row);
}

/** The signed-in user accepts an invitation; their session switches to the organization. */
export async function acceptInvitation(
  env: Env,
  session: { id: string; userId: string },
  token: string,
): Promise<MembershipDto> {
  const user = await findUserById(env.DB, session.userId);
  if (!user) throw new AppError('unauthorized');
  const { id } = await inspectInvitation(env.DB, token, user.email);
  const pending = await env.DB.prepare(
    'SELECT o.id, o.slug, o.name, i.role FROM invitations i JOIN organizations o ON o.id = i.org_id WHERE i.id = ?',
  )
    .bind(id)
    .first<MembershipDto>();
  if (!pending) throw invalidInvitation();
  const already = await env.DB.prepare('SELECT 1 AS x FROM members WHERE org_id = ? AND user_id = ?')
    .bind(pending.id, user.id)
    .first();
  if (already) {
    throw new AppError('conflict', { message: 'You are already a member of this organization' });
  }
  const consumed = await consumeInvitation(env.DB, id, user.email);
  try {
    await env.DB.batch([
      ...joinStatements(env.DB, user, consumed, session.id),
      setActiveOrgStatement(env.DB, session.id, consumed.orgId),
    ]);
  } catch (err) {
    await unconsumeInvitation(env.DB, consumed.id);
    throw err;
  }
  return { ...pending, role: consumed.role };
}
