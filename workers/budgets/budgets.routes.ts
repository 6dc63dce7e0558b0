/** `/api/v1/budgets` — monthly USD budgets and their live status (docs/budgets-and-prompts.md). */
import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, json, jsonBody, pathParamSchema } from '../api/api.openapi';
import { createRouter } from '../app.factory';
import {
  budgetSchema,
  budgetStatusSchema,
  budgetWithStatusSchema,
  createBudgetSchema,
  updateBudgetSchema,
} from './budgets.schemas';
import {
  createBudget,
  deleteBudget,
  getBudget,
  listBudgets,
  resetBudget,
  updateBudget,
} from './budgets.service';

const tags = ['Budgets'];
const idParam = pathParamSchema('id', 'bdg_abc');

export const budgetsRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/budgets',
      tags,
      summary: "The organization's budgets with their current period's status",
      responses: {
        200: json(z.object({ budgets: z.array(budgetWithStatusSchema) }), 'Budgets'),
        ...errorResponses,
      },
    }),
    async (c) => c.json({ budgets: await listBudgets(c.env, c.get('principal')) }, 200),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/budgets',
      tags,
      summary: 'Create a monthly budget on the organization, a team, an API key or a user (owner, admin)',
      request: jsonBody(createBudgetSchema),
      responses: { 201: json(budgetSchema, 'Created'), ...errorResponses },
    }),
    async (c) => c.json(await createBudget(c.env, c.get('principal'), c.req.valid('json')), 201),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/budgets/{id}',
      tags,
      summary: 'One budget: spent, reserved, remaining, percent, the period, and past periods',
      request: { params: idParam },
      responses: { 200: json(budgetWithStatusSchema, 'The budget'), ...errorResponses },
    }),
    async (c) => c.json(await getBudget(c.env, c.get('principal'), c.req.valid('param').id), 200),
  )
  .openapi(
    createRoute({
      method: 'patch',
      path: '/budgets/{id}',
      tags,
      summary: 'Change a budget (its counters are kept)',
      request: { params: idParam, ...jsonBody(updateBudgetSchema) },
      responses: { 200: json(budgetSchema, 'Updated'), ...errorResponses },
    }),
    async (c) =>
      c.json(
        await updateBudget(c.env, c.get('principal'), c.req.valid('param').id, c.req.valid('json')),
        200,
      ),
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/budgets/{id}',
      tags,
      summary: 'Delete a budget',
      request: { params: idParam },
      responses: {
        200: json(z.object({ deleted: z.literal(true), id: z.string() }), 'Deleted'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await deleteBudget(c.env, c.get('principal'), id);
      return c.json({ deleted: true as const, id }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/budgets/{id}/reset',
      tags,
      summary: "Reset the current period's spend to zero (audited; the period so far goes to the history)",
      request: { params: idParam },
      responses: { 200: json(budgetStatusSchema, 'The status after the reset'), ...errorResponses },
    }),
    async (c) => c.json(await resetBudget(c.env, c.get('principal'), c.req.valid('param').id), 200),
  );
