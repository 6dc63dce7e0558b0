/**
 * Issue 20 at scale: a management change is pushed only to the guards that may hold the epoch in
 * memory (those with a live lease, guard.lease.ts), not to every connection of the organization —
 * and is still in force for the next call everywhere: on a connection called just before the change,
 * on one never called, and on one whose guard sat idle past its lease. The organization has
 * IDLE_CONNECTIONS connections nobody calls (inserted straight into D1: the API is not what is
 * under test here), and the push count must not grow with them.
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { guardFor } from '../../durable-objects/do.client';
import { bumpConfigEpoch, pushConfigEpoch } from '../../workers/config/config.epoch';
import { allowAllConnection, captureLogLines, idleConnections, pushCounts } from './guard.push.fixtures';
import { call, createApiKeyVia, createOrg, expectJson, putPolicy, type TestOrg } from './helpers';
import { uniqueAgent } from './upstream.log';

const IDLE_CONNECTIONS = 300;

let org: TestOrg;
let logLines: string[];

beforeEach(async () => {
  logLines = captureLogLines();
  org = await createOrg('owner');
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

/** A connection created through the API, allow-all; returns its slug. */
async function connection(name: string): Promise<string> {
  return (await allowAllConnection(org, name)).slug;
}

/** One tools/call: 200, or 401/403 when refused (a policy denial is a JSON-RPC error inside a 200). */
async function echo(slug: string, key = org.key): Promise<number> {
  const res = await call('POST', `/v1/mcp/${slug}`, {
    key,
    headers: { Accept: 'application/json, text/event-stream', 'User-Agent': uniqueAgent('live') },
    body: {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'echo', arguments: { message: 'hi' } },
    },
  });
  const text = await res.text();
  return res.status === 200 && text.includes('"error"') ? 403 : res.status;
}

/** How many guards the announcements of this organization since `from` pushed to. */
function pushesSince(from: number): number[] {
  return pushCounts(logLines, from, 'configuration epoch pushed', org.orgId);
}

/** Times a management change through the API (printed for the record, never asserted). */
async function timed<T>(what: string, change: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await change();
  console.info(
    `[config.epoch.live] ${what} with ${IDLE_CONNECTIONS} idle connections: ${Math.round(performance.now() - started)} ms`,
  );
  return result;
}

/** As another isolate's API would: the change written to D1, the epoch bumped and pushed; this isolate is not told. */
async function changeElsewhere(sql: string, ...bindings: unknown[]): Promise<number> {
  await env.DB.prepare(sql)
    .bind(...bindings)
    .run();
  const epoch = (await bumpConfigEpoch(env.DB, org.orgId))!;
  await pushConfigEpoch(env, org.orgId, epoch);
  return epoch;
}

async function connectionId(slug: string): Promise<string> {
  const row = await env.DB.prepare('SELECT id FROM connections WHERE org_id = ? AND slug = ?')
    .bind(org.orgId, slug)
    .first<{ id: string }>();
  return row!.id;
}

/** The guard's own answer to an admit decided on `configEpoch` (nothing to record). */
async function admitOn(connection: string, configEpoch: number): Promise<string> {
  const target = { orgId: org.orgId, connectionId: connection };
  const caller = { apiKeyId: null, user: 'live-user', mcpSessionId: null };
  const result = await guardFor(env, org.orgId, connection).admit({
    ...target,
    caller,
    rateChecks: [],
    audit: [],
    final: true,
    configEpoch,
  });
  return result.verdict;
}

async function epochNow(): Promise<number> {
  const row = await env.DB.prepare('SELECT config_epoch FROM organizations WHERE id = ?')
    .bind(org.orgId)
    .first<{
      config_epoch: number;
    }>();
  return row!.config_epoch;
}

describe('a management change is pushed to the live guards only, and every call still sees it', () => {
  it('the push count follows the active guards, not the connections; the change is in force for the next call', async () => {
    const active = [await connection('active-a'), await connection('active-b')];
    const neverCalled = await connection('never');
    await idleConnections(org, IDLE_CONNECTIONS);
    const second = await createApiKeyVia(org.key, 'live-second');
    // The active connections are called with the second key: it is cached with each from here on.
    for (const slug of active) expect(await echo(slug, second.key)).toBe(200);

    const from = logLines.length;
    await changeElsewhere('UPDATE api_keys SET revoked_at = ? WHERE id = ?', Date.now(), second.id);
    expect(pushesSince(from), 'guards pushed: the two active ones, not every connection').toEqual([
      active.length,
    ]);
    // (a) the warm isolate's cached key is refused at the next call, through the pushed guards.
    for (const slug of active) expect(await echo(slug, second.key)).toBe(401);
    // (b) a connection never called before the change: its guard reads the epoch when it starts.
    expect(await echo(neverCalled, second.key)).toBe(401);
    expect(await echo(neverCalled)).toBe(200);

    // Through the API, timed: a policy published applies to its next call; 3 guards are live now.
    const before = logLines.length;
    await timed('publishing a policy', () => putPolicy(active[0]!, [{ tool: '*', action: 'deny' }], org.key));
    expect(pushesSince(before)).toEqual([active.length + 1]);
    expect(await echo(active[0]!)).toBe(403);
    expect(await echo(active[1]!)).toBe(200);
    const third = await createApiKeyVia(org.key, 'live-third');
    await timed('revoking a key', async () =>
      expectJson(await call('DELETE', `/api/v1/api-keys/${third.id}`, { key: org.key }), 200),
    );
    expect(await echo(active[1]!, third.key)).toBe(401);
  });

  it('a guard idle past its lease is not pushed to, and re-reads the epoch before deciding again', async () => {
    const lapsed = await connectionId(await connection('lapsed'));
    const busy = await connectionId(await connection('busy'));
    await idleConnections(org, IDLE_CONNECTIONS);
    const epoch = await epochNow();
    expect(await admitOn(lapsed, epoch)).toBe('admit');
    expect(await admitOn(busy, epoch)).toBe('admit');

    // Ten minutes pass (for the guards too: they run in this isolate). `lapsed` is never called;
    // `busy` keeps deciding calls, which renews its lease (off the call's path).
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    for (let minute = 0; minute < 10; minute++) {
      vi.setSystemTime(Date.now() + 60_000);
      expect(await admitOn(busy, epoch)).toBe('admit');
      await new Promise((resolve) => setTimeout(resolve, 100)); // the renewal runs after the call
    }

    const from = logLines.length;
    const changed = await changeElsewhere('UPDATE connections SET enabled = 0 WHERE id = ?', lapsed);
    expect(changed).toBe(epoch + 1);
    expect(pushesSince(from), 'only the busy guard holds a live lease').toEqual([1]);
    expect(await admitOn(busy, epoch)).toBe('stale');
    expect(await admitOn(lapsed, epoch), 'the lapsed guard re-read the epoch before deciding').toBe('stale');
  });

  it("an active guard renews its lease off the call path, and so does an open stream's watch", async () => {
    const calling = await connectionId(await connection('renew-call'));
    const watching = await connectionId(await connection('renew-watch'));
    const epoch = await epochNow();
    expect(await admitOn(calling, epoch)).toBe('admit');
    expect(await admitOn(watching, epoch)).toBe('admit');
    const leases = async () =>
      Object.fromEntries(
        (
          await env.DB.prepare('SELECT id, guard_lease_until FROM connections WHERE id IN (?, ?)')
            .bind(calling, watching)
            .all<{ id: string; guard_lease_until: number }>()
        ).results.map((r) => [r.id, r.guard_lease_until]),
      );
    const taken = await leases();

    // Three minutes later neither lease has lapsed, but more than half of each is gone.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 3 * 60_000 });
    expect(await admitOn(calling, epoch)).toBe('admit');
    const guard = guardFor(env, org.orgId, watching);
    const caller = { apiKeyId: null, user: 'live-user', mcpSessionId: null };
    const watch = guard.watchKill({
      orgId: org.orgId,
      connectionId: watching,
      caller,
      watchId: 'w1',
      configEpoch: epoch,
    });
    await new Promise((resolve) => setTimeout(resolve, 100)); // the renewals run beside the call and the watch
    await guard.unwatch('w1');
    expect(await watch).toBeNull();
    const renewed = await leases();
    expect(renewed[calling]).toBeGreaterThan(taken[calling]!);
    expect(renewed[watching]).toBeGreaterThan(taken[watching]!);
  });
});
