/**
 * Issue 20: the gateway caches keys, connections (with the decrypted credential), policies and
 * governance in isolate memory, and a management change made ANYWHERE takes effect for the next
 * call. Here the change is made as another isolate would make it: written to D1 (or KV) directly,
 * then the organization's epoch bumped in D1 and pushed to its guards — this isolate's own memory
 * is never told. Each case proves the cache is in use (the change written alone is not seen yet)
 * and then that every call sent after the push — while callers keep calling — sees the change.
 */
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { bumpConfigEpoch, pushConfigEpoch } from '../../workers/config/config.epoch';
import { credentialAad } from '../../workers/gateway/gateway.connection';
import { policyKvKey } from '../../workers/policy/policy.store';
import { getVault } from '../../workers/vault/vault.crypto';
import {
  addMember,
  apiKeyIdOf,
  call,
  createApiKeyVia,
  createOrg,
  expectJson,
  putPolicy,
  type TestOrg,
} from './helpers';
import { receivedBy, recordedUpstream, uniqueAgent } from './upstream.log';

let org: TestOrg;
let slug: string;
let connectionId: string;
const credential = 'cred-epoch-one';

beforeEach(async () => {
  org = await createOrg('owner');
  slug = `epoch-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  const res = await call('POST', '/api/v1/connections', {
    key: org.key,
    body: { slug, name: slug, upstreamUrl: recordedUpstream(), credential },
  });
  connectionId = (await expectJson<{ id: string }>(res, 201)).id;
  await putPolicy(slug, [{ tool: '*', action: 'allow' }], org.key);
});

interface Outcome {
  status: number;
  agent: string;
}

async function echo(key: string): Promise<Outcome> {
  const agent = uniqueAgent('epoch');
  const res = await call('POST', `/v1/mcp/${slug}`, {
    key,
    headers: { Accept: 'application/json, text/event-stream', 'User-Agent': agent },
    body: {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'echo', arguments: { message: 'hi' } },
    },
  });
  const text = await res.text();
  // A JSON-RPC error inside a 200 (a policy denial) is a refusal too.
  return { status: res.status === 200 && text.includes('"error"') ? 403 : res.status, agent };
}

/** What another isolate's API does after committing a change: bump the epoch in D1, push it to the guards. */
async function announceElsewhere(): Promise<void> {
  const epoch = await bumpConfigEpoch(env.DB, org.orgId);
  // As the API's delete does: the deleted connection's guard is named, D1 no longer lists it.
  await pushConfigEpoch(env, org.orgId, epoch!, [connectionId]);
}

/**
 * Callers keep calling (4 at a time) while `change` is written and announced elsewhere. Returns the
 * calls sent after the announcement had completed; before it, the written change alone must not be
 * visible yet (the isolate cache is in use).
 */
async function underLoad(key: string, change: () => Promise<void>): Promise<Outcome[]> {
  expect((await echo(key)).status).toBe(200); // warm: cached from here on
  await change();
  expect((await echo(key)).status, 'the cache is in use: a change written alone is not seen').toBe(200);

  // Each caller keeps calling until it has made 3 calls sent after the announcement completed.
  let announced = false;
  const after: Outcome[] = [];
  const caller = async () => {
    let mine = 0;
    while (mine < 3) {
      const sentAfter = announced;
      const outcome = await echo(key);
      if (sentAfter) {
        after.push(outcome);
        mine++;
      }
    }
  };
  const callers = Array.from({ length: 4 }, () => caller());
  await announceElsewhere();
  announced = true;
  await Promise.all(callers);
  expect(after.length).toBeGreaterThanOrEqual(12);
  return after;
}

describe('a management change reaches a warm isolate through the guard (configuration epoch)', () => {
  it('revoking a key', async () => {
    const keyId = await apiKeyIdOf(org.key);
    const after = await underLoad(org.key, async () => {
      await env.DB.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ?').bind(Date.now(), keyId).run();
    });
    expect(after.map((o) => o.status)).toEqual(after.map(() => 401));
  });

  it('disabling a connection', async () => {
    const after = await underLoad(org.key, async () => {
      await env.DB.prepare('UPDATE connections SET enabled = 0 WHERE id = ?').bind(connectionId).run();
    });
    expect(after.map((o) => o.status)).toEqual(after.map(() => 403));
  });

  it('deleting a connection', async () => {
    const after = await underLoad(org.key, async () => {
      await env.DB.prepare('DELETE FROM connections WHERE id = ?').bind(connectionId).run();
    });
    expect(after.map((o) => o.status)).toEqual(after.map(() => 404));
  });

  it('rotating the credential: the next calls carry the new one upstream', async () => {
    const rotated = 'cred-epoch-two';
    const after = await underLoad(org.key, async () => {
      const ciphertext = await (await getVault(env)).encrypt(rotated, credentialAad(org.orgId, connectionId));
      await env.DB.prepare('UPDATE connections SET credential_ciphertext = ? WHERE id = ?')
        .bind(ciphertext, connectionId)
        .run();
    });
    expect(after.map((o) => o.status)).toEqual(after.map(() => 200));
    for (const outcome of after) {
      const [received] = await receivedBy(outcome.agent);
      expect(received?.headers.authorization).toBe(`Bearer ${rotated}`);
    }
  });

  it("changing a member's role: a key acts with at most its creator's current role", async () => {
    const developer = await addMember(org.orgId, 'admin');
    const key = (await createApiKeyVia(developer.key, 'epoch-role')).key;
    const after = await underLoad(key, async () => {
      await env.DB.prepare("UPDATE members SET role = 'auditor' WHERE org_id = ? AND user_id = ?")
        .bind(org.orgId, developer.userId)
        .run();
    });
    expect(after.map((o) => o.status)).toEqual(after.map(() => 403));
  });

  it('publishing a policy', async () => {
    const after = await underLoad(org.key, async () => {
      const rules = [{ tool: '*', action: 'deny' }];
      await env.POLICY_KV.put(policyKvKey(org.orgId, connectionId), JSON.stringify({ version: 99, rules }), {
        metadata: { version: 99 },
      });
    });
    expect(after.map((o) => o.status)).toEqual(after.map(() => 403));
  });
});
