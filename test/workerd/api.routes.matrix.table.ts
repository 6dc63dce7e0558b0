/**
 * The expectations of the route matrix (api.routes.matrix.test.ts), keyed `METHOD /path` exactly as
 * the app's router lists its routes. The test fails when a route of the app is missing here or an
 * entry names no route, so adding a route forces a decision about who may call it.
 *
 * Each entry names the permission docs/permissions.md gives the route (its grants per role are in
 * api.routes.matrix.roles.ts), the ids its path names and a valid body.
 */
import { env } from 'cloudflare:workers';
import type { FixtureKind } from './api.routes.matrix.fixtures';
import { detectionRule, MISSING, webhookChannel, xaaIssuer } from './api.routes.matrix.fixtures';
import type { RouteExpectation } from './api.routes.matrix.roles';

const HIDDEN_APPROVAL =
  "an approval holds another member's call and its arguments: a developer reads (and decides) only those of their own connections and calls, and any other is not found (approvals.test.ts)";
const personal = (reason: string): RouteExpectation => ({ perm: 'personal', reason });
const conn: FixtureKind[] = ['connection'];
const suppression = { finding: '0'.repeat(64), reason: 'matrix' };

export const EXPECTATIONS: Record<string, RouteExpectation> = {
  'GET /api/v1/openapi.json': {
    perm: 'public',
    reason: 'the API description, public by design (docs/permissions.md)',
  },
  'GET /api/v1/docs': { perm: 'public', reason: 'its browsable rendering' },
  'GET /api/v1/metrics/prometheus': { perm: 'audit:read', allOnly: true },

  'GET /api/v1/connections': { perm: 'connections:read' },
  'POST /api/v1/connections': {
    perm: 'connections:write',
    body: (_f, u) => ({
      slug: `mx-new-${u}`,
      name: u,
      upstreamUrl: `${env.UPSTREAM_URL}/stateless`,
      authType: 'none',
    }),
  },
  'GET /api/v1/connections/:slug': { perm: 'connections:read', ids: conn },
  'PATCH /api/v1/connections/:slug': {
    perm: 'connections:write',
    ids: conn,
    body: () => ({ name: 'changed' }),
  },
  'DELETE /api/v1/connections/:slug': { perm: 'connections:write', ids: conn },
  'POST /api/v1/connections/:slug/rotate': {
    perm: 'connections:write',
    ids: conn,
    body: () => ({ credential: 'rotated-secret' }),
  },
  'POST /api/v1/connections/:slug/disable': { perm: 'connections:write', ids: conn },
  'POST /api/v1/connections/:slug/enable': { perm: 'connections:write', ids: conn },
  'GET /api/v1/connections/:slug/tools': { perm: 'connections:read', ids: conn },
  'GET /api/v1/connections/:slug/tools/history': { perm: 'connections:read', ids: conn },
  'POST /api/v1/connections/:slug/tools/approve': {
    perm: 'tools:approve',
    ids: conn,
    body: () => ({ all: true }),
  },
  'POST /api/v1/connections/:slug/tools/quarantine': {
    perm: 'tools:approve',
    ids: conn,
    body: () => ({ kind: 'tool', name: 'lookup' }),
  },
  'POST /api/v1/connections/:slug/tools/rescan': { perm: 'tools:approve', ids: conn },
  // The connection form (docs/tool-integrity.md): scanning with the connection's credential is using it.
  'POST /api/v1/scans': {
    perm: 'connections:use',
    refusal: 'connection_forbidden',
    body: (f, _u, missing) => ({ connection: missing ? MISSING : f.connection }),
    allowed: [404],
  },
  'GET /api/v1/scans': { perm: 'connections:read' },
  'GET /api/v1/scans/:id': { perm: 'connections:read', ids: ['scan'] },
  'POST /api/v1/scans/:id/suppressions': { perm: 'tools:approve', ids: ['scan'], body: () => suppression },
  'GET /api/v1/connections/:slug/scan-suppressions': { perm: 'connections:read', ids: conn },
  'DELETE /api/v1/connections/:slug/scan-suppressions/:id': {
    perm: 'tools:approve',
    ids: ['connection', 'suppression'],
  },
  'GET /api/v1/connections/:slug/agent-card': { perm: 'connections:read', ids: ['agent'] },
  'POST /api/v1/connections/:slug/agent-card/refresh': {
    perm: 'connections:write',
    ids: ['agent'],
    body: () => ({}),
  },
  'GET /api/v1/connections/:slug/tasks': { perm: 'audit:read', ids: ['agent'] },
  'GET /api/v1/connections/:slug/tasks/:taskId': {
    perm: 'audit:read',
    ids: ['agent', 'task'],
  },

  'GET /api/v1/policy/templates': { perm: 'member' },
  'GET /api/v1/connections/:slug/policy': { perm: 'policies:read', ids: conn },
  'PUT /api/v1/connections/:slug/policy': { perm: 'policies:write', ids: conn, body: () => ({ rules: [] }) },
  'GET /api/v1/connections/:slug/policy/versions': { perm: 'policies:read', ids: conn },
  'GET /api/v1/connections/:slug/policy/versions/:version': {
    perm: 'policies:read',
    ids: ['connection', 'policyVersion'],
  },
  'POST /api/v1/connections/:slug/policy/rollback': {
    perm: 'policies:write',
    ids: conn,
    body: () => ({ version: 1 }),
  },
  'POST /api/v1/connections/:slug/policy/simulate': {
    perm: 'policies:read',
    ids: conn,
    body: () => ({ tool: 'echo' }),
  },
  'POST /api/v1/connections/:slug/policy/replay': {
    perm: 'policies:read',
    ids: conn,
    body: () => ({ rules: [{ tool: '*', action: 'allow' }], limit: 10 }),
  },

  'GET /api/v1/api-keys': { perm: 'apikeys:read' },
  'POST /api/v1/api-keys': { perm: 'apikeys:write', body: (_f, u) => ({ name: `mx-${u}` }) },
  'DELETE /api/v1/api-keys/:id': { perm: 'apikeys:write', ids: ['apiKey'] },
  'GET /api/v1/organizations/current': { perm: 'member' },
  'PATCH /api/v1/organizations/current': { perm: 'org:write', body: () => ({}) },
  'POST /api/v1/organizations/current/reencrypt-credentials': { perm: 'org:write' },
  'GET /api/v1/members': { perm: 'members:read' },
  'PATCH /api/v1/members/:id': { perm: 'members:write', ids: ['member'], body: () => ({ role: 'auditor' }) },
  'DELETE /api/v1/members/:id': { perm: 'members:write', ids: ['member'] },

  'GET /api/v1/audit-events': { perm: 'audit:read' },
  'GET /api/v1/audit-events/export': { perm: 'audit:read' },
  'GET /api/v1/audit-events/:id': { perm: 'audit:read', ids: ['auditEvent'] },
  'GET /api/v1/traces/:traceId': {
    perm: 'audit:read',
    ids: ['none'],
    foreignElsewhere: 'a trace is made by gateway calls: audit.api.list.test.ts',
  },
  'GET /api/v1/audit/verify': { perm: 'audit:read', allOnly: true },
  'GET /api/v1/audit/chain/export': { perm: 'audit:read', allOnly: true },
  'GET /api/v1/audit/checkpoints': { perm: 'audit:read', allOnly: true },
  'GET /api/v1/audit/signing-key': { perm: 'audit:read', allOnly: true },
  'GET /api/v1/events': { perm: 'audit:read', stream: true },
  'GET /api/v1/sessions': { perm: 'sessions:read' },
  'GET /api/v1/sessions/:id': { perm: 'sessions:read', ids: ['session'] },
  'POST /api/v1/sessions/:id/suspend': {
    perm: 'sessions:write',
    ids: ['session'],
    body: () => ({}),
  },
  'POST /api/v1/sessions/:id/resume': { perm: 'sessions:write', ids: ['session'] },
  'POST /api/v1/kill-switch': {
    perm: 'killswitch:write',
    body: () => ({ scope: 'connection', target: MISSING, reason: 'mx' }),
    allowed: [404],
  },
  'GET /api/v1/kill-switch': { perm: 'sessions:read' },
  'GET /api/v1/kill-switch/:id': { perm: 'sessions:read', ids: ['killSwitch'] },
  'DELETE /api/v1/kill-switch/:id': { perm: 'killswitch:write', ids: ['killSwitch'] },

  'GET /api/v1/llm/providers': { perm: 'member' },
  'GET /api/v1/llm/prices': { perm: 'member' },
  'PUT /api/v1/llm/prices': {
    perm: 'org:write',
    body: () => ({ provider: 'openai-compatible', model: 'mx-model', inputPerMTok: 1, outputPerMTok: 1 }),
  },
  'DELETE /api/v1/llm/prices': { perm: 'org:write', query: '?provider=openai-compatible&model=mx-model' },
  'GET /api/v1/llm/usage': { perm: 'audit:read' },

  'GET /api/v1/teams': { perm: 'members:read' },
  'POST /api/v1/teams': { perm: 'members:write', body: (_f, u) => ({ name: `mx-${u}` }) },
  'GET /api/v1/teams/:id': { perm: 'members:read', ids: ['team'] },
  'PATCH /api/v1/teams/:id': { perm: 'members:write', ids: ['team'], body: () => ({ name: 'changed' }) },
  'DELETE /api/v1/teams/:id': { perm: 'members:write', ids: ['team'] },
  'POST /api/v1/teams/:id/members': {
    perm: 'members:write',
    ids: ['team'],
    body: (f) => ({ userId: f.developerUserId }),
  },
  'DELETE /api/v1/teams/:id/members/:memberId': { perm: 'members:write', ids: ['team', 'teamMember'] },
  'GET /api/v1/budgets': { perm: 'member' },
  'POST /api/v1/budgets': { perm: 'org:write', body: () => ({ scope: 'org', limitUsd: 10 }) },
  'GET /api/v1/budgets/:id': { perm: 'member', ids: ['budget'] },
  'PATCH /api/v1/budgets/:id': { perm: 'org:write', ids: ['budget'], body: () => ({ limitUsd: 1_000_000 }) },
  'DELETE /api/v1/budgets/:id': { perm: 'org:write', ids: ['budget'] },
  'POST /api/v1/budgets/:id/reset': { perm: 'org:write', ids: ['budget'] },
  'GET /api/v1/system-prompts': { perm: 'policies:read' },
  'POST /api/v1/system-prompts': {
    perm: 'policies:write',
    body: (_f, u) => ({ name: `mx-${u}`, text: 'Hi.' }),
  },
  'POST /api/v1/system-prompts/preview': { perm: 'policies:read', body: () => ({ text: 'Hi {{user}}.' }) },
  'GET /api/v1/system-prompts/:id': {
    perm: 'policies:read',
    ids: ['prompt'],
    ownReadable: "a prompt is the organization's: any prompt may be read and assigned (docs/permissions.md)",
  },
  'PATCH /api/v1/system-prompts/:id': {
    perm: 'policies:write',
    ids: ['prompt'],
    body: () => ({ text: 'Changed.' }),
  },
  'DELETE /api/v1/system-prompts/:id': { perm: 'policies:write', ids: ['prompt'] },
  'POST /api/v1/system-prompts/:id/assignments': {
    perm: 'policies:write',
    ids: ['prompt'],
    body: (f) => ({ target: 'team', targetId: f.team }),
  },
  'DELETE /api/v1/system-prompts/:id/assignments/:assignmentId': {
    perm: 'policies:write',
    ids: ['prompt', 'assignment'],
  },
  'GET /api/v1/metrics/tokens': { perm: 'org:write' },
  'POST /api/v1/metrics/tokens': { perm: 'org:write', body: (_f, u) => ({ name: `mx-${u}` }) },
  'DELETE /api/v1/metrics/tokens/:id': { perm: 'org:write', ids: ['metricsToken'] },

  'POST /api/v1/detections/scan': { perm: 'policies:read', body: () => ({ text: 'hello', where: 'prompt' }) },
  'GET /api/v1/detections/rules': { perm: 'policies:read' },
  'POST /api/v1/detections/rules': {
    perm: 'policies:write',
    body: (_f, u) => detectionRule(`custom.mx_new_${u}`),
  },
  'PUT /api/v1/detections/rules/:ruleId': {
    perm: 'policies:write',
    ids: ['rule'],
    body: (f) => ({ ...detectionRule(f.rule), id: undefined, description: 'changed' }),
  },
  'DELETE /api/v1/detections/rules/:ruleId': { perm: 'policies:write', ids: ['rule'] },
  'GET /api/v1/detections/packs': { perm: 'policies:read' },
  'POST /api/v1/detections/packs': {
    perm: 'policies:write',
    body: (f, u) => ({ name: `mx-new-${u}`, description: 'matrix', rules: [f.rule] }),
  },
  'PUT /api/v1/detections/packs/:name': {
    perm: 'policies:write',
    ids: ['pack'],
    body: (f) => ({ description: 'changed', rules: [f.rule] }),
  },
  'DELETE /api/v1/detections/packs/:name': { perm: 'policies:write', ids: ['pack'] },

  'GET /api/v1/alerts/channels': { perm: 'audit:read', allOnly: true },
  'POST /api/v1/alerts/channels': { perm: 'org:write', body: (_f, u) => webhookChannel(u) },
  'GET /api/v1/alerts/channels/:id': { perm: 'audit:read', allOnly: true, ids: ['channel'] },
  'PATCH /api/v1/alerts/channels/:id': {
    perm: 'org:write',
    ids: ['channel'],
    body: () => ({ name: 'changed' }),
  },
  'DELETE /api/v1/alerts/channels/:id': { perm: 'org:write', ids: ['channel'] },
  'POST /api/v1/alerts/channels/:id/test': { perm: 'org:write', ids: ['channel'] },
  'GET /api/v1/alerts/deliveries': { perm: 'audit:read', allOnly: true },
  'POST /api/v1/alerts/deliveries/:id/replay': {
    perm: 'org:write',
    ids: ['delivery'],
  },
  'GET /api/v1/alerts': { perm: 'audit:read', allOnly: true },
  'POST /api/v1/alerts/bulk': {
    perm: 'killswitch:write',
    body: () => ({ ids: ['alt_missing'], status: 'dismissed' }),
  },
  'PATCH /api/v1/alerts/:id': {
    perm: 'killswitch:write',
    ids: ['alert'],
    body: () => ({ status: 'dismissed' }),
  },
  'GET /api/v1/tracing': { perm: 'org:write' },
  'PUT /api/v1/tracing': {
    perm: 'org:write',
    body: () => ({ endpoint: 'https://otlp.example.com/v1/traces', headers: {}, sampleRate: 0.5 }),
  },
  'DELETE /api/v1/tracing': { perm: 'org:write' },
  'GET /api/v1/integrations/langfuse': { perm: 'org:write' },
  'PUT /api/v1/integrations/langfuse': {
    perm: 'org:write',
    body: () => ({ host: 'https://langfuse.example.com/', publicKey: 'pk-lf-mx', secretKey: 'sk-lf-mx' }),
  },
  'DELETE /api/v1/integrations/langfuse': { perm: 'org:write' },
  'GET /api/v1/approvals': { perm: 'audit:read' },
  'GET /api/v1/approvals/:id': {
    perm: 'audit:read',
    ids: ['approval'],
    hiddenFrom: ['developer'],
    hidden: HIDDEN_APPROVAL,
  },
  'POST /api/v1/approvals/:id/approve': {
    perm: 'approver',
    ids: ['approval'],
    body: () => ({}),
    refusalDetails: { approverRole: 'admin' },
    hiddenFrom: ['developer'],
    hidden: HIDDEN_APPROVAL,
  },
  'POST /api/v1/approvals/:id/deny': {
    perm: 'approver',
    ids: ['approval'],
    body: () => ({}),
    refusalDetails: { approverRole: 'admin' },
    hiddenFrom: ['developer'],
    hidden: HIDDEN_APPROVAL,
  },
  'GET /api/v1/oauth/grants': { perm: 'org:write' },
  'DELETE /api/v1/oauth/grants/:grantId': {
    perm: 'org:write',
    ids: ['none'],
    foreignElsewhere: 'a grant needs a whole OAuth consent: oauth.admin.test.ts',
  },
  'GET /api/v1/oauth/clients': { perm: 'org:write' },
  'DELETE /api/v1/oauth/clients/:clientId': {
    perm: 'org:write',
    ids: ['none'],
    foreignElsewhere: 'a client needs a whole OAuth consent: oauth.admin.test.ts',
  },
  'GET /api/v1/xaa/issuers': { perm: 'org:write' },
  'POST /api/v1/xaa/issuers': { perm: 'org:write', body: (_f, u) => xaaIssuer(`new-${u}`) },
  'DELETE /api/v1/xaa/issuers/:id': { perm: 'org:write', ids: ['issuer'] },
  'GET /api/v1/xaa/revocations': { perm: 'org:write' },
  'POST /api/v1/xaa/revocations': {
    perm: 'org:write',
    body: () => ({ issuer: 'https://idp.mx.example', subject: 's' }),
  },
  'GET /api/v1/xaa/stats': { perm: 'org:write' },
  'GET /api/v1/connections/:slug/upstream-oauth': {
    perm: 'connections:use',
    refusal: 'connection_forbidden',
    ids: ['oauthConnection'],
  },
  'DELETE /api/v1/connections/:slug/upstream-oauth': {
    perm: 'connections:use',
    refusal: 'connection_forbidden',
    ids: ['oauthConnection'],
  },

  // /api/auth: the routes that manage an organization's members and invitations are in the matrix
  // (signed-in people, through their cookie session); the rest are about the person themselves.
  'GET /api/auth/invitations': { perm: 'members:read', session: true },
  'POST /api/auth/invitations': {
    perm: 'members:write',
    session: true,
    body: (_f, u) => ({ email: `mx-${u}@invited.test`, role: 'auditor' }),
  },
  'DELETE /api/auth/invitations/:id': { perm: 'members:write', session: true, ids: ['invitation'] },
  'DELETE /api/auth/members/:userId': { perm: 'members:write', session: true, ids: ['user'] },
  'POST /api/auth/organizations/:id/leave': {
    perm: 'personal',
    ids: ['org'],
    reason: 'a person leaves an organization they belong to; any role may (auth.orgs.isolation.test.ts)',
  },
  'POST /api/auth/sign-up': personal('creates a person (and their own organization)'),
  'POST /api/auth/sign-in': personal('signs a person in'),
  'GET /api/auth/session': personal("the person's own session"),
  'POST /api/auth/sign-out': personal("ends the person's own session"),
  'POST /api/auth/sign-out-everywhere': personal("ends the person's own sessions"),
  'POST /api/auth/password': personal("changes the person's own password"),
  'POST /api/auth/password/reset': personal('mails a reset link'),
  'POST /api/auth/password/reset/confirm': personal('redeems a reset link'),
  'GET /api/auth/organizations': personal("lists the person's own memberships"),
  'POST /api/auth/organizations': personal('creates a new organization the person owns'),
  'POST /api/auth/organizations/switch': personal(
    "switches the session's active organization to one of the person's",
  ),
  'POST /api/auth/invitations/accept': personal('the invited person accepts with a mailed token'),
  'GET /api/auth/oauth/providers': personal('public: which sign-in providers are configured'),
  'GET /api/auth/oauth/:provider/start': personal('starts a sign-in'),
  'GET /api/auth/oauth/:provider/callback': personal('finishes a sign-in'),
  'GET /api/auth/openapi.json': personal('public: the auth API description'),
};
