/**
 * An LLM call is priced with the organization's overrides from the isolate's cache
 * (workers/llm/llm.prices.cache.ts): in the steady state a call makes no D1 query at all —
 * counted on the bindings the Worker is given — and an override changed through the API, here or
 * in another isolate (written to D1 and announced as that isolate's API would: epoch bumped in D1,
 * pushed to the guards, this isolate never told), prices the very next call.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { bumpConfigEpoch, pushConfigEpoch } from '../../workers/config/config.epoch';
import worker from '../../workers/index';
import { randomId } from '../../workers/lib/ids';
import { BASE, call, createOrg, flushAudit, putPolicy, type TestOrg } from './helpers';

const MODEL = 'fake-gpt';
let org: TestOrg;
let slug: string;

beforeEach(async () => {
  org = await createOrg('owner');
  slug = `llm-pc-${randomId('c').slice(-8).toLowerCase()}`;
  const created = await call('POST', '/api/v1/connections', {
    key: org.key,
    body: {
      slug,
      name: slug,
      type: 'llm',
      upstreamUrl: `${env.LLM_FAKE_URL}/v1`,
      credential: env.LLM_FAKE_KEY,
      settings: { provider: 'openai-compatible' },
    },
  });
  expect(created.status).toBe(201);
  await putPolicy(slug, [{ tool: '*', action: 'allow' }], org.key);
  await setPrice(1000);
});

async function setPrice(perMTok: number): Promise<void> {
  const res = await call('PUT', '/api/v1/llm/prices', {
    key: org.key,
    body: { provider: 'openai-compatible', model: MODEL, inputPerMTok: perMTok, outputPerMTok: perMTok },
  });
  expect(res.status).toBe(200);
}

/** D1 statements and batches the Worker runs through the binding it is given. */
function countedDb(counts: { d1: number }): Env {
  const countStatement = (stmt: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(stmt, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (typeof value !== 'function') return value;
        if (prop === 'bind') return (...args: unknown[]) => countStatement(value.apply(target, args));
        if (prop === 'first' || prop === 'all' || prop === 'run' || prop === 'raw') counts.d1++;
        return value.bind(target);
      },
    });
  const db = new Proxy(env.DB, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop === 'prepare') return (sql: string) => countStatement(target.prepare(sql));
      if (prop === 'batch') counts.d1++;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { ...env, DB: db };
}

/** One chat completion through the Worker, its waitUntil work (the priced outcome) included. */
async function chat(): Promise<{ status: number; d1: number; traceId: string }> {
  const counts = { d1: 0 };
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`${BASE}/llm/${slug}/v1/chat/completions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${org.key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }),
    }),
    countedDb(counts),
    ctx,
  );
  await res.text();
  await waitOnExecutionContext(ctx);
  return { status: res.status, d1: counts.d1, traceId: res.headers.get('X-Igris-Trace-Id')! };
}

/** The call's cost in USD per million tokens it used, once its outcome has landed. */
async function pricePerMTok(traceId: string): Promise<number> {
  for (let i = 0; i < 100; i++) {
    await flushAudit();
    const row = await env.DB.prepare(
      'SELECT input_tokens, output_tokens, cost_usd FROM audit_events WHERE trace_id = ?',
    )
      .bind(traceId)
      .first<{ input_tokens: number | null; output_tokens: number | null; cost_usd: number | null }>();
    if (row?.cost_usd != null) return (row.cost_usd * 1e6) / (row.input_tokens! + row.output_tokens!);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no priced outcome for ${traceId}`);
}

describe('LLM price overrides from the isolate cache', () => {
  it('prices a warm call with no D1 query', async () => {
    const cold = await chat();
    expect(cold.status).toBe(200);
    expect(cold.d1).toBeGreaterThanOrEqual(1); // the counter counts
    for (let i = 0; i < 3; i++) {
      const warm = await chat();
      expect(warm).toMatchObject({ status: 200, d1: 0 });
      expect(await pricePerMTok(warm.traceId)).toBeCloseTo(1000, 6);
    }
  });

  it('an override changed through the API prices the next call', async () => {
    const before = await chat();
    expect(await pricePerMTok(before.traceId)).toBeCloseTo(1000, 6);
    await setPrice(3000);
    const after = await chat();
    expect(await pricePerMTok(after.traceId)).toBeCloseTo(3000, 6);
  });

  it('an override changed by another isolate prices the next call here', async () => {
    const warm = await chat();
    expect(await pricePerMTok(warm.traceId)).toBeCloseTo(1000, 6);
    await env.DB.prepare(
      'UPDATE llm_prices SET input_per_mtok = 5000, output_per_mtok = 5000 WHERE org_id = ? AND model = ?',
    )
      .bind(org.orgId, MODEL)
      .run();
    const epoch = await bumpConfigEpoch(env.DB, org.orgId);
    await pushConfigEpoch(env, org.orgId, epoch!);
    const next = await chat();
    expect(next.status).toBe(200);
    expect(await pricePerMTok(next.traceId)).toBeCloseTo(5000, 6);
  });
});
