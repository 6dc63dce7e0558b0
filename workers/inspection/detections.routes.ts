/**
 * `/api/v1/detections` — content inspection's rules, packs and scan (docs/detections.md). Reading
 * needs `policies:read`, custom rules and packs `policies:write`; everything is scoped to the
 * caller's organization (another organization's custom rule or pack is "not found").
 */
import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, json, jsonBody, pathParamSchema } from '../api/api.openapi';
import { createRouter } from '../app.factory';
import {
  createPack,
  createRule,
  deletePack,
  deleteRule,
  listPacks,
  listRules,
  scanText,
  updatePack,
  updateRule,
} from './detections.service';
import { ACTIONS, CATEGORIES, SEVERITIES, WHERES } from './inspection.schema';

const tags = ['Detections'];

const scanSchema = z
  .object({
    text: z.string().max(1024 * 1024, 'text is at most 1 MiB'),
    where: z.enum(WHERES).optional(),
    packs: z.array(z.string().min(1).max(64)).max(20).optional(),
  })
  .strict()
  .openapi('DetectionScan');

const scanFindingSchema = z.object({
  ruleId: z.string(),
  category: z.enum(CATEGORIES),
  severity: z.enum(SEVERITIES),
  action: z.enum(ACTIONS),
  start: z.number().int(),
  end: z.number().int(),
  encoding: z.array(z.string()).optional(),
});

const ruleSummarySchema = z
  .object({
    id: z.string(),
    category: z.enum(CATEGORIES),
    severity: z.enum(SEVERITIES),
    where: z.array(z.enum(WHERES)),
    action: z.enum(ACTIONS),
    description: z.string(),
    references: z.array(z.string()),
    custom: z.boolean(),
    /** The whole rule, for the organization's own (custom) rules only. */
    definition: z.record(z.string(), z.unknown()).optional(),
  })
  .openapi('DetectionRule');

const packSummarySchema = z
  .object({
    name: z.string(),
    description: z.string(),
    rules: z.array(z.string()),
    categories: z.array(z.enum(CATEGORIES)),
    minSeverity: z.enum(SEVERITIES).nullable(),
    custom: z.boolean(),
  })
  .openapi('DetectionPack');

/**
 * What a listing adds to each rule and pack: who created it (a user id; null for built-ins and
 * what a system key made) and whether the caller may change (edit or delete) it now — judged by the
 * same code as the change itself (detections.access.ts), so the dashboard offers only what works.
 */
const editRight = {
  createdBy: z.string().nullable(),
  canEdit: z.boolean(),
};
const ruleListedSchema = ruleSummarySchema.extend(editRight).openapi('DetectionRuleListed');
const packListedSchema = packSummarySchema.extend(editRight).openapi('DetectionPackListed');

/** A custom rule or pack as sent: validated by the service, which names every problem it finds. */
const anyObject = z.record(z.string(), z.unknown());

const ruleIdParam = pathParamSchema('ruleId', 'custom.internal_ticket', 96);
const packNameParam = pathParamSchema('name', 'team-pack');

export const detectionsRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/detections/scan',
      tags,
      summary: 'Scan a text with the detection engine (the rule tester, CI pipelines); nothing is stored',
      request: jsonBody(scanSchema),
      responses: {
        200: json(
          z.object({ findings: z.array(scanFindingSchema), riskScore: z.number().int() }),
          'Findings (offsets into the text, never the matched text) and the risk score, 0–100',
        ),
        ...errorResponses,
      },
    }),
    async (c) => c.json(await scanText(c.env, c.get('principal'), c.req.valid('json')), 200),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/detections/rules',
      tags,
      summary: 'The built-in detection rules and the organization’s custom rules',
      responses: { 200: json(z.object({ rules: z.array(ruleListedSchema) }), 'Rules'), ...errorResponses },
    }),
    async (c) => c.json({ rules: await listRules(c.env, c.get('principal')) }, 200),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/detections/rules',
      tags,
      summary:
        'Add a custom rule (validated: schema, a pattern that cannot backtrack or match the empty string, its own examples)',
      request: jsonBody(anyObject),
      responses: { 201: json(ruleSummarySchema, 'Created'), ...errorResponses },
    }),
    async (c) => c.json(await createRule(c.env, c.get('principal'), c.req.valid('json')), 201),
  )
  .openapi(
    createRoute({
      method: 'put',
      path: '/detections/rules/{ruleId}',
      tags,
      summary: 'Replace a custom rule (validated like a new one; its id cannot change)',
      request: { params: ruleIdParam, ...jsonBody(anyObject) },
      responses: { 200: json(ruleSummarySchema, 'Updated'), ...errorResponses },
    }),
    async (c) =>
      c.json(
        await updateRule(c.env, c.get('principal'), c.req.valid('param').ruleId, c.req.valid('json')),
        200,
      ),
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/detections/rules/{ruleId}',
      tags,
      summary: 'Delete a custom rule',
      request: { params: ruleIdParam },
      responses: {
        200: json(z.object({ deleted: z.literal(true), ruleId: z.string() }), 'Deleted'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { ruleId } = c.req.valid('param');
      await deleteRule(c.env, c.get('principal'), ruleId);
      return c.json({ deleted: true as const, ruleId }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/detections/packs',
      tags,
      summary: 'The built-in packs and the organization’s custom packs',
      responses: { 200: json(z.object({ packs: z.array(packListedSchema) }), 'Packs'), ...errorResponses },
    }),
    async (c) => c.json({ packs: await listPacks(c.env, c.get('principal')) }, 200),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/detections/packs',
      tags,
      summary: 'Add a custom pack (rule ids and/or categories, optional minSeverity)',
      request: jsonBody(anyObject),
      responses: { 201: json(packSummarySchema, 'Created'), ...errorResponses },
    }),
    async (c) => c.json(await createPack(c.env, c.get('principal'), c.req.valid('json')), 201),
  )
  .openapi(
    createRoute({
      method: 'put',
      path: '/detections/packs/{name}',
      tags,
      summary: 'Replace a custom pack (validated like a new one; its name cannot change)',
      request: { params: packNameParam, ...jsonBody(anyObject) },
      responses: { 200: json(packSummarySchema, 'Updated'), ...errorResponses },
    }),
    async (c) =>
      c.json(
        await updatePack(c.env, c.get('principal'), c.req.valid('param').name, c.req.valid('json')),
        200,
      ),
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/detections/packs/{name}',
      tags,
      summary: 'Delete a custom pack no connection applies',
      request: { params: packNameParam },
      responses: {
        200: json(z.object({ deleted: z.literal(true), name: z.string() }), 'Deleted'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      await deletePack(c.env, c.get('principal'), name);
      return c.json({ deleted: true as const, name }, 200);
    },
  );
