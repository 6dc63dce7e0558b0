/**
 * Master-key rotation, step 2: re-encrypt stored credentials (connections', notification channels',
 * audit signing keys and Langfuse secret keys)
 * under the current ENCRYPTION_KEY.
 *
 * While ENCRYPTION_KEY_PREVIOUS is set, the daily cron re-encrypts every credential still made with it,
 * and owners/admins can run it at once for their organization
 * (`POST /api/v1/organizations/current/reencrypt-credentials`). Each update is a compare-and-swap on the
 * old ciphertext, so a credential rotated concurrently is never overwritten with a stale value.
 * Plaintext exists only in this isolate's memory between decrypt and encrypt.
 */
import { log } from '../lib/log';
import { getVault, type VaultEnv } from './vault.crypto';

export interface ReencryptResult {
  checked: number;
  reencrypted: number;
  failed: number;
}

/**
 * Every kind of sealed secret: its table, column, and the AAD it was sealed with. Table and column
 * names are constants here, never input.
 */
const SEALED = [
  { table: 'connections', column: 'credential_ciphertext', aad: (org: string, id: string) => `${org}:${id}` },
  // Notification channels' URLs, signing secrets and tokens (workers/notify/notify.channels.ts).
  {
    table: 'notify_channels',
    column: 'secret_ciphertext',
    aad: (org: string, id: string) => `${org}:${id}:notify`,
  },
  // Audit signing keys (workers/audit/audit.signed-export.ts).
  {
    table: 'audit_signing_keys',
    column: 'private_ciphertext',
    aad: (org: string, id: string) => `${org}:${id}:audit-signing`,
  },
  // Langfuse secret keys (workers/langfuse/langfuse.settings.ts): one row per organization.
  {
    table: 'langfuse_settings',
    column: 'secret_ciphertext',
    idColumn: 'org_id',
    aad: (org: string) => `${org}:langfuse`,
  },
  // OTLP export headers (workers/tracing/tracing.settings.ts): one row per organization.
  {
    table: 'tracing_settings',
    column: 'headers_ciphertext',
    idColumn: 'org_id',
    aad: (org: string) => `${org}:tracing`,
  },
] as const satisfies ReadonlyArray<{
  table: string;
  column: string;
  /** The row's key column, when it is not `id`. */
  idColumn?: string;
  aad: (org: string, id: string) => string;
}>;

/**
 * Re-encrypts the credentials of one organization (`orgId`) or of all (the cron).
 *
 * `audit` (the API route's record, given the counts): every update is then written in ONE batch with
 * that row — one transaction, so no credential is re-sealed without its record, and a failed record
 * re-seals nothing (the call answers an error). Its `reencrypted` counts the updates sent: one of
 * them finds nothing to change only if that credential was rotated meanwhile (itself audited).
 * Without it (the cron, over every organization) each update is its own compare-and-swap.
 */
export async function reencryptCredentials(
  env: VaultEnv & { DB: D1Database },
  orgId?: string,
  audit?: (result: ReencryptResult) => D1PreparedStatement,
): Promise<ReencryptResult> {
  const vault = await getVault(env);
  const result: ReencryptResult = { checked: 0, reencrypted: 0, failed: 0 };
  const updates: D1PreparedStatement[] = [];
  for (const sealed of SEALED) {
    const { table, column, aad } = sealed;
    const idColumn = 'idColumn' in sealed ? sealed.idColumn : 'id';
    const scope = orgId ? 'org_id = ? AND ' : '';
    const query = env.DB.prepare(
      `SELECT ${idColumn} AS id, org_id, ${column} AS sealed FROM ${table} WHERE ${scope}${column} IS NOT NULL`,
    );
    const { results } = await (orgId ? query.bind(orgId) : query).all<{
      id: string;
      org_id: string;
      sealed: string;
    }>();
    result.checked += results.length;
    for (const row of results) {
      try {
        if (!vault.needsReencryption(row.sealed)) continue;
        const next = await vault.reencrypt(row.sealed, aad(row.org_id, row.id));
        const update = env.DB.prepare(
          `UPDATE ${table} SET ${column} = ? WHERE ${idColumn} = ? AND org_id = ? AND ${column} = ?`,
        ).bind(next, row.id, row.org_id, row.sealed);
        if (audit) updates.push(update);
        else if (((await update.run()).meta.changes ?? 0) === 1) result.reencrypted++;
      } catch (err) {
        // A secret made with a key that is no longer configured cannot be recovered here; it is
        // reported (never its value) so the operator can re-enter it (POST …/rotate, PATCH a channel).
        result.failed++;
        log('error', 'credential could not be re-encrypted', { table, id: row.id, orgId: row.org_id, err });
      }
    }
  }
  if (audit) {
    const written = await env.DB.batch([...updates, audit({ ...result, reencrypted: updates.length })]);
    result.reencrypted = written.slice(0, updates.length).filter((r) => (r.meta.changes ?? 0) === 1).length;
  }
  if (result.reencrypted > 0 || result.failed > 0)
    log('info', 'credential re-encryption', { orgId: orgId ?? 'all', ...result });
  return result;
}
