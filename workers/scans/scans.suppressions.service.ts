/**
 * Suppressing a scan finding (docs/tool-integrity.md#suppressions): an owner or admin
 * (`tools:approve`) accepts one finding of a connection's scan with a reason and an optional
 * expiry; it is audited (`scans.suppress`), left out of every scan's summary while it stays the
 * same finding, and no longer blocks the connection (the integrity state is re-published). Lifting
 * it (`scans.unsuppress`) reports it again.
 */
import type { Principal } from '../app.types';
import { adminAuditStatement, adminAuditStatementIf } from '../audit/audit.admin';
import { requirePermission } from '../auth/permissions';
import { type ConnectionEnv, getConnectionRow } from '../connections/connections.read';
import { republishState } from '../integrity/integrity.store';
import { AppError } from '../lib/errors';
import { randomId } from '../lib/ids';
import { iso } from '../lib/values';
import { COUNT_LIMITS, insertBelowCap, requireInserted } from '../shared/count.limits';
import { getScan } from './scans.service';
import { type Suppression, suppressionsOf } from './scans.suppress';

export interface SuppressInput {
  finding: string;
  reason: string;
  expiresAt?: string | undefined;
}

function toDto(s: Suppression) {
  return {
    id: s.id,
    finding: s.fingerprint,
    kind: s.kind,
    item: s.item,
    reason: s.reason,
    expiresAt: iso(s.expiresAt),
    createdBy: s.createdBy,
    createdAt: iso(s.createdAt)!,
  };
}

export async function suppressFinding(
  env: ConnectionEnv,
  principal: Principal,
  scanId: string,
  input: SuppressInput,
) {
  requirePermission(principal, 'tools:approve');
  const scan = await getScan(env, principal, scanId);
  if (scan.connection === null) {
    throw new AppError('validation_failed', {
      message: "A bare URL's scan has no connection to suppress its findings for",
      details: { location: 'path', path: 'id' },
    });
  }
  const finding = scan.findings.find((f) => f.id === input.finding);
  if (!finding) {
    throw new AppError('not_found', {
      message: 'The scan has no such finding',
      details: { location: 'body', path: 'finding' },
    });
  }
  const expiresAt = input.expiresAt === undefined ? null : Date.parse(input.expiresAt);
  if (expiresAt !== null && expiresAt <= Date.now()) {
    throw new AppError('validation_failed', {
      message: 'expiresAt must be in the future',
      details: { location: 'body', path: 'expiresAt' },
    });
  }
  const connection = await getConnectionRow(env, principal, scan.connection);
  const id = randomId('sup');
  const actor = principal.actor;
  // One suppression per finding and connection: suppressing again replaces reason and expiry (and
  // takes no new place, so it is not refused at the cap).
  const present = {
    sql: 'SELECT 1 FROM scan_suppressions WHERE connection_id = ? AND fingerprint = ?',
    binds: [connection.id, finding.id],
  };
  const limit = COUNT_LIMITS.scanSuppressions;
  const [set] = await env.DB.batch([
    insertBelowCap(
      env.DB,
      limit,
      [connection.id],
      'INSERT INTO scan_suppressions (id, org_id, connection_id, fingerprint, kind, item, reason, expires_at, created_by, created_at)',
      [
        id,
        principal.orgId,
        connection.id,
        finding.id,
        finding.kind,
        finding.item,
        input.reason,
        expiresAt,
        actor,
        Date.now(),
      ],
      {
        orExisting: present,
        tail: `ON CONFLICT (connection_id, fingerprint) DO UPDATE SET
         reason = excluded.reason, expires_at = excluded.expires_at, created_by = excluded.created_by, created_at = excluded.created_at`,
      },
    ),
    adminAuditStatementIf(
      env.DB,
      principal,
      {
        action: 'scans.suppress',
        connectionId: connection.id,
        connectionSlug: connection.slug,
        details: {
          scanId,
          finding: finding.id,
          kind: finding.kind,
          severity: finding.severity,
          item: finding.item,
          reason: input.reason,
          expiresAt: iso(expiresAt),
        },
      },
      present,
    ),
  ]);
  requireInserted(set, limit);
  await republishState(env, principal.orgId, connection.id);
  const stored = (await suppressionsOf(env.DB, principal.orgId, connection.id)).get(finding.id)!;
  return toDto(stored);
}

export async function listSuppressions(env: ConnectionEnv, principal: Principal, slug: string) {
  const connection = await getConnectionRow(env, principal, slug);
  const all = await suppressionsOf(env.DB, principal.orgId, connection.id);
  return { suppressions: [...all.values()].sort((a, b) => b.createdAt - a.createdAt).map(toDto) };
}

export async function deleteSuppression(env: ConnectionEnv, principal: Principal, slug: string, id: string) {
  requirePermission(principal, 'tools:approve');
  const connection = await getConnectionRow(env, principal, slug);
  const known = await env.DB.prepare(
    'SELECT 1 FROM scan_suppressions WHERE org_id = ? AND connection_id = ? AND id = ?',
  )
    .bind(principal.orgId, connection.id, id)
    .first();
  if (!known) {
    throw new AppError('not_found', {
      message: 'Suppression not found',
      details: { location: 'path', path: 'id' },
    });
  }
  await env.DB.batch([
    env.DB.prepare('DELETE FROM scan_suppressions WHERE org_id = ? AND connection_id = ? AND id = ?').bind(
      principal.orgId,
      connection.id,
      id,
    ),
    adminAuditStatement(env.DB, principal, {
      action: 'scans.unsuppress',
      connectionId: connection.id,
      connectionSlug: connection.slug,
      details: { suppressionId: id },
    }),
  ]);
  await republishState(env, principal.orgId, connection.id);
}
