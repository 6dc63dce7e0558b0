import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, json, jsonBody, prunedResponse } from '../api/api.openapi';
import { createRouter } from '../app.factory';
import { slugParamSchema } from '../connections/connections.schemas';
import { publishEvent } from '../events/events.publish';
import { METADATA_MAX_BYTES } from '../identity/identity.metadata';
import { MAX_REPLAY_ROWS, replayPolicy } from './policy.replay.service';
import { ANNOTATION_HINTS, POLICY_ENDPOINTS, RULE_ACTIONS } from './policy.schema';
import {
  getCurrentPolicy,
  getPolicyVersion,
  listPolicyVersions,
  putPolicy,
  rollbackPolicy,
  simulatePolicy,
} from './policy.service';
import { POLICY_TEMPLATES } from './policy.templates';

const tags = ['Policies'];

// The rules themselves are validated by parsePolicy (workers/policy/policy.schema.ts), which
// reports each problem with its rule index and field path; here they are only "an array".
const policyDocumentSchema = z
  .object({
    rules: z.array(z.unknown()).openapi({ description: 'Rules, first match wins' }),
    confirmDenyAll: z.boolean().optional().openapi({
      description: 'Required (true) to store an empty rule list, which denies every governed call',
    }),
  })
  .openapi('PolicyDocument');
const policyVersionSchema = z
  .object({
    version: z.number().int(),
    rules: z.array(z.unknown()),
    createdBy: z.string().nullable(),
    createdAt: z.string(),
    rolledBackFrom: z.number().int().nullable(),
  })
  .openapi('PolicyVersion');
const policyWarningSchema = z
  .object({ ruleIndex: z.number().int(), path: z.string(), tool: z.string(), message: z.string() })
  .openapi('PolicyWarning', {
    description:
      "A rule condition naming an argument the tool's input schema lacks, or with a type that cannot match",
  });
const savedPolicySchema = policyVersionSchema
  .extend({ warnings: z.array(policyWarningSchema) })
  .openapi('SavedPolicy');

const simulateSchema = z
  .strictObject({
    tool: z
      .string()
      .min(1)
      .max(512)
      .openapi({ example: 'delete_repo', description: 'The governed name; for an LLM call, the model' }),
    model: z.string().min(1).max(512).optional().openapi({
      description:
        'LLM calls: the requested model (rules with a model glob match only requests that have one)',
      example: 'gpt-4o-mini',
    }),
    endpoint: z.enum(POLICY_ENDPOINTS).optional().openapi({
      description: 'LLM calls: the endpoint (rules with endpoints match only requests that have one)',
    }),
    user: z.string().max(256).optional(),
    args: z
      .record(z.string(), z.unknown())
      .optional()
      .openapi({
        description:
          "The call's arguments (MCP tool arguments, LLM request fields): what args.* conditions read",
      })
      .refine(
        (a) => a === undefined || new TextEncoder().encode(JSON.stringify(a)).length <= 65_536,
        'args exceeds 65536 bytes',
      ),
    annotations: z.partialRecord(z.enum(ANNOTATION_HINTS), z.boolean()).optional().openapi({
      description: "The tool's pinned annotations (readOnlyHint…): what annotations.* conditions read",
    }),
    metadata: z
      .record(z.string(), z.unknown())
      .optional()
      .refine(
        (m) => m === undefined || new TextEncoder().encode(JSON.stringify(m)).length <= METADATA_MAX_BYTES,
        'metadata exceeds 4096 bytes',
      ),
    rules: z
      .array(z.unknown())
      .optional()
      .openapi({ description: 'Simulate this draft instead of the current version' }),
  })
  .openapi('SimulationRequest');

const simulationSchema = z
  .object({
    decision: z.enum(RULE_ACTIONS),
    matched: z.boolean(),
    ruleIndex: z.number().int().nullable(),
    reason: z.string().nullable(),
    policyVersion: z.number().int(),
    trace: z.array(z.object({ ruleIndex: z.number().int(), matched: z.boolean(), why: z.string() })),
    warnings: z.array(policyWarningSchema),
  })
  .openapi('Simulation');

const replayRequestSchema = z
  .strictObject({
    rules: z.array(z.unknown()).openapi({ description: 'The draft to replay (not saved)' }),
    limit: z
      .number()
      .int()
      .min(1)
      .max(MAX_REPLAY_ROWS)
      .optional()
      .openapi({ description: 'Newest rows to replay (default 500)' }),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
  })
  .openapi('ReplayRequest');

const replayChangeSchema = z.object({
  id: z.string(),
  tool: z.string(),
  caller: z.string(),
  createdAt: z.string(),
  before: z.object({ action: z.string(), ruleIndex: z.number().int().nullable() }),
  after: z.object({
    action: z.string(),
    ruleIndex: z.number().int().nullable(),
    reason: z.string().nullable(),
  }),
});

const replayResultSchema = z
  .object({
    evaluated: z.number().int(),
    changed: z.number().int(),
    byRule: z.record(z.string(), z.number().int()),
    byCaller: z.record(z.string(), z.number().int()),
    unknownFields: z.number().int(),
    sessionTaint: z.number().int().openapi({
      description:
        'Rows decided by session taint (refused or held for it): not compared, the session history is not replayed',
    }),
    examples: z.array(replayChangeSchema),
    window: z.object({ from: z.string().nullable(), to: z.string().nullable(), rows: z.number().int() }),
  })
  .openapi('ReplayResult');

const templateSchema = z
  .object({ id: z.string(), name: z.string(), description: z.string(), rules: z.array(z.unknown()) })
  .openapi('PolicyTemplate');

export const policyRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/policy/templates',
      tags,
      summary: 'Ready-made policies (read-only by default…), to apply with PUT /connections/{slug}/policy',
      responses: {
        200: json(z.object({ templates: z.array(templateSchema) }), 'The templates'),
        ...errorResponses,
      },
    }),
    (c) => c.json({ templates: [...POLICY_TEMPLATES] }, 200),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/connections/{slug}/policy',
      tags,
      summary:
        "The connection's current policy (rules: [] and version 0 when none was ever set: every governed call is denied)",
      request: { params: slugParamSchema },
      responses: { 200: json(policyVersionSchema, 'Current policy'), ...errorResponses },
    }),
    async (c) => {
      const { policy } = await getCurrentPolicy(c.env, c.get('principal'), c.req.valid('param').slug);
      return c.json(
        policy ?? {
          version: 0,
          rules: [],
          createdBy: null,
          createdAt: new Date(0).toISOString(),
          rolledBackFrom: null,
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'put',
      path: '/connections/{slug}/policy',
      tags,
      summary: 'Replace the policy: creates the next version and publishes it to the gateways',
      request: {
        params: slugParamSchema,
        ...jsonBody(policyDocumentSchema),
      },
      responses: { 200: json(savedPolicySchema, 'The new version, with schema warnings'), ...errorResponses },
    }),
    async (c) => {
      const slug = c.req.valid('param').slug;
      const { dto, connectionId, warnings } = await putPolicy(
        c.env,
        c.get('principal'),
        slug,
        c.req.valid('json'),
      );
      publishEvent(c.env, c.executionCtx, c.get('principal').orgId, {
        type: 'policy_update',
        serverId: connectionId,
        slug,
        change: 'updated',
        version: dto.version,
        timestamp: new Date().toISOString(),
      });
      return c.json({ ...dto, warnings }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/connections/{slug}/policy/versions',
      tags,
      summary: 'The versions that keep their rules (the newest 200), newest first',
      request: { params: slugParamSchema },
      responses: {
        200: json(z.object({ versions: z.array(policyVersionSchema) }), 'Versions'),
        ...errorResponses,
      },
    }),
    async (c) =>
      c.json(
        { versions: await listPolicyVersions(c.env, c.get('principal'), c.req.valid('param').slug) },
        200,
      ),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/connections/{slug}/policy/versions/{version}',
      tags,
      summary:
        "One version (what an audit row's policyVersion names); 410 pruned with its hash, author and time once pruned",
      request: {
        params: slugParamSchema.extend({
          // Any text: one that is not a version number names no version (404, as a missing one).
          version: z
            .string()
            .min(1)
            .max(16)
            .openapi({ param: { name: 'version', in: 'path' }, example: '3' }),
        }),
      },
      responses: { 200: json(policyVersionSchema, 'The version'), ...errorResponses, ...prunedResponse },
    }),
    async (c) => {
      const { slug, version } = c.req.valid('param');
      return c.json(await getPolicyVersion(c.env, c.get('principal'), slug, version), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/connections/{slug}/policy/rollback',
      tags,
      summary: 'Make an earlier version current again (as a new version)',
      request: {
        params: slugParamSchema,
        body: {
          content: { 'application/json': { schema: z.strictObject({ version: z.number().int().min(1) }) } },
          required: true,
        },
      },
      responses: { 200: json(policyVersionSchema, 'The new version'), ...errorResponses, ...prunedResponse },
    }),
    async (c) => {
      const slug = c.req.valid('param').slug;
      const { dto, connectionId } = await rollbackPolicy(
        c.env,
        c.get('principal'),
        slug,
        c.req.valid('json').version,
      );
      publishEvent(c.env, c.executionCtx, c.get('principal').orgId, {
        type: 'policy_update',
        serverId: connectionId,
        slug,
        change: `rollback:${dto.rolledBackFrom}`,
        version: dto.version,
        timestamp: new Date().toISOString(),
      });
      return c.json(dto, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/connections/{slug}/policy/simulate',
      tags,
      summary: 'Decide a hypothetical call: decision, matching rule, and why each earlier rule did not match',
      request: {
        params: slugParamSchema,
        ...jsonBody(simulateSchema),
      },
      responses: { 200: json(simulationSchema, 'The decision'), ...errorResponses },
    }),
    async (c) =>
      c.json(
        await simulatePolicy(c.env, c.get('principal'), c.req.valid('param').slug, c.req.valid('json')),
        200,
      ),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/connections/{slug}/policy/replay',
      tags,
      summary: 'What-if: evaluate a draft against recorded calls and report the decisions that would change',
      request: { params: slugParamSchema, ...jsonBody(replayRequestSchema) },
      responses: { 200: json(replayResultSchema, 'What would change'), ...errorResponses },
    }),
    async (c) =>
      c.json(
        await replayPolicy(c.env, c.get('principal'), c.req.valid('param').slug, c.req.valid('json')),
        200,
      ),
  );
