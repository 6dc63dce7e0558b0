/**
 * Count limits on what an organization creates (workers/shared/count.limits.ts), in real D1: each
 * resource is filled with rows up to one below its cap (one INSERT … SELECT from a recursive
 * count), then the API creates the last one (admitted) and the next (409 `limit_reached`, naming
 * the limit, its cap and where) — the refused create leaves the table and the audit trail as they
 * were — while another organization's create at the same moment is admitted (tenant isolation).
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { COUNT_LIMITS, type CountLimit } from '../../workers/shared/count.limits';
import { call, createOrg, expectApiError, json, type TestOrg } from './helpers';

const RUN = Date.now().toString(36);
let serial = 0;
const unique = (prefix: string) => `${prefix}-${RUN}-${++serial}`;

/** Rows of `limit.table` for `orgId`, `n` of them: `columns` is the SELECT list over `i` (1…n). */
async function seed(table: string, columns: string, values: string, n: number, binds: unknown[]) {
  if (n <= 0) return;
  await env.DB.prepare(
    `INSERT INTO ${table} (${columns})
     WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
     SELECT ${values} FROM seq`,
  )
    .bind(n, ...binds)
    .run();
}

async function rowsOf(limit: CountLimit, orgId: string): Promise<number> {
  const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${limit.table} WHERE ${limit.where}`)
    .bind(orgId)
    .first<{ n: number }>();
  return row!.n;
}

async function auditRows(orgId: string): Promise<number> {
  const row = await env.DB.prepare(
    "SELECT count(*) AS n FROM audit_events WHERE org_id = ? AND type = 'admin'",
  )
    .bind(orgId)
    .first<{ n: number }>();
  return row!.n;
}

interface Case {
  limit: CountLimit;
  /** Whatever the create needs first (a team to add members to…), made through the API. */
  prepare?: (org: TestOrg) => Promise<Record<string, string>>;
  /** Fills the organization's table with `n` rows. */
  fill: (org: TestOrg, n: number, ctx: Record<string, string>) => Promise<void>;
  create: (org: TestOrg, ctx: Record<string, string>) => Promise<Response>;
}

const post = (org: TestOrg, path: string, body: unknown) =>
  call('POST', `/api/v1${path}`, { key: org.key, body });

const customRule = (id: string) => ({
  id,
  category: 'secret',
  severity: 'high',
  where: ['args'],
  detection: { literals: ['TICKET-'], pattern: 'TICKET-\\d{6}' },
  action: 'block',
  description: 'Internal ticket numbers',
  examples: { positive: ['see TICKET-123456 now'], negative: ['a ticket'] },
});

const CASES: Record<string, Case> = {
  teams: {
    limit: COUNT_LIMITS.teams,
    fill: (org, n) =>
      seed('teams', 'id, org_id, name, updated_at', `'seed-' || ?2 || '-' || i, ?2, 'seed ' || i, 0`, n, [
        org.orgId,
      ]),
    create: (org) => post(org, '/teams', { name: unique('team') }),
  },
  teamMembers: {
    limit: COUNT_LIMITS.teamMembers,
    prepare: async (org) => ({
      team: (await json<{ id: string }>(await post(org, '/teams', { name: unique('t') }))).id,
    }),
    fill: (org, n, ctx) =>
      seed(
        'team_members',
        'id, org_id, team_id, kind, ref',
        `'seed-' || ?2 || '-' || i, ?2, ?3, 'external_user', 'seed-' || i`,
        n,
        [org.orgId, ctx.team],
      ),
    create: (org, ctx) => post(org, `/teams/${ctx.team}/members`, { externalUser: unique('user') }),
  },
  systemPrompts: {
    limit: COUNT_LIMITS.systemPrompts,
    fill: (org, n) =>
      seed(
        'system_prompts',
        'id, org_id, name, version, updated_at',
        `'seed-' || ?2 || '-' || i, ?2, 'seed ' || i, 1, 0`,
        n,
        [org.orgId],
      ),
    create: (org) => post(org, '/system-prompts', { name: unique('prompt'), text: 'Be brief.' }),
  },
  promptAssignments: {
    limit: COUNT_LIMITS.promptAssignments,
    prepare: async (org) => ({
      prompt: (
        await json<{ id: string }>(await post(org, '/system-prompts', { name: unique('p'), text: 'x' }))
      ).id,
    }),
    fill: (org, n, ctx) =>
      seed(
        'system_prompt_assignments',
        'id, org_id, prompt_id, target, target_id, priority, mode',
        `'seed-' || ?2 || '-' || i, ?2, ?3, 'team', 'seed-' || i, 0, 'prepend'`,
        n,
        [org.orgId, ctx.prompt],
      ),
    create: async (org, ctx) => {
      const team = await json<{ id: string }>(await post(org, '/teams', { name: unique('t') }));
      return post(org, `/system-prompts/${ctx.prompt}/assignments`, { target: 'team', targetId: team.id });
    },
  },
  detectionRules: {
    limit: COUNT_LIMITS.detectionRules,
    fill: (org, n) =>
      seed(
        'detection_rules',
        'id, org_id, rule_id, rule, updated_at',
        `'seed-' || ?2 || '-' || i, ?2, 'custom.seed_' || i, '{}', 0`,
        n,
        [org.orgId],
      ),
    create: (org) =>
      post(org, '/detections/rules', customRule(`custom.t_${unique('r').replaceAll('-', '_')}`)),
  },
  detectionPacks: {
    limit: COUNT_LIMITS.detectionPacks,
    fill: (org, n) =>
      seed(
        'detection_packs',
        'id, org_id, name, pack, updated_at',
        `'seed-' || ?2 || '-' || i, ?2, 'seed-' || i, '{}', 0`,
        n,
        [org.orgId],
      ),
    create: (org) =>
      post(org, '/detections/packs', {
        name: unique('pack'),
        description: 'x',
        categories: ['sql_injection'],
      }),
  },
  notifyChannels: {
    limit: COUNT_LIMITS.notifyChannels,
    fill: (org, n) =>
      seed(
        'notify_channels',
        'id, org_id, name, type, display_url, secret_ciphertext, updated_at',
        `'seed-' || ?2 || '-' || i, ?2, 'seed ' || i, 'webhook', 'https://example.com', 'x', 0`,
        n,
        [org.orgId],
      ),
    create: (org) =>
      post(org, '/alerts/channels', {
        type: 'webhook',
        name: unique('channel'),
        url: `${env.UPSTREAM_RECORDER_URL}/limits`,
        secret: 'whsec-limits-0123456789',
      }),
  },
  budgets: {
    limit: COUNT_LIMITS.budgets,
    fill: (org, n) =>
      seed(
        'budgets',
        'id, org_id, scope, limit_usd, updated_at',
        `'seed-' || ?2 || '-' || i, ?2, 'user', 1, 0`,
        n,
        [org.orgId],
      ),
    create: (org) => post(org, '/budgets', { scope: 'user', scopeRef: unique('u'), limitUsd: 5 }),
  },
  apiKeys: {
    limit: COUNT_LIMITS.apiKeys,
    fill: (org, n) =>
      seed(
        'api_keys',
        'id, org_id, name, role, prefix, hash',
        `'seed-' || ?2 || '-' || i, ?2, 'seed', 'developer', 'seed', 'seed-hash-' || ?2 || '-' || i`,
        n,
        [org.orgId],
      ),
    create: (org) => post(org, '/api-keys', { name: unique('key') }),
  },
  connections: {
    limit: COUNT_LIMITS.connections,
    fill: (org, n) =>
      seed(
        'connections',
        'id, org_id, slug, name, upstream_url',
        `'seed-' || ?2 || '-' || i, ?2, 'seed-' || i, 'seed', 'https://example.com/mcp'`,
        n,
        [org.orgId],
      ),
    create: (org) =>
      post(org, '/connections', {
        slug: unique('cl'),
        name: 'limits',
        upstreamUrl: `${env.UPSTREAM_URL}/stateless`,
        authType: 'none',
      }),
  },
};

describe('count limits on what an organization creates', () => {
  for (const [name, c] of Object.entries(CASES)) {
    // A connection create tells every guard of the organization (config.epoch.ts): a thousand here.
    it(`${name}: the create past ${c.limit.cap} is refused with limit_reached and changes nothing; another organization is unaffected`, {
      timeout: 120_000,
    }, async () => {
      const [org, other] = [await createOrg('owner'), await createOrg('owner')];
      const ctx = (await c.prepare?.(org)) ?? {};
      const otherCtx = (await c.prepare?.(other)) ?? {};
      await c.fill(org, c.limit.cap - 1 - (await rowsOf(c.limit, org.orgId)), ctx);
      expect(await rowsOf(c.limit, org.orgId)).toBe(c.limit.cap - 1);

      // The last place is taken…
      const last = await c.create(org, ctx);
      expect(last.status, await last.clone().text()).toBeLessThan(300);
      expect(await rowsOf(c.limit, org.orgId)).toBe(c.limit.cap);

      // …the next create is refused, while another organization creates at the same moment.
      const [auditBefore, otherBefore] = [await auditRows(org.orgId), await rowsOf(c.limit, other.orgId)];
      const [refused, elsewhere] = await Promise.all([c.create(org, ctx), c.create(other, otherCtx)]);
      const error = await expectApiError(refused, 409, 'limit_reached');
      expect(error.message).toBe(
        `This organization already has ${c.limit.cap} ${c.limit.noun}, the most it may have: ${c.limit.remedy ?? 'delete one first'}`,
      );
      expect(error.details).toEqual({ location: 'body', limit: c.limit.noun, max: c.limit.cap });
      expect(await rowsOf(c.limit, org.orgId)).toBe(c.limit.cap);
      // promptAssignments' create makes a team first (audited): that is its only row.
      expect(await auditRows(org.orgId)).toBe(auditBefore + (name === 'promptAssignments' ? 1 : 0));
      expect(elsewhere.status, await elsewhere.clone().text()).toBeLessThan(300);
      expect(await rowsOf(c.limit, other.orgId)).toBe(otherBefore + 1);
    });
  }

  it('re-adding a team member already there, or re-assigning a prompt, is not refused at the cap', async () => {
    const org = await createOrg('owner');
    const team = await json<{ id: string }>(await post(org, '/teams', { name: unique('t') }));
    expect((await post(org, `/teams/${team.id}/members`, { externalUser: 'kept' })).status).toBe(201);
    const prompt = await json<{ id: string }>(
      await post(org, '/system-prompts', { name: unique('p'), text: 'x' }),
    );
    const assign = () =>
      post(org, `/system-prompts/${prompt.id}/assignments`, {
        target: 'team',
        targetId: team.id,
        priority: 3,
      });
    expect((await assign()).status).toBeLessThan(300);
    await CASES.teamMembers!.fill(org, COUNT_LIMITS.teamMembers.cap - 1, { team: team.id });
    await CASES.promptAssignments!.fill(org, COUNT_LIMITS.promptAssignments.cap - 1, { prompt: prompt.id });
    expect((await post(org, `/teams/${team.id}/members`, { externalUser: 'kept' })).status).toBeLessThan(300);
    await expectApiError(
      await post(org, `/teams/${team.id}/members`, { externalUser: 'new' }),
      409,
      'limit_reached',
    );
    expect((await assign()).status).toBeLessThan(300);
  });

  it('a revoked API key frees its place', async () => {
    const org = await createOrg('owner');
    await CASES.apiKeys!.fill(org, COUNT_LIMITS.apiKeys.cap - 1, {});
    await expectApiError(await post(org, '/api-keys', { name: 'one more' }), 409, 'limit_reached');
    const revoked = await call('DELETE', `/api/v1/api-keys/seed-${org.orgId}-1`, { key: org.key });
    expect(revoked.status).toBeLessThan(300);
    expect((await post(org, '/api-keys', { name: 'one more' })).status).toBe(201);
  });
});
