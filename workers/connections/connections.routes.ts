import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { errorResponses, json, jsonBody } from '../api/api.openapi';
import { createRouter } from '../app.factory';
import type { AppEnv } from '../app.types';
import { publishEvent } from '../events/events.publish';
import { connectionHealth } from './connection.health.store';
import { sharedView, upstreamLinks } from './connection.viewer';
import { getConnection, type ListedConnection, listConnections } from './connections.read';
import {
  type ConnectionDto,
  connectionSchema,
  createConnectionSchema,
  rotateCredentialSchema,
  type SharedConnectionDto,
  sharedConnectionSchema,
  slugParamSchema,
  updateConnectionSchema,
} from './connections.schemas';
import {
  createConnection,
  deleteConnection,
  rotateCredential,
  updateConnection,
} from './connections.service';

const tags = ['Connections'];

/** The public base URL that gateway URLs are built on: configured, or this request's origin. */
export function publicBaseUrl(c: Context<AppEnv>): string {
  return c.env.PUBLIC_BASE_URL || new URL(c.req.url).origin;
}

function notify(c: Context<AppEnv>, id: string, slug: string, change: string) {
  publishEvent(c.env, c.executionCtx, c.get('principal').orgId, {
    type: 'connection_update',
    serverId: id,
    slug,
    change,
    timestamp: new Date().toISOString(),
  });
}

/** The connections with their upstream health (connection.health.ts), in one D1 round trip. */
async function withHealth(c: Context<AppEnv>, dtos: ConnectionDto[]): Promise<ConnectionDto[]> {
  const health = await connectionHealth(
    c.env.DB,
    c.get('principal').orgId,
    dtos.map((d) => d.id),
  );
  return dtos.map((d) => ({ ...d, health: health.get(d.id) }));
}

/** What GET answers add to connections: their health, and the caller's own upstream links (one query each). */
async function withViewer(c: Context<AppEnv>, dtos: ConnectionDto[]): Promise<ConnectionDto[]> {
  const [withFigures, links] = await Promise.all([
    withHealth(c, dtos),
    upstreamLinks(c.env.DB, c.get('principal'), dtos),
  ]);
  return withFigures.map((d) => ({ ...d, upstreamLinked: links.get(d.id) ?? null }));
}

/**
 * The list's items in its order: a connection the caller reads whole with its health and their
 * link; one only shared with them as its shared view, exactly as its own GET answers it. Health in
 * one query (whole connections only: a sharee is not told how the upstream fares), every link of
 * the list in one.
 */
async function listAnswer(
  c: Context<AppEnv>,
  listed: ListedConnection[],
): Promise<Array<ConnectionDto | SharedConnectionDto>> {
  const [whole, links] = await Promise.all([
    withHealth(
      c,
      listed.filter((l) => !l.shared).map((l) => l.dto),
    ),
    upstreamLinks(
      c.env.DB,
      c.get('principal'),
      listed.map((l) => l.dto),
    ),
  ]);
  const byId = new Map(whole.map((d) => [d.id, d]));
  return listed.map(({ shared, dto }) => {
    const upstreamLinked = links.get(dto.id) ?? null;
    return shared ? sharedView(dto, upstreamLinked) : { ...byId.get(dto.id)!, upstreamLinked };
  });
}

export const connectionsRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/connections',
      tags,
      summary: 'List connections',
      responses: {
        200: json(
          z.object({
            connections: z.array(z.union([connectionSchema, sharedConnectionSchema])).openapi({
              description:
                "A developer's list: their own connections, and those shared with them (settings.sharedWith) as their shared view (access: 'shared')",
            }),
          }),
          'Connections',
        ),
        ...errorResponses,
      },
    }),
    async (c) => {
      const listed = await listConnections(c.env, c.get('principal'), publicBaseUrl(c));
      return c.json({ connections: await listAnswer(c, listed) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/connections',
      tags,
      summary: 'Create a connection',
      request: jsonBody(createConnectionSchema),
      responses: { 201: json(connectionSchema, 'Created'), ...errorResponses },
    }),
    async (c) => {
      const dto = await createConnection(c.env, c.get('principal'), c.req.valid('json'), publicBaseUrl(c));
      notify(c, dto.id, dto.slug, 'created');
      return c.json(dto, 201);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/connections/{slug}',
      tags,
      summary: 'Get a connection',
      description:
        'A developer who may use the connection only because it is shared with them (settings.sharedWith) gets its shared view: what they need to call it',
      request: { params: slugParamSchema },
      responses: {
        200: json(z.union([connectionSchema, sharedConnectionSchema]), 'The connection, or its shared view'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const principal = c.get('principal');
      const { shared, dto } = await getConnection(
        c.env,
        principal,
        c.req.valid('param').slug,
        publicBaseUrl(c),
      );
      if (shared) {
        const links = await upstreamLinks(c.env.DB, principal, [dto]);
        return c.json(sharedView(dto, links.get(dto.id) ?? null), 200);
      }
      const [withFigures] = await withViewer(c, [dto]);
      return c.json(withFigures!, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'patch',
      path: '/connections/{slug}',
      tags,
      summary: 'Update a connection (including enabled: false to disable it)',
      request: { params: slugParamSchema, ...jsonBody(updateConnectionSchema) },
      responses: { 200: json(connectionSchema, 'Updated'), ...errorResponses },
    }),
    async (c) => {
      const { dto, changed } = await updateConnection(
        c.env,
        c.get('principal'),
        c.req.valid('param').slug,
        c.req.valid('json'),
        publicBaseUrl(c),
      );
      notify(c, dto.id, dto.slug, `updated:${changed.join(',')}`);
      return c.json(dto, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/connections/{slug}',
      tags,
      summary: 'Delete a connection and its policies',
      request: { params: slugParamSchema },
      responses: {
        200: json(z.object({ deleted: z.literal(true), slug: z.string() }), 'Deleted'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const row = await deleteConnection(c.env, c.get('principal'), c.req.valid('param').slug);
      notify(c, row.id, row.slug, 'deleted');
      return c.json({ deleted: true as const, slug: row.slug }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/connections/{slug}/rotate',
      tags,
      summary: 'Replace the stored credential (takes effect on the next gateway call)',
      request: { params: slugParamSchema, ...jsonBody(rotateCredentialSchema) },
      responses: { 200: json(connectionSchema, 'Rotated'), ...errorResponses },
    }),
    async (c) => {
      const dto = await rotateCredential(
        c.env,
        c.get('principal'),
        c.req.valid('param').slug,
        c.req.valid('json').credential,
        publicBaseUrl(c),
      );
      notify(c, dto.id, dto.slug, 'credential_rotated');
      return c.json(dto, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/connections/{slug}/disable',
      tags,
      summary: 'Disable a connection: the gateway refuses its calls and forwards nothing',
      request: { params: slugParamSchema },
      responses: { 200: json(connectionSchema, 'Disabled'), ...errorResponses },
    }),
    async (c) => {
      const { dto } = await updateConnection(
        c.env,
        c.get('principal'),
        c.req.valid('param').slug,
        { enabled: false },
        publicBaseUrl(c),
      );
      notify(c, dto.id, dto.slug, 'disabled');
      return c.json(dto, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/connections/{slug}/enable',
      tags,
      summary: 'Enable a disabled connection',
      request: { params: slugParamSchema },
      responses: { 200: json(connectionSchema, 'Enabled'), ...errorResponses },
    }),
    async (c) => {
      const { dto } = await updateConnection(
        c.env,
        c.get('principal'),
        c.req.valid('param').slug,
        { enabled: true },
        publicBaseUrl(c),
      );
      notify(c, dto.id, dto.slug, 'enabled');
      return c.json(dto, 200);
    },
  );
