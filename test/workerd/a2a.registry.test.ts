/**
 * The A2A registry and gateway inside workerd, on a pasted AgentCard (the fetched path and the
 * forwarded calls are end to end, test/e2e/a2a.gateway.*.e2e.test.ts): creation and its
 * validation (card shape, the endpoint's URL rules, fields only a2a connections take), the
 * rewritten card, a refresh that records what changed, and the refusals the gateway makes before
 * anything is forwarded — an unknown method, a denied skill, a batch, another organization's slug
 * — each in JSON-RPC with A2A-safe codes and an `a2a_call` audit row.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { refreshConnectionCard, resolveCard } from '../../workers/a2a/a2a.registry';
import type { Principal } from '../../workers/app.types';
import { AppError } from '../../workers/lib/errors';
import { createVault } from '../../workers/vault/vault.crypto';
import {
  addMember,
  adminAuditRows,
  call,
  createOrg,
  expectApiError,
  expectJson,
  flushAudit,
  putPolicy,
  type TestOrg,
} from './helpers';
import { fetchWorker, OAUTH_BASE } from './oauth.helpers';

const AGENT = 'https://agent.example.com';

function card(description = 'A test agent', endpoint = `${AGENT}/a2a`) {
  return {
    name: 'Card agent',
    description,
    version: '1.0.0',
    supportedInterfaces: [{ url: endpoint, protocolBinding: 'JSONRPC', protocolVersion: '1.0', tenant: '' }],
    securitySchemes: { agentKey: { apiKeySecurityScheme: { location: 'header', name: 'X-Agent-Key' } } },
    securityRequirements: [{ schemes: { agentKey: { list: [] } } }],
    capabilities: { streaming: true },
    skills: [
      { id: 'echo', name: 'Echo' },
      { id: 'admin.reset', name: 'Reset' },
    ],
    signatures: [{ protected: 'x', signature: 'y' }],
  };
}

let org: TestOrg;

async function createAgent(slug: string, agentCard: unknown, key = org.key) {
  return call('POST', '/api/v1/connections', {
    key,
    body: { slug, name: slug, type: 'a2a', agentCard, authType: 'bearer', credential: `agent-cred-${slug}` },
  });
}

async function createAgentByUrl(slug: string, agentCardUrl: string) {
  return call('POST', '/api/v1/connections', {
    key: org.key,
    body: { slug, name: slug, type: 'a2a', agentCardUrl, credential: env.A2A_AGENT_CREDENTIAL },
  });
}

async function rpc(slug: string, body: unknown, key = org.key, headers: Record<string, string> = {}) {
  const res = await call('POST', `/v1/a2a/${slug}`, { key, body, headers });
  return {
    status: res.status,
    body: (await res.json()) as { id: unknown; error?: { code: number; data: { code: string } } },
  };
}

async function a2aRows(traceId: string) {
  await flushAudit();
  const { results } = await env.DB.prepare(
    'SELECT type, method, tool, action, error_code FROM audit_events WHERE org_id = ? AND trace_id = ?',
  )
    .bind(org.orgId, traceId)
    .all<Record<string, unknown>>();
  return results;
}

beforeAll(async () => {
  org = await createOrg('owner');
  await expectJson(await createAgent('agent', card()), 201);
  await putPolicy('agent', [{ tool: 'echo', action: 'allow' }], org.key);
});

describe('registering an agent', () => {
  it('stores a pasted card: the endpoint becomes the upstream, the gateway URL is /v1/a2a', async () => {
    const dto = await expectJson<{ type: string; upstreamUrl: string; gatewayUrl: string }>(
      await call('GET', '/api/v1/connections/agent', { key: org.key }),
      200,
    );
    expect(dto).toMatchObject({
      type: 'a2a',
      upstreamUrl: `${AGENT}/a2a`,
      gatewayUrl: 'http://gateway.test/v1/a2a/agent',
    });
    const stored = await expectJson<{ skills: string[]; cardUrl: string | null }>(
      await call('GET', '/api/v1/connections/agent/agent-card', { key: org.key }),
      200,
    );
    expect(stored).toMatchObject({ skills: ['echo', 'admin.reset'], cardUrl: null });
  });

  it('refuses a card without a JSON-RPC interface, an endpoint with credentials, and card fields on mcp', async () => {
    const noInterface = await expectApiError(
      await createAgent('bad-1', { name: 'x', skills: [] }),
      400,
      'validation_failed',
    );
    expect(noInterface.details?.issues?.[0]?.path).toBe('agentCard');
    const withSecret = await expectApiError(
      await createAgent('bad-2', card('x', 'https://user:pw@agent.example.com/a2a')),
      400,
      'validation_failed',
    );
    expect(withSecret.details?.issues?.[0]).toMatchObject({
      path: 'agentCard.supportedInterfaces',
      rule: 'credentials',
    });
    const mcp = await call('POST', '/api/v1/connections', {
      key: org.key,
      body: { slug: 'bad-3', name: 'x', upstreamUrl: AGENT, authType: 'none', agentCardUrl: AGENT },
    });
    await expectApiError(mcp, 400, 'validation_failed');
    const repoint = await call('PATCH', '/api/v1/connections/agent', {
      key: org.key,
      body: { upstreamUrl: 'https://elsewhere.example.com/a2a' },
    });
    expect((await expectApiError(repoint, 400, 'validation_failed')).details?.issues?.[0]?.path).toBe(
      'upstreamUrl',
    );
  });

  it('a refresh with a new card records what changed, once', async () => {
    await expectJson(await createAgent('drift', card()), 201);
    const next = { ...card('Now different'), skills: [{ id: 'echo', name: 'Echo' }, { id: 'new.skill' }] };
    const result = await expectJson<{ changed: boolean; changes: Record<string, unknown> }>(
      await call('POST', '/api/v1/connections/drift/agent-card/refresh', {
        key: org.key,
        body: { agentCard: next },
      }),
      200,
    );
    expect(result.changed).toBe(true);
    expect(result.changes).toMatchObject({
      fields: ['description'],
      skillsAdded: ['new.skill'],
      skillsRemoved: ['admin.reset'],
      endpoint: null,
    });
    const again = await expectJson<{ changed: boolean }>(
      await call('POST', '/api/v1/connections/drift/agent-card/refresh', {
        key: org.key,
        body: { agentCard: next },
      }),
      200,
    );
    expect(again.changed).toBe(false);
    const rows = await adminAuditRows(org.orgId, 'connection.agent_card.changed');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.details).toMatchObject({ source: 'pasted', skillsAdded: ['new.skill'] });
  });
});

/** The field issues of a validation error thrown by the registry. */
function issuesOf(err: unknown): unknown {
  expect(err).toBeInstanceOf(AppError);
  return ((err as AppError).details as { issues?: unknown }).issues;
}

describe('a card moving the endpoint to another origin', () => {
  it('needs the credential for the new host: else refused, and card, endpoint and credential stay', async () => {
    expect((await createAgent('moving', card())).status).toBe(201);
    const admin = await addMember(org.orgId, 'admin');
    const stored = () =>
      env.DB.prepare(
        `SELECT c.upstream_url, c.credential_ciphertext, k.card_hash FROM connections c
           JOIN a2a_agent_cards k ON k.connection_id = c.id WHERE c.org_id = ? AND c.slug = 'moving'`,
      )
        .bind(org.orgId)
        .first<{ upstream_url: string; credential_ciphertext: string }>();
    const before = await stored();
    const refresh = (body: Record<string, unknown>) =>
      call('POST', '/api/v1/connections/moving/agent-card/refresh', { key: admin.key, body });
    const elsewhere = card('A test agent', 'https://agent.attacker.example/a2a');
    const refused = await refresh({ agentCard: elsewhere });
    const text = await refused.text();
    expect(refused.status, text).toBe(400);
    expect(JSON.parse(text).error.details.issues[0]).toMatchObject({
      path: 'credential',
      rule: 'credential_required_for_new_origin',
    });
    expect(text).not.toContain('agent-cred-moving');
    expect(await stored()).toEqual(before);

    // Same origin, another path: the credential stays with it.
    expect((await refresh({ agentCard: card('A test agent', `${AGENT}/v2/a2a`) })).status).toBe(200);
    // Another origin with its credential: moved, and the new credential replaces the old one.
    const moved = await refresh({ agentCard: elsewhere, credential: 'agent-cred-new-host' });
    expect(moved.status, await moved.clone().text()).toBe(200);
    const after = await stored();
    expect(after?.upstream_url).toBe('https://agent.attacker.example/a2a');
    const vault = await createVault({ current: env.ENCRYPTION_KEY! });
    const id = (
      await env.DB.prepare("SELECT id FROM connections WHERE org_id = ? AND slug = 'moving'")
        .bind(org.orgId)
        .first<{ id: string }>()
    )?.id;
    expect(await vault.decrypt(after!.credential_ciphertext, `${org.orgId}:${id}`)).toBe(
      'agent-cred-new-host',
    );
    const rows = await adminAuditRows(org.orgId, 'connection.agent_card.changed');
    expect(JSON.stringify(rows)).not.toContain('agent-cred-new-host');
  });
});

describe('SSRF rules on card and agent URLs', () => {
  const production = { ...env, ALLOW_PRIVATE_UPSTREAMS: 'false' };

  it('refuses card URLs and agent endpoints on private, loopback or metadata hosts, and plain http', async () => {
    for (const [agentCardUrl, rule] of [
      ['https://169.254.169.254/latest', 'cloud-metadata'],
      ['https://10.1.2.3', 'private'],
      ['https://127.0.0.1:8443', 'loopback'],
      ['https://[::1]/', 'loopback'],
      ['http://agent.example.com', 'scheme'],
      ['https://user:pw@agent.example.com', 'credentials'],
    ] as const) {
      const err = await resolveCard(production, { agentCardUrl }).catch((e: unknown) => e);
      expect(err, agentCardUrl).toBeInstanceOf(AppError);
      expect(issuesOf(err)).toEqual([expect.objectContaining({ path: 'agentCardUrl', rule })]);
    }
    // A card (pasted here; a fetched one goes through the same check) naming an internal endpoint.
    const pasted = await resolveCard(production, {
      agentCard: card('x', 'https://192.168.1.20/a2a'),
    }).catch((e: unknown) => e);
    expect(issuesOf(pasted)).toEqual([
      expect.objectContaining({ path: 'agentCard.supportedInterfaces', rule: 'private' }),
    ]);
    // A refresh applies the same rules: a new card moving the endpoint inside is refused, and
    // the connection keeps its endpoint.
    const row = await env.DB.prepare(
      "SELECT id, slug, type FROM connections WHERE org_id = ? AND slug = 'agent'",
    )
      .bind(org.orgId)
      .first<{ id: string; slug: string; type: string }>();
    const principal = { orgId: org.orgId, actor: `user:${org.userId}`, kind: 'api_key' } as Principal;
    const moved = await refreshConnectionCard(
      production,
      principal,
      row!,
      card('A test agent', 'https://169.254.169.254/a2a'),
    ).catch((e: unknown) => e);
    expect(issuesOf(moved)).toEqual([expect.objectContaining({ rule: 'cloud-metadata' })]);
    const dto = await expectJson<{ upstreamUrl: string }>(
      await call('GET', '/api/v1/connections/agent', { key: org.key }),
      200,
    );
    expect(dto.upstreamUrl).toBe(`${AGENT}/a2a`);
  });

  it('does not follow a redirect from the card URL', async () => {
    const res = await createAgentByUrl('redirected', `${env.A2A_AGENT_URL}/moved/agent-card.json`);
    const err = await expectApiError(res, 400, 'validation_failed');
    expect(err.details?.issues?.[0]).toMatchObject({ path: 'agentCardUrl', rule: 'agent_card_fetch' });
    // The same agent's own card URL is accepted (the refusal above is the redirect, not the agent).
    await expectJson(await createAgentByUrl('direct', env.A2A_AGENT_URL), 201);
  });
});

describe('the rewritten card', () => {
  it('points at the gateway, names only Igris schemes (key and OAuth) and drops the signatures', async () => {
    const res = await call('GET', '/v1/a2a/agent/.well-known/agent-card.json', { key: org.key });
    const text = await res.text();
    expect(res.status).toBe(200);
    const served = JSON.parse(text);
    expect(served.supportedInterfaces).toEqual([
      expect.objectContaining({ url: 'http://gateway.test/v1/a2a/agent', protocolBinding: 'JSONRPC' }),
    ]);
    expect(Object.keys(served.securitySchemes)).toEqual(['igris', 'igris-oauth']);
    expect(served.signatures).toBeUndefined();
    expect(text).not.toContain('agent.example.com');
  });

  it('offers Igris OAuth (A2A v1.0 oauth2SecurityScheme, RFC 8414 metadata URL) only while OAuth is on', async () => {
    await expectJson(await createAgent('agent-oauth', card()), 201);
    type Card = { securitySchemes: Record<string, unknown>; securityRequirements: unknown[] };
    const cardOf = async () =>
      expectJson<Card>(
        await fetchWorker('/v1/a2a/agent-oauth/.well-known/agent-card.json', {
          headers: { Authorization: `Bearer ${org.key}` },
        }),
        200,
      );
    const served = await cardOf();
    const base = OAUTH_BASE;
    expect(served.securitySchemes['igris-oauth']).toEqual({
      oauth2SecurityScheme: {
        description: expect.any(String),
        oauth2MetadataUrl: `${base}/.well-known/oauth-authorization-server`,
        flows: {
          authorizationCode: {
            authorizationUrl: `${base}/api/oauth/authorize`,
            tokenUrl: `${base}/token`,
            refreshUrl: `${base}/token`,
            scopes: { 'gateway:call': expect.any(String) },
            pkceRequired: true,
          },
        },
      },
    });
    // Alternatives: the key, or an OAuth token with gateway:call.
    expect(served.securityRequirements).toEqual([
      { schemes: { igris: { list: [] } } },
      { schemes: { 'igris-oauth': { list: ['gateway:call'] } } },
    ]);
    // The metadata URL it names is served, and names the same endpoints.
    const metadata = await expectJson<Record<string, unknown>>(
      await fetchWorker('/.well-known/oauth-authorization-server'),
      200,
    );
    expect(metadata).toMatchObject({ issuer: base, token_endpoint: `${base}/token` });

    await expectJson(
      await call('PATCH', '/api/v1/connections/agent-oauth', {
        key: org.key,
        body: { settings: { oauth: { enabled: false } } },
      }),
      200,
    );
    const off = await cardOf();
    expect(Object.keys(off.securitySchemes)).toEqual(['igris']);
    expect(off.securityRequirements).toEqual([{ schemes: { igris: { list: [] } } }]);
  });

  it('needs a key, and is not found for another organization', async () => {
    expect((await call('GET', '/v1/a2a/agent/.well-known/agent-card.json', { key: null })).status).toBe(401);
    const other = await createOrg('owner');
    await expectApiError(
      await call('GET', '/v1/a2a/agent/.well-known/agent-card.json', { key: other.key }),
      404,
      'not_found',
    );
    const rpcAnswer = await rpc(
      'agent',
      { jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: 't' } },
      other.key,
    );
    expect(rpcAnswer.status).toBe(404);
    expect(rpcAnswer.body.error).toMatchObject({ code: -32044, data: { code: 'not_found' } });
  });
});

describe('gateway refusals before forwarding', () => {
  it('an unknown method is -32601 and audited', async () => {
    const answer = await rpc(
      'agent',
      { jsonrpc: '2.0', id: 'u1', method: 'GetExtendedAgentCard', params: {} },
      org.key,
      { 'X-Igris-Trace-Id': 'a2a-unknown' },
    );
    expect(answer.body).toMatchObject({
      id: 'u1',
      error: { code: -32601, data: { code: 'method_not_found' } },
    });
    expect(await a2aRows('a2a-unknown')).toEqual([
      {
        type: 'a2a_call',
        method: 'GetExtendedAgentCard',
        tool: null,
        action: 'error',
        error_code: 'method_not_found',
      },
    ]);
  });

  it('a denied skill is -32046 (outside A2A’s reserved codes) with the skill as the audited tool', async () => {
    const answer = await rpc(
      'agent',
      {
        jsonrpc: '2.0',
        id: 2,
        method: 'message/send',
        params: {
          message: {
            messageId: 'm',
            role: 'user',
            parts: [{ kind: 'text', text: 'x' }],
            metadata: { skillId: 'admin.reset' },
          },
        },
      },
      org.key,
      { 'X-Igris-Trace-Id': 'a2a-deny' },
    );
    expect(answer.body).toMatchObject({ id: 2, error: { code: -32046, data: { code: 'policy_denied' } } });
    expect(await a2aRows('a2a-deny')).toEqual([
      {
        type: 'a2a_call',
        method: 'message/send',
        tool: 'admin.reset',
        action: 'deny',
        error_code: 'policy_denied',
      },
    ]);
  });

  it('a method without a skill is governed by its v1.0 name (no rule: denied)', async () => {
    const answer = await rpc(
      'agent',
      { jsonrpc: '2.0', id: 3, method: 'tasks/get', params: { id: 't' } },
      org.key,
      {
        'X-Igris-Trace-Id': 'a2a-method',
      },
    );
    expect(answer.body.error?.data.code).toBe('policy_denied');
    expect((await a2aRows('a2a-method'))[0]).toMatchObject({ method: 'tasks/get', tool: 'GetTask' });
  });

  it('a batch or a notification is an invalid request', async () => {
    const batch = await rpc('agent', [{ jsonrpc: '2.0', id: 1, method: 'GetTask', params: {} }]);
    expect(batch.body.error?.data.code).toBe('invalid_request');
    const notification = await rpc('agent', { jsonrpc: '2.0', method: 'GetTask', params: {} });
    expect(notification.body.error?.data.code).toBe('invalid_request');
  });
});
