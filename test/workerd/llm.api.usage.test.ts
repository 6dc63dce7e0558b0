/**
 * The LLM management API inside workerd, with real D1: usage totals from audit rows, and the LLM
 * columns of the audit API and its export. Rows are inserted as the gateway writes them, so these
 * tests do not depend on the LLM routes.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomId } from '../../workers/lib/ids';
import { addMember, apiKeyIdOf, call, createOrg, expectApiError, expectJson, type TestOrg } from './helpers';
import { other, setUpLlmApi } from './llm.api.fixtures';

beforeAll(setUpLlmApi);

// ---------------------------------------------------------------------------------------------
// Usage and audit columns, from rows written as the gateway writes them.
// ---------------------------------------------------------------------------------------------

interface LlmRow {
  orgId: string;
  connectionId: string;
  slug: string;
  apiKeyId: string | null;
  user: string | null;
  model: string;
  input: number | null;
  cached: number | null;
  output: number | null;
  reasoning?: number | null;
  cost: number | null;
  at: number;
}

async function insertLlmRow(row: LlmRow): Promise<string> {
  const id = randomId('evt');
  await env.DB.prepare(
    `INSERT INTO audit_events (id, org_id, type, connection_id, connection_slug, api_key_id, "user", method, action,
       model, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, cost_usd, created_at)
     VALUES (?, ?, 'llm_call', ?, ?, ?, ?, 'chat.completions', 'allow', ?, ?, ?, ?, ?, ?, ?)`,
  )
    .bind(
      id,
      row.orgId,
      row.connectionId,
      row.slug,
      row.apiKeyId,
      row.user,
      row.model,
      row.input,
      row.cached,
      row.output,
      row.reasoning ?? null,
      row.cost,
      row.at,
    )
    .run();
  return id;
}

async function llmConnection(slug: string, key: string): Promise<string> {
  const dto = await expectJson<{ id: string }>(
    await call('POST', '/api/v1/connections', {
      key,
      body: { slug, name: slug, type: 'llm', credential: 'sk-x', settings: { provider: 'openai' } },
    }),
    201,
  );
  return dto.id;
}

interface UsageBody {
  totals: Record<string, number>;
  groups: Array<Record<string, unknown>>;
  truncated: boolean;
}

describe('GET /api/v1/llm/usage and the audit LLM columns', () => {
  const day1 = Date.parse('2031-03-01T10:00:00Z');
  const day2 = Date.parse('2031-03-02T10:00:00Z');
  const range = 'from=2031-03-01T00:00:00Z&to=2031-03-03T00:00:00Z';
  let org: TestOrg;
  let developer: TestOrg;
  let ownerKeyId: string;
  let devConnection: string;

  beforeAll(async () => {
    org = await createOrg('owner');
    developer = await addMember(org.orgId, 'developer');
    ownerKeyId = await apiKeyIdOf(org.key);
    const main = await llmConnection('usage-main', org.key);
    devConnection = await llmConnection('usage-dev', developer.key);
    const base = { orgId: org.orgId, apiKeyId: ownerKeyId, reasoning: null };
    await insertLlmRow({
      ...base,
      connectionId: main,
      slug: 'usage-main',
      user: 'alice',
      model: 'gpt-4o',
      input: 100,
      cached: 20,
      output: 50,
      reasoning: 5,
      cost: 0.1,
      at: day1,
    });
    await insertLlmRow({
      ...base,
      connectionId: main,
      slug: 'usage-main',
      user: 'bob',
      model: 'gpt-4o',
      input: 200,
      cached: 0,
      output: 10,
      cost: 0.2,
      at: day2,
    });
    await insertLlmRow({
      ...base,
      connectionId: main,
      slug: 'usage-main',
      user: 'alice',
      model: 'mystery-1',
      input: 7,
      cached: 0,
      output: 3,
      cost: null,
      at: day2,
    });
    await insertLlmRow({
      ...base,
      apiKeyId: await apiKeyIdOf(developer.key),
      connectionId: devConnection,
      slug: 'usage-dev',
      user: 'carol',
      model: 'gpt-4o-mini',
      input: 1000,
      cached: 0,
      output: 100,
      cost: 0.05,
      at: day1,
    });
    // Outside the range, another organization, and a non-LLM row: never counted.
    await insertLlmRow({
      ...base,
      connectionId: main,
      slug: 'usage-main',
      user: 'alice',
      model: 'gpt-4o',
      input: 9,
      cached: 0,
      output: 9,
      cost: 9,
      at: day2 + 86_400_000,
    });
    await insertLlmRow({
      orgId: other.orgId,
      connectionId: 'con_other',
      slug: 'x',
      apiKeyId: null,
      user: 'alice',
      model: 'gpt-4o',
      input: 9,
      cached: 0,
      output: 9,
      cost: 9,
      at: day1,
    });
    await env.DB.prepare(
      `INSERT INTO audit_events (id, org_id, type, connection_id, action, created_at) VALUES (?, ?, 'tool_call', ?, 'allow', ?)`,
    )
      .bind(randomId('evt'), org.orgId, main, day1)
      .run();
  });

  const usageOf = async (query: string, key = org.key) =>
    expectJson<UsageBody>(await call('GET', `/api/v1/llm/usage?${range}&${query}`, { key }), 200);

  it('totals requests, tokens and cost, with unpriced calls counted apart', async () => {
    const body = await usageOf('groupBy=model');
    expect(body.totals).toEqual({
      requests: 4,
      inputTokens: 1307,
      cachedInputTokens: 20,
      outputTokens: 163,
      reasoningTokens: 5,
      costUsd: 0.35,
      unpriced: 1,
    });
    expect(body.groups.map((g) => [g.key, g.requests, g.costUsd, g.unpriced])).toEqual([
      ['gpt-4o', 2, 0.3, 0],
      ['gpt-4o-mini', 1, 0.05, 0],
      ['mystery-1', 1, 0, 1],
    ]);
    expect(body.truncated).toBe(false);
  });

  it('groups by connection (labelled by slug), API key, user and day', async () => {
    const byConnection = await usageOf('groupBy=connection');
    expect(byConnection.groups.map((g) => [g.label, g.requests])).toEqual([
      ['usage-main', 3],
      ['usage-dev', 1],
    ]);
    const byKey = await usageOf('groupBy=apiKey');
    expect(byKey.groups[0]).toMatchObject({ key: ownerKeyId, label: 'test key', requests: 3 });
    const byUser = await usageOf('groupBy=user');
    expect(byUser.groups.map((g) => [g.key, g.requests])).toEqual([
      ['bob', 1],
      ['alice', 2],
      ['carol', 1],
    ]);
    const byDay = await usageOf('groupBy=day');
    expect(byDay.groups.map((g) => [g.key, g.requests, g.costUsd])).toEqual([
      ['2031-03-01', 2, 0.15],
      ['2031-03-02', 2, 0.2],
    ]);
  });

  it("shows a developer only their own connections' calls, and other organizations nothing", async () => {
    const mine = await usageOf('groupBy=connection', developer.key);
    expect(mine.groups.map((g) => g.label)).toEqual(['usage-dev']);
    expect(mine.totals.requests).toBe(1);
    const theirs = await usageOf('groupBy=model', other.key);
    expect(theirs.totals.requests).toBe(1);
  });

  it('validates the query', async () => {
    const bad = await expectApiError(
      await call('GET', `/api/v1/llm/usage?groupBy=tool`, { key: org.key }),
      400,
      'validation_failed',
    );
    expect(bad.details!.issues![0]).toMatchObject({ location: 'query', path: 'groupBy' });
    const order = await expectApiError(
      await call('GET', '/api/v1/llm/usage?from=2031-03-02&to=2031-03-01', { key: org.key }),
      400,
      'validation_failed',
    );
    expect(order.details!.issues![0]).toMatchObject({ path: 'from' });
  });

  it('returns model, tokens and cost in audit events, filters by ?model=, and exports them', async () => {
    const page = await expectJson<{ events: Array<Record<string, unknown>> }>(
      await call('GET', `/api/v1/audit-events?model=gpt-4o&${range}`, { key: org.key }),
      200,
    );
    expect(page.events).toHaveLength(2);
    expect(page.events.find((e) => e.user === 'alice')).toMatchObject({
      model: 'gpt-4o',
      inputTokens: 100,
      cachedInputTokens: 20,
      outputTokens: 50,
      reasoningTokens: 5,
      costUsd: 0.1,
    });
    const plain = await expectJson<{ events: Array<Record<string, unknown>> }>(
      await call('GET', `/api/v1/audit-events?${range}&action=allow&limit=50`, { key: org.key }),
      200,
    );
    expect(plain.events.find((e) => e.model === null)).toMatchObject({ inputTokens: null, costUsd: null });

    const csv = await call('GET', `/api/v1/audit-events/export?format=csv&model=mystery-1&${range}`, {
      key: org.key,
    });
    const [header, line] = (await csv.text()).trim().split('\r\n');
    const columns = header!.split(',');
    for (const column of [
      'model',
      'inputTokens',
      'cachedInputTokens',
      'outputTokens',
      'reasoningTokens',
      'costUsd',
    ]) {
      expect(columns).toContain(column);
    }
    const cells = line!.split(',');
    expect(cells[columns.indexOf('model')]).toBe('mystery-1');
    expect(cells[columns.indexOf('inputTokens')]).toBe('7');
    expect(cells[columns.indexOf('costUsd')]).toBe('');
    const ndjson = await call('GET', `/api/v1/audit-events/export?model=gpt-4o-mini&${range}`, {
      key: org.key,
    });
    const events = (await ndjson.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events).toEqual([
      expect.objectContaining({ model: 'gpt-4o-mini', outputTokens: 100, costUsd: 0.05 }),
    ]);
  });
});
