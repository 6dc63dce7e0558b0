/**
 * The scheduled AgentCard refresh (workers/scheduled.ts, docs/a2a.md#refresh-the-card): every
 * enabled a2a connection whose card came from a URL and was last fetched more than
 * CARD_MAX_AGE_MS ago is re-fetched, oldest first, at most MAX_PER_RUN per run (the next run
 * continues). A changed card is recorded exactly as an on-demand refresh records it — one admin
 * audit row `connection.agent_card.changed` (actor `system:a2a-refresh`) and one
 * `connection_update` live event — and an unchanged one only moves `fetched_at`, so a card is
 * recorded once per change however many runs see it.
 *
 * One agent's failure (unreachable, a card that no longer validates) is logged and leaves its
 * stored card in force; the others still refresh.
 *
 * A fetched card that moves the endpoint to another origin is refused (the stored credential is
 * only ever sent where it was given for, a2a.registry.ts checkEndpointMove), and no run can fix
 * that: only an admin can send the new host's credential. So the card is *held*
 * (`a2a_agent_cards.refresh_held_at`, one admin audit row `connection.agent_card.refresh_held`)
 * and skipped by every later run, instead of taking one of the run's MAX_PER_RUN slots each time;
 * an accepted card (an admin's on-demand refresh with the credential, or a pasted card) clears it.
 */
import { eventHubFor } from '../../durable-objects/do.client';
import type { Principal } from '../app.types';
import { adminAuditStatement } from '../audit/audit.admin';
import { AppError } from '../lib/errors';
import { log } from '../lib/log';
import type { ManagementEvent } from '../shared/events.types';
import { refreshConnectionCard } from './a2a.registry';

/** A card older than this is re-fetched by the next run. */
export const CARD_MAX_AGE_MS = 12 * 3_600_000;
/** Cards refreshed per run (each is one outbound fetch of at most 10 s). */
export const MAX_PER_RUN = 100;

export const REFRESH_ACTOR = 'system:a2a-refresh';

type RefreshEnv = Pick<Env, 'DB' | 'EVENT_HUB'> & { ALLOW_PRIVATE_UPSTREAMS?: string };

function systemPrincipal(orgId: string): Principal {
  return {
    kind: 'api_key',
    orgId,
    role: 'owner',
    userId: null,
    apiKeyId: null,
    sessionId: null,
    actor: REFRESH_ACTOR,
  };
}

/** The live event of a changed card (also published by the on-demand refresh route). */
export function cardChangedEvent(connectionId: string, slug: string, at = Date.now()): ManagementEvent {
  return {
    type: 'connection_update',
    serverId: connectionId,
    slug,
    change: 'agent_card_changed',
    timestamp: new Date(at).toISOString(),
  };
}

export async function refreshDueCards(
  env: RefreshEnv,
  now: number,
): Promise<{ refreshed: number; changed: number; failed: number; held: number }> {
  const { results } = await env.DB.prepare(
    `SELECT k.id, k.org_id, k.slug, k.type FROM a2a_agent_cards c
       JOIN connections k ON k.id = c.connection_id AND k.org_id = c.org_id
     WHERE c.card_url IS NOT NULL AND c.refresh_held_at IS NULL AND k.enabled = 1 AND k.type = 'a2a'
       AND c.fetched_at < ?
     ORDER BY c.fetched_at LIMIT ?`,
  )
    .bind(now - CARD_MAX_AGE_MS, MAX_PER_RUN)
    .all<{ id: string; org_id: string; slug: string; type: string }>();
  let refreshed = 0;
  let changed = 0;
  let failed = 0;
  let held = 0;
  for (const row of results) {
    try {
      const result = await refreshConnectionCard(env, systemPrincipal(row.org_id), row);
      refreshed++;
      if (!result.changed) continue;
      changed++;
      await eventHubFor(env, row.org_id)
        .publish(cardChangedEvent(row.id, row.slug))
        .catch((err: unknown) => log('warn', 'event publish failed', { err, type: 'connection_update' }));
    } catch (err) {
      if (movesOrigin(err)) {
        held++;
        await holdRefresh(env, row, now).catch((holdErr: unknown) =>
          log('error', 'AgentCard refresh hold not recorded', { connectionId: row.id, err: holdErr }),
        );
        continue;
      }
      failed++;
      log('warn', 'scheduled AgentCard refresh failed; the stored card stays in force', {
        connectionId: row.id,
        err,
      });
    }
  }
  log('info', 'AgentCard refresh run', { refreshed, changed, failed, held });
  return { refreshed, changed, failed, held };
}

/** The refusal of a card whose endpoint moves to another origin without the new host's credential. */
function movesOrigin(err: unknown): boolean {
  if (!(err instanceof AppError) || err.code !== 'validation_failed') return false;
  const issues = (err.details as { issues?: Array<{ rule?: string }> } | undefined)?.issues;
  return issues?.some((issue) => issue.rule === 'credential_required_for_new_origin') === true;
}

/** Skipped by later runs until an accepted card clears it; audited once, for the admins to act. */
async function holdRefresh(env: RefreshEnv, row: { id: string; org_id: string; slug: string }, now: number) {
  await env.DB.batch([
    env.DB.prepare(
      'UPDATE a2a_agent_cards SET refresh_held_at = ? WHERE connection_id = ? AND org_id = ? AND refresh_held_at IS NULL',
    ).bind(now, row.id, row.org_id),
    adminAuditStatement(env.DB, systemPrincipal(row.org_id), {
      action: 'connection.agent_card.refresh_held',
      connectionId: row.id,
      connectionSlug: row.slug,
      details: {
        reason:
          'the fetched card moves the endpoint to another origin: refresh it with the new host’s credential',
        rule: 'credential_required_for_new_origin',
      },
    }),
  ]);
  log('warn', 'scheduled AgentCard refresh held: the card moves the endpoint to another origin', {
    connectionId: row.id,
  });
}
