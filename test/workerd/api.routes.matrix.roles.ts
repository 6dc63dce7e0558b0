/**
 * The role model of the route matrix (api.routes.matrix.test.ts): the roles, docs/permissions.md's
 * grants written out (not imported from workers/auth/permissions.ts: the test checks the code
 * against the documentation), and the shape of one route's expectation.
 */
import { type FixtureKind, type Fixtures, MISSING } from './api.routes.matrix.fixtures';

export const ROLES = ['owner', 'admin', 'developer', 'auditor'] as const;
export type MatrixRole = (typeof ROLES)[number];
type Grant = 'all' | 'own' | null;

/** docs/permissions.md, "The matrix": owner, admin, developer, auditor. */
export const DOC_GRANTS: Record<string, readonly [Grant, Grant, Grant, Grant]> = {
  'connections:read': ['all', 'all', 'own', 'all'],
  'connections:write': ['all', 'all', 'own', null],
  'connections:use': ['all', 'all', 'own', null],
  'policies:read': ['all', 'all', 'own', 'all'],
  'policies:write': ['all', 'all', 'own', null],
  'audit:read': ['all', 'all', 'own', 'all'],
  'sessions:read': ['all', 'all', 'own', 'all'],
  'sessions:write': ['all', 'all', 'own', null],
  'killswitch:write': ['all', 'all', null, null],
  'tools:approve': ['all', 'all', null, null],
  'apikeys:read': ['all', 'all', 'own', 'own'],
  'apikeys:write': ['all', 'all', 'own', 'own'],
  'members:read': ['all', 'all', 'all', 'all'],
  // Deciding a held call: at least the connection's settings.approvals.approverRole, by default
  // admin (docs/permissions.md, approvals); the fixtures' connections keep the default.
  approver: ['all', 'all', null, null],
  'members:write': ['all', 'all', null, null],
  'org:write': ['all', 'all', null, null],
};

export interface RouteExpectation {
  /**
   * The permission the route needs (DOC_GRANTS), `member` (any member of the organization),
   * `public` (no credential: the API's own description), or `personal` (a /api/auth route about
   * the signed-in person, not about an organization's resources: outside the matrix).
   */
  perm: string;
  /** Only an `all` grant passes: the route has nothing a developer's `own` grant could narrow it to. */
  allOnly?: true;
  /** The refusal's code when not `forbidden`. */
  refusal?: 'connection_forbidden';
  /** What each path parameter names, in order. */
  ids?: FixtureKind[];
  /** The body; `missing` when the path's ids are ones that exist nowhere (the body's should be too). */
  body?: (f: Fixtures, unique: string, missing: boolean) => unknown;
  /** A query string the route requires. */
  query?: string;
  /** What the refusal's details must hold (default: `{permission: perm}` for `forbidden`). */
  refusalDetails?: Record<string, unknown>;
  /** What an allowed role's call answers, for a route without ids (default 200, 201 or 204). */
  allowed?: number[];
  /**
   * Why an `own` grant reads this resource whoever created it (otherwise a role holding only `own`
   * is refused, `scope: "own"`, on a resource another member created).
   */
  ownReadable?: string;
  /**
   * Roles from whom a resource they may not act on is hidden: their refusal is the 404 an unknown
   * id gets, not a 403 (`hidden` says why).
   */
  hiddenFrom?: MatrixRole[];
  hidden?: string;
  /** Why this route's foreign-organization check is made elsewhere (it names a resource the fixtures cannot make). */
  foreignElsewhere?: string;
  /** Why this route is outside the matrix (`personal` routes). */
  reason?: string;
  /** An answer that does not end (a live event stream): its body is cancelled, only the status is read. */
  stream?: true;
  /** Called through a cookie session (the /api/auth routes), not an API key. */
  session?: true;
}

/** A concrete path: each `:param` the fixture it names (or MISSING). */
export function fill(path: string, expectation: RouteExpectation, fixtures: Fixtures | null): string {
  let i = 0;
  return path.replace(/:[A-Za-z]+/g, () => {
    const kind = expectation.ids?.[i++];
    return fixtures && kind && kind !== 'none' ? encodeURIComponent(fixtures[kind]) : MISSING;
  });
}

/** The grant a role holds for a route, per the documentation; `all` for `member`. */
export function docGrant(expectation: RouteExpectation, role: MatrixRole): Grant {
  if (expectation.perm === 'member') return 'all';
  const grants = DOC_GRANTS[expectation.perm];
  if (!grants) throw new Error(`no documented grants for ${expectation.perm}`);
  return grants[ROLES.indexOf(role)]!;
}
