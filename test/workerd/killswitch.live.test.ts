/**
 * Kill switches at scale: an organization, user or API-key switch (and its lift) is pushed only to
 * the guards holding a lease (durable-objects/guard.lease.ts, workers/killswitch/killswitch.push.ts),
 * not to every connection — and a call that starts after the API answered is still refused on every
 * connection: one called just before, one never called, and one whose guard sat idle past its lease
 * (it re-reads D1 before deciding). The organization has IDLE_CONNECTIONS connections nobody calls
 * (inserted straight into D1, as config.epoch.live.test.ts does), and the push count must not grow
 * with them. Another organization's guards are never pushed to and its calls pass.
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { guardFor } from '../../durable-objects/do.client';
import { LEASE_MS } from '../../durable-objects/guard.lease';
import type { Principal } from '../../workers/app.types';
import { liftKillSwitches, pullKillSwitch } from '../../workers/killswitch/killswitch.service';
import { killSwitchById } from '../../workers/shared/killswitch.store';
import { allowAllConnection, captureLogLines, idleConnections, pushCounts } from './guard.push.fixtures';
import { addMember, call, createApiKeyVia, createOrg, type TestOrg } from './helpers';
import { lift, pull } from './killswitch.fixtures';
import { uniqueAgent } from './upstream.log';

const IDLE_CONNECTIONS = 300;
const USER = 'kill-live@example.com';

let logLines: string[];

beforeEach(() => {
  logLines = captureLogLines();
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

/** One tools/call through the gateway with `key`, naming USER: its HTTP status (503: suspended). */
async function echo(slug: string, key: string): Promise<number> {
  const res = await call('POST', `/v1/mcp/${slug}`, {
    key,
    headers: {
      Accept: 'application/json, text/event-stream',
      'User-Agent': uniqueAgent('kill-live'),
      'X-Igris-User': USER,
    },
    body: {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'echo', arguments: { message: 'hi' } },
    },
  });
  const text = await res.text();
  if (res.status === 503) expect(text).toContain('Session Suspended');
  return res.status;
}

/** The guard's own answer to an admit (nothing to record): how a busy guard is kept deciding while time moves. */
async function admitOn(orgId: string, connectionId: string, configEpoch?: number): Promise<string> {
  const result = await guardFor(env, orgId, connectionId).admit({
    orgId,
    connectionId,
    caller: { apiKeyId: null, user: 'busy-user', mcpSessionId: null },
    rateChecks: [],
    audit: [],
    final: true,
    ...(configEpoch === undefined ? {} : { configEpoch }),
  });
  return result.verdict;
}

/** How many guards each kill-switch push (a switch or its lift) of `orgId` since `from` reached. */
const killPushesSince = (from: number, orgId: string) =>
  pushCounts(logLines, from, 'kill switch pushed', orgId);

/** Lets the guards' background re-reads (the lease renewals) run after a call. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

const scopes = [
  { scope: 'organization', target: (org: TestOrg) => org.orgId },
  { scope: 'user', target: () => USER },
  { scope: 'apiKey', target: (_org: TestOrg, keyId: string) => keyId },
] as const;

describe('a kill switch is pushed to the leased guards only, and every call after the answer is refused', () => {
  for (const { scope, target } of scopes) {
    it(`${scope}: pushes follow the active guards; active, never-called and lapsed connections refuse; a lift reaches them all; another organization is untouched`, async () => {
      const org = await createOrg('owner');
      const other = await createOrg('owner');
      const caller = await createApiKeyVia(org.key, 'kill-live-caller', 'owner');
      const active = [await allowAllConnection(org, 'active-a'), await allowAllConnection(org, 'active-b')];
      const never = await allowAllConnection(org, 'never');
      const lapsed = await allowAllConnection(org, 'lapsed');
      const elsewhere = await allowAllConnection(other, 'elsewhere');
      await idleConnections(org, IDLE_CONNECTIONS);

      for (const c of [...active, lapsed]) expect(await echo(c.slug, caller.key)).toBe(200);
      expect(await echo(elsewhere.slug, other.key)).toBe(200);

      // Longer than a lease passes (for the guards too: they run in this isolate). The active guards
      // keep deciding calls, which renews their leases; `lapsed` sits idle in memory past its lease.
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
      for (let elapsed = 0; elapsed <= LEASE_MS; elapsed += 60_000) {
        vi.setSystemTime(Date.now() + 60_000);
        for (const c of active) expect(await admitOn(org.orgId, c.id)).toBe('admit');
        await settle();
      }

      const from = logLines.length;
      const ks = await pull(org, scope, target(org, caller.id));
      expect(
        killPushesSince(from, org.orgId),
        'guards pushed: the two active ones, not every connection',
      ).toEqual([active.length]);
      expect(killPushesSince(from, other.orgId), "another organization's guards are never pushed to").toEqual(
        [],
      );
      for (const c of active) expect(await echo(c.slug, caller.key), `active ${c.slug}`).toBe(503);
      expect(
        await echo(never.slug, caller.key),
        'a connection never called reads the switch at its start',
      ).toBe(503);
      expect(
        await echo(lapsed.slug, caller.key),
        'a guard idle past its lease re-reads before deciding',
      ).toBe(503);
      expect(await echo(elsewhere.slug, other.key), "another organization's calls pass").toBe(200);

      // Every connection called since holds a lease now: the lift goes to those four, not to 300 more.
      // Lifted by another admin: a switch on a key its owner created is not hers to lift (killswitch.principal.ts).
      const admin = await addMember(org.orgId, 'admin');
      const lifted = logLines.length;
      await lift(admin, ks.id);
      expect(killPushesSince(lifted, org.orgId)).toEqual([active.length + 2]);
      for (const c of [...active, never, lapsed]) expect(await echo(c.slug, caller.key), c.slug).toBe(200);
      expect(killPushesSince(from, other.orgId)).toEqual([]);
    });
  }

  it('a lift reaches a guard whose lease lapsed while it held the pushed switch (D1 says lifted: not held on)', async () => {
    const org = await createOrg('owner');
    const held = await allowAllConnection(org, 'held');
    await idleConnections(org, 20);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    expect(await admitOn(org.orgId, held.id)).toBe('admit');

    // Near the end of its lease the switch is pushed to it (it is still listed); it decides nothing more.
    vi.setSystemTime(Date.now() + LEASE_MS - 40_000);
    const from = logLines.length;
    const ks = await pull(org, 'organization', org.orgId);
    expect(killPushesSince(from, org.orgId)).toEqual([1]);

    // 50 s later its lease has ended: the lift is not pushed to it (the pushed switch is 50 s old,
    // inside the 60 s it is held whatever a re-read says), and its next call re-reads D1 first.
    vi.setSystemTime(Date.now() + 50_000);
    const lifted = logLines.length;
    await lift(org, ks.id);
    expect(killPushesSince(lifted, org.orgId)).toEqual([0]);
    expect(await admitOn(org.orgId, held.id), 'the lift answered: the next call is admitted').toBe('admit');
  });

  it('the leases are listed only once the record (or the lift) is committed: a guard left out finds it in D1', async () => {
    const org = await createOrg('owner');
    await allowAllConnection(org, 'ordered');
    const events: string[] = [];
    // The API's D1, watched: when a batch (the record, the lift) is committed, when the guards to push to are listed.
    const DB = new Proxy(env.DB, {
      get(db, prop) {
        if (prop === 'batch')
          return async (statements: D1PreparedStatement[]) => {
            events.push('batch sent');
            const result = await db.batch(statements);
            events.push('batch committed');
            return result;
          };
        if (prop === 'prepare')
          return (sql: string) => {
            if (sql.startsWith('SELECT id FROM connections WHERE org_id = ?')) events.push('guards listed');
            return db.prepare(sql);
          };
        const value = Reflect.get(db, prop);
        return typeof value === 'function' ? value.bind(db) : value;
      },
    });
    const watched = { DB, GUARD: env.GUARD, EVENT_HUB: env.EVENT_HUB };
    const principal: Principal = {
      kind: 'api_key',
      orgId: org.orgId,
      role: 'owner',
      userId: org.userId,
      apiKeyId: null,
      sessionId: null,
      actor: `user:${org.userId}`,
    };

    const pulled = await pullKillSwitch(watched, principal, {
      scope: 'organization',
      target: org.orgId,
      reason: null,
      connection: null,
      auditAction: 'killswitch.create',
      existing: null,
    });
    expect(
      events.slice(0, 3),
      'the organization-wide record is committed before the leases are listed',
    ).toEqual(['batch sent', 'batch committed', 'guards listed']);

    events.length = 0;
    const row = (await killSwitchById(env.DB, org.orgId, pulled.killSwitch.id))!;
    await liftKillSwitches(watched, principal, [row], null, 'killswitch.lift');
    expect(events.slice(0, 3)).toEqual(['batch sent', 'batch committed', 'guards listed']);
  });
});
