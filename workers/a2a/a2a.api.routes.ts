/**
 * The A2A registry's management routes (an agent itself is created, updated and deleted as a
 * `type: "a2a"` connection through the connections API):
 *
 *   GET  /connections/{slug}/agent-card           the stored card as the agent published it
 *   POST /connections/{slug}/agent-card/refresh   re-fetch it (or store a pasted `agentCard`); a
 *                                                 change is recorded as an admin audit row
 *                                                 `connection.agent_card.changed` naming what changed
 */
import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, json, jsonBody } from '../api/api.openapi';
import { createRouter } from '../app.factory';
import { getConnectionRow } from '../connections/connections.read';
import { credentialSchema, slugParamSchema } from '../connections/connections.schemas';
import { publishEvent } from '../events/events.publish';
import { AppError } from '../lib/errors';
import { iso } from '../lib/values';
import { skillIds } from './a2a.card';
import { cardChangedEvent } from './a2a.refresh';
import { loadCard, refreshCard } from './a2a.registry';

const tags = ['A2A agents'];

const storedCardSchema = z
  .object({
    slug: z.string(),
    cardUrl: z.string().nullable().openapi({ description: 'Null for a pasted card' }),
    fetchedAt: z.string(),
    skills: z.array(z.string()),
    card: z.record(z.string(), z.unknown()),
  })
  .openapi('StoredAgentCard');

const refreshBodySchema = z
  .strictObject({
    agentCard: z
      .record(z.string(), z.unknown())
      .optional()
      .openapi({ description: 'A new card to store instead of fetching (required for a pasted card)' }),
    credential: credentialSchema.optional().openapi({
      description:
        "Write-only. The agent's credential for its endpoint, stored with the card; required when the card moves the endpoint to another origin (scheme, host or port) while a credential is stored",
    }),
  })
  .openapi('RefreshAgentCard');

const refreshResultSchema = storedCardSchema
  .extend({
    changed: z.boolean(),
    changes: z
      .object({
        fields: z.array(z.string()),
        skillsAdded: z.array(z.string()),
        skillsRemoved: z.array(z.string()),
        skillsChanged: z.array(z.string()),
        endpoint: z.object({ from: z.string().nullable(), to: z.string().nullable() }).nullable(),
      })
      .nullable(),
  })
  .openapi('AgentCardRefresh');

function notA2a(): AppError {
  return new AppError('not_found', {
    message: 'Not an A2A connection',
    details: { location: 'path', path: 'slug' },
  });
}

export const a2aApiRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/connections/{slug}/agent-card',
      tags,
      summary: 'The stored AgentCard of an a2a connection, as the agent published it',
      request: { params: slugParamSchema },
      responses: { 200: json(storedCardSchema, 'The card'), ...errorResponses },
    }),
    async (c) => {
      const principal = c.get('principal');
      const row = await getConnectionRow(c.env, principal, c.req.valid('param').slug);
      const stored = row.type === 'a2a' ? await loadCard(c.env.DB, principal.orgId, row.id) : null;
      if (!stored) throw notA2a();
      return c.json(
        {
          slug: row.slug,
          cardUrl: stored.cardUrl,
          fetchedAt: iso(stored.fetchedAt)!,
          skills: skillIds(stored.card),
          card: stored.card,
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/connections/{slug}/agent-card/refresh',
      tags,
      summary: 'Re-fetch the AgentCard (or store a pasted one); changes are audited like drift',
      request: { params: slugParamSchema, ...jsonBody(refreshBodySchema) },
      responses: { 200: json(refreshResultSchema, 'Refreshed'), ...errorResponses },
    }),
    async (c) => {
      const principal = c.get('principal');
      const slug = c.req.valid('param').slug;
      const body = c.req.valid('json');
      const result = await refreshCard(c.env, principal, slug, body.agentCard, body.credential);
      if (result.changed) {
        const row = await getConnectionRow(c.env, principal, slug);
        publishEvent(c.env, c.executionCtx, principal.orgId, cardChangedEvent(row.id, slug));
      }
      return c.json(
        {
          slug,
          cardUrl: result.cardUrl,
          fetchedAt: iso(result.fetchedAt)!,
          skills: skillIds(result.card),
          card: result.card,
          changed: result.changed,
          changes: result.changes,
        },
        200,
      );
    },
  );
