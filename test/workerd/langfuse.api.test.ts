/**
 * An organization's Langfuse project inside workerd (delivery itself is end to end:
 * test/e2e/langfuse.e2e.test.ts): the secret key sealed in the vault and never returned, kept when
 * omitted, re-sealed on master-key rotation; owners and admins only; the URL rules; one
 * organization's settings invisible to another; and the gateway's enabled flag read once per
 * configuration epoch, seeing a change at once.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { langfuseEnabled } from '../../workers/langfuse/langfuse.report';
import { createVault } from '../../workers/vault/vault.crypto';
import { reencryptCredentials } from '../../workers/vault/vault.reencrypt';
import { addMember, call, createOrg, json } from './helpers';

const SECRET = 'sk-lf-workerd-0123456789';

/** The organization's admin rows of these actions, oldest first, as stored. */
async function adminRows(orgId: string, prefix: string) {
  const { results } = await env.DB.prepare(
    "SELECT action, actor, details FROM audit_events WHERE org_id = ? AND type = 'admin' AND action LIKE ? ORDER BY created_at, rowid",
  )
    .bind(orgId, `${prefix}%`)
    .all<{ action: string; actor: string; details: string }>();
  return results;
}

describe('Langfuse settings', () => {
  it('seals the secret key, never returns it, and keeps it when omitted', async () => {
    const org = await createOrg('owner');
    expect(await json(await call('GET', '/api/v1/integrations/langfuse', { key: org.key }))).toEqual({
      langfuse: null,
    });
    const put = await call('PUT', '/api/v1/integrations/langfuse', {
      key: org.key,
      body: { host: 'https://langfuse.example.com/', publicKey: 'pk-lf-1', secretKey: SECRET },
    });
    expect(put.status).toBe(200);
    const saved = await put.text();
    expect(saved).not.toContain(SECRET);
    expect(JSON.parse(saved)).toMatchObject({
      enabled: true,
      host: 'https://langfuse.example.com',
      publicKey: 'pk-lf-1',
      hasSecretKey: true,
    });
    const row = await env.DB.prepare('SELECT * FROM langfuse_settings WHERE org_id = ?')
      .bind(org.orgId)
      .first<{ secret_ciphertext: string }>();
    expect(JSON.stringify(row)).not.toContain(SECRET);

    // Omitted secret: the stored one stays.
    const again = await call('PUT', '/api/v1/integrations/langfuse', {
      key: org.key,
      body: { host: 'https://langfuse.example.com', publicKey: 'pk-lf-2', enabled: false },
    });
    expect(again.status).toBe(200);
    const vault = await createVault({ current: env.ENCRYPTION_KEY! });
    const kept = await env.DB.prepare('SELECT secret_ciphertext FROM langfuse_settings WHERE org_id = ?')
      .bind(org.orgId)
      .first<{ secret_ciphertext: string }>();
    expect(await vault.decrypt(kept!.secret_ciphertext, `${org.orgId}:langfuse`)).toBe(SECRET);

    // Master-key rotation re-seals it.
    const next = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
    await reencryptCredentials(
      { DB: env.DB, ENCRYPTION_KEY: next, ENCRYPTION_KEY_PREVIOUS: env.ENCRYPTION_KEY },
      org.orgId,
    );
    const rotated = await env.DB.prepare('SELECT secret_ciphertext FROM langfuse_settings WHERE org_id = ?')
      .bind(org.orgId)
      .first<{ secret_ciphertext: string }>();
    expect(
      await (await createVault({ current: next })).decrypt(
        rotated!.secret_ciphertext,
        `${org.orgId}:langfuse`,
      ),
    ).toBe(SECRET);
  });

  it('is for owners and admins of the organization only, and follows the URL rules', async () => {
    const org = await createOrg('owner');
    const other = await createOrg('owner');
    await call('PUT', '/api/v1/integrations/langfuse', {
      key: org.key,
      body: { host: 'https://langfuse.example.com', publicKey: 'pk-lf-a', secretKey: SECRET },
    });
    for (const role of ['developer', 'auditor'] as const) {
      const member = await addMember(org.orgId, role);
      expect((await call('GET', '/api/v1/integrations/langfuse', { key: member.key })).status).toBe(403);
    }
    expect(await json(await call('GET', '/api/v1/integrations/langfuse', { key: other.key }))).toEqual({
      langfuse: null,
    });
    const firstTime = await call('PUT', '/api/v1/integrations/langfuse', {
      key: other.key,
      body: { host: 'https://langfuse.example.com', publicKey: 'pk' },
    });
    expect(firstTime.status).toBe(400);
    const credentials = await call('PUT', '/api/v1/integrations/langfuse', {
      key: other.key,
      body: { host: 'https://u:p@langfuse.example.com', publicKey: 'pk', secretKey: SECRET },
    });
    expect(credentials.status).toBe(400);
    expect(await credentials.text()).not.toContain(SECRET);
  });

  it('sends the stored secret key to no other host: moving the host to another origin needs the key again', async () => {
    const org = await createOrg('owner');
    const admin = await addMember(org.orgId, 'admin');
    await call('PUT', '/api/v1/integrations/langfuse', {
      key: org.key,
      body: { host: 'https://langfuse.example.com', publicKey: 'pk-lf-a', secretKey: SECRET },
    });
    const stored = () =>
      env.DB.prepare('SELECT host, public_key, secret_ciphertext FROM langfuse_settings WHERE org_id = ?')
        .bind(org.orgId)
        .first();
    const before = await stored();
    for (const host of ['https://collector.attacker.example', 'https://langfuse.example.com:8443']) {
      const moved = await call('PUT', '/api/v1/integrations/langfuse', {
        key: admin.key,
        body: { host, publicKey: 'pk-lf-a' },
      });
      const text = await moved.text();
      expect(moved.status, host).toBe(400);
      expect(JSON.parse(text).error.details.issues[0]).toMatchObject({
        path: 'secretKey',
        rule: 'credential_required_for_new_origin',
      });
      expect(text).not.toContain(SECRET);
      expect(await stored()).toEqual(before);
    }
    // The same origin keeps it; another origin with its own key is fine.
    const samePath = await call('PUT', '/api/v1/integrations/langfuse', {
      key: admin.key,
      body: { host: 'https://langfuse.example.com/eu', publicKey: 'pk-lf-a' },
    });
    expect(samePath.status).toBe(200);
    const withKey = await call('PUT', '/api/v1/integrations/langfuse', {
      key: admin.key,
      body: { host: 'https://other.example.com', publicKey: 'pk-lf-b', secretKey: 'sk-lf-new' },
    });
    expect(await json(withKey)).toMatchObject({ host: 'https://other.example.com' });
  });

  it('records every change and the removal in the audit trail, never the secret key', async () => {
    const org = await createOrg('owner');
    const body = { host: 'https://langfuse.example.com', publicKey: 'pk-lf-a', secretKey: SECRET };
    expect((await call('PUT', '/api/v1/integrations/langfuse', { key: org.key, body })).status).toBe(200);
    // A change that keeps the stored secret key (the same settings again would change nothing, and
    // write no row: audit.noop.test.ts).
    const { secretKey: _omitted, ...rest } = body;
    const kept = { ...rest, publicKey: 'pk-lf-b' };
    expect((await call('PUT', '/api/v1/integrations/langfuse', { key: org.key, body: kept })).status).toBe(
      200,
    );
    expect((await call('DELETE', '/api/v1/integrations/langfuse', { key: org.key })).status).toBe(204);
    const rows = await adminRows(org.orgId, 'langfuse.');
    expect(rows.map((r) => r.action)).toEqual(['langfuse.update', 'langfuse.update', 'langfuse.delete']);
    expect(JSON.parse(rows[0]!.details)).toMatchObject({
      host: { from: null, to: 'https://langfuse.example.com' },
      secretKey: 'set',
    });
    expect(JSON.parse(rows[1]!.details)).toMatchObject({ secretKey: 'kept' });
    expect(JSON.stringify(rows)).not.toContain(SECRET);
  });

  it('is seen by the gateway at the next call after a change (configuration epoch), without a read per call', async () => {
    const org = await createOrg('owner');
    expect(await langfuseEnabled(env, org.orgId)).toBe(false);
    await call('PUT', '/api/v1/integrations/langfuse', {
      key: org.key,
      body: { host: 'https://langfuse.example.com', publicKey: 'pk', secretKey: SECRET },
    });
    // The API write bumped the epoch (config.announce.ts): the cached "off" is no longer current.
    expect(await langfuseEnabled(env, org.orgId)).toBe(true);
    // Cached: the same promise while nothing changed.
    expect(langfuseEnabled(env, org.orgId)).toBe(langfuseEnabled(env, org.orgId));
    expect((await call('DELETE', '/api/v1/integrations/langfuse', { key: org.key })).status).toBe(204);
    expect(await langfuseEnabled(env, org.orgId)).toBe(false);
  });
});
