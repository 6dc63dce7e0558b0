/**
 * The LLM management API inside workerd, with real D1: the provider catalog and organization price
 * overrides (and `loadPriceOverrides`, which the gateway prices calls with).
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { priceCall } from '../../workers/llm/llm.prices';
import { loadPriceOverrides } from '../../workers/llm/llm.prices.store';
import { addMember, adminAuditRows, call, expectApiError, expectJson } from './helpers';
import { other, owner, setUpLlmApi } from './llm.api.fixtures';

const usage = {
  inputTokens: 1_000_000,
  cachedInputTokens: 0,
  cacheWriteInputTokens: 0,
  outputTokens: 1_000_000,
  reasoningTokens: null,
  totalTokens: 2_000_000,
};

beforeAll(setUpLlmApi);

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
