/**
 * The route matrix: every route of the management API (`/api/v1/*`, and the `/api/auth/*` routes
 * that manage an organization's members and invitations), enumerated from the app's own router,
 * is checked for (a) no credential → 401, (b) each role → allowed or 403 as docs/permissions.md
 * says, (c) a resource of another organization → 404 `not_found` with nothing of it changed, and
 * (d) a cookie session's change without the CSRF token → 403. A route added without an entry in
 * api.routes.matrix.table.ts fails the first test, so every new route gets a decision.
 *
 * Allowed roles are called with ids that exist nowhere (their 404, or the collection's answer,
 * proves the permission passed without changing the fixtures); refused roles are called on the
 * organization's real resources, which must refuse them before anything is changed.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../workers/app';
import { type Fixtures, makeFixtures, signedIn, snapshotOrg } from './api.routes.matrix.fixtures';
import { docGrant, fill, type MatrixRole, ROLES, type RouteExpectation } from './api.routes.matrix.roles';
import { EXPECTATIONS } from './api.routes.matrix.table';
import type { Browser } from './auth.helpers';
import { addMember, call, createOrg, type TestOrg } from './helpers';

interface Route {
  method: string;
  path: string;
  key: string;
  expectation: RouteExpectation;
}

/** Every method + path the app answers under /api/v1 and /api/auth (middleware entries are `ALL`). */
function enumerate(): { method: string; path: string }[] {
  const seen = new Map<string, { method: string; path: string }>();
  for (const { method, path } of createApp().routes) {
    if (method === 'ALL' || !/^\/api\/(v1|auth)\//.test(path)) continue;
    seen.set(`${method} ${path}`, { method, path });
  }
  return [...seen.values()];
}

const ROUTES: Route[] = enumerate()
  .filter(({ method, path }) => EXPECTATIONS[`${method} ${path}`])
  .map(({ method, path }) => ({
    method,
    path,
    key: `${method} ${path}`,
    expectation: EXPECTATIONS[`${method} ${path}`]!,
  }));
const JUDGED = ROUTES.filter((r) => r.expectation.perm !== 'personal' && r.expectation.perm !== 'public');

let a: Fixtures;
let b: Fixtures;
let orgB: TestOrg;
const keys = {} as Record<MatrixRole, string>;
const browsers = {} as Record<MatrixRole, Browser>;
let unique = 0;

interface Answer {
  status: number;
  text: string;
  code?: string;
  details?: Record<string, unknown>;
}

/** One call as `role` (its key, or its session for /api/auth), ids from `fixtures` (null: missing ids). */
async function send(
  route: Route,
  as: MatrixRole | null,
  fixtures: Fixtures | null,
  options: { browser?: Browser; csrf?: boolean } = {},
): Promise<Answer> {
  const { expectation } = route;
  const path = fill(route.path, expectation, fixtures) + (expectation.query ?? '');
  const body = expectation.body?.(a, `${as ?? 'anon'}${unique++}`, fixtures === null);
  const browser = options.browser ?? (as && expectation.session ? browsers[as] : undefined);
  const res = browser
    ? await browser.fetch(route.method, path, { body, csrf: options.csrf })
    : await call(route.method, path, { key: as ? keys[as] : null, body });
  if (res.ok && expectation.stream) {
    await res.body?.cancel();
    return { status: res.status, text: '' };
  }
  const text = await res.text();
  if (!(res.headers.get('Content-Type') ?? '').startsWith('application/json'))
    return { status: res.status, text };
  const error = (JSON.parse(text) as { error?: { code: string; details?: Record<string, unknown> } }).error;
  return { status: res.status, text, code: error?.code, details: error?.details };
}

beforeAll(async () => {
  const orgA = await createOrg('owner');
  keys.owner = orgA.key;
  for (const role of ROLES.slice(1)) keys[role] = (await addMember(orgA.orgId, role)).key;
  for (const role of ROLES) browsers[role] = await signedIn(orgA.orgId, role);
  orgB = await createOrg('owner');
  a = await makeFixtures(orgA.orgId, orgA.key, `a${Date.now().toString(36)}`);
  b = await makeFixtures(orgB.orgId, orgB.key, `b${Date.now().toString(36)}`);
}, 60_000);

describe('the route matrix', () => {
  it('has an expectation for every route the app answers, and a route for every expectation', () => {
    const routes = enumerate().map((r) => `${r.method} ${r.path}`);
    expect(
      routes.filter((r) => !EXPECTATIONS[r]),
      'routes with no entry in api.routes.matrix.table.ts',
    ).toEqual([]);
    expect(
      Object.keys(EXPECTATIONS).filter((k) => !routes.includes(k)),
      'entries naming no route',
    ).toEqual([]);
    expect(routes.filter((r) => r.startsWith('GET /api/v1/')).length).toBeGreaterThan(40);
  });

  it('refuses every route to a caller without a credential (401), but the public API description', async () => {
    const wrong: string[] = [];
    for (const route of ROUTES.filter((r) => r.expectation.perm !== 'personal')) {
      const answer = await send(route, null, a);
      const want = route.expectation.perm === 'public' ? 200 : 401;
      if (answer.status !== want || (want === 401 && answer.code !== 'unauthorized')) {
        wrong.push(`${route.key}: ${answer.status} ${answer.text}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it.each(ROLES)('answers %s as docs/permissions.md says on every route', async (role) => {
    const wrong: string[] = [];
    for (const route of JUDGED) {
      const { expectation } = route;
      const grant = docGrant(expectation, role);
      const refused = grant === null || (expectation.allOnly && grant === 'own');
      if (refused) {
        // On the organization's real resources: refused before anything is read or changed.
        const answer = await send(route, role, a);
        if (expectation.hiddenFrom?.includes(role)) {
          if (answer.status !== 404 || answer.code !== 'not_found') {
            wrong.push(`${route.key}: want 404 not_found (hidden), got ${answer.status} ${answer.text}`);
          }
          continue;
        }
        const code = expectation.refusal ?? 'forbidden';
        const details =
          expectation.refusalDetails ?? (code === 'forbidden' ? { permission: expectation.perm } : {});
        const named = Object.entries(details).every(([k, v]) => answer.details?.[k] === v);
        if (answer.status !== 403 || answer.code !== code || !named) {
          wrong.push(
            `${route.key}: want 403 ${code} (${expectation.perm}), got ${answer.status} ${answer.text}`,
          );
        }
      } else {
        // Past the permission: ids that exist nowhere are not found, a collection answers.
        const answer = await send(route, role, null);
        const want = route.expectation.ids?.length ? [404] : (route.expectation.allowed ?? [200, 201, 204]);
        // A route without path ids that names a missing thing names it in the body or query.
        const misplaced = !route.expectation.ids?.length && answer.details?.location === 'path';
        if (!want.includes(answer.status) || misplaced) {
          const where = misplaced ? ' (its error points at the path, which names nothing)' : '';
          wrong.push(`${route.key}: want ${want.join('/')}, got ${answer.status}${where} ${answer.text}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it("has fixtures that are real: each organization's owner reads each of its own (200)", async () => {
    const wrong: string[] = [];
    for (const route of ROUTES.filter((r) => r.method === 'GET' && r.expectation.ids?.length)) {
      if (route.expectation.ids!.includes('none')) continue;
      for (const [fixtures, browser, key] of [
        [a, browsers.owner, keys.owner],
        [b, null, orgB.key],
      ] as const) {
        const path = fill(route.path, route.expectation, fixtures);
        const res = route.expectation.session
          ? await browser!.fetch('GET', path)
          : await call('GET', path, { key });
        const text = await res.text();
        if (res.status !== 200) wrong.push(`${route.key} ${path}: ${res.status} ${text}`);
      }
    }
    // What only a listing shows (made straight in D1): each organization's owner sees its own.
    for (const [path, kind] of [
      ['/api/v1/alerts', 'alert'],
      ['/api/v1/alerts/deliveries', 'delivery'],
      [`/api/v1/connections/${a.connection}/scan-suppressions`, 'suppression'],
    ] as const) {
      const listed = await (await call('GET', path, { key: keys.owner })).text();
      if (!listed.includes(a[kind])) wrong.push(`${path} does not list ${a[kind]}`);
    }
    const invitations = await (await browsers.owner.fetch('GET', '/api/auth/invitations')).text();
    if (!invitations.includes(a.invitation)) wrong.push(`invitations do not list ${a.invitation}`);
    expect(wrong).toEqual([]);
  });

  it('answers an owner of another organization 404 not_found on each of its resources, and changes none of them', async () => {
    const before = await snapshotOrg(orgB.orgId);
    const wrong: string[] = [];
    for (const route of ROUTES.filter((r) => r.expectation.ids?.length)) {
      const { expectation } = route;
      if (expectation.ids!.includes('none')) {
        expect(expectation.foreignElsewhere, `${route.key} names what the fixtures cannot make`).toBeTruthy();
        continue;
      }
      const answer = await send(route, 'owner', b, {
        browser: expectation.session || expectation.perm === 'personal' ? browsers.owner : undefined,
      });
      const leaked = [orgB.orgId, b.connectionId, b.developerUserId].filter((id) => answer.text.includes(id));
      if (answer.status !== 404 || answer.code !== 'not_found' || leaked.length > 0) {
        wrong.push(`${route.key}: want 404 not_found, got ${answer.status} ${answer.text}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(await snapshotOrg(orgB.orgId)).toBe(before);
  });

  it.each(['developer', 'auditor'] as const)(
    'refuses %s, where its grant is only `own`, on each resource another member created (scope own)',
    async (role) => {
      const wrong: string[] = [];
      for (const route of JUDGED.filter(
        (r) => r.expectation.ids?.length && !r.expectation.ids.includes('none'),
      )) {
        const { expectation } = route;
        if (docGrant(expectation, role) !== 'own' || expectation.allOnly || expectation.ownReadable) continue;
        const answer = await send(route, role, a);
        const hidden = expectation.hiddenFrom?.includes(role);
        const code = hidden ? 'not_found' : (expectation.refusal ?? 'forbidden');
        const scoped = hidden || code !== 'forbidden' || answer.details?.scope === 'own';
        if (answer.status !== (hidden ? 404 : 403) || answer.code !== code || !scoped) {
          wrong.push(`${route.key}: want 403 ${code} (own), got ${answer.status} ${answer.text}`);
        }
      }
      expect(wrong).toEqual([]);
    },
  );

  it('refuses every change made with a cookie session but without the CSRF token (403 csrf_failed)', async () => {
    const wrong: string[] = [];
    for (const route of JUDGED.filter((r) => r.method !== 'GET')) {
      const answer = await send(route, 'owner', a, { browser: browsers.owner, csrf: false });
      if (answer.status !== 403 || answer.code !== 'csrf_failed') {
        wrong.push(`${route.key}: want 403 csrf_failed, got ${answer.status} ${answer.text}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
