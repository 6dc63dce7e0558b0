/**
 * Cross App Access for owners and admins (experimental): revoke by assertion (`jti`) or by subject,
 * and the exchange statistics. A revocation is recorded (so an assertion not yet used, or the
 * subject's next ones, are refused at `/token` with the reason in the audit row) and the access
 * tokens already issued from matching assertions are revoked at once.
 */
import type { Principal } from '../app.types';
import { adminAuditStatement } from '../audit/audit.admin';
import { requirePermission } from '../auth/permissions';
import { AppError } from '../lib/errors';
import { isRecord } from '../lib/values';
import { grantsOf, helpers } from './oauth.admin';
import { addRevocationStatement, type RevocationKind, xaaEnabled } from './xaa.store';

/** Every /api/v1/xaa route: the flag on, and an owner or admin. */
export function requireXaa(env: Env, principal: Principal): void {
  if (!xaaEnabled(env)) {
    throw new AppError('not_found', {
      message: 'Cross App Access is not enabled on this deployment (CROSS_APP_ACCESS)',
    });
  }
  requirePermission(principal, 'org:write');
}

function xaaOf(metadata: unknown): { issuer?: unknown; sub?: unknown; jti?: unknown } {
  return isRecord(metadata) && isRecord(metadata.xaa) ? metadata.xaa : {};
}

/**
 * Records the revocation and revokes the live grants it covers; returns how many. Audited.
 *
 * Order: the revocation and its audit row are one D1 batch (one transaction): neither exists
 * without the other. The grants live in the OAuth store (KV), which no transaction spans, so they
 * are revoked only after that commit: a failed audit write revokes nothing and the call answers an
 * error; a grant revocation that fails after it answers an error too (never 201), and a repeat finds
 * the grants still live and revokes them (the revocation row is kept once; the repeat has its own
 * audit row). `revokedGrants` in the row is how many grants the revocation covers.
 */
export async function revokeXaa(
  env: Env,
  principal: Principal,
  asIssuer: string,
  r: { issuer: string; kind: RevocationKind; value: string },
): Promise<{ revokedGrants: number }> {
  const oauth = helpers(env, asIssuer);
  const covered = await coveredGrants(env.DB, oauth, principal.orgId, r);
  await env.DB.batch([
    addRevocationStatement(env.DB, principal.orgId, r),
    adminAuditStatement(env.DB, principal, {
      action: 'auth.xaa_revoke',
      type: 'auth',
      details: { issuer: r.issuer, kind: r.kind, value: r.value, revokedGrants: covered.length },
    }),
  ]);
  for (const grant of covered) await oauth.revokeGrant(grant.id, grant.userId);
  return { revokedGrants: covered.length };
}

/** The live grants of the organization's members issued from assertions the revocation covers. */
async function coveredGrants(
  db: D1Database,
  oauth: ReturnType<typeof helpers>,
  orgId: string,
  r: { issuer: string; kind: RevocationKind; value: string },
): Promise<Array<{ id: string; userId: string }>> {
  const { results: members } = await db
    .prepare('SELECT user_id FROM members WHERE org_id = ?')
    .bind(orgId)
    .all<{ user_id: string }>();
  const covered: Array<{ id: string; userId: string }> = [];
  for (const { user_id } of members) {
    for (const grant of await grantsOf(oauth, user_id, orgId)) {
      const xaa = xaaOf(grant.metadata);
      const field = r.kind === 'jti' ? xaa.jti : xaa.sub;
      if (xaa.issuer === r.issuer && field === r.value) covered.push({ id: grant.id, userId: grant.userId });
    }
  }
  return covered;
}

export interface XaaStats {
  since: string;
  exchanges: number;
  refused: number;
  refusedByReason: Record<string, number>;
  byIssuer: Record<string, { exchanges: number; refused: number }>;
}

/** Exchanges and refusals in the last `days` days, from the audit trail (its rows are the source). */
export async function xaaStats(db: D1Database, orgId: string, days: number): Promise<XaaStats> {
  const since = Date.now() - days * 86_400_000;
  const { results } = await db
    .prepare(
      `SELECT action, json_extract(details, '$.issuer') AS issuer, json_extract(details, '$.reason') AS reason,
         COUNT(*) AS n
       FROM audit_events
       WHERE org_id = ? AND created_at >= ? AND action IN ('auth.xaa_exchange', 'auth.xaa_refused')
       GROUP BY action, issuer, reason`,
    )
    .bind(orgId, since)
    .all<{ action: string; issuer: string | null; reason: string | null; n: number }>();
  const stats: XaaStats = {
    since: new Date(since).toISOString(),
    exchanges: 0,
    refused: 0,
    refusedByReason: {},
    byIssuer: {},
  };
  for (const row of results) {
    const name = row.issuer ?? 'unknown';
    const issuer = stats.byIssuer[name] ?? { exchanges: 0, refused: 0 };
    stats.byIssuer[name] = issuer;
    if (row.action === 'auth.xaa_exchange') {
      stats.exchanges += row.n;
      issuer.exchanges += row.n;
    } else {
      stats.refused += row.n;
      issuer.refused += row.n;
      const reason = row.reason ?? 'unknown';
      stats.refusedByReason[reason] = (stats.refusedByReason[reason] ?? 0) + row.n;
    }
  }
  return stats;
}
