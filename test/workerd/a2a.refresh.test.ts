/**
 * The scheduled AgentCard refresh (workers/a2a/a2a.refresh.ts) against the real A2A agent: a card
 * whose endpoint has moved to another origin is refused (the stored credential does not follow
 * it) and then *held* — audited once and skipped by later runs instead of taking a run's slot each
 * time — until an admin's refresh with the new host's credential is accepted, which lifts the hold.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { CARD_MAX_AGE_MS, refreshDueCards } from '../../workers/a2a/a2a.refresh';
import { adminAuditRows, call, createOrg, expectJson, type TestOrg } from './helpers';

let org: TestOrg;

beforeAll(async () => {
  org = await createOrg('owner');
});

async function cardRow(slug: string) {
  return env.DB.prepare(
    `SELECT c.id, c.upstream_url, k.fetched_at, k.refresh_held_at FROM connections c
       JOIN a2a_agent_cards k ON k.connection_id = c.id WHERE c.org_id = ? AND c.slug = ?`,
  )
    .bind(org.orgId, slug)
    .first<{ id: string; upstream_url: string; fetched_at: number; refresh_held_at: number | null }>();
}

/** Makes the card due again (last fetched long ago). */
async function makeDue(id: string) {
  await env.DB.prepare('UPDATE a2a_agent_cards SET fetched_at = 0 WHERE connection_id = ?').bind(id).run();
}

describe('the scheduled refresh of a card that moved to another origin', () => {
  it('holds the card (audited once), skips it on later runs, and resumes after an admin refresh with the credential', async () => {
    const created = await call('POST', '/api/v1/connections', {
      key: org.key,
      body: {
        slug: 'moved-agent',
        name: 'moved-agent',
        type: 'a2a',
        agentCardUrl: env.A2A_AGENT_URL,
        credential: env.A2A_AGENT_CREDENTIAL,
      },
    });
    await expectJson(created, 201);
    const { id, upstream_url: endpoint } = (await cardRow('moved-agent'))!;
    // The credential was given for another host: the card the agent now serves names a new origin.
    await env.DB.prepare('UPDATE connections SET upstream_url = ? WHERE id = ?')
      .bind('https://old-host.example/a2a', id)
      .run();
    await makeDue(id);

    const first = await refreshDueCards(env, Date.now());
    expect(first).toMatchObject({ refreshed: 0, failed: 0, held: 1 });
    const held = (await cardRow('moved-agent'))!;
    expect(held.refresh_held_at).not.toBeNull();
    expect(held.upstream_url).toBe('https://old-host.example/a2a');
    const holds = await adminAuditRows(org.orgId, 'connection.agent_card.refresh_held');
    expect(holds).toHaveLength(1);
    expect(JSON.stringify(holds)).not.toContain(env.A2A_AGENT_CREDENTIAL);

    // Later runs (the card is still due) leave it alone: no fetch, no slot, no second audit row.
    for (let run = 1; run <= 3; run++) {
      const later = await refreshDueCards(env, Date.now() + run * CARD_MAX_AGE_MS);
      expect(later).toMatchObject({ refreshed: 0, failed: 0, held: 0 });
    }
    expect(await adminAuditRows(org.orgId, 'connection.agent_card.refresh_held')).toHaveLength(1);

    // An admin acts: the refresh with the new host's credential is accepted and lifts the hold.
    const refreshed = await call('POST', '/api/v1/connections/moved-agent/agent-card/refresh', {
      key: org.key,
      body: { credential: env.A2A_AGENT_CREDENTIAL },
    });
    await expectJson(refreshed, 200);
    const lifted = (await cardRow('moved-agent'))!;
    expect(lifted.refresh_held_at).toBeNull();
    expect(lifted.upstream_url).toBe(endpoint);

    // And the schedule refreshes it again once it is due.
    await makeDue(id);
    expect(await refreshDueCards(env, Date.now())).toMatchObject({ refreshed: 1, failed: 0, held: 0 });
  });
});
