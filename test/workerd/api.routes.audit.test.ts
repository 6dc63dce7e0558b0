/**
 * Every change leaves its record: each mutating route of the route matrix (api.routes.matrix.table.ts),
 * called by an organization's owner so that it really changes something, writes at least one new
 * audit row of type admin, auth or session for that organization — and none of the rows it wrote
 * holds a secret the call carried or answered (a credential, a client secret, a token, a key).
 * Routes that write no row are named, with the reason, in api.routes.audit.table.ts; a mutating
 * route neither exercised nor named there fails the first test.
 *
 * The calls run in one organization, changes first (in the table's order), then deletions in
 * reverse order, so children (a team's member, a prompt's assignment) go before their parents.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../workers/app';
import {
  AUDIT_PLANS,
  AUDITED_ELSEWHERE,
  type Ids,
  NO_AUDIT,
  type PlanContext,
} from './api.routes.audit.table';
import { type Fixtures, MISSING, makeFixtures, signedIn } from './api.routes.matrix.fixtures';
import type { RouteExpectation } from './api.routes.matrix.roles';
import { EXPECTATIONS } from './api.routes.matrix.table';
import type { Browser } from './auth.helpers';
import { call, createOrg } from './helpers';

interface Route {
  method: string;
  path: string;
  key: string;
  expectation: RouteExpectation;
}

/** The mutating routes the app answers under /api/v1 and /api/auth, as the matrix enumerates them. */
function mutatingRoutes(): Route[] {
  const seen = new Map<string, Route>();
  for (const { method, path } of createApp().routes) {
    if (method === 'ALL' || method === 'GET' || !/^\/api\/(v1|auth)\//.test(path)) continue;
    const key = `${method} ${path}`;
    const expectation = EXPECTATIONS[key];
    if (expectation) seen.set(key, { method, path, key, expectation });
  }
  return [...seen.values()];
}

const MUTATING = mutatingRoutes();
const EXERCISED = MUTATING.filter((r) => !NO_AUDIT[r.key] && !AUDITED_ELSEWHERE[r.key]);
/** Changes first, in the table's order; then deletions, the last table entry first. */
const ORDERED = [
  ...EXERCISED.filter((r) => r.method !== 'DELETE'),
  ...EXERCISED.filter((r) => r.method === 'DELETE').reverse(),
];

/**
 * Keys whose string values are secrets (a credential, a client secret, a token, a key, a
 * password): none of them may reach an audit row. Not their ids, display prefixes or hashes.
 */
const SECRET_KEY = /credential|secret|token|password|apikey|^key$/i;
const NOT_SECRET = /(Id|Ids|Prefix|Hash|At|Url|Uri|Name|Type)$/;

interface Secret {
  key: string;
  value: string;
}

/** Every secret value in a request or response body (and every value of a `headers` map). */
function secretsIn(value: unknown, key = '', inHeaders = false): Secret[] {
  if (typeof value === 'string') {
    const secret = inHeaders || (SECRET_KEY.test(key) && !NOT_SECRET.test(key));
    return secret && value.length >= 6 ? [{ key, value }] : [];
  }
  if (Array.isArray(value)) return value.flatMap((v) => secretsIn(v, key, inHeaders));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) =>
      secretsIn(v, k, inHeaders || k.toLowerCase() === 'headers'),
    );
  }
  return [];
}

/** A concrete path: each `:param` the fixture (or the plan's id) it names. */
function fillPath(route: Route, f: Fixtures, ids: Ids): string {
  let i = 0;
  return route.path.replace(/:[A-Za-z]+/g, () => {
    const kind = route.expectation.ids?.[i++];
    if (kind === 'none') return encodeURIComponent(ids.none ?? MISSING);
    return kind ? encodeURIComponent((ids[kind] ?? f[kind]) as string) : MISSING;
  });
}

interface AuditRow {
  id: string;
  type: string;
  action: string;
  details: string;
  [column: string]: unknown;
}

async function auditRows(orgId: string): Promise<AuditRow[]> {
  const { results } = await env.DB.prepare(
    "SELECT * FROM audit_events WHERE org_id = ? AND type IN ('admin', 'auth', 'session')",
  )
    .bind(orgId)
    .all<AuditRow>();
  return results;
}

let f: Fixtures;
let ctx: PlanContext;
let owner: Browser;
let unique = 0;

beforeAll(async () => {
  const org = await createOrg('owner');
  ctx = { orgId: org.orgId, ownerKey: org.key, ownerUserId: org.userId };
  owner = await signedIn(org.orgId, 'owner');
  f = await makeFixtures(org.orgId, org.key, `au${Date.now().toString(36)}`);
}, 60_000);

describe('the audit trail of the management API', () => {
  it('decides every mutating route: exercised here, or allowlisted with a reason', () => {
    const keys = MUTATING.map((r) => r.key);
    expect(keys.length).toBeGreaterThan(60);
    for (const list of [NO_AUDIT, AUDITED_ELSEWHERE, AUDIT_PLANS]) {
      expect(
        Object.keys(list).filter((k) => !keys.includes(k)),
        'entries naming no mutating route',
      ).toEqual([]);
    }
    expect(Object.keys(NO_AUDIT).filter((k) => AUDITED_ELSEWHERE[k] || AUDIT_PLANS[k])).toEqual([]);
    // A personal route (about the person themself) is exercised here only as the person it is about.
    expect(
      MUTATING.filter(
        (r) =>
          r.expectation.perm === 'personal' &&
          !NO_AUDIT[r.key] &&
          !AUDITED_ELSEWHERE[r.key] &&
          !AUDIT_PLANS[r.key]?.caller,
      ).map((r) => r.key),
    ).toEqual([]);
  });

  it('writes an admin (or auth, or session) row for every change, and no secret the call carried or answered', async () => {
    const wrong: string[] = [];
    const withSecrets: string[] = [];
    for (const route of ORDERED) {
      const plan = AUDIT_PLANS[route.key] ?? {};
      const ids = (await plan.prepare?.(f, ctx)) ?? {};
      const fixtures = { ...f, ...ids } as Fixtures;
      const u = `au${unique++}`;
      const body = plan.body ? plan.body(fixtures, u) : route.expectation.body?.(fixtures, u, false);
      const path = fillPath(route, f, ids) + (route.expectation.query ?? '');
      const before = new Set((await auditRows(ctx.orgId)).map((r) => r.id));
      const caller = plan.caller ? await plan.caller(ctx) : route.expectation.session ? owner : null;
      const res = caller
        ? await caller.fetch(route.method, path, { body })
        : await call(route.method, path, { key: ctx.ownerKey, body });
      const text = await res.text();
      if (!res.ok) {
        // A refused call proves nothing about the record of a change: the plan must make one.
        wrong.push(`${route.key}: the call did not succeed (${res.status} ${text.slice(0, 300)})`);
        continue;
      }
      const written = (await auditRows(ctx.orgId)).filter((r) => !before.has(r.id));
      if (written.length === 0) wrong.push(`${route.key}: changed something and wrote no audit row`);
      let answered: unknown = null;
      try {
        answered = JSON.parse(text);
      } catch {
        // Not JSON (a 204): only the request's secrets are looked for.
      }
      const secrets = [...secretsIn(body), ...secretsIn(answered)];
      if (secrets.length > 0) withSecrets.push(route.key);
      for (const row of written) {
        const leaked = secrets.filter((s) => JSON.stringify(row).includes(s.value)).map((s) => s.key);
        if (leaked.length > 0)
          wrong.push(`${route.key}: ${row.action} holds the secret ${leaked.join(', ')}`);
      }
    }
    expect(wrong).toEqual([]);
    // The secret check looked at real secrets: those sent (credentials, client and signing secrets,
    // header values) and those answered once (a new API key, a scraper token).
    expect(withSecrets).toEqual(
      expect.arrayContaining([
        'POST /api/v1/connections',
        'POST /api/v1/connections/:slug/rotate',
        'POST /api/v1/api-keys',
        'POST /api/v1/metrics/tokens',
        'POST /api/v1/alerts/channels',
        'PATCH /api/v1/alerts/channels/:id',
        'PUT /api/v1/tracing',
        'PUT /api/v1/integrations/langfuse',
      ]),
    );
  }, 120_000);
});
