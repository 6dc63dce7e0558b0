/**
 * The ConnectionGuard decides from memory (issue 20: O(1) per call, no `count(*)`, no `getAlarm()`
 * per call) with SQLite as the durable copy. These tests evict the real guard between calls
 * (`evictDurableObject`: a fresh instance over the same storage, as after an eviction or a
 * restart) and check that nothing it decides from memory was forgotten: rate windows, session
 * taint, the row awaiting its outcome — and that the remembered alarm time never leaves a spooled
 * row without an alarm. (The anomaly baseline's restart is proven in anomaly.detect.unit.test.ts.)
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { ConnectionGuard } from '../../durable-objects/connection-guard.do';
import { guardName } from '../../durable-objects/guard.contract';
import { createConnection, createOrg, mcp, putPolicy, rpcResult, type TestOrg } from './helpers';

const RUN = Date.now().toString(36);

async function setup(slug: string, rules: unknown[]) {
  const org = await createOrg('owner');
  const conn = await createConnection(slug, { key: org.key });
  await putPolicy(slug, rules, org.key);
  const guard = env.GUARD.getByName(guardName(org.orgId, conn.id)) as DurableObjectStub<ConnectionGuard>;
  return { org, conn, guard };
}

async function call(slug: string, org: TestOrg, name: string, session?: string) {
  const headers: Record<string, string> = session ? { 'X-Igris-Trace-Id': session } : {};
  const res = await mcp(
    slug,
    'tools/call',
    { name, arguments: name === 'add' ? { a: 1, b: 2 } : { message: 'hi' } },
    { key: org.key, headers },
  );
  return { status: res.status, retryAfter: res.headers.get('Retry-After'), body: await rpcResult(res) };
}

describe('guard state held in memory survives eviction and restart', () => {
  it('keeps a full rate window full across an eviction', async () => {
    const slug = `gm-rate-${RUN}`;
    const { org, guard } = await setup(slug, [
      { tool: 'echo', action: 'allow', rateLimit: { limit: 2, windowSeconds: 60, by: 'connection' } },
      { tool: '*', action: 'allow' },
    ]);
    expect((await call(slug, org, 'echo')).status).toBe(200);
    expect((await call(slug, org, 'echo')).status).toBe(200);
    await evictDurableObject(guard);
    const refused = await call(slug, org, 'echo');
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThan(50);
    // Evicted again: the refusal added nothing, the window still holds exactly the two calls.
    await evictDurableObject(guard);
    const counted = await runInDurableObject(
      guard,
      (_instance, state) =>
        state.storage.sql.exec<{ n: number }>('SELECT count(*) AS n FROM rate_hits').one().n,
    );
    expect(counted).toBe(2);
    expect((await call(slug, org, 'echo')).status).toBe(429);
  });

  it('keeps a session’s taint across an eviction', async () => {
    const slug = `gm-taint-${RUN}`;
    const { org, guard } = await setup(slug, [
      { tool: 'echo', action: 'allow', labels: ['untrusted_content'] },
      { tool: 'add', action: 'allow', cleanOf: ['untrusted_content'] },
    ]);
    const session = `gm-taint-session-${RUN}`;
    expect((await call(slug, org, 'add', session)).body.result).toBeDefined();
    expect((await call(slug, org, 'echo', session)).body.result).toBeDefined();
    await evictDurableObject(guard);
    const refused = await call(slug, org, 'add', session);
    expect(refused.body.error!.message).toContain('untrusted_content');
    // Another session of the same connection is still clean.
    expect((await call(slug, org, 'add', `${session}-other`)).body.result).toBeDefined();
  });

  it('patches the outcome of a row spooled before an eviction (the row read back from SQLite)', async () => {
    const slug = `gm-outcome-${RUN}`;
    const { org, conn, guard } = await setup(slug, [{ tool: '*', action: 'allow' }]);
    const target = { orgId: org.orgId, connectionId: conn.id };
    const caller = { apiKeyId: null, user: 'gm-user', mcpSessionId: null };
    const row = (id: string) => ({
      id,
      orgId: org.orgId,
      type: 'tool_call' as const,
      connectionId: conn.id,
      connectionSlug: slug,
      traceId: `gm-outcome-${RUN}`,
      action: 'allow' as const,
      method: 'tools/call',
      tool: 'echo',
      createdAt: Date.now(),
    });
    const before = row(`evt_gm_${RUN}_before`);
    const kept = row(`evt_gm_${RUN}_kept`);
    await guard.admit({ ...target, caller, rateChecks: [], audit: [before], final: false });
    await guard.admit({ ...target, caller, rateChecks: [], audit: [kept], final: false });
    await guard.complete(kept.id, { upstreamStatus: 201, latencyMs: 3 });
    await evictDurableObject(guard);
    await guard.complete(before.id, { upstreamStatus: 202, latencyMs: 4 });
    const spooled = await runInDurableObject(guard, (_instance, state) =>
      state.storage.sql
        .exec<{ id: string; row: string; complete: number }>(
          'SELECT id, row, complete FROM spool WHERE id IN (?, ?)',
          before.id,
          kept.id,
        )
        .toArray()
        .map((r) => ({
          id: r.id,
          complete: r.complete,
          status: (JSON.parse(r.row) as { upstreamStatus?: number }).upstreamStatus,
        })),
    );
    expect(spooled.sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      [
        { id: before.id, complete: 1, status: 202 },
        { id: kept.id, complete: 1, status: 201 },
      ].sort((a, b) => a.id.localeCompare(b.id)),
    );
  });

  it('flushes the rows of every call by its own alarm, also after an alarm ran and after an eviction', async () => {
    // The guard remembers its alarm time instead of asking storage per call. If it kept the time of
    // an alarm that already fired, the next call would set none and its row would sit in the spool.
    const slug = `gm-alarm-${RUN}`;
    const { org, guard } = await setup(slug, [{ tool: '*', action: 'allow' }]);
    const dirty = () =>
      runInDurableObject(
        guard,
        (_instance, state) =>
          state.storage.sql.exec<{ n: number }>('SELECT count(*) AS n FROM spool WHERE dirty = 1').one().n,
      );
    const flushed = async () => (await dirty()) === 0;
    for (const step of ['first', 'after the alarm ran', 'after an eviction']) {
      if (step === 'after an eviction') await evictDurableObject(guard);
      expect((await call(slug, org, 'echo')).status, step).toBe(200);
      await waitFor(flushed); // by the runtime's alarm, nothing run by hand
    }
    const rows = await env.DB.prepare(
      "SELECT count(*) AS n FROM audit_events WHERE org_id = ? AND type = 'tool_call'",
    )
      .bind(org.orgId)
      .first<{ n: number }>();
    expect(rows?.n).toBe(3);
    expect(await runDurableObjectAlarm(guard)).toBe(false);
  }, 20_000);
});

/** Polls a condition that settles after background work (the outcome arrives via waitUntil). */
async function waitFor(condition: () => Promise<boolean>, attempts = 150): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('condition not reached');
}
