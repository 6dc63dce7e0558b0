/**
 * The LLM gateway inside workerd, against the real fake provider (global-setup.ts): tenancy (another
 * organization's connection is "not found" on every route), who may use a connection, and secrets
 * (the provider key in no response, header, audit row, live event or log line; the caller's `ig_`
 * key never at the provider, whichever header carried it).
 */
import { env } from 'cloudflare:workers';
import { afterAll, beforeAll, describe, expect, it, type MockInstance, vi } from 'vitest';
import {
  ADMIN_KEY,
  addMember,
  bootstrapDefault,
  call,
  createOrg,
  flushAudit,
  hubEvents,
  putPolicy,
  type TestOrg,
} from './helpers';

const RUN = Date.now().toString(36);
const SLUG = `llm-w-${RUN}`;
const CHAT = { model: 'fake-gpt', messages: [{ role: 'user', content: 'hi' }] };

let orgId: string;
let other: TestOrg;
const logLines: string[] = [];
const spies: MockInstance[] = [];
const seen: string[] = [];

async function tracked(
  path: string,
  init: { key?: string | null; body?: unknown; headers?: Record<string, string>; method?: string },
) {
  const res = await call(init.method ?? 'POST', path, {
    key: init.key,
    body: init.body,
    headers: init.headers,
  });
  seen.push(`${res.status} ${JSON.stringify([...res.headers])} ${await res.clone().text()}`);
  return res;
}

/** What the fake provider received (read over HTTP: it runs in the test runner's Node process). */
async function providerRequests(): Promise<string> {
  const res = await fetch(`${env.LLM_FAKE_URL}/__fake/requests`);
  return res.text();
}

beforeAll(async () => {
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    spies.push(
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        logLines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
      }),
    );
  }
  orgId = await bootstrapDefault();
  const created = await call('POST', '/api/v1/connections', {
    body: {
      slug: SLUG,
      name: SLUG,
      type: 'llm',
      upstreamUrl: `${env.LLM_FAKE_URL}/v1`,
      credential: env.LLM_FAKE_KEY,
      settings: { provider: 'openai-compatible' },
    },
  });
  expect(created.status).toBe(201);
  await putPolicy(SLUG, [
    { model: 'fake-denied', action: 'deny' },
    { tool: '*', action: 'allow' },
  ]);
  other = await createOrg('owner');
});

afterAll(() => {
  for (const spy of spies) spy.mockRestore();
});

describe('LLM gateway tenancy and roles', () => {
  it('another organization’s slug is 404 on the native route, the Igris route and in /v1/models', async () => {
    const native = await tracked(`/llm/${SLUG}/v1/chat/completions`, { key: other.key, body: CHAT });
    expect(native.status).toBe(404);
    expect(await native.json()).toMatchObject({
      error: { type: expect.any(String), message: expect.any(String) },
    });
    const igris = await tracked('/v1/chat/completions', {
      key: other.key,
      body: { ...CHAT, model: `@${SLUG}/fake-gpt` },
    });
    expect(igris.status).toBe(404);
    const models = await tracked('/v1/models', { key: other.key, method: 'GET' });
    expect(JSON.stringify(await models.json())).not.toContain(SLUG);
    expect(await providerRequests()).not.toContain(other.key);
  });

  it('an auditor may not use the connection (403 in the provider’s shape); a developer may not use another’s', async () => {
    for (const role of ['auditor', 'developer'] as const) {
      const member = await addMember(orgId, role);
      const res = await tracked(`/llm/${SLUG}/v1/chat/completions`, { key: member.key, body: CHAT });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('connection_forbidden');
    }
  });

  it('accepts the ig_ key as x-api-key too, and never forwards it', async () => {
    const res = await tracked(`/llm/${SLUG}/v1/chat/completions`, {
      key: null,
      body: CHAT,
      headers: { 'x-api-key': ADMIN_KEY },
    });
    expect(res.status).toBe(200);
    const sent = await providerRequests();
    expect(sent).toContain(env.LLM_FAKE_KEY); // the provider key was injected…
    expect(sent).not.toContain(ADMIN_KEY); // …and the caller's key stayed here
  });
});

describe('LLM gateway secrets', () => {
  it('the provider key appears in no response, audit row, live event or log line', async () => {
    await tracked(`/llm/${SLUG}/v1/chat/completions`, { body: CHAT });
    await tracked(`/llm/${SLUG}/v1/chat/completions`, { body: { ...CHAT, stream: true } });
    await tracked(`/llm/${SLUG}/v1/chat/completions`, { body: { ...CHAT, model: 'fake-denied' } });
    await tracked(`/llm/${SLUG}/v1/chat/completions`, { body: { ...CHAT, model: 'fake-fail-500' } });
    await tracked(`/llm/${SLUG}/v1/embeddings`, { body: { model: 'fake-embed', input: 'x' } });
    await tracked('/v1/chat/completions', { body: { ...CHAT, model: `@${SLUG}/fake-gpt` } });
    await flushAudit();
    const { results } = await env.DB.prepare(
      "SELECT * FROM audit_events WHERE type = 'llm_call' AND org_id = ?",
    )
      .bind(orgId)
      .all();
    expect(results.length).toBeGreaterThanOrEqual(6);
    const everything = [...seen, JSON.stringify(results), ...(await hubEvents(orgId)), ...logLines].join(
      '\n',
    );
    expect(everything).not.toContain(env.LLM_FAKE_KEY);
    expect(await providerRequests()).not.toContain(ADMIN_KEY);
  });
});
