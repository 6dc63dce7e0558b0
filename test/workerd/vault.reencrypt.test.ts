import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { runScheduled } from '../../workers/scheduled';
import { createVault } from '../../workers/vault/vault.crypto';
import { reencryptCredentials } from '../../workers/vault/vault.reencrypt';
import { addMember, call, createConnection, createOrg } from './helpers';

function newKey(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
}

async function ciphertextOf(
  orgId: string,
  slug: string,
): Promise<{ id: string; credential_ciphertext: string }> {
  return (await env.DB.prepare(
    'SELECT id, credential_ciphertext FROM connections WHERE org_id = ? AND slug = ?',
  )
    .bind(orgId, slug)
    .first())!;
}

describe('master-key rotation: re-encrypting stored credentials', () => {
  it('re-encrypts every credential made with the previous key, once, under the new key', async () => {
    const org = await createOrg('owner');
    await createConnection('rotate-a', { key: org.key, credential: 'secret-value-a' });
    await createConnection('rotate-b', { key: org.key, credential: 'secret-value-b' });
    const before = await ciphertextOf(org.orgId, 'rotate-a');

    const next = newKey();
    const rotatingEnv = { DB: env.DB, ENCRYPTION_KEY: next, ENCRYPTION_KEY_PREVIOUS: env.ENCRYPTION_KEY };
    expect(await reencryptCredentials(rotatingEnv, org.orgId)).toEqual({
      checked: 2,
      reencrypted: 2,
      failed: 0,
    });

    const after = await ciphertextOf(org.orgId, 'rotate-a');
    expect(after.credential_ciphertext).not.toBe(before.credential_ciphertext);
    const newOnly = await createVault({ current: next });
    expect(await newOnly.decrypt(after.credential_ciphertext, `${org.orgId}:${after.id}`)).toBe(
      'secret-value-a',
    );
    // Nothing left to do on a second run.
    expect(await reencryptCredentials(rotatingEnv, org.orgId)).toEqual({
      checked: 2,
      reencrypted: 0,
      failed: 0,
    });
  });

  it('runs from the cron while ENCRYPTION_KEY_PREVIOUS is set', async () => {
    const org = await createOrg('owner');
    await createConnection('rotate-cron', { key: org.key, credential: 'secret-value-cron' });
    const next = newKey();
    await runScheduled(
      { scheduledTime: Date.now() },
      { DB: env.DB, ENCRYPTION_KEY: next, ENCRYPTION_KEY_PREVIOUS: env.ENCRYPTION_KEY },
    );
    const row = await ciphertextOf(org.orgId, 'rotate-cron');
    expect(
      await (await createVault({ current: next })).decrypt(
        row.credential_ciphertext,
        `${org.orgId}:${row.id}`,
      ),
    ).toBe('secret-value-cron');
  });

  it('reports a credential it cannot decrypt without touching it', async () => {
    const org = await createOrg('owner');
    await createConnection('rotate-lost', { key: org.key, credential: 'secret-value-lost' });
    const before = await ciphertextOf(org.orgId, 'rotate-lost');
    // Neither configured key made this ciphertext: it is reported, not destroyed.
    const result = await reencryptCredentials(
      { DB: env.DB, ENCRYPTION_KEY: newKey(), ENCRYPTION_KEY_PREVIOUS: newKey() },
      org.orgId,
    );
    expect(result).toEqual({ checked: 1, reencrypted: 0, failed: 1 });
    expect((await ciphertextOf(org.orgId, 'rotate-lost')).credential_ciphertext).toBe(
      before.credential_ciphertext,
    );
  });

  it('is available to owners and admins through the API, audited, and refused to auditors', async () => {
    const org = await createOrg('owner');
    await createConnection('rotate-api', { key: org.key, credential: 'secret-value-api' });
    const res = await call('POST', '/api/v1/organizations/current/reencrypt-credentials', { key: org.key });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ checked: 1, reencrypted: 0, failed: 0 });
    const audit = await env.DB.prepare(
      "SELECT details FROM audit_events WHERE org_id = ? AND action = 'credentials.reencrypt'",
    )
      .bind(org.orgId)
      .first<{ details: string }>();
    expect(JSON.parse(audit!.details)).toEqual({ checked: 1, reencrypted: 0, failed: 0 });
    const auditor = await addMember(org.orgId, 'auditor');
    const refused = await call('POST', '/api/v1/organizations/current/reencrypt-credentials', {
      key: auditor.key,
    });
    expect(refused.status).toBe(403);
  });
});
