/**
 * Master-key rotation, step 2: re-encrypt stored credentials under the current ENCRYPTION_KEY.
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

export async function reencryptCredentials(
  env: VaultEnv & { DB: D1Database },
  orgId?: string,
): Promise<ReencryptResult> {
  const vault = await getVault(env);
  const query = orgId
    ? env.DB.prepare(
        'SELECT id, org_id, credential_ciphertext FROM connections WHERE org_id = ? AND credential_ciphertext IS NOT NULL',
      ).bind(orgId)
    : env.DB.prepare(
        'SELECT id, org_id, credential_ciphertext FROM connections WHERE credential_ciphertext IS NOT NULL',
      );
  const { results } = await query.all<{ id: string; org_id: string; credential_ciphertext: string }>();
  const result: ReencryptResult = { checked: results.length, reencrypted: 0, failed: 0 };
  for (const row of results) {
    try {
      if (!vault.needsReencryption(row.credential_ciphertext)) continue;
      const next = await vault.reencrypt(row.credential_ciphertext, `${row.org_id}:${row.id}`);
      const update = await env.DB.prepare(
        'UPDATE connections SET credential_ciphertext = ? WHERE id = ? AND org_id = ? AND credential_ciphertext = ?',
      )
        .bind(next, row.id, row.org_id, row.credential_ciphertext)
        .run();
      if ((update.meta.changes ?? 0) === 1) result.reencrypted++;
    } catch (err) {
      // A credential made with a key that is no longer configured cannot be recovered here; it is
      // reported (never its value) so the operator can re-enter it with POST …/rotate.
      result.failed++;
      log('error', 'credential could not be re-encrypted', { connectionId: row.id, orgId: row.org_id, err });
    }
  }
  if (result.reencrypted > 0 || result.failed > 0)
    log('info', 'credential re-encryption', { orgId: orgId ?? 'all', ...result });
  return result;
}
