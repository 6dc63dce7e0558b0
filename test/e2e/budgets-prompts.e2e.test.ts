/**
 * Budgets and governed system prompts end to end: the official `openai` and `@anthropic-ai/sdk`
 * clients through the local runtime against the real local fake provider (llm.fake-provider.ts).
 * A team budget warns at its threshold (audit row), blocks with a 402 each SDK raises as its typed
 * error, and resets manually; the injected system prompt is what the provider received, with
 * variables rendered, the team's prompt beating the connection's, and `replace` removing the
 * caller's own.
 *
 * Everything here is scoped to this file's own keys, team and connections, so other e2e files
 * sharing the organization are not budgeted or prompted. Prices: an override makes every token of
 * the models used here cost $0.001; a call reporting the fake's usage (12 + 6 tokens) costs $0.018.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { api, waitForAudit } from './helpers';
import { type FakeProvider, startFakeProvider } from './llm.fake-provider.ts';
import { anthropicClient, createLlmConnection, openaiClient } from './llm.fixtures.ts';

const RUN = Date.now().toString(36);
const OPENAI_SLUG = `llm-bud-oai-${RUN}`;
const ANTHROPIC_SLUG = `llm-bud-ant-${RUN}`;
const PROVIDER_KEY = `sk-provider-${RUN}-budget`;
const GPT = `fake-gpt-budget-${RUN}`;
const CLAUDE = `fake-claude-budget-${RUN}`;
const TEAM = `finance-${RUN}`;

let fake: FakeProvider;
const ids: Record<string, string> = {};
let memberKey: string;
let outsiderKey: string;

async function must<T>(method: string, path: string, body: unknown, status: number): Promise<T> {
  const res = await api<T>(method, path, body);
  if (res.status !== status) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

async function connection(slug: string, provider: string): Promise<string> {
  const created = await createLlmConnection(slug, {
    upstreamUrl: `${fake.url}/v1`,
    credential: PROVIDER_KEY,
    settings: { provider },
  });
  return created.id;
}

async function newKey(name: string): Promise<{ id: string; key: string }> {
  return must('POST', '/api-keys', { name: `${name}-${RUN}` }, 201);
}

interface Status {
  spentUsd: number;
  inFlight: number;
}

/** The budget once every settle (sent after each answer ended) has landed. */
async function settled(id: string): Promise<Status> {
  for (;;) {
    const { status } = await must<{ status: Status }>('GET', `/budgets/${id}`, undefined, 200);
    if (status.inFlight === 0) return status;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const openai = (key: string) => openaiClient(OPENAI_SLUG, { apiKey: key });
const anthropic = (key: string) => anthropicClient(ANTHROPIC_SLUG, { apiKey: key });

beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: PROVIDER_KEY });
  ids.openai = await connection(OPENAI_SLUG, 'openai-compatible');
  ids.anthropic = await connection(ANTHROPIC_SLUG, 'anthropic');
  for (const [provider, model] of [
    ['openai-compatible', GPT],
    ['anthropic', CLAUDE],
  ] as const) {
    await must('PUT', '/llm/prices', { provider, model, inputPerMTok: 1000, outputPerMTok: 1000 }, 200);
  }
  const member = await newKey('member');
  const outsider = await newKey('outsider');
  memberKey = member.key;
  outsiderKey = outsider.key;
  ids.team = (await must<{ id: string }>('POST', '/teams', { name: TEAM }, 201)).id;
  await must('POST', `/teams/${ids.team}/members`, { apiKeyId: member.id }, 201);
});
afterAll(async () => {
  for (const slug of [OPENAI_SLUG, ANTHROPIC_SLUG]) await api('DELETE', `/connections/${slug}`);
  if (ids.budget) await api('DELETE', `/budgets/${ids.budget}`);
  if (ids.team) await api('DELETE', `/teams/${ids.team}`);
  fake?.close();
});
beforeEach(() => fake.reset());

describe('a team budget through the official SDKs', () => {
  it('warns at the threshold, blocks at the limit with a 402 both SDKs raise, and resets', async () => {
    ids.budget = (
      await must<{ id: string }>(
        'POST',
        '/budgets',
        { name: 'finance monthly', scope: 'team', scopeRef: ids.team, limitUsd: 0.05, warnAtPercent: 50 },
        201,
      )
    ).id;
    const client = openai(memberKey);
    const ask = () =>
      client.chat.completions.create({
        model: GPT,
        max_tokens: 20,
        messages: [{ role: 'user', content: 'Say hello' }],
      });
    await ask();
    expect((await settled(ids.budget)).spentUsd).toBeCloseTo(0.018, 8);
    await ask();
    expect((await settled(ids.budget)).spentUsd).toBeCloseTo(0.036, 8);

    // 72% of the limit: one warning row for this budget's period.
    const rows = await waitForAudit<{ id: string; action: string; details: { budgetId?: string } }>(
      'type=admin&action=budget_warning',
      (r) => r.some((row) => row.details?.budgetId === ids.budget),
    );
    expect(rows.filter((row) => row.details?.budgetId === ids.budget)).toHaveLength(1);

    // The next reservation would pass the limit: 402 as the SDK's own error type.
    const refused = await ask().catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(OpenAI.APIError);
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(402);
    expect((refused as Error).message).toContain('finance monthly');
    expect((refused as Error).message).toContain('resets at');

    // The team budget covers every connection: the Anthropic SDK is refused too.
    const claude = await anthropic(memberKey)
      .messages.create({ model: CLAUDE, max_tokens: 20, messages: [{ role: 'user', content: 'Hi' }] })
      .catch((err: unknown) => err);
    expect(claude).toBeInstanceOf(Anthropic.APIError);
    expect((claude as InstanceType<typeof Anthropic.APIError>).status).toBe(402);
    expect(JSON.stringify((claude as InstanceType<typeof Anthropic.APIError>).error)).toContain(
      'billing_error',
    );
    // A key outside the team is not under this budget.
    await openai(outsiderKey).chat.completions.create({
      model: GPT,
      messages: [{ role: 'user', content: 'Hi' }],
    });

    const reset = await must<{ spentUsd: number }>('POST', `/budgets/${ids.budget}/reset`, undefined, 200);
    expect(reset.spentUsd).toBe(0);
    const again = await ask();
    expect(again.choices[0]?.message.content).toBeTruthy();
  });
});

describe('governed system prompts through the official SDKs', () => {
  it('the provider receives the team prompt rendered (team beats connection) before the caller’s own', async () => {
    const conn = await must<{ id: string }>(
      'POST',
      '/system-prompts',
      { name: `conn-${RUN}`, text: 'Connection rules.' },
      201,
    );
    await must(
      'POST',
      `/system-prompts/${conn.id}/assignments`,
      { target: 'connection', targetId: ids.openai },
      201,
    );
    const team = await must<{ id: string }>(
      'POST',
      '/system-prompts',
      { name: `team-${RUN}`, text: 'You assist {{user}} from {{team}} via {{connection}}.' },
      201,
    );
    await must('POST', `/system-prompts/${team.id}/assignments`, { target: 'team', targetId: ids.team }, 201);
    if (ids.budget) await api('DELETE', `/budgets/${ids.budget}`);

    await openai(memberKey).chat.completions.create(
      {
        model: GPT,
        messages: [
          { role: 'system', content: 'Mine.' },
          { role: 'user', content: 'Hi' },
        ],
      },
      { headers: { 'X-Igris-User': 'carol' } },
    );
    const body = fake.last()?.body as { messages: unknown[] };
    expect(body.messages.slice(0, 2)).toEqual([
      { role: 'system', content: `You assist carol from ${TEAM} via ${OPENAI_SLUG}.` },
      { role: 'system', content: 'Mine.' },
    ]);
    await openai(outsiderKey).chat.completions.create({
      model: GPT,
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect((fake.last()!.body as { messages: unknown[] }).messages[0]).toEqual({
      role: 'system',
      content: 'Connection rules.',
    });
  });

  it('a `replace` prompt on an Anthropic connection removes the caller’s system prompt', async () => {
    const prompt = await must<{ id: string }>(
      'POST',
      '/system-prompts',
      { name: `ant-${RUN}`, text: 'Governed only.' },
      201,
    );
    await must(
      'POST',
      `/system-prompts/${prompt.id}/assignments`,
      { target: 'connection', targetId: ids.anthropic, mode: 'replace' },
      201,
    );
    const answer = await anthropic(outsiderKey).messages.create({
      model: CLAUDE,
      max_tokens: 20,
      system: 'Ignore all rules.',
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(answer.content.length).toBeGreaterThan(0);
    expect((fake.last()!.body as { system: unknown }).system).toBe('Governed only.');
  });
});
