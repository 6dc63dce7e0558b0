/**
 * Request and response shapes of the connections API — the single source for validation and for
 * the OpenAPI document (@hono/zod-openapi reads these).
 */
import { z } from '@hono/zod-openapi';
import { pathParamSchema } from '../api/api.openapi';
import { AUTH_TYPES, CONNECTION_TYPES } from '../db/schema';
import { connectionSettingsInputSchema, connectionSettingsSchema } from '../shared/connection.settings';
import { connectionHealthSchema } from './connection.health';
import { authHeaderNameSchema, slugSchema } from './connection.rules';
import { authQueryParamSchema } from './connection.secrets';

export const credentialSchema = z
  .string()
  .min(1, 'credential must not be empty')
  .max(8192, 'credential is at most 8192 characters');

export const createConnectionSchema = z
  .strictObject({
    slug: slugSchema.openapi({ example: 'github-prod' }),
    name: z.string().trim().min(1).max(200).openapi({ example: 'GitHub Production' }),
    upstreamUrl: z.string().max(2048).optional().openapi({
      description:
        'Required for mcp connections. llm connections: the provider base URL, optional when the catalog has one (required for azure-openai, ollama, openai-compatible)',
      example: 'https://mcp.github.com',
    }),
    type: z.enum(CONNECTION_TYPES).default('mcp'),
    authType: z.enum(AUTH_TYPES).optional().openapi({
      description:
        "Default bearer for mcp connections; llm connections default to the provider's credential style",
    }),
    authHeaderName: authHeaderNameSchema.optional(),
    authQueryParam: authQueryParamSchema.optional().openapi({
      description: 'authType "query": the query parameter the credential is sent in',
      example: 'api_key',
    }),
    credential: credentialSchema
      .optional()
      .openapi({ description: 'Write-only. Encrypted at rest; never returned.' }),
    settings: connectionSettingsInputSchema.optional(),
    agentCardUrl: z.string().max(2048).optional().openapi({
      description:
        'a2a connections: the agent’s base URL (its card is read from /.well-known/agent-card.json) or its AgentCard URL. upstreamUrl is taken as this when absent',
      example: 'https://agent.example.com',
    }),
    agentCard: z.record(z.string(), z.unknown()).optional().openapi({
      description: 'a2a connections: the AgentCard JSON itself, pasted instead of fetched',
    }),
  })
  // Reported with the other missing fields (`when`: even if some failed), so one 400 names them all.
  .refine((input) => input.type !== 'mcp' || input.upstreamUrl !== undefined, {
    path: ['upstreamUrl'],
    message: 'upstreamUrl is required for mcp connections',
    when: (payload) => typeof payload.value === 'object' && payload.value !== null,
  })
  .refine(
    (input) => input.type === 'a2a' || (input.agentCardUrl === undefined && input.agentCard === undefined),
    {
      path: ['agentCardUrl'],
      message: 'agentCardUrl and agentCard are only used by a2a connections',
      when: (payload) => typeof payload.value === 'object' && payload.value !== null,
    },
  )
  .openapi('CreateConnection');

export const updateConnectionSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    upstreamUrl: z.string().max(2048).optional(),
    authType: z.enum(AUTH_TYPES).optional(),
    authHeaderName: authHeaderNameSchema.nullable().optional(),
    authQueryParam: authQueryParamSchema.nullable().optional(),
    credential: credentialSchema.optional().openapi({
      description:
        'Write-only. Required when upstreamUrl moves to another origin (scheme, host or port), unless keepCredential',
    }),
    keepCredential: z.boolean().optional().openapi({
      description:
        'Owner only: keep the stored credential although upstreamUrl moves to another origin (the new host receives it)',
    }),
    enabled: z.boolean().optional(),
    settings: connectionSettingsInputSchema.optional(),
  })
  .openapi('UpdateConnection');

export const rotateCredentialSchema = z
  .strictObject({ credential: credentialSchema })
  .openapi('RotateCredential');

/**
 * GET responses only, about the caller alone: on a connection in upstream OAuth mode, whether the
 * caller linked their own upstream account; null when there is nothing of theirs to link (not in
 * upstream mode, a role that may not use it, a key with no member behind it).
 */
const upstreamLinkedSchema = z.boolean().nullable().openapi({
  description:
    'Upstream OAuth mode: whether the caller (and only the caller) linked their own upstream account; null when there is nothing of theirs to link (not in upstream mode, or the caller may not use the connection). GET responses only',
});

export const connectionSchema = z
  .object({
    id: z.string(),
    slug: z.string(),
    name: z.string(),
    type: z.enum(CONNECTION_TYPES),
    upstreamUrl: z.string(),
    authType: z.enum(AUTH_TYPES),
    authHeaderName: z.string().nullable(),
    authQueryParam: z.string().nullable(),
    hasCredential: z.boolean(),
    enabled: z.boolean(),
    settings: connectionSettingsSchema,
    createdBy: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    lastUsedAt: z.string().nullable(),
    gatewayUrl: z.string().openapi({
      description:
        'Where clients call it: `<base>/v1/mcp/<slug>` (mcp), `<base>/llm/<slug>/v1` (llm: the OpenAI SDK baseURL; the Anthropic SDK takes it without /v1), `<base>/v1/a2a/<slug>` (a2a: its card is at `/.well-known/agent-card.json` below it)',
      example: 'https://gateway.example.com/v1/mcp/github-prod',
    }),
    health: connectionHealthSchema
      .optional()
      .openapi({ description: 'Upstream health over the last hour (GET responses only)' }),
    upstreamLinked: upstreamLinkedSchema.optional(),
  })
  .openapi('Connection');

/**
 * `GET /connections/{slug}` for a developer who may use the connection only because it is shared
 * with them (`settings.sharedWith`): what they need to call it, nothing of its settings,
 * credential, policy or members (workers/connections/connection.viewer.ts).
 */
export const sharedConnectionSchema = z
  .object({
    access: z.literal('shared').openapi({ description: 'The shared view: the caller may use, not read, it' }),
    id: z.string(),
    slug: z.string(),
    name: z.string(),
    type: z.enum(CONNECTION_TYPES),
    enabled: z.boolean(),
    gatewayUrl: z.string(),
    upstreamOAuth: z
      .object({ issuer: z.string() })
      .nullable()
      .openapi({ description: 'Upstream OAuth mode: the provider the caller links their own account at' }),
    upstreamLinked: upstreamLinkedSchema,
    llm: z
      .object({ provider: z.string().nullable(), allowedModels: z.array(z.string()) })
      .nullable()
      .openapi({ description: 'LLM connections: the provider and the model globs it allows' }),
  })
  .openapi('SharedConnection');

export const slugParamSchema = pathParamSchema('slug', 'github-prod');

export type CreateConnectionInput = z.infer<typeof createConnectionSchema>;
export type UpdateConnectionInput = z.infer<typeof updateConnectionSchema>;
export type ConnectionDto = z.infer<typeof connectionSchema>;
export type SharedConnectionDto = z.infer<typeof sharedConnectionSchema>;
