/**
 * Anomalies, detected by the connection's guard: destructive_pattern and rate_spike are written as
 * `anomaly` audit rows (through the durable spool) and published as live `anomaly` events, once per
 * 5-minute cooldown per type, and never refuse a call.
 */
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { ConnectionGuard } from '../../durable-objects/connection-guard.do';
import type { AnomalyEvent } from '../../workers/shared/events.types';
import {
  call,
  createOrg,
  expectApiError,
  expectJson,
  flushAudit,
  hubEvents,
  mcp,
  putPolicy,
  rpcResult,
  type TestOrg,
} from './helpers';

async function connection(org: TestOrg, slug: string, anomaly?: Record<string, unknown>) {
  const res = await call('POST', '/api/v1/connections', {
    key: org.key,
    body: {
      slug,
      name: slug,
      upstreamUrl: `${env.UPSTREAM_URL}/stateless`,
      authType: 'none',
      ...(anomaly ? { settings: { anomaly } } : {}),
    },
  });
  const created = await expectJson<{ id: string; settings: Record<string, unknown> }>(res, 201);
  await putPolicy(slug, [{ tool: '*', action: 'allow' }], org.key);
  return created;
}

async function tool(slug: string, org: TestOrg, name: string, args: Record<string, unknown>) {
  const res = await mcp(slug, 'tools/call', { name, arguments: args }, { key: org.key });
  return { status: res.status, body: await rpcResult(res) };
}

async function anomalyRows(connectionId: string) {
  await flushAudit();
  const { results } = await env.DB.prepare(
    "SELECT * FROM audit_events WHERE connection_id = ? AND type = 'anomaly' ORDER BY created_at",
  )
    .bind(connectionId)
    .all<Record<string, unknown>>();
  return results.map((r): Record<string, unknown> & { details: Record<string, unknown> } => ({
    ...r,
    details: JSON.parse(String(r.details)) as Record<string, unknown>,
  }));
}

async function anomalyEvents(orgId: string): Promise<AnomalyEvent[]> {
  return (await hubEvents(orgId))
    .map((body) => JSON.parse(body) as { type: string })
    .filter((e): e is AnomalyEvent => e.type === 'anomaly');
}

describe('destructive_pattern', () => {
  it('flags a destructive tool the policy allows, once per cooldown, without refusing it', async () => {
    const org = await createOrg('owner');
    const conn = await connection(org, 'an-destructive');
    for (let i = 0; i < 3; i++) {
      const res = await tool('an-destructive', org, 'delete_records', { table: 'users' });
      expect(res.status).toBe(200);
      expect(res.body.result).toMatchObject({
        content: [{ type: 'text', text: 'deleted everything in users' }],
      });
    }
    expect((await tool('an-destructive', org, 'echo', { message: 'fine' })).status).toBe(200);

    const rows = await anomalyRows(conn.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      org_id: org.orgId,
      type: 'anomaly',
      action: 'destructive_pattern',
      tool: 'delete_records',
      connection_slug: 'an-destructive',
    });
    expect(rows[0]!.details).toEqual({ anomalyType: 'destructive_pattern', pattern: 'delete_*' });

    const events = await anomalyEvents(org.orgId);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'anomaly',
      serverId: conn.id,
      anomalyType: 'destructive_pattern',
      toolName: 'delete_records',
      currentRate: null,
      threshold: null,
    });
  });

  it('uses the connection’s own patterns', async () => {
    const org = await createOrg('owner');
    const conn = await connection(org, 'an-custom', { destructivePatterns: ['ec*'] });
    expect(conn.settings).toMatchObject({ anomaly: { destructivePatterns: ['ec*'] } });
    await tool('an-custom', org, 'delete_records', { table: 't' });
    expect(await anomalyRows(conn.id)).toEqual([]);
    await tool('an-custom', org, 'echo', { message: 'x' });
    expect((await anomalyRows(conn.id)).map((r) => [r.action, r.tool])).toEqual([
      ['destructive_pattern', 'echo'],
    ]);
  });
});

describe('rate_spike', () => {
  it('fires once when the last minute exceeds the 10-minute average × multiplier, and never blocks', async () => {
    const org = await createOrg('owner');
    const conn = await connection(org, 'an-spike', { rateSpikeMultiplier: 2, destructivePatterns: [] });
    // Ten minutes of history: 2 calls a minute in the baseline window, written where the guard
    // keeps its per-second counts (waiting ten real minutes is not an option in a test).
    const guard = env.GUARD.getByName(`${org.orgId}:${conn.id}`) as DurableObjectStub<ConnectionGuard>;
    const now = Math.floor(Date.now() / 1000);
    await runInDurableObject(guard, async (_instance, state) => {
      for (let i = 0; i < 20; i++) {
        state.storage.sql.exec('INSERT INTO anomaly_seconds (second, n) VALUES (?, 1)', now - 70 - i * 30);
      }
    });

    // Baseline 2/min × 2 = 4: the 5th call of this minute is the spike; the rest are in cooldown.
    for (let i = 0; i < 12; i++)
      expect((await tool('an-spike', org, 'echo', { message: `${i}` })).status).toBe(200);

    const rows = await anomalyRows(conn.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ action: 'rate_spike', tool: 'echo' });
    expect(rows[0]!.details).toMatchObject({
      anomalyType: 'rate_spike',
      currentRate: 5,
      baselineRate: 2,
      threshold: 4,
      multiplier: 2,
    });
    const events = await anomalyEvents(org.orgId);
    expect(events).toEqual([
      expect.objectContaining({
        serverId: conn.id,
        anomalyType: 'rate_spike',
        toolName: 'echo',
        currentRate: 5,
        threshold: 4,
      }),
    ]);
  });

  it('does not fire for the first calls of a new connection (no baseline)', async () => {
    const org = await createOrg('owner');
    const conn = await connection(org, 'an-fresh', { rateSpikeMultiplier: 1 });
    for (let i = 0; i < 25; i++) await tool('an-fresh', org, 'echo', { message: 'x' });
    expect(await anomalyRows(conn.id)).toEqual([]);
  });
});

describe('settings', () => {
  it('validates the anomaly settings', async () => {
    const org = await createOrg('owner');
    await connection(org, 'an-settings');
    for (const anomaly of [{ rateSpikeMultiplier: 0 }, { destructivePatterns: [''] }, { other: true }]) {
      await expectApiError(
        await call('PATCH', '/api/v1/connections/an-settings', {
          key: org.key,
          body: { settings: { anomaly } },
        }),
        400,
        'validation_failed',
      );
    }
    const ok = await call('PATCH', '/api/v1/connections/an-settings', {
      key: org.key,
      body: { settings: { anomaly: { rateSpikeMultiplier: 5 } } },
    });
    expect((await expectJson<{ settings: Record<string, unknown> }>(ok, 200)).settings).toMatchObject({
      anomaly: { rateSpikeMultiplier: 5 },
    });
  });
});
