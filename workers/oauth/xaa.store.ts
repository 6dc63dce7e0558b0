/**
 * Cross App Access (experimental, docs/oauth.md#cross-app-access-experimental): the D1 side — the
 * identity providers an organization trusts to sign ID-JAG assertions, and what it revoked. Every
 * query is scoped to an organization, except the lookup by issuer the token endpoint makes before
 * it knows which organization an assertion is for.
 */
import { z } from 'zod';
import { checkUpstreamUrl } from '../connections/connection.rules';
import { randomId } from '../lib/ids';
import { parseStoredJson } from '../lib/values';
import { COUNT_LIMITS, insertBelowCap, limitReached } from '../shared/count.limits';

export const XAA_ALGORITHMS = ['RS256', 'ES256'] as const;

/** Is Cross App Access turned on for this deployment (the experimental flag)? */
export function xaaEnabled(env: { CROSS_APP_ACCESS?: string }): boolean {
  return env.CROSS_APP_ACCESS === 'on';
}

const httpsUrl = z
  .string()
  .url()
  .max(500)
  .refine((u) => u.startsWith('https://'), 'must be an https URL (the OAuth library accepts nothing else)');

export const xaaIssuerInputSchema = z
  .object({
    /** Must equal the assertions' `iss` exactly. */
    issuer: httpsUrl,
    jwksUri: httpsUrl,
    algorithms: z.array(z.enum(XAA_ALGORITHMS)).min(1).max(2).default(['RS256']),
    /** Igris OAuth client ids (from /register) that may present this IdP's assertions. */
    clients: z.array(z.string().min(1).max(256)).min(1).max(100),
  })
  .strict();
export type XaaIssuerInput = z.output<typeof xaaIssuerInputSchema>;

/** The IdP's URLs follow the upstream SSRF rules: a public host unless private upstreams are allowed. */
export function issuerUrlProblem(env: { ALLOW_PRIVATE_UPSTREAMS?: string }, input: XaaIssuerInput) {
  const allowPrivate = env.ALLOW_PRIVATE_UPSTREAMS === 'true';
  for (const path of ['issuer', 'jwksUri'] as const) {
    const checked = checkUpstreamUrl(input[path], { allowPrivate, allowHttp: false });
    if (!checked.ok) return { path, message: checked.message, rule: checked.rule };
  }
  return null;
}

export interface XaaIssuer {
  id: string;
  issuer: string;
  jwksUri: string;
  algorithms: string[];
  clients: string[];
  createdAt: string;
}

interface IssuerRow {
  id: string;
  org_id: string;
  issuer: string;
  jwks_uri: string;
  algorithms: string;
  clients: string;
  created_at: number;
}

const strings = (raw: string) => {
  const parsed = parseStoredJson(raw);
  return Array.isArray(parsed) ? parsed.filter((v): v is string => typeof v === 'string') : [];
};

function toIssuer(row: IssuerRow): XaaIssuer & { orgId: string } {
  return {
    id: row.id,
    orgId: row.org_id,
    issuer: row.issuer,
    jwksUri: row.jwks_uri,
    algorithms: strings(row.algorithms),
    clients: strings(row.clients),
    createdAt: new Date(row.created_at).toISOString(),
  };
}

export async function listIssuers(db: D1Database, orgId: string): Promise<XaaIssuer[]> {
  const { results } = await db
    .prepare('SELECT * FROM xaa_issuers WHERE org_id = ? ORDER BY created_at')
    .bind(orgId)
    .all<IssuerRow>();
  return results.map((row) => withoutOrg(toIssuer(row)));
}

function withoutOrg({ orgId: _, ...issuer }: XaaIssuer & { orgId: string }): XaaIssuer {
  return issuer;
}

/** Every organization's configuration of an issuer (the token endpoint narrows by client and connection). */
export async function issuersNamed(
  db: D1Database,
  issuer: string,
): Promise<Array<XaaIssuer & { orgId: string }>> {
  const { results } = await db
    .prepare('SELECT * FROM xaa_issuers WHERE issuer = ? LIMIT 50')
    .bind(issuer)
    .all<IssuerRow>();
  return results.map(toIssuer);
}

/**
 * Adds (or replaces, for the same issuer) an organization's trusted IdP. `audit` is the change's
 * record, written in the same D1 batch and only if the issuer row is there afterwards (a create the
 * count limit refused writes none).
 */
export async function putIssuer(
  db: D1Database,
  orgId: string,
  input: XaaIssuerInput,
  audit: (guard: { sql: string; binds: unknown[] }) => D1PreparedStatement,
): Promise<XaaIssuer> {
  const present = {
    sql: 'SELECT 1 FROM xaa_issuers WHERE org_id = ? AND issuer = ?',
    binds: [orgId, input.issuer],
  };
  // Replacing an issuer already trusted takes no new place: not refused at the cap.
  const [put] = await db.batch<IssuerRow>([
    insertBelowCap(
      db,
      COUNT_LIMITS.xaaIssuers,
      [orgId],
      'INSERT INTO xaa_issuers (id, org_id, issuer, jwks_uri, algorithms, clients)',
      [
        randomId('xaa'),
        orgId,
        input.issuer,
        input.jwksUri,
        JSON.stringify(input.algorithms),
        JSON.stringify(input.clients),
      ],
      {
        orExisting: present,
        tail: `ON CONFLICT (org_id, issuer) DO UPDATE SET jwks_uri = excluded.jwks_uri,
         algorithms = excluded.algorithms, clients = excluded.clients
       RETURNING *`,
      },
    ),
    audit(present),
  ]);
  const row = put?.results[0];
  if (!row) throw limitReached(COUNT_LIMITS.xaaIssuers);
  return withoutOrg(toIssuer(row));
}

/** Stops trusting an issuer; `audit` is written in the same batch, only if there was one to delete. */
export async function deleteIssuer(
  db: D1Database,
  orgId: string,
  id: string,
  audit: (guard: { sql: string; binds: unknown[] }) => D1PreparedStatement,
): Promise<boolean> {
  const [, res] = await db.batch([
    // Before the delete, in the same transaction: the row is written only if the issuer was there.
    audit({ sql: 'SELECT 1 FROM xaa_issuers WHERE org_id = ? AND id = ?', binds: [orgId, id] }),
    db.prepare('DELETE FROM xaa_issuers WHERE org_id = ? AND id = ?').bind(orgId, id),
  ]);
  return (res?.meta.changes ?? 0) > 0;
}

export type RevocationKind = 'jti' | 'subject';

export interface XaaRevocation {
  id: string;
  issuer: string;
  kind: RevocationKind;
  value: string;
  createdAt: string;
}

/** The revocation's INSERT (a repeat changes nothing), to batch with its audit row. */
export function addRevocationStatement(
  db: D1Database,
  orgId: string,
  r: { issuer: string; kind: RevocationKind; value: string },
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO xaa_revocations (id, org_id, issuer, kind, value) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (org_id, issuer, kind, value) DO NOTHING`,
    )
    .bind(randomId('xrv'), orgId, r.issuer, r.kind, r.value);
}

export async function listRevocations(db: D1Database, orgId: string): Promise<XaaRevocation[]> {
  const { results } = await db
    .prepare(
      'SELECT id, issuer, kind, value, created_at FROM xaa_revocations WHERE org_id = ? ORDER BY created_at DESC LIMIT 500',
    )
    .bind(orgId)
    .all<{ id: string; issuer: string; kind: RevocationKind; value: string; created_at: number }>();
  return results.map(({ created_at, ...r }) => ({ ...r, createdAt: new Date(created_at).toISOString() }));
}

/** Which revocation (if any) covers this assertion: its `jti`, or its subject. */
export async function revokedBy(
  db: D1Database,
  orgId: string,
  a: { issuer: string; jti: string; sub: string },
): Promise<RevocationKind | null> {
  const row = await db
    .prepare(
      `SELECT kind FROM xaa_revocations WHERE org_id = ?1 AND issuer = ?2
         AND ((kind = 'jti' AND value = ?3) OR (kind = 'subject' AND value = ?4)) LIMIT 1`,
    )
    .bind(orgId, a.issuer, a.jti, a.sub)
    .first<{ kind: RevocationKind }>();
  return row?.kind ?? null;
}
