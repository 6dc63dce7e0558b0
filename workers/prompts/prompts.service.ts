/**
 * Governed system prompts (tables `system_prompts`, `system_prompt_versions`,
 * `system_prompt_assignments`), versioned like policies: every text change is a new version, and
 * the gateway injects the current one. Reads need `policies:read`, changes `policies:write`,
 * audited in the same batch (the prompt's hash, never its text). Targets (connections, teams) must
 * be the organization's own: another organization's is "not found" and nothing is written. Which
 * prompts and targets an `own` grant reaches (a developer: their own) is prompts.access.ts.
 */
import type { Principal } from '../app.types';
import { adminAuditStatement, adminAuditStatementIf } from '../audit/audit.admin';
import { requirePermission } from '../auth/permissions';
import { invalidateGovernance } from '../governance/governance.cache';
import { AppError } from '../lib/errors';
import { sha256Hex } from '../lib/hex';
import { randomId } from '../lib/ids';
import { iso } from '../lib/values';
import {
  COUNT_LIMITS,
  insertBelowCap,
  limitReached,
  requireInserted,
  rowExists,
} from '../shared/count.limits';
import { readTeam } from '../teams/teams.service';
import {
  type PromptEditRight,
  promptEditRights,
  requirePromptChange,
  requireTargetWrite,
} from './prompts.access';
import { PROMPT_VERSIONS_KEPT, prunePromptVersionsStatements } from './prompts.retention';
import type { AssignmentInput, PromptDto } from './prompts.schemas';

interface PromptRow {
  id: string;
  name: string;
  version: number;
  created_at: number;
  updated_at: number;
  text: string;
  text_hash: string;
}
interface AssignmentRow {
  id: string;
  prompt_id: string;
  target: 'connection' | 'team';
  target_id: string;
  priority: number;
  mode: 'prepend' | 'replace';
}

const SELECT = `SELECT p.id, p.name, p.version, p.created_at, p.updated_at, v.text, v.text_hash
  FROM system_prompts p JOIN system_prompt_versions v ON v.prompt_id = p.id AND v.version = p.version`;

function dto(p: PromptRow, assignments: AssignmentRow[], right: PromptEditRight): PromptDto {
  return {
    id: p.id,
    name: p.name,
    version: p.version,
    text: p.text,
    sha256: p.text_hash,
    assignments: assignments
      .filter((a) => a.prompt_id === p.id)
      .map((a) => ({
        id: a.id,
        target: a.target,
        targetId: a.target_id,
        priority: a.priority,
        mode: a.mode,
      })),
    createdAt: iso(p.created_at)!,
    updatedAt: iso(p.updated_at)!,
    // Who made it and whether this caller may change it: the dashboard offers edits only then.
    ...right,
  };
}

const notFound = () =>
  new AppError('not_found', {
    message: 'System prompt not found',
    details: { location: 'path', path: 'id' },
  });

function nameTaken(): AppError {
  return new AppError('conflict', {
    message: 'A system prompt with this name already exists',
    details: { location: 'body', path: 'name' },
  });
}

export async function listPrompts(db: D1Database, principal: Principal): Promise<PromptDto[]> {
  requirePermission(principal, 'policies:read');
  const [[prompts, assignments], rightOf] = await Promise.all([
    db.batch([
      db.prepare(`${SELECT} WHERE p.org_id = ? ORDER BY p.name`).bind(principal.orgId),
      db.prepare('SELECT * FROM system_prompt_assignments WHERE org_id = ?').bind(principal.orgId),
    ]),
    promptEditRights(db, principal),
  ]);
  const rows = assignments!.results as AssignmentRow[];
  return (prompts!.results as PromptRow[]).map((p) => dto(p, rows, rightOf(p.id)));
}

async function readPrompt(db: D1Database, principal: Principal, id: string): Promise<PromptDto> {
  const orgId = principal.orgId;
  const [[prompt, assignments, versions], rightOf] = await Promise.all([
    db.batch([
      db.prepare(`${SELECT} WHERE p.org_id = ? AND p.id = ?`).bind(orgId, id),
      db
        .prepare('SELECT * FROM system_prompt_assignments WHERE org_id = ? AND prompt_id = ?')
        .bind(orgId, id),
      db
        .prepare(
          `SELECT version, text_hash, created_by, created_at FROM system_prompt_versions WHERE org_id = ? AND prompt_id = ?
           ORDER BY version DESC LIMIT ${PROMPT_VERSIONS_KEPT}`,
        )
        .bind(orgId, id),
    ]),
    promptEditRights(db, principal, id),
  ]);
  const row = prompt!.results[0] as PromptRow | undefined;
  if (!row) throw notFound();
  return {
    ...dto(row, assignments!.results as AssignmentRow[], rightOf(id)),
    versions: (
      versions!.results as {
        version: number;
        text_hash: string;
        created_by: string | null;
        created_at: number;
      }[]
    ).map((v) => ({
      version: v.version,
      sha256: v.text_hash,
      createdBy: v.created_by,
      createdAt: iso(v.created_at)!,
    })),
  };
}

export async function getPrompt(db: D1Database, principal: Principal, id: string): Promise<PromptDto> {
  requirePermission(principal, 'policies:read');
  return readPrompt(db, principal, id);
}

export async function createPrompt(
  db: D1Database,
  principal: Principal,
  input: { name: string; text: string },
): Promise<PromptDto> {
  requirePermission(principal, 'policies:write');
  const id = randomId('spr');
  const hash = await sha256Hex(input.text);
  const now = Date.now();
  // The first version and the audit row are written only if the prompt was (count.limits.ts).
  const created = rowExists('system_prompts', id);
  let inserted: D1Result | undefined;
  try {
    [inserted] = await db.batch([
      insertBelowCap(
        db,
        COUNT_LIMITS.systemPrompts,
        [principal.orgId],
        'INSERT INTO system_prompts (id, org_id, name, version, updated_at)',
        [id, principal.orgId, input.name, 1, now],
      ),
      db
        .prepare(
          `INSERT INTO system_prompt_versions (prompt_id, org_id, version, text, text_hash, created_by)
           SELECT ?, ?, 1, ?, ?, ? WHERE EXISTS (${created.sql})`,
        )
        .bind(id, principal.orgId, input.text, hash, principal.actor, ...created.binds),
      adminAuditStatementIf(
        db,
        principal,
        {
          action: 'system_prompt.create',
          details: { promptId: id, name: input.name, version: 1, sha256: hash },
        },
        created,
      ),
    ]);
  } catch (err) {
    if (String(err).includes('UNIQUE')) throw nameTaken();
    throw err;
  }
  requireInserted(inserted, COUNT_LIMITS.systemPrompts);
  return readPrompt(db, principal, id);
}

/** A new text is a new version; a rename alone keeps the version. */
export async function updatePrompt(
  db: D1Database,
  principal: Principal,
  id: string,
  input: { name?: string | undefined; text?: string | undefined },
): Promise<PromptDto> {
  requirePermission(principal, 'policies:write');
  const before = await readPrompt(db, principal, id);
  await requirePromptChange(db, principal, id);
  const hash = input.text === undefined ? before.sha256 : await sha256Hex(input.text);
  const version = input.text !== undefined && hash !== before.sha256 ? before.version + 1 : before.version;
  // Same name, same text: nothing is written, and no row records a change that did not happen.
  if (version === before.version && (input.name === undefined || input.name === before.name)) return before;
  const statements = [
    db
      .prepare('UPDATE system_prompts SET name = ?, version = ?, updated_at = ? WHERE org_id = ? AND id = ?')
      .bind(input.name ?? before.name, version, Date.now(), principal.orgId, id),
    adminAuditStatement(db, principal, {
      action: 'system_prompt.update',
      details: { promptId: id, version, previousVersion: before.version, sha256: hash },
    }),
  ];
  if (version !== before.version) {
    statements.unshift(
      db
        .prepare(
          'INSERT INTO system_prompt_versions (prompt_id, org_id, version, text, text_hash, created_by) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .bind(id, principal.orgId, version, input.text!, hash, principal.actor),
      // Versions past the newest kept leave their text behind (and the oldest tombstones go), in the same transaction.
      ...prunePromptVersionsStatements(db, principal.orgId, id, version),
    );
  }
  try {
    await db.batch(statements);
  } catch (err) {
    if (String(err).includes('UNIQUE')) throw nameTaken();
    throw err;
  }
  invalidateGovernance(principal.orgId);
  return readPrompt(db, principal, id);
}

export async function deletePrompt(db: D1Database, principal: Principal, id: string): Promise<void> {
  requirePermission(principal, 'policies:write');
  const before = await readPrompt(db, principal, id);
  await requirePromptChange(db, principal, id);
  await db.batch([
    db
      .prepare('DELETE FROM system_prompt_assignments WHERE org_id = ? AND prompt_id = ?')
      .bind(principal.orgId, id),
    db
      .prepare('DELETE FROM system_prompt_versions WHERE org_id = ? AND prompt_id = ?')
      .bind(principal.orgId, id),
    db.prepare('DELETE FROM system_prompts WHERE org_id = ? AND id = ?').bind(principal.orgId, id),
    adminAuditStatement(db, principal, {
      action: 'system_prompt.delete',
      details: { promptId: id, name: before.name },
    }),
  ]);
  invalidateGovernance(principal.orgId);
}

export async function assignPrompt(
  db: D1Database,
  principal: Principal,
  id: string,
  input: AssignmentInput,
): Promise<PromptDto> {
  requirePermission(principal, 'policies:write');
  await readPrompt(db, principal, id);
  if (input.target === 'team') await readTeam(db, principal.orgId, input.targetId, 'targetId');
  else {
    const connection = await db
      .prepare("SELECT 1 AS ok FROM connections WHERE org_id = ? AND id = ? AND type = 'llm'")
      .bind(principal.orgId, input.targetId)
      .first();
    if (!connection) {
      throw new AppError('not_found', {
        message: 'LLM connection not found',
        details: { location: 'body', path: 'targetId' },
      });
    }
  }
  // Any readable prompt may be assigned, but only to a target the principal governs.
  await requireTargetWrite(db, principal, input);
  // Re-assigning (new priority or mode) takes no new place, so it is not refused at the cap.
  const present = {
    sql: 'SELECT 1 FROM system_prompt_assignments WHERE prompt_id = ? AND target = ? AND target_id = ?',
    binds: [id, input.target, input.targetId],
  };
  const [assigned] = await db.batch([
    insertBelowCap(
      db,
      COUNT_LIMITS.promptAssignments,
      [principal.orgId],
      'INSERT INTO system_prompt_assignments (id, org_id, prompt_id, target, target_id, priority, mode)',
      [randomId('spa'), principal.orgId, id, input.target, input.targetId, input.priority, input.mode],
      {
        orExisting: present,
        tail: 'ON CONFLICT (prompt_id, target, target_id) DO UPDATE SET priority = excluded.priority, mode = excluded.mode',
      },
    ),
    adminAuditStatementIf(
      db,
      principal,
      { action: 'system_prompt.assign', details: { promptId: id, ...input } },
      present,
    ),
  ]);
  if (assigned?.meta.changes === 0) throw limitReached(COUNT_LIMITS.promptAssignments);
  invalidateGovernance(principal.orgId);
  return readPrompt(db, principal, id);
}

export async function unassignPrompt(
  db: D1Database,
  principal: Principal,
  id: string,
  assignmentId: string,
): Promise<PromptDto> {
  requirePermission(principal, 'policies:write');
  const prompt = await readPrompt(db, principal, id);
  const assignment = prompt.assignments.find((a) => a.id === assignmentId);
  if (!assignment) {
    throw new AppError('not_found', {
      message: 'Assignment not found',
      details: { location: 'path', path: 'assignmentId' },
    });
  }
  await requireTargetWrite(db, principal, assignment);
  await db.batch([
    db
      .prepare('DELETE FROM system_prompt_assignments WHERE org_id = ? AND id = ?')
      .bind(principal.orgId, assignmentId),
    adminAuditStatement(db, principal, {
      action: 'system_prompt.unassign',
      details: { promptId: id, assignmentId },
    }),
  ]);
  invalidateGovernance(principal.orgId);
  return readPrompt(db, principal, id);
}
