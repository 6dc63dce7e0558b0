/**
 * The audit side of the route matrix (api.routes.audit.test.ts): for each route that changes
 * something, how the test makes one real change through it (a body that changes something, and
 * what must exist first), and the explicit allowlists of the mutating routes that write no admin
 * row — each with the reason. Every mutating route of the matrix table (api.routes.matrix.table.ts)
 * is either exercised here or named in an allowlist: a new route fails the test until decided.
 */
import { env } from 'cloudflare:workers';
import { randomId } from '../../workers/lib/ids';
import { agentConnection, detectionRule, type Fixtures, signedIn } from './api.routes.matrix.fixtures';
import type { Browser } from './auth.helpers';
import { addMember, call, createConnection, memberIdOf } from './helpers';
import { obtainTokens, sessionCookie } from './oauth.helpers';

export interface AuditPlan {
  /** A body that changes something (default: the matrix table's, with the organization's real ids). */
  body?: (f: Fixtures & Ids, unique: string) => unknown;
  /** Who calls, when not the owner (a personal route: the person it is about). */
  caller?: (ctx: PlanContext) => Promise<Browser>;
  /** Makes what the call needs (a fresh resource it may consume): the ids that replace the fixtures'. */
  prepare?: (f: Fixtures, ctx: PlanContext) => Promise<Ids>;
}

/** Fixture ids to use instead; `none` fills a path parameter the fixtures cannot make (an OAuth grant). */
export type Ids = Partial<Fixtures> & { none?: string; finding?: string };

export interface PlanContext {
  orgId: string;
  ownerKey: string;
  ownerUserId: string;
}

/**
 * Routes that change nothing stored, so write no audit row. Each names why it is not a change.
 */
export const NO_AUDIT: Record<string, string> = {
  'POST /api/v1/connections/:slug/policy/simulate':
    'evaluates a call against the stored policy and answers the decision; stores nothing',
  'POST /api/v1/connections/:slug/policy/replay':
    'evaluates candidate rules against past audit rows and answers the differences; stores nothing',
  'POST /api/v1/system-prompts/preview': 'renders a template for the caller; stores nothing',
  'POST /api/v1/detections/scan':
    'runs the detectors on a text sent and answers the findings; stores nothing',
  'POST /api/v1/alerts/channels/:id/test':
    'one test send, answered at once: no delivery row, no retry, nothing stored (notify.deliveries.ts)',
  'POST /api/auth/organizations/switch':
    "changes only which of the person's organizations their own session shows: no organization's data changes",
};

/**
 * Mutating routes about the signed-in person themself (`personal` in the matrix: no organization's
 * key or admin session can make them) whose audit row of type `auth` is proven by the named test.
 */
export const AUDITED_ELSEWHERE: Record<string, string> = {
  'POST /api/auth/sign-up': 'auth.sign_up — auth.audit.test.ts',
  'POST /api/auth/sign-in': 'auth.sign_in / auth.sign_in_failed — auth.audit.test.ts',
  'POST /api/auth/sign-out': 'auth.sign_out — auth.audit.test.ts',
  'POST /api/auth/sign-out-everywhere': 'auth.sign_out_everywhere — auth.audit.test.ts',
  'POST /api/auth/password': 'auth.password_change — auth.audit.test.ts',
  'POST /api/auth/password/reset': 'auth.password_reset_request — auth.audit.test.ts',
  'POST /api/auth/password/reset/confirm': 'auth.password_reset — auth.audit.test.ts',
  'POST /api/auth/invitations/accept': 'auth.invitation_accept + member.join — auth.audit.test.ts',
  'POST /api/auth/organizations':
    'organization.create (in the new organization) — auth.orgs.invitations.test.ts',
};

/** A second pending approval (the fixtures' one is decided by the first of approve/deny). */
async function pendingApproval(f: Fixtures, ctx: PlanContext): Promise<Ids> {
  const id = randomId('apr');
  const now = Date.now();
  await env.DB.prepare(
    `INSERT INTO approvals (id, org_id, connection_id, connection_slug, protocol, api_key_id, tool, args_hash, binding,
       status, requested_at, expires_at)
     VALUES (?, ?, ?, ?, 'mcp', 'key_matrix', 'echo', 'h', ?, 'pending', ?, ?)`,
  )
    .bind(id, ctx.orgId, f.connectionId, f.connection, `mx-${id}`, now, now + 3_600_000)
    .run();
  return { approval: id };
}

/** An OAuth grant of a newly registered client, consented by the organization's owner. */
async function oauthGrant(f: Fixtures, ctx: PlanContext): Promise<{ grant: string; client: string }> {
  const cookie = await sessionCookie(ctx.ownerUserId, ctx.orgId);
  const tokens = await obtainTokens(f.connection, cookie, f.connectionId);
  const res = await call('GET', '/api/v1/oauth/grants', { key: ctx.ownerKey });
  const { grants } = (await res.json()) as { grants: { id: string; clientId: string }[] };
  const grant = grants.find((g) => g.clientId === tokens.clientId);
  if (!grant) throw new Error('the consented grant is not listed');
  return { grant: grant.id, client: tokens.clientId };
}

export const AUDIT_PLANS: Record<string, AuditPlan> = {
  // The matrix bodies are reused for most routes; these carry secrets the rows must not hold.
  'POST /api/v1/connections': {
    body: (_f, u) => ({
      slug: `mx-new-${u}`,
      name: u,
      upstreamUrl: `${env.UPSTREAM_URL}/stateless`,
      authType: 'bearer',
      credential: `create-credential-${u}`,
    }),
  },
  'PUT /api/v1/tracing': {
    body: (_f, u) => ({
      endpoint: 'https://otlp.example.com/v1/traces',
      headers: { Authorization: `Bearer otlp-secret-${u}` },
      sampleRate: 0.5,
    }),
  },
  'PATCH /api/v1/alerts/channels/:id': {
    body: (_f, u) => ({ name: 'changed', secret: `whsec-rotated-${u}` }),
  },
  'POST /api/v1/connections/:slug/rotate': {
    // The fixtures' connection has authType none: a bearer connection takes a credential.
    prepare: async (_f, ctx) => {
      const slug = `mx-rot-${randomId('s').slice(-8).toLowerCase()}`;
      await createConnection(slug, { key: ctx.ownerKey, authType: 'bearer', credential: 'first-secret' });
      return { connection: slug };
    },
  },
  'POST /api/v1/connections/:slug/tools/approve': {
    // A listed tool nobody approved yet (the gateway records what upstreams list); quarantined next.
    prepare: async (f, ctx) => {
      const now = Date.now();
      await env.DB.prepare(
        `INSERT INTO tool_inventory (id, org_id, connection_id, kind, name, fingerprint, version, first_seen, last_seen)
         VALUES (?, ?, ?, 'tool', 'lookup', ?, 1, ?, ?)`,
      )
        .bind(randomId('inv'), ctx.orgId, f.connectionId, 'f'.repeat(64), now, now)
        .run();
      return {};
    },
  },
  'POST /api/v1/scans/:id/suppressions': {
    // A scan with findings: a connection to the test upstream's vulnerable server.
    prepare: async (_f, ctx) => {
      const slug = `mx-vuln-${randomId('s').slice(-8).toLowerCase()}`;
      await createConnection(slug, { key: ctx.ownerKey, authType: 'none', upstreamPath: '/vulnerable' });
      const res = await call('POST', '/api/v1/scans', { key: ctx.ownerKey, body: { connection: slug } });
      const scan = (await res.json()) as { id: string; findings: { id: string }[] };
      return { scan: scan.id, finding: scan.findings[0]?.id };
    },
    body: (f) => ({ finding: f.finding, reason: 'mx' }),
  },
  'POST /api/v1/connections/:slug/agent-card/refresh': {
    // A pasted card is refreshed by sending the new one.
    body: () => ({ agentCard: { ...agentConnection('mx').agentCard, version: '1.0.1' } }),
  },
  'PUT /api/v1/connections/:slug/policy': {
    body: () => ({
      rules: [
        { tool: 'delete_*', action: 'deny' },
        { tool: '*', action: 'allow' },
      ],
    }),
  },
  'PUT /api/v1/detections/rules/:ruleId': {
    body: (f) => ({ ...detectionRule(f.rule), description: 'changed' }),
  },
  'PUT /api/v1/detections/packs/:name': {
    body: (f) => ({ name: f.pack, description: 'changed', rules: [f.rule] }),
  },
  'DELETE /api/v1/connections/:slug/upstream-oauth': {
    // The owner's own upstream link (as the upstream's token endpoint would have left it).
    prepare: async (f, ctx) => {
      const id = await env.DB.prepare('SELECT id FROM connections WHERE org_id = ? AND slug = ?')
        .bind(ctx.orgId, f.oauthConnection)
        .first<{ id: string }>();
      await env.DB.prepare(
        `INSERT INTO upstream_oauth_tokens (org_id, connection_id, user_id, access_token_ciphertext, updated_at)
         VALUES (?, ?, ?, 'not-a-real-ciphertext', ?)`,
      )
        .bind(ctx.orgId, id!.id, ctx.ownerUserId, Date.now())
        .run();
      return {};
    },
  },
  'PATCH /api/v1/organizations/current': { body: (_f, u) => ({ name: `mx-renamed-${u}` }) },
  'POST /api/v1/kill-switch': {
    // The fixtures' connection holds a switch already: the A2A connection gets a new one.
    body: (f) => ({ scope: 'connection', target: f.agent, reason: 'mx' }),
  },
  'POST /api/v1/scans': { body: (f) => ({ connection: f.connection }) },
  'POST /api/v1/approvals/:id/deny': { prepare: pendingApproval },
  'POST /api/v1/alerts/bulk': { body: (f) => ({ ids: [f.alert], status: 'dismissed' }) },
  // After the bulk change above: a dismissed alert may be reopened.
  'PATCH /api/v1/alerts/:id': { body: () => ({ status: 'open', comment: 'looking' }) },
  'POST /api/v1/alerts/deliveries/:id/replay': {
    // Only a dead letter is replayed: the fixtures' delivery failed, and is now out of attempts.
    prepare: async (f) => {
      await env.DB.prepare("UPDATE notify_deliveries SET status = 'dead' WHERE id = ?")
        .bind(f.delivery)
        .run();
      return {};
    },
  },
  'DELETE /api/v1/oauth/grants/:grantId': {
    prepare: async (f, ctx) => ({ none: (await oauthGrant(f, ctx)).grant }),
  },
  'DELETE /api/v1/oauth/clients/:clientId': {
    prepare: async (f, ctx) => ({ none: (await oauthGrant(f, ctx)).client }),
  },
  'POST /api/auth/organizations/:id/leave': {
    // A member leaves (the last owner may not): its member.leave row is in the organization left.
    caller: (ctx) => signedIn(ctx.orgId, 'developer'),
  },
  'POST /api/v1/teams/:id/members': {
    // The fixtures' developer is in the team already (adding again changes nothing): a new member.
    prepare: async (_f, ctx) => ({ user: (await addMember(ctx.orgId, 'developer')).userId }),
    body: (f) => ({ userId: f.user }),
  },
  'DELETE /api/auth/members/:userId': {
    // The fixtures' developer is removed by DELETE /api/v1/members/:id: another member here.
    prepare: async (_f, ctx) => ({ user: (await addMember(ctx.orgId, 'auditor')).userId }),
  },
  'DELETE /api/v1/members/:id': {
    prepare: async (_f, ctx) => {
      const { userId } = await addMember(ctx.orgId, 'developer');
      return { member: await memberIdOf(ctx.orgId, userId) };
    },
  },
};
