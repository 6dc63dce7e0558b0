/**
 * Fixtures of the route matrix (api.routes.matrix.test.ts): one of each resource a management route
 * names by id or slug, made in one organization by its owner through the API (so each has the
 * creator, org scoping and side rows the product gives it), and a snapshot of everything an
 * organization holds, to prove a foreign caller changed none of it.
 */
import { env } from 'cloudflare:workers';
import { agentSessionId } from '../../durable-objects/guard.contract';
import { hashApiKey } from '../../workers/auth/api-key.crypto';
import type { Role } from '../../workers/db/schema';
import { randomId } from '../../workers/lib/ids';
import { Browser } from './auth.helpers';
import {
  addMember,
  call,
  createApiKeyVia,
  createConnection,
  expectJson,
  memberIdOf,
  putPolicy,
} from './helpers';
import { upstreamModeConnection } from './oauth.helpers';

/** What a route's path parameter names. */
export type FixtureKind =
  | 'connection'
  /** An A2A connection's slug (its card and tasks). */
  | 'agent'
  /** The slug of a connection in OAuth upstream mode (each member's own upstream link). */
  | 'oauthConnection'
  | 'scan'
  | 'apiKey'
  | 'member'
  | 'auditEvent'
  | 'killSwitch'
  | 'team'
  | 'teamMember'
  | 'budget'
  | 'prompt'
  | 'assignment'
  | 'metricsToken'
  | 'rule'
  | 'pack'
  | 'channel'
  | 'issuer'
  | 'invitation'
  | 'org'
  | 'user'
  | 'session'
  | 'alert'
  | 'delivery'
  | 'suppression'
  | 'approval'
  | 'task'
  /** A version of the connection's policy (its first: the fixtures PUT one). */
  | 'policyVersion'
  /** Nothing the fixtures make (a session, a trace, an approval…): always MISSING. */
  | 'none';

export type Fixtures = Record<Exclude<FixtureKind, 'none'>, string> & {
  connectionId: string;
  developerUserId: string;
};

/** An id that exists nowhere (and is a valid slug, id and name for every route's schema). */
export const MISSING = 'zzmissing1';

async function post<T = { id: string }>(key: string, path: string, body: unknown, status = 201): Promise<T> {
  return expectJson<T>(await call('POST', `/api/v1${path}`, { key, body }), status);
}

/** One of each resource in `orgId`, made by its owner's key; `tag` keeps names apart across orgs. */
export async function makeFixtures(orgId: string, ownerKey: string, tag: string): Promise<Fixtures> {
  const slug = `mx-${tag}-conn`;
  const conn = await createConnection(slug, { key: ownerKey, authType: 'none' });
  await putPolicy(slug, [{ tool: '*', action: 'allow' }], ownerKey);
  const developer = await addMember(orgId, 'developer');
  const team = await post(ownerKey, '/teams', { name: `mx-${tag}-team` });
  const withMember = await post<{ members: { id: string }[] }>(ownerKey, `/teams/${team.id}/members`, {
    userId: developer.userId,
  });
  const prompt = await post(ownerKey, '/system-prompts', { name: `mx-${tag}-prompt`, text: 'Be brief.' });
  const assigned = await post<{ assignments: { id: string }[] }>(
    ownerKey,
    `/system-prompts/${prompt.id}/assignments`,
    { target: 'team', targetId: team.id },
  );
  const ruleId = `custom.mx_${tag}`;
  await post(ownerKey, '/detections/rules', detectionRule(ruleId));
  const pack = `mx-${tag}-pack`;
  await post(ownerKey, '/detections/packs', { name: pack, description: 'matrix', rules: [ruleId] });
  const channel = (await post(ownerKey, '/alerts/channels', webhookChannel(tag))).id;
  const agent = await post(ownerKey, '/connections', agentConnection(`mx-${tag}-agent`));
  const oauthConnection = `mx-${tag}-oauth`;
  await post(ownerKey, '/connections', upstreamModeConnection(oauthConnection));
  const rows = await insertRows(orgId, { id: conn.id, slug, agentId: agent.id }, channel);
  const fixtures: Fixtures = {
    ...rows,
    agent: `mx-${tag}-agent`,
    oauthConnection,
    connection: slug,
    policyVersion: '1',
    connectionId: conn.id,
    developerUserId: developer.userId,
    scan: (await post(ownerKey, '/scans', { connection: slug })).id,
    apiKey: (await createApiKeyVia(ownerKey, `mx-${tag}-key`)).id,
    member: await memberIdOf(orgId, developer.userId),
    killSwitch: (await post(ownerKey, '/kill-switch', { scope: 'connection', target: slug, reason: 'mx' }))
      .id,
    team: team.id,
    teamMember: withMember.members[0]!.id,
    budget: (await post(ownerKey, '/budgets', { scope: 'org', limitUsd: 10 })).id,
    prompt: prompt.id,
    assignment: assigned.assignments[0]!.id,
    metricsToken: (await post(ownerKey, '/metrics/tokens', { name: `mx-${tag}` })).id,
    rule: ruleId,
    pack,
    channel,
    issuer: (await post(ownerKey, '/xaa/issuers', xaaIssuer(tag))).id,
    invitation: await insertInvitation(orgId),
    auditEvent: '',
    org: orgId,
    user: developer.userId,
  };
  const row = await env.DB.prepare('SELECT id FROM audit_events WHERE org_id = ? LIMIT 1')
    .bind(orgId)
    .first<{ id: string }>();
  fixtures.auditEvent = row!.id;
  return fixtures;
}

export function detectionRule(id: string) {
  return {
    id,
    category: 'secret',
    severity: 'high',
    where: ['args'],
    detection: { literals: ['MXTICKET-'], pattern: 'MXTICKET-\\d{6}' },
    action: 'block',
    description: 'matrix fixture',
    examples: { positive: ['see MXTICKET-123456'], negative: ['no ticket'] },
  };
}

/** An A2A connection with its card given inline (no card to fetch). */
export function agentConnection(slug: string) {
  const agentCard = {
    name: 'Matrix agent',
    description: 'matrix fixture',
    version: '1.0.0',
    supportedInterfaces: [
      { url: `${env.A2A_AGENT_URL}/a2a`, protocolBinding: 'JSONRPC', protocolVersion: '1.0', tenant: '' },
    ],
    capabilities: { streaming: true },
    skills: [{ id: 'echo', name: 'Echo' }],
  };
  return { slug, name: slug, type: 'a2a', agentCard, authType: 'bearer', credential: `agent-cred-${slug}` };
}

export function webhookChannel(tag: string) {
  return {
    type: 'webhook',
    name: `mx-${tag}`,
    url: `${env.UPSTREAM_RECORDER_URL}/mx-${tag}`,
    secret: 'whsec-matrix-0123456789',
    eventTypes: ['budget'],
  };
}

export function xaaIssuer(tag: string) {
  return { issuer: `https://idp.${tag}.example`, jwksUri: `https://idp.${tag}.example/jwks`, clients: ['c'] };
}

/**
 * What only traffic makes — an alert and its delivery, a scan suppression, a held
 * approval, an A2A task — written straight to D1, as the gateway and the detectors would.
 */
async function insertRows(
  orgId: string,
  { id: connectionId, slug, agentId }: { id: string; slug: string; agentId: string },
  channelId: string,
) {
  const ids = {
    // One agent session per connection: its guard's (durable-objects/guard.contract.ts).
    session: agentSessionId(connectionId),
    alert: randomId('alt'),
    delivery: randomId('dlv'),
    suppression: randomId('sup'),
    approval: randomId('apr'),
    task: randomId('task'),
  };
  const now = Date.now();
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO alerts (id, org_id, fingerprint, type, severity, title, connection_id, first_seen_at, last_seen_at, updated_at)
       VALUES (?, ?, ?, 'anomaly', 'high', 'matrix', ?, ?, ?, ?)`,
    ).bind(ids.alert, orgId, ids.alert, connectionId, now, now, now),
    env.DB.prepare(
      `INSERT INTO notify_deliveries (id, org_id, channel_id, event_type, alert_id, payload, status, updated_at)
       VALUES (?, ?, ?, 'alert', ?, '{}', 'failed', ?)`,
    ).bind(ids.delivery, orgId, channelId, ids.alert, now),
    env.DB.prepare(
      `INSERT INTO scan_suppressions (id, org_id, connection_id, fingerprint, kind, item, reason, created_by)
       VALUES (?, ?, ?, ?, 'tool', 'lookup', 'matrix', 'usr_matrix')`,
    ).bind(ids.suppression, orgId, connectionId, '0'.repeat(64)),
    env.DB.prepare(
      `INSERT INTO approvals (id, org_id, connection_id, connection_slug, protocol, api_key_id, tool, args_hash, binding,
         status, requested_at, expires_at)
       VALUES (?, ?, ?, ?, 'mcp', 'key_matrix', 'echo', 'h', ?, 'pending', ?, ?)`,
    ).bind(ids.approval, orgId, connectionId, slug, `mx-${ids.approval}`, now, now + 3_600_000),
    env.DB.prepare(
      `INSERT INTO a2a_tasks (org_id, connection_id, task_id, state, created_at, updated_at)
       VALUES (?, ?, ?, 'working', ?, ?)`,
    ).bind(orgId, agentId, ids.task, now, now),
  ]);
  return ids;
}

/** A pending invitation (made in D1: POST /api/auth/invitations mails it, which the matrix does not need). */
async function insertInvitation(orgId: string): Promise<string> {
  const id = randomId('inv');
  await env.DB.prepare(
    'INSERT INTO invitations (id, org_id, email, role, token_hash, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
  )
    .bind(id, orgId, `${id}@invited.test`, 'developer', await hashApiKey(id), Date.now() + 86_400_000)
    .run();
  return id;
}

/**
 * Every row of every table holding an `org_id` column, for one organization: what a foreign
 * caller could change. Found from the schema, so a table added later is covered too.
 */
export async function snapshotOrg(orgId: string): Promise<string> {
  const { results: tables } = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'd1_%'",
  ).all<{ name: string }>();
  const parts: unknown[] = [];
  for (const { name } of tables) {
    const { results: columns } = await env.DB.prepare(`PRAGMA table_info("${name}")`).all<{ name: string }>();
    if (!columns.some((c) => c.name === 'org_id')) continue;
    const { results } = await env.DB.prepare(`SELECT * FROM "${name}" WHERE org_id = ? ORDER BY rowid`)
      .bind(orgId)
      .all();
    // When a key was last used is written after the answer (waitUntil), by the owner's own calls.
    parts.push([name, results.map(({ last_used_at: _, ...row }) => row)]);
  }
  const org = await env.DB.prepare('SELECT * FROM organizations WHERE id = ?').bind(orgId).first();
  return JSON.stringify([org, parts]);
}

/** A person signed in to organization `orgId` with `role` (their own sign-up org is left behind). */
export async function signedIn(orgId: string, role: Role): Promise<Browser> {
  const browser = new Browser();
  const session = await browser.signUp();
  await env.DB.prepare('INSERT INTO members (id, org_id, user_id, role) VALUES (?, ?, ?, ?)')
    .bind(randomId('mem'), orgId, session.user.id, role)
    .run();
  const switched = await browser.fetch('POST', '/api/auth/organizations/switch', {
    body: { organizationId: orgId },
  });
  if (switched.status !== 200) throw new Error(`switch: ${switched.status} ${await switched.text()}`);
  return browser;
}
