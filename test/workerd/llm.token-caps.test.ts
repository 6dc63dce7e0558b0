/**
 * tokenGuard's output caps bound everything a request can produce, not one answer of it: `n`
 * (chat, completions) or `best_of` (completions) answers, each up to the max-tokens field, all
 * billed. `maxRequestMaxTokens` refuses max tokens × answers over it (403 `policy_denied`, nothing
 * forwarded); `maxOutputTokens` gives each answer its share of the cap in what is forwarded, and
 * refuses a request for more answers than the cap has tokens. Responses and Anthropic Messages
 * have no such field: one answer (an `n` in a Messages body is not the provider's, and counts for
 * nothing). Against the real fake provider, which records what it received.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { call, createOrg, type TestOrg } from './helpers';
import { auditRowOf, llmConnection, providerRequests } from './llm.governance.fixtures';

const RUN = Date.now().toString(36);
const OPENAI = `llm-caps-${RUN}`;
const ANTHROPIC = `llm-caps-ant-${RUN}`;
let org: TestOrg;

const RULES = [
  { model: 'fake-gpt', action: 'allow', tokenGuard: { maxRequestMaxTokens: 1000 } },
  { model: 'fake-capped', action: 'allow', tokenGuard: { maxOutputTokens: 100 } },
  { model: 'fake-claude', action: 'allow', tokenGuard: { maxOutputTokens: 100 } },
];

beforeAll(async () => {
  org = await createOrg('owner');
  await llmConnection(org, OPENAI, 'openai-compatible', RULES);
  await llmConnection(org, ANTHROPIC, 'anthropic', RULES);
});

/** POSTs a body marked with a unique message; the status, the error and what the provider got. */
async function send(path: string, body: Record<string, unknown>) {
  const marker = `caps-${Math.random().toString(36).slice(2)}`;
  const trace = `trace-${marker}`;
  const marked =
    path.endsWith('/completions') && !path.endsWith('chat/completions')
      ? { ...body, prompt: marker }
      : { ...body, messages: [{ role: 'user', content: marker }] };
  const res = await call('POST', path, {
    key: org.key,
    body: marked,
    headers: { 'X-Igris-Trace-Id': trace },
  });
  const text = await res.text();
  const seen = (await providerRequests()).find((r) => JSON.stringify(r.body).includes(marker));
  return { status: res.status, text, forwarded: seen?.body ?? null, trace };
}

describe('maxRequestMaxTokens bounds max tokens × answers', () => {
  it('refuses n × max_tokens over the cap (403, nothing forwarded) and passes what fits', async () => {
    const chat = `/llm/${OPENAI}/v1/chat/completions`;
    const over = await send(chat, { model: 'fake-gpt', n: 8, max_tokens: 1000 });
    expect(over.status).toBe(403);
    expect(JSON.parse(over.text).error).toMatchObject({ code: 'policy_denied', type: 'permission_error' });
    expect(JSON.parse(over.text).error.message).toContain(
      "asks for 8000 output tokens (1000 for each of 8 answers), over this rule's maxRequestMaxTokens of 1000",
    );
    expect(over.forwarded).toBeNull();
    const row = await auditRowOf(over.trace);
    expect([row?.action, row?.error_code]).toEqual(['deny', 'policy_denied']);
    // max_completion_tokens is read the same way.
    expect((await send(chat, { model: 'fake-gpt', n: 2, max_completion_tokens: 501 })).status).toBe(403);
    for (const fits of [
      { model: 'fake-gpt', n: 1, max_tokens: 1000 },
      { model: 'fake-gpt', n: 2, max_tokens: 500 },
      { model: 'fake-gpt', max_tokens: 1000 },
    ]) {
      const ok = await send(chat, fits);
      expect(ok.status, JSON.stringify(fits)).toBe(200);
      expect(ok.forwarded).toMatchObject(fits);
    }
  });

  it('counts completions `best_of` (every candidate is generated and billed)', async () => {
    const completions = `/llm/${OPENAI}/v1/completions`;
    const over = await send(completions, { model: 'fake-gpt', n: 1, best_of: 3, max_tokens: 400 });
    expect(over.status).toBe(403);
    expect(over.forwarded).toBeNull();
  });
});

describe('maxOutputTokens is shared among the answers', () => {
  it('forwards each answer its share of the cap, refuses more answers than the cap has tokens; Messages has no `n`', async () => {
    const chat = `/llm/${OPENAI}/v1/chat/completions`;
    const shared = await send(chat, { model: 'fake-capped', n: 4, max_tokens: 100 });
    expect(shared.status).toBe(200);
    expect(shared.forwarded).toMatchObject({ n: 4, max_tokens: 25 });
    const row = await auditRowOf(shared.trace);
    const findings = (JSON.parse(row?.details ?? '{}') as { findings?: unknown[] }).findings;
    expect(findings).toContainEqual(
      expect.objectContaining({
        kind: 'output_capped',
        detail: expect.objectContaining({ maxOutputTokens: 100, answers: 4, perAnswer: 25 }),
      }),
    );
    // No max-tokens field: the provider's is added, at the share.
    const added = await send(chat, { model: 'fake-capped', n: 3 });
    expect(added.forwarded).toMatchObject({ n: 3, max_tokens: 33 });
    const many = await send(chat, { model: 'fake-capped', n: 101 });
    expect(many.status).toBe(403);
    expect(JSON.parse(many.text).error.code).toBe('policy_denied');
    expect(many.forwarded).toBeNull();
    // One answer keeps the whole cap, as before.
    expect((await send(chat, { model: 'fake-capped', max_tokens: 500 })).forwarded).toMatchObject({
      max_tokens: 100,
    });
    // Anthropic Messages has no `n`: the cap is the one answer's.
    const res = await call('POST', `/llm/${ANTHROPIC}/v1/messages`, {
      key: org.key,
      body: {
        model: 'fake-claude',
        n: 8,
        max_tokens: 500,
        messages: [{ role: 'user', content: `ant-${RUN}` }],
      },
      headers: { 'anthropic-version': '2023-06-01' },
    });

    expect(res.status).toBe(200);
    await res.text();
    const seen = (await providerRequests()).find((r) => JSON.stringify(r.body).includes(`ant-${RUN}`));
    expect(seen?.body).toMatchObject({ max_tokens: 100 });
  });
});
