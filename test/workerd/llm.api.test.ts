/**
 * The LLM management API inside workerd, with real D1: the provider catalog, organization price
 * overrides (and `loadPriceOverrides`, which the gateway prices calls with), usage totals from
 * audit rows, and the LLM columns of the audit API and its export. Rows are inserted as the
 * gateway writes them, so these tests do not depend on the LLM routes.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomId } from '../../workers/lib/ids';
import { priceCall } from '../../workers/llm/llm.prices';
import { loadPriceOverrides } from '../../workers/llm/llm.prices.store';
import {
  addMember,
  adminAuditRows,
  apiKeyIdOf,
  call,
  createOrg,
  expectApiError,
  expectJson,
  type TestOrg,
} from './helpers';

let owner: TestOrg;
let other: TestOrg;

const usage = {
  inputTokens: 1_000_000,
  cachedInputTokens: 0,
  cacheWriteInputTokens: 0,
  outputTokens: 1_000_000,
  reasoningTokens: null,
  totalTokens: 2_000_000,
};

beforeAll(async () => {
  owner = await createOrg('owner');
  other = await createOrg('owner');
});

describe('GET /api/v1/llm/providers', () => {
  it('lists the catalog without internals, to every role', async () => {
    const auditor = await addMember(owner.orgId, 'auditor');
    const body = await expectJson<{ version: number; providers: Array<Record<string, unknown>> }>(
      await call('GET', '/api/v1/llm/providers', { key: auditor.key }),
      200,
    );
    const ids = body.providers.map((p) => p.id);
    for (const id of ['openai', 'anthropic', 'azure-openai', 'google', 'ollama', 'openai-compatible']) {
      expect(ids).toContain(id);
    }
    expect(body.providers.find((p) => p.id === 'google')).toMatchObject({
      family: 'openai',
      auth: { style: 'query', param: 'key' },
      upstreamUrl: 'optional',
    });
    expect(body.providers.find((p) => p.id === 'azure-openai')).toMatchObject({
      baseUrl: null,
      upstreamUrl: 'required',
    });
    expect(Object.keys(body.providers[0]!).sort()).toEqual(
      [
        'auth',
        'baseUrl',
        'docs',
        'endpoints',
        'exampleBaseUrl',
        'family',
        'id',
        'name',
        'upstreamUrl',
      ].sort(),
    );
  });

  it('requires authentication', async () => {
    await expectApiError(await call('GET', '/api/v1/llm/providers', { key: null }), 401, 'unauthorized');
  });
});

describe('/api/v1/llm/prices', () => {
  const put = (body: unknown, key = owner.key) => call('PUT', '/api/v1/llm/prices', { key, body });

  it('upserts an override, audits it, and loadPriceOverrides returns it for priceCall', async () => {
    const first = await expectJson<Record<string, unknown>>(
      await put({ provider: 'openai', model: 'ft:gpt-4o:acme', inputPerMTok: 3, outputPerMTok: 12 }),
      200,
    );
    expect(first).toMatchObject({
      provider: 'openai',
      model: 'ft:gpt-4o:acme',
      inputPerMTok: 3,
      cachedInputPerMTok: null,
    });
    await expectJson(
      await put({
        provider: 'openai',
        model: 'ft:gpt-4o:acme',
        inputPerMTok: 4,
        cachedInputPerMTok: 1,
        outputPerMTok: 16,
      }),
      200,
    );
    const overrides = await loadPriceOverrides(env.DB, owner.orgId);
    expect(overrides).toEqual({ openai: { 'ft:gpt-4o:acme': { input: 4, cachedInput: 1, output: 16 } } });
    expect(priceCall('openai', 'ft:gpt-4o:acme', usage, overrides)).toMatchObject({
      costUsd: 20,
      source: 'override',
    });
    // A built-in model overridden: the override wins.
    await expectJson(
      await put({ provider: 'openai', model: 'gpt-4o', inputPerMTok: 1, outputPerMTok: 1 }),
      200,
    );
    const again = await loadPriceOverrides(env.DB, owner.orgId);
    expect(priceCall('openai', 'gpt-4o', usage, again)).toMatchObject({ costUsd: 2, source: 'override' });
    // Other organizations are untouched.
    expect(await loadPriceOverrides(env.DB, other.orgId)).toEqual({});

    const rows = await adminAuditRows(owner.orgId, 'llm_price.set');
    expect(rows).toHaveLength(3);
    expect(rows[1]!.details).toMatchObject({
      provider: 'openai',
      model: 'ft:gpt-4o:acme',
      inputPerMTok: 4,
      previous: { input: 3, output: 12 },
    });

    const listed = await expectJson<{ table: { version: string }; overrides: Array<{ model: string }> }>(
      await call('GET', '/api/v1/llm/prices', { key: owner.key }),
      200,
    );
    expect(listed.table.version).toMatch(/^\d{4}-\d{2}-\d{2}\.\d+$/);
    expect(listed.overrides.map((o) => o.model)).toEqual(['ft:gpt-4o:acme', 'gpt-4o']);
    const otherList = await expectJson<{ overrides: unknown[] }>(
      await call('GET', '/api/v1/llm/prices', { key: other.key }),
      200,
    );
    expect(otherList.overrides).toEqual([]);
  });

  it('deletes an override (404 when there is none), with an audit row', async () => {
    await expectJson(
      await put({ provider: 'mistral', model: 'my-model', inputPerMTok: 1, outputPerMTok: 2 }),
      200,
    );
    const path = '/api/v1/llm/prices?provider=mistral&model=my-model';
    await expectApiError(await call('DELETE', path, { key: other.key }), 404, 'not_found');
    await expectJson(await call('DELETE', path, { key: owner.key }), 200);
    await expectApiError(await call('DELETE', path, { key: owner.key }), 404, 'not_found');
    expect((await loadPriceOverrides(env.DB, owner.orgId)).mistral).toBeUndefined();
    expect(await adminAuditRows(owner.orgId, 'llm_price.delete')).toHaveLength(1);
  });

  it('validates the body: catalog provider, non-negative prices, no unknown fields', async () => {
    const bad = async (body: unknown, path: string) => {
      const err = await expectApiError(await put(body), 400, 'validation_failed');
      expect(err.details!.issues!.map((i) => i.path)).toContain(path);
    };
    await bad({ provider: 'nope', model: 'm', inputPerMTok: 1, outputPerMTok: 1 }, 'provider');
    await bad({ provider: 'openai', model: 'm', inputPerMTok: -1, outputPerMTok: 1 }, 'inputPerMTok');
    await bad({ provider: 'openai', model: '', inputPerMTok: 1, outputPerMTok: 1 }, 'model');
    await bad({ provider: 'openai', model: 'm', inputPerMTok: 1 }, 'outputPerMTok');
    await bad({ provider: 'openai', model: 'm', inputPerMTok: 1, outputPerMTok: 1, currency: 'EUR' }, '');
  });

  it('is owner/admin only to change; every role may read', async () => {
    const admin = await addMember(owner.orgId, 'admin');
    await expectJson(
      await put({ provider: 'groq', model: 'g', inputPerMTok: 1, outputPerMTok: 1 }, admin.key),
      200,
    );
    for (const role of ['developer', 'auditor'] as const) {
      const member = await addMember(owner.orgId, role);
      const err = await expectApiError(
        await put({ provider: 'groq', model: 'g', inputPerMTok: 9, outputPerMTok: 9 }, member.key),
        403,
        'forbidden',
      );
      expect(err.message).toContain('org:write');
      await expectApiError(
        await call('DELETE', '/api/v1/llm/prices?provider=groq&model=g', { key: member.key }),
        403,
        'forbidden',
      );
      await expectJson(await call('GET', '/api/v1/llm/prices', { key: member.key }), 200);
    }
    expect((await loadPriceOverrides(env.DB, owner.orgId)).groq).toEqual({ g: { input: 1, output: 1 } });
  });
});

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
