/**
 * An LLM answer that ends without reported usage is charged an estimate, inside workerd against the
 * real fake provider (global-setup.ts): the prompt estimate plus the request's output cap, as budgets
 * reserve it (llm.governance.ts). Without it, a caller who hangs up after the answer and before the
 * usage chunk the gateway asked for would be charged nothing — a `tokenLimit` or a budget dodged by
 * cancelling at `finish_reason`. The row says the tokens are an estimate (`usage_estimated`) and
 * records the hang-up as the caller's (`client_cancelled`), not as the upstream's failure.
 *
 * `fake-fail-stall-end` makes the fake send the whole answer, then hold the usage chunk back for
 * seconds: the caller hangs up in between, every time.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, createApiKeyVia, createOrg, expectJson, flushAudit, putPolicy, type TestOrg } from './helpers';

const RUN = Date.now().toString(36);
const MESSAGES = [{ role: 'user', content: 'hi' }];

let org: TestOrg;

async function llmConnection(slug: string, provider: string): Promise<void> {
  const created = await call('POST', '/api/v1/connections', {
    key: org.key,
    body: {
      slug,
      name: slug,
      type: 'llm',
      upstreamUrl: `${env.LLM_FAKE_URL}/v1`,
      credential: env.LLM_FAKE_KEY,
      settings: { provider },
    },
  });
  expect(created.status).toBe(201);
}

function chat(slug: string, body: Record<string, unknown>, key = org.key) {
  return call('POST', `/llm/${slug}/v1/chat/completions`, { key, body: { messages: MESSAGES, ...body } });
}

/** Reads a streamed answer until `marker` has arrived, then hangs up. */
async function readUntilThenCancel(res: Response, marker: string): Promise<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!text.includes(marker)) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`the stream ended before ${marker}`);
    text += decoder.decode(value, { stream: true });
  }
  await reader.cancel();
  return text;
}

interface Row {
  upstream_status: number | null;
  error_code: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cost_usd: number | null;
  details: string | null;
}

/** The call's audit row once its outcome (sent off the hot path) has landed. */
async function settledRow(traceId: string): Promise<Row> {
  for (let i = 0; i < 100; i++) {
    await flushAudit();
    const row = await env.DB.prepare(
      'SELECT upstream_status, error_code, input_tokens, output_tokens, cost_usd, details FROM audit_events WHERE trace_id = ?',
    )
      .bind(traceId)
      .first<Row>();
    if (row && row.upstream_status !== null) return row;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no outcome for ${traceId}`);
}

function findingKinds(row: Row): string[] {
  const details = JSON.parse(row.details ?? '{}') as { findings?: { kind: string }[] };
  return (details.findings ?? []).map((f) => f.kind);
}

beforeAll(async () => {
  org = await createOrg('owner');
});

describe('usage the answer never reported', () => {
  it('a caller who hangs up at finish_reason is charged the estimate: the next call is refused 429', async () => {
    const slug = `llm-est-tpm-${RUN}`;
    await llmConnection(slug, 'openai-compatible');
    await putPolicy(
      slug,
      [{ model: 'fake-*', action: 'allow', tokenLimit: { limit: 10, windowSeconds: 600, by: 'connection' } }],
      org.key,
    );
    const first = await chat(slug, { model: 'fake-fail-stall-end', stream: true });
    expect(first.status).toBe(200);
    const traceId = first.headers.get('X-Igris-Trace-Id')!;
    const text = await readUntilThenCancel(first, '"finish_reason":"stop"');
    expect(text).not.toContain('"usage":{'); // the usage chunk had not come

    const row = await settledRow(traceId);
    expect(row.error_code).toBe('client_cancelled');
    expect(findingKinds(row)).toContain('usage_estimated');
    // The prompt estimate ("hi" + one message's overhead) and the default output reserve.
    expect(row.input_tokens).toBe(5);
    expect(row.output_tokens).toBe(4_096);

    const second = await chat(slug, { model: 'fake-fail-stall-end', stream: true });
    expect(second.status).toBe(429);
    await second.body?.cancel();
  });

  it('a stream that completes without usage is charged the estimate against budgets; reported usage is not marked', async () => {
    // Cohere's compatibility API rejects `stream_options`: the gateway cannot ask for usage, and
    // the fake sends none unasked.
    const slug = `llm-est-budget-${RUN}`;
    await llmConnection(slug, 'cohere');
    await putPolicy(slug, [{ tool: '*', action: 'allow' }], org.key);
    const price = await call('PUT', '/api/v1/llm/prices', {
      key: org.key,
      body: { provider: 'cohere', model: 'fake-gpt', inputPerMTok: 1000, outputPerMTok: 1000 },
    });
    expect(price.status).toBe(200);
    const caller = await createApiKeyVia(org.key, `estimate-${RUN}`);
    const budget = await expectJson<{ id: string }>(
      await call('POST', '/api/v1/budgets', {
        key: org.key,
        body: { scope: 'apiKey', scopeRef: caller.id, limitUsd: 10, name: 'estimate' },
      }),
      201,
    );

    const res = await chat(slug, { model: 'fake-gpt', stream: true, max_tokens: 20 }, caller.key);
    expect(res.status).toBe(200);
    const text = await res.text(); // read to its end
    expect(text).toContain('[DONE]');
    expect(text).not.toContain('"usage":{');
    const row = await settledRow(res.headers.get('X-Igris-Trace-Id')!);
    expect(row.error_code).toBeNull();
    expect(findingKinds(row)).toContain('usage_estimated');
    expect([row.input_tokens, row.output_tokens]).toEqual([5, 20]);
    expect(row.cost_usd).toBeCloseTo(0.025, 8); // 25 tokens at $0.001

    let status = { spentUsd: 0, inFlight: 1 };
    while (status.inFlight > 0) {
      const got = await call('GET', `/api/v1/budgets/${budget.id}`, { key: org.key });
      status = (await expectJson<{ status: typeof status }>(got, 200)).status;
    }
    expect(status.spentUsd).toBeCloseTo(0.025, 8);

    // The same call answered with usage: the actual tokens, no estimate finding.
    const reported = await chat(slug, { model: 'fake-gpt', max_tokens: 20 }, caller.key);
    expect(reported.status).toBe(200);
    await reported.text();
    const actual = await settledRow(reported.headers.get('X-Igris-Trace-Id')!);
    expect(findingKinds(actual)).not.toContain('usage_estimated');
    expect(actual.input_tokens).toBe(12);
  });
});
