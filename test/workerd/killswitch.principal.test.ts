/**
 * Kill switches on people and their keys (issue 12, items 4 and 9), through the real Worker and D1:
 *   - a key under an `apiKey` switch, or a member under a `user` switch, can do nothing in the
 *     management API (403 principal_killed) — not mint a fresh key, not lift its own switch;
 *   - nobody lifts a switch that targets themselves (their own key or any key of their user);
 *   - nobody pulls a `user` switch on themselves (they could never lift it);
 *   - admins may not revoke or kill-switch an owner's keys, nor kill-switch an owner user.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey } from '../../workers/auth/api-key.crypto';
import { randomId } from '../../workers/lib/ids';
import {
  addMember,
  apiKeyIdOf,
  call,
  createApiKeyVia,
  createOrg,
  expectApiError,
  expectJson,
  type TestOrg,
} from './helpers';

interface KillSwitch {
  id: string;
  active: boolean;
}

async function pull(key: string, scope: string, target: string) {
  return call('POST', '/api/v1/kill-switch', { key, body: { scope, target } });
}

async function lift(key: string, id: string) {
  return call('DELETE', `/api/v1/kill-switch/${id}`, { key });
}

async function isActive(id: string): Promise<boolean> {
  const row = await env.DB.prepare('SELECT lifted_at FROM kill_switches WHERE id = ?')
    .bind(id)
    .first<{ lifted_at: number | null }>();
  return row !== null && row.lifted_at === null;
}

async function emailOf(userId: string): Promise<string> {
  return (await env.DB.prepare('SELECT email FROM users WHERE id = ?')
    .bind(userId)
    .first<{ email: string }>())!.email;
}

let org: TestOrg;
let admin: TestOrg;

beforeAll(async () => {
  org = await createOrg('owner');
  admin = await addMember(org.orgId, 'admin');
});

describe('a killed API key can do nothing in the management API', () => {
  it('refuses every call with principal_killed: reading, minting a key, lifting its own switch', async () => {
    const killed = await createApiKeyVia(admin.key, 'to be killed', 'admin');
    const ks = await expectJson<KillSwitch>(await pull(org.key, 'apiKey', killed.id), 201);

    const read = await expectApiError(
      await call('GET', '/api/v1/connections', { key: killed.key }),
      403,
      'principal_killed',
    );
    expect(read.details).toMatchObject({ killSwitchId: ks.id, scope: 'apiKey' });
    await expectApiError(
      await call('POST', '/api/v1/api-keys', { key: killed.key, body: { name: 'escape hatch' } }),
      403,
      'principal_killed',
    );
    await expectApiError(await lift(killed.key, ks.id), 403, 'principal_killed');
    await expectApiError(
      await call('DELETE', `/api/v1/api-keys/${await apiKeyIdOf(admin.key)}`, { key: killed.key }),
      403,
      'principal_killed',
    );
    expect(await isActive(ks.id)).toBe(true);
    const minted = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM api_keys WHERE name = 'escape hatch'",
    ).first<{
      n: number;
    }>();
    expect(minted!.n).toBe(0);

    // Its user's other key may not lift it either (it targets a key of their own)…
    const err = await expectApiError(await lift(admin.key, ks.id), 403, 'forbidden');
    expect(err.details).toMatchObject({ killSwitchId: ks.id, scope: 'apiKey' });
    expect(await isActive(ks.id)).toBe(true);

    // …another member with killswitch:write may, and the key works again.
    await expectJson(await lift(org.key, ks.id), 200);
    await expectJson(await call('GET', '/api/v1/connections', { key: killed.key }), 200);
  });

  it('the key that pulled a switch on itself cannot lift it', async () => {
    const self = await createApiKeyVia(org.key, 'self-kill', 'owner');
    const ks = await expectJson<KillSwitch>(await pull(self.key, 'apiKey', self.id), 201);
    await expectApiError(await lift(self.key, ks.id), 403, 'principal_killed');
    await expectApiError(await lift(org.key, ks.id), 403, 'forbidden'); // same user's key
    await expectJson(await lift(admin.key, ks.id), 200);
  });
});

describe('a user under a user-scope switch can do nothing in the management API', () => {
  it('holds every key of the member named by user id or email (any case)', async () => {
    for (const naming of ['id', 'email'] as const) {
      const dev = await addMember(org.orgId, 'developer');
      const second = await createApiKeyVia(dev.key, 'second dev key', 'developer');
      const target = naming === 'id' ? dev.userId : (await emailOf(dev.userId)).toUpperCase();
      const ks = await expectJson<KillSwitch>(await pull(admin.key, 'user', target), 201);
      for (const key of [dev.key, second.key]) {
        const err = await expectApiError(
          await call('GET', '/api/v1/api-keys', { key }),
          403,
          'principal_killed',
        );
        expect(err.details).toMatchObject({ killSwitchId: ks.id, scope: 'user' });
      }
      await expectApiError(
        await call('POST', '/api/v1/api-keys', { key: dev.key, body: { name: 'fresh' } }),
        403,
        'principal_killed',
      );
      await expectJson(await lift(admin.key, ks.id), 200);
      await expectJson(await call('GET', '/api/v1/api-keys', { key: dev.key }), 200);
    }
  });

  it('a switch on an X-Igris-User value that names no member holds no one in the API', async () => {
    const ks = await expectJson<KillSwitch>(await pull(admin.key, 'user', 'agent-end-user@example.com'), 201);
    await expectJson(await call('GET', '/api/v1/connections', { key: org.key }), 200);
    await expectJson(await lift(admin.key, ks.id), 200);
  });

  it('nobody may pull a user switch on themselves', async () => {
    for (const target of [admin.userId, await emailOf(admin.userId)]) {
      const err = await expectApiError(await pull(admin.key, 'user', target), 403, 'forbidden');
      expect(err.details).toMatchObject({ location: 'body', path: 'target' });
    }
    const count = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM kill_switches WHERE org_id = ? AND scope = 'user' AND target = ?",
    )
      .bind(org.orgId, admin.userId)
      .first<{ n: number }>();
    expect(count!.n).toBe(0);
  });
});

describe("admins do not touch owners' keys or owner users", () => {
  it("an admin may not revoke an owner's key (even a reduced one); an owner may", async () => {
    const reduced = await createApiKeyVia(org.key, 'owner reduced key', 'developer');
    for (const id of [await apiKeyIdOf(org.key), reduced.id]) {
      const err = await expectApiError(
        await call('DELETE', `/api/v1/api-keys/${id}`, { key: admin.key }),
        403,
        'forbidden',
      );
      expect(err.message).toContain('apikeys:write');
      expect(err.details).toMatchObject({ scope: 'owner', role: 'admin' });
    }
    await expectJson(await call('GET', '/api/v1/connections', { key: reduced.key }), 200);
    const coOwner = await addMember(org.orgId, 'owner');
    await expectJson(await call('DELETE', `/api/v1/api-keys/${reduced.id}`, { key: coOwner.key }), 200);
    // Admins still revoke non-owners' keys.
    const dev = await addMember(org.orgId, 'developer');
    await expectJson(
      await call('DELETE', `/api/v1/api-keys/${await apiKeyIdOf(dev.key)}`, { key: admin.key }),
      200,
    );
  });

  it('an admin may not revoke a system owner key (created by no member)', async () => {
    const { key, prefix } = generateApiKey();
    const id = randomId('key');
    await env.DB.prepare(
      'INSERT INTO api_keys (id, org_id, created_by, name, role, prefix, hash) VALUES (?, ?, NULL, ?, ?, ?, ?)',
    )
      .bind(id, org.orgId, 'system owner key', 'owner', prefix, await hashApiKey(key))
      .run();
    await expectApiError(
      await call('DELETE', `/api/v1/api-keys/${id}`, { key: admin.key }),
      403,
      'forbidden',
    );
    await expectApiError(await pull(admin.key, 'apiKey', id), 403, 'forbidden');
  });

  it("an admin may not kill-switch an owner's key or an owner user; an owner may", async () => {
    const ownerKeyId = await apiKeyIdOf(org.key);
    await expectApiError(await pull(admin.key, 'apiKey', ownerKeyId), 403, 'forbidden');
    for (const target of [org.userId, await emailOf(org.userId)]) {
      const err = await expectApiError(await pull(admin.key, 'user', target), 403, 'forbidden');
      expect(err.message).toContain('killswitch:write');
    }
    const none = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM kill_switches WHERE org_id = ? AND scope IN ('apiKey', 'user') AND (target = ? OR target = ?)",
    )
      .bind(org.orgId, ownerKeyId, org.userId)
      .first<{ n: number }>();
    expect(none!.n).toBe(0);

    const coOwner = await addMember(org.orgId, 'owner');
    const ks = await expectJson<KillSwitch>(await pull(coOwner.key, 'apiKey', ownerKeyId), 201);
    await expectApiError(await call('GET', '/api/v1/connections', { key: org.key }), 403, 'principal_killed');
    await expectJson(await lift(coOwner.key, ks.id), 200);
  });
});
