/**
 * The A2A gateway end to end, the registry: a real agent built with the official `@a2a-js/sdk`
 * server (a2a.agent.ts) is registered by its card URL (or a pasted card), and the gateway serves a
 * rewritten card with itself as the interface and Igris as the security scheme, refreshed on demand
 * with a change recorded like drift. Set-up in a2a.gateway.fixtures.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AGENT_CREDENTIAL,
  type AuditRow,
  agent,
  RUN,
  SLUG,
  setUpA2aGateway,
} from './a2a.gateway.fixtures.ts';
import { adminKey, api, gatewayUrl, waitForAudit } from './helpers';

beforeAll(setUpA2aGateway);

afterAll(() => agent?.close());

describe('A2A registry and rewritten card', () => {
  it('serves the card with the gateway as its interface and Igris as its security scheme', async () => {
    const res = await fetch(`${gatewayUrl()}/v1/a2a/${SLUG}/.well-known/agent-card.json`, {
      headers: { Authorization: `Bearer ${adminKey()}` },
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    const card = JSON.parse(text);
    expect(card.supportedInterfaces).toEqual([
      expect.objectContaining({ url: `${gatewayUrl()}/v1/a2a/${SLUG}`, protocolBinding: 'JSONRPC' }),
    ]);
    // The key, and (OAuth on for the connection, the default) the gateway's OAuth as an alternative.
    expect(Object.keys(card.securitySchemes)).toEqual(['igris', 'igris-oauth']);
    expect(card.securitySchemes.igris.httpAuthSecurityScheme.scheme).toBe('Bearer');
    expect(card.skills.map((s: { id: string }) => s.id)).toEqual(['echo', 'slow', 'admin.reset']);
    // Nothing of the agent's own address or scheme is left.
    expect(text).not.toContain(agent.url);
    expect(text).not.toContain('agentBearer');
    const anonymous = await fetch(`${gatewayUrl()}/v1/a2a/${SLUG}/.well-known/agent-card.json`);
    expect(anonymous.status).toBe(401);
  });

  it('refreshes the card on demand and records a change like drift', async () => {
    const same = await api<{ changed: boolean }>('POST', `/connections/${SLUG}/agent-card/refresh`, {});
    expect(same).toMatchObject({ status: 200, body: { changed: false } });
    agent.setDescription(`changed ${RUN}`);
    const changed = await api<{ changed: boolean; changes: { fields: string[] } }>(
      'POST',
      `/connections/${SLUG}/agent-card/refresh`,
      {},
    );
    expect(changed.status).toBe(200);
    expect(changed.body.changed).toBe(true);
    expect(changed.body.changes.fields).toEqual(['description']);
    const stored = await api<{ card: { description: string } }>('GET', `/connections/${SLUG}/agent-card`);
    expect(stored.body.card.description).toBe(`changed ${RUN}`);
    await waitForAudit<AuditRow & { connectionSlug: string }>('type=admin', (rows) =>
      rows.some((r) => r.action === 'connection.agent_card.changed' && r.connectionSlug === SLUG),
    );
  });

  it('registers an agent from a pasted card', async () => {
    const pasted = await (await fetch(`${agent.url}/.well-known/agent-card.json`)).json();
    const res = await api<{ gatewayUrl: string }>('POST', '/connections', {
      slug: `${SLUG}-pasted`,
      name: 'Pasted agent',
      type: 'a2a',
      agentCard: pasted,
      credential: AGENT_CREDENTIAL,
    });
    expect(res.status).toBe(201);
    const refused = await api('POST', '/connections', {
      slug: `${SLUG}-bad`,
      name: 'Bad card',
      type: 'a2a',
      agentCard: { name: 'no interface' },
      authType: 'none',
    });
    expect(refused.status).toBe(400);
  });
});
