/**
 * Periodic signed checkpoints of the audit hash chains (docs/observability.md#periodic-checkpoints).
 *
 * The checkpoint cron (wrangler.toml `[triggers]`, CHECKPOINT_CRON) signs, for every organization
 * whose chains moved since its last checkpoint, every chain's head — `{chain, first, seq, hash}` —
 * with the organization's audit signing key (the Ed25519 key of the signed export, sealed in the
 * vault), and stores it in `audit_checkpoints`. `GET /api/v1/audit/checkpoints` lists them, newest
 * first; `igris-edge audit verify <export> --checkpoints <file>` checks an export against them
 * offline (sdk/src/audit.checkpoints.ts).
 *
 * Why: D1 can be rewritten consistently by whoever can write to it (every later link recomputed),
 * and an export made afterwards is signed over the rewritten chain. A checkpoint signed before the
 * rewrite names the old hash at its seq: the rewritten export no longer matches it, so tampering
 * between two checkpoints is found once a later checkpoint covers it. Checkpoints protect best when
 * copied out of the gateway as they are made (a scraper of the list, the SIEM).
 *
 * Cost: per organization and run, one indexed query for the heads and one for the last checkpoint;
 * a signature and an insert only when a head moved.
 */
import type { Principal } from '../app.types';
import { forbidden, grantOf } from '../auth/permissions';
import { AppError } from '../lib/errors';
import { randomId } from '../lib/ids';
import { log } from '../lib/log';
import { iso } from '../lib/values';
import { getVault, type VaultEnv } from '../vault/vault.crypto';
import { chainHeads, type Head, signCheckpoint, signingKey } from './audit.signed-export';

/** The cron expression that runs only the checkpoints (every 15 minutes). */
export const CHECKPOINT_CRON = '*/15 * * * *';

type CheckpointEnv = VaultEnv & Pick<Env, 'DB'>;

/** The part of the heads a checkpoint vouches for (retention moving `first` alone is no news). */
const headKey = (heads: Head[]) => JSON.stringify(heads.map((h) => [h.chain, h.seq, h.hash]));

/** Signs one organization's heads if they moved since its last checkpoint; true when one was stored. */
export async function checkpointOrganization(
  env: CheckpointEnv,
  orgId: string,
  now: number,
): Promise<boolean> {
  const heads = await chainHeads(env.DB, orgId);
  if (heads.length === 0) return false;
  const last = await env.DB.prepare(
    'SELECT heads FROM audit_checkpoints WHERE org_id = ? ORDER BY created_at DESC, id DESC LIMIT 1',
  )
    .bind(orgId)
    .first<{ heads: string }>();
  if (last && headKey(JSON.parse(last.heads) as Head[]) === headKey(heads)) return false;
  const signed = await signCheckpoint(await signingKey(env, orgId), orgId, iso(now)!, heads);
  await env.DB.prepare(
    `INSERT INTO audit_checkpoints (id, org_id, signed_at, heads, key_id, public_key, signature, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  )
    .bind(
      randomId('ack'),
      orgId,
      signed.createdAt,
      JSON.stringify(heads),
      signed.keyId,
      signed.publicKey,
      signed.signature,
      now,
    )
    .run();
  return true;
}

/** The cron's run: every organization, one failure not stopping the others (the next run catches up). */
export async function runCheckpoints(
  env: CheckpointEnv,
  now: number,
): Promise<{ signed: number; failed: number }> {
  // No vault, no key: nothing can be signed (a deployment without ENCRYPTION_KEY is refused elsewhere).
  await getVault(env);
  const orgs = await env.DB.prepare('SELECT id FROM organizations').all<{ id: string }>();
  let signed = 0;
  let failed = 0;
  for (const { id } of orgs.results) {
    try {
      if (await checkpointOrganization(env, id, now)) signed++;
    } catch (err) {
      failed++;
      log('error', 'audit checkpoint failed for an organization; the next run retries', { orgId: id, err });
    }
  }
  log('info', 'audit checkpoint run', { signed, failed, organizations: orgs.results.length });
  return { signed, failed };
}

interface DbCheckpoint {
  id: string;
  org_id: string;
  signed_at: string;
  heads: string;
  key_id: string;
  public_key: string;
  signature: string;
  created_at: number;
}

export interface CheckpointDto {
  id: string;
  kind: 'checkpoint';
  version: 1;
  orgId: string;
  createdAt: string;
  heads: Head[];
  keyId: string;
  publicKey: string;
  signature: string;
}

const dto = (row: DbCheckpoint): CheckpointDto => ({
  id: row.id,
  kind: 'checkpoint',
  version: 1,
  orgId: row.org_id,
  createdAt: row.signed_at,
  heads: JSON.parse(row.heads) as Head[],
  keyId: row.key_id,
  publicKey: row.public_key,
  signature: row.signature,
});

function decodeCursor(cursor: string): { at: number; id: string } {
  try {
    const [at, id] = atob(cursor).split(':');
    if (!id || !Number.isFinite(Number(at))) throw new Error('bad cursor');
    return { at: Number(at), id };
  } catch {
    throw new AppError('validation_failed', {
      message: 'Invalid cursor',
      details: { location: 'query', path: 'cursor' },
    });
  }
}

/** The organization's checkpoints, newest first, in cursor pages. */
export async function listCheckpoints(
  env: Pick<Env, 'DB'>,
  principal: Principal,
  query: { limit: number; cursor?: string },
): Promise<{ checkpoints: CheckpointDto[]; nextCursor: string | null }> {
  if (grantOf(principal, 'audit:read') !== 'all') throw forbidden('audit:read', principal.role);
  const binds: unknown[] = [principal.orgId];
  let after = '';
  if (query.cursor) {
    const { at, id } = decodeCursor(query.cursor);
    after = 'AND (created_at < ? OR (created_at = ? AND id < ?))';
    binds.push(at, at, id);
  }
  const { results } = await env.DB.prepare(
    `SELECT * FROM audit_checkpoints WHERE org_id = ? ${after} ORDER BY created_at DESC, id DESC LIMIT ?`,
  )
    .bind(...binds, query.limit + 1)
    .all<DbCheckpoint>();
  const page = results.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    checkpoints: page.map(dto),
    nextCursor: results.length > query.limit && last ? btoa(`${last.created_at}:${last.id}`) : null,
  };
}
