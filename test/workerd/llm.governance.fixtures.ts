/**
 * Shared by the LLM governance tests (llm.token-caps, llm.model-visibility, llm.passthrough-governance):
 * an LLM connection on the real fake provider (global-setup.ts), what the provider received, and
 * budgets, prompts and keys of one test organization.
 */
import { env } from 'cloudflare:workers';
import { expect } from 'vitest';
import { call, createApiKeyVia, expectJson, flushAudit, putPolicy, type TestOrg } from './helpers';

export interface SeenRequest {
  method: string;
  path: string;
  body: Record<string, unknown> | null;
}

/** Every request the fake provider received (it runs in the test runner's Node process). */
export async function providerRequests(): Promise<SeenRequest[]> {
  return (await (await fetch(`${env.LLM_FAKE_URL}/__fake/requests`)).json()) as SeenRequest[];
}

/** How many requests the provider received for exactly `method path`. */
export async function providerSaw(method: string, path: string): Promise<number> {
  return (await providerRequests()).filter((r) => r.method === method && r.path === path).length;
}

/** Creates an LLM connection of `org` on the fake provider, with `rules` as its policy; its id. */
export async function llmConnection(
  org: TestOrg,
  slug: string,
  provider: 'openai-compatible' | 'anthropic',
  rules: unknown[],
  settings: Record<string, unknown> = {},
): Promise<string> {
  const created = await call('POST', '/api/v1/connections', {
    key: org.key,
    body: {
      slug,
      name: slug,
      type: 'llm',
      upstreamUrl: `${env.LLM_FAKE_URL}/v1`,
      credential: env.LLM_FAKE_KEY,
      settings: { provider, ...settings },
    },
  });
  const body = await expectJson<{ id: string }>(created, 201);
  await putPolicy(slug, rules, org.key);
  return body.id;
}

/** Every token of `model` costs $0.001 (an organization price override). */
export async function priceModel(org: TestOrg, provider: string, model: string) {
  const res = await call('PUT', '/api/v1/llm/prices', {
    key: org.key,
    body: { provider, model, inputPerMTok: 1000, outputPerMTok: 1000 },
  });
  expect(res.status).toBe(200);
  await res.text();
}

/** A new key of the organization with a `block` budget of `limitUsd` on it alone. */
export async function budgetedKey(
  org: TestOrg,
  name: string,
  limitUsd: number,
  /** A key made before, to put under the budget instead of a new one. */
  existing?: { id: string; key: string },
) {
  const created = existing ?? (await createApiKeyVia(org.key, name));
  const res = await call('POST', '/api/v1/budgets', {
    key: org.key,
    body: { scope: 'apiKey', scopeRef: created.id, limitUsd, name },
  });
  const budget = await expectJson<{ id: string; enforcement: string }>(res, 201);
  expect(budget.enforcement).toBe('block');
  return { key: created.key, budgetId: budget.id };
}

/** A budget's spend and reservations once every settle sent after the answers has landed. */
export async function settledBudget(org: TestOrg, id: string) {
  for (;;) {
    const res = await call('GET', `/api/v1/budgets/${id}`, { key: org.key });
    const { status } = await expectJson<{
      status: { spentUsd: number; reservedUsd: number; inFlight: number };
    }>(res, 200);
    if (status.inFlight === 0) return status;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The audit row of the call traced `trace`. */
export async function auditRowOf(trace: string) {
  await flushAudit();
  return env.DB.prepare(
    'SELECT action, error_code, model, method, details FROM audit_events WHERE trace_id = ?',
  )
    .bind(trace)
    .first<{
      action: string;
      error_code: string | null;
      model: string | null;
      method: string;
      details: string | null;
    }>();
}
