/**
 * A connection's "Last activity" (`lastUsedAt`, `connections.last_used_at`): written by the
 * connection's guard from its alarm — off the hot path, coalesced to once per
 * LAST_USED_RESOLUTION_MS — after gateway calls.
 */
import { runDurableObjectAlarm } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, createConnection, createOrg, expectJson, mcp, putPolicy, type TestOrg } from './helpers';

interface ConnectionDto {
  id: string;
  slug: string;
  lastUsedAt: string | null;
}

let org: TestOrg;
let connectionId: string;
const SLUG = `last-used-${crypto.randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  org = await createOrg('owner');
  connectionId = (await createConnection(SLUG, { key: org.key, authType: 'none' })).id;
  await putPolicy(SLUG, [{ tool: '*', action: 'allow' }], org.key);
});

async function getConnection(): Promise<ConnectionDto> {
  return expectJson<ConnectionDto>(await call('GET', `/api/v1/connections/${SLUG}`, { key: org.key }), 200);
}

async function echo(): Promise<void> {
  const ok = await mcp(SLUG, 'tools/call', { name: 'echo', arguments: { message: 'hi' } }, { key: org.key });
  expect(ok.status).toBe(200);
  await ok.text();
}

/** Runs the guard's alarm (its D1 flush) until the connection shows a lastUsedAt. */
async function pollLastUsed(): Promise<ConnectionDto> {
  const guard = env.GUARD.getByName(`${org.orgId}:${connectionId}`);
  for (let i = 0; i < 100; i++) {
    await runDurableObjectAlarm(guard);
    const dto = await getConnection();
    if (dto.lastUsedAt !== null) return dto;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('lastUsedAt was never written');
}

describe('connection last activity', () => {
  it('is null before any call, and set after a gateway call', async () => {
    expect((await getConnection()).lastUsedAt).toBeNull();
    const before = Date.now();
    await echo();
    const dto = await pollLastUsed();
    expect(Date.parse(dto.lastUsedAt!)).toBeGreaterThanOrEqual(before - 1000);
    // The list (the dashboard's "Last activity" column) shows the same value.
    const list = await expectJson<{ connections: ConnectionDto[] }>(
      await call('GET', '/api/v1/connections', { key: org.key }),
      200,
    );
    expect(list.connections.find((c) => c.slug === SLUG)?.lastUsedAt).toBe(dto.lastUsedAt);
  });

  it('is coalesced: another call soon after does not rewrite it', async () => {
    const first = await pollLastUsed();
    await echo();
    const guard = env.GUARD.getByName(`${org.orgId}:${connectionId}`);
    // Wait until the guard's alarm has flushed the second call (the agent session counts it).
    let calls = 0;
    for (let i = 0; i < 100 && calls < 2; i++) {
      await runDurableObjectAlarm(guard);
      const session = await env.DB.prepare('SELECT call_count FROM agent_sessions WHERE connection_id = ?')
        .bind(connectionId)
        .first<{ call_count: number }>();
      calls = session?.call_count ?? 0;
      if (calls < 2) await new Promise((r) => setTimeout(r, 50));
    }
    expect(calls).toBe(2);
    expect((await getConnection()).lastUsedAt).toBe(first.lastUsedAt);
  });
});
