/**
 * Audit retention on the cron trigger: each organization's rows older than its retentionDays
 * (default 90) are deleted — only those, only that organization's — and rows with no organization
 * (refusals of unknown keys) are kept for the default.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import worker from '../../workers/index';
import { PURGE_CHUNK } from '../../workers/scheduled';
import { createConnection, createOrg, type TestOrg } from './helpers';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 20, 3, 17);

/** Rows for `orgId` (null: no organization) aged the given days before NOW; ids name their age. */
async function seed(orgId: string | null, tag: string, ages: number[]) {
  await env.DB.batch(
    ages.map((age, i) =>
      env.DB.prepare(
        "INSERT INTO audit_events (id, org_id, type, action, created_at) VALUES (?, ?, 'tool_call', 'allow', ?)",
      ).bind(`evt_ret_${tag}_${age}d_${i}`, orgId, NOW - age * DAY),
    ),
  );
}

async function ids(orgId: string | null, tag: string): Promise<string[]> {
  const { results } = await env.DB.prepare(
    `SELECT id FROM audit_events WHERE ${orgId === null ? 'org_id IS NULL' : 'org_id = ?'} AND id LIKE ? ORDER BY id`,
  )
    .bind(...(orgId === null ? [] : [orgId]), `evt_ret_${tag}_%`)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

async function setRetention(orgId: string, settings: unknown) {
  await env.DB.prepare('UPDATE organizations SET settings = ? WHERE id = ?')
    .bind(JSON.stringify(settings), orgId)
    .run();
}

async function runCron(scheduledTime = NOW) {
  const controller = createScheduledController({ scheduledTime, cron: '17 3 * * *' });
  const ctx = createExecutionContext();
  await worker.scheduled(controller, env, ctx);
  await waitOnExecutionContext(ctx);
}

let short: TestOrg;
let standard: TestOrg;
let broken: TestOrg;

beforeEach(async () => {
  await env.DB.prepare("DELETE FROM audit_events WHERE id LIKE 'evt_ret_%'").run();
  short = await createOrg('owner');
  standard = await createOrg('owner');
  broken = await createOrg('owner');
  await setRetention(short.orgId, { retentionDays: 7 });
  await setRetention(broken.orgId, { retentionDays: 'forever' });
  for (const [org, tag] of [
    [short, 'short'],
    [standard, 'standard'],
    [broken, 'broken'],
  ] as const) {
    await seed(org.orgId, tag, [1, 6, 8, 30, 89, 91, 400]);
  }
  await seed(null, 'anon', [1, 89, 91]);
});

describe('audit retention (cron)', () => {
  it("deletes only each organization's rows older than its retentionDays", async () => {
    await runCron();
    expect(await ids(short.orgId, 'short')).toEqual(['evt_ret_short_1d_0', 'evt_ret_short_6d_1']);
    const kept90 = (tag: string) => [1, 6, 8, 30, 89].map((age, i) => `evt_ret_${tag}_${age}d_${i}`).sort();
    expect(await ids(standard.orgId, 'standard')).toEqual(kept90('standard'));
    // An invalid setting falls back to the default rather than keeping (or deleting) everything.
    expect(await ids(broken.orgId, 'broken')).toEqual(kept90('broken'));
    expect(await ids(null, 'anon')).toEqual(['evt_ret_anon_1d_0', 'evt_ret_anon_89d_1']);
  });

  it('measures age from the trigger time, and deletes nothing newer', async () => {
    await runCron(NOW - 10 * DAY);
    // Ten days earlier the cutoff of `short` is 17 days before NOW: its 1-, 6- and 8-day-old rows stay.
    expect(await ids(short.orgId, 'short')).toEqual([
      'evt_ret_short_1d_0',
      'evt_ret_short_6d_1',
      'evt_ret_short_8d_2',
    ]);
    expect(await ids(standard.orgId, 'standard')).toHaveLength(6);
  });

  it('runs through the Worker entry point (exports.default.scheduled)', async () => {
    // The handler hands the purge to waitUntil, which this call does not wait for: poll for it.
    // The loopback entry has scheduled() at runtime; its generated type only lists fetch/connect.
    const entry = exports.default as unknown as {
      scheduled(o: { scheduledTime: Date; cron: string }): Promise<unknown>;
    };
    await entry.scheduled({ scheduledTime: new Date(NOW), cron: '17 3 * * *' });
    const state = async () => [
      (await ids(short.orgId, 'short')).length,
      (await ids(standard.orgId, 'standard')).length,
      (await ids(null, 'anon')).length,
    ];
    let counts = await state();
    for (let i = 0; i < 200 && counts.join() !== '2,5,2'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      counts = await state();
    }
    expect(counts).toEqual([2, 5, 2]);
  });

  it('deletes a large backlog in bounded chunks, leaving newer rows', async () => {
    const big = await createOrg('owner');
    const old = PURGE_CHUNK * 2 + 123;
    await env.DB.prepare(
      `INSERT INTO audit_events (id, org_id, type, action, created_at)
       WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
       SELECT 'evt_ret_big_' || i, ?, 'request', 'allow', ? - i FROM n`,
    )
      .bind(old, big.orgId, NOW - 100 * DAY)
      .run();
    await seed(big.orgId, 'bignew', [1, 2]);
    await runCron();
    const left = await env.DB.prepare('SELECT count(*) AS n FROM audit_events WHERE org_id = ?')
      .bind(big.orgId)
      .first<{ n: number }>();
    expect(left!.n).toBe(2);
  });
});

describe('approvals retention', () => {
  it('deletes the approvals of held calls older than the organization’s retention, only its own', async () => {
    const tag = Date.now().toString(36);
    const mine = await createConnection(`ret-apr-${tag}`, { key: short.key });
    const theirs = await createConnection(`ret-apr-o-${tag}`, { key: standard.key });
    const approval = (id: string, orgId: string, connectionId: string, ageDays: number) =>
      env.DB.prepare(
        `INSERT INTO approvals (id, org_id, connection_id, connection_slug, protocol, tool, args_hash, binding,
           status, requested_at, expires_at) VALUES (?, ?, ?, 's', 'mcp', 'transfer', 'h', ?, 'used', ?, ?)`,
      ).bind(id, orgId, connectionId, id, NOW - ageDays * DAY, NOW - ageDays * DAY + 900_000);
    await env.DB.batch([
      approval(`apr_ret_old_${tag}`, short.orgId, mine.id, 10),
      approval(`apr_ret_new_${tag}`, short.orgId, mine.id, 1),
      approval(`apr_ret_other_${tag}`, standard.orgId, theirs.id, 10),
    ]);
    await runCron();
    const { results } = await env.DB.prepare('SELECT id FROM approvals WHERE id LIKE ? ORDER BY id')
      .bind(`apr_ret_%_${tag}`)
      .all<{ id: string }>();
    expect(results.map((r) => r.id)).toEqual([`apr_ret_new_${tag}`, `apr_ret_other_${tag}`]);
  });
});
