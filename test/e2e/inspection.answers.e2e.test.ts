/**
 * Content inspection as an LLM output guardrail, end to end (docs/detections.md): the official
 * `openai` and `@anthropic-ai/sdk` clients through the local runtime against the real fake
 * provider. `fake-split…` answers with an AWS key id the prompt never held
 * (llm.fake-provider.split.ts); `fake-echo` with the prompt as the provider received it.
 *   - a `block` rule: a JSON answer is refused — the SDKs raise PermissionDeniedError
 *     (`content_blocked`), the audit row says content_blocked; a stream ends with the provider's
 *     error event, which the SDKs raise mid-iteration, and the row says content_blocked;
 *   - `redact`, `redactResults` on: the key masked in the SDK's parsed answer (`[SECRET_1]`), a
 *     caller's own email given back restored (masking is for what the caller did not send);
 *   - `redact`, `redactResults` off, and a `log` rule: the answer unchanged, the finding recorded.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForAudit } from './helpers';
import { FAKE_SPLIT_SECRET, SPLIT_TEXTS } from './llm.fake-provider.split.ts';
import { type FakeProvider, startFakeProvider } from './llm.fake-provider.ts';
import { anthropicClient, createLlmConnection, openaiClient } from './llm.fixtures.ts';

const RUN = Date.now().toString(36);
const PROVIDER_KEY = `sk-provider-${RUN}-secret`;
const RULE = 'secret.aws_access_key_id';
const PACKS = ['llm-standard-security', 'llm-compliance-gdpr'];

let fake: FakeProvider;

interface Row {
  id: string;
  errorCode: string | null;
  details: { findings?: Array<{ kind: string; detail?: { where?: string; action?: string } }> };
}

const connection = (slug: string, provider: string, inspection: Record<string, unknown>) =>
  createLlmConnection(slug, {
    upstreamUrl: `${fake.url}/v1`,
    credential: PROVIDER_KEY,
    settings: { provider, inspection: { packs: PACKS, ...inspection } },
  });

const headers = (trace: string) => ({ headers: { 'X-Igris-Trace-Id': trace } });
const hi = [{ role: 'user' as const, content: 'Hi' }];

/** The call's row once it says `errorCode` (null: once a completion finding arrived). */
async function rowOf(trace: string, errorCode: string | null): Promise<Row> {
  const completion = (r: Row) => (r.details.findings ?? []).filter((f) => f.detail?.where === 'completion');
  const rows = await waitForAudit<Row>(`traceId=${trace}`, (r) =>
    r[0] ? (errorCode ? r[0].errorCode === errorCode : completion(r[0]).length > 0) : false,
  );
  expect(completion(rows[0]!).map((f) => f.kind)).toContain(RULE);
  expect(JSON.stringify(rows[0])).not.toContain(FAKE_SPLIT_SECRET);
  return rows[0]!;
}

const SLUGS = {
  block: `outg-e2e-block-${RUN}`,
  blockAnthropic: `outg-e2e-block-a-${RUN}`,
  mask: `outg-e2e-mask-${RUN}`,
  keep: `outg-e2e-keep-${RUN}`,
  log: `outg-e2e-log-${RUN}`,
};

beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: PROVIDER_KEY });
  const block = { overrides: { rules: { [RULE]: 'block' } } };
  await connection(SLUGS.block, 'openai-compatible', block);
  await connection(SLUGS.blockAnthropic, 'anthropic', block);
  await connection(SLUGS.mask, 'openai-compatible', { redactResults: true });
  await connection(SLUGS.keep, 'openai-compatible', { redactResults: false });
  await connection(SLUGS.log, 'openai-compatible', { overrides: { rules: { [RULE]: 'log' } } });
});
afterAll(() => fake?.close());

describe('block', () => {
  it('OpenAI JSON answer: PermissionDeniedError content_blocked, row content_blocked', async () => {
    const trace = `outg-e2e-json-${RUN}`;
    const err = await openaiClient(SLUGS.block)
      .chat.completions.create({ model: 'fake-split', messages: hi }, headers(trace))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const denied = err as InstanceType<typeof OpenAI.PermissionDeniedError>;
    expect(denied.status).toBe(403);
    expect(denied.code).toBe('content_blocked');
    expect(denied.message).toContain(RULE);
    expect(JSON.stringify(denied.error)).not.toContain(FAKE_SPLIT_SECRET);
    await rowOf(trace, 'content_blocked');
  });

  it('Anthropic JSON message: PermissionDeniedError, row content_blocked', async () => {
    const trace = `outg-e2e-json-a-${RUN}`;
    const err = await anthropicClient(SLUGS.blockAnthropic)
      .messages.create({ model: 'fake-split', max_tokens: 64, messages: hi }, headers(trace))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect(JSON.stringify((err as InstanceType<typeof Anthropic.PermissionDeniedError>).error)).not.toContain(
      FAKE_SPLIT_SECRET,
    );
    await rowOf(trace, 'content_blocked');
  });

  it('OpenAI stream: the SDK raises on the error event, the tool calls after it never arrive', async () => {
    const trace = `outg-e2e-stream-${RUN}`;
    const stream = await openaiClient(SLUGS.block).chat.completions.create(
      { model: 'fake-split', n: 2, messages: hi, stream: true },
      headers(trace),
    );
    const seen: string[] = [];
    const err = await (async () => {
      for await (const chunk of stream) seen.push(JSON.stringify(chunk));
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    const apiErr = err as InstanceType<typeof OpenAI.APIError>;
    expect(apiErr.error).toMatchObject({ code: 'content_blocked', type: 'permission_error' });
    expect(apiErr.message).toContain(RULE);
    expect(seen.join('')).not.toContain('call_b');
    await rowOf(trace, 'content_blocked');
  });

  it('Anthropic stream: the SDK raises on the `error` event; the text block never arrives', async () => {
    const trace = `outg-e2e-stream-a-${RUN}`;
    const stream = anthropicClient(SLUGS.blockAnthropic).messages.stream(
      { model: 'fake-split', max_tokens: 64, messages: hi },
      headers(trace),
    );
    const err = await stream.finalMessage().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect(JSON.stringify(stream.currentMessage?.content ?? [])).not.toContain(SPLIT_TEXTS.text);
    await rowOf(trace, 'content_blocked');
  });
});

describe('redact', () => {
  it('redactResults on: the key masked in the parsed answer; the caller’s own email given back restored', async () => {
    const trace = `outg-e2e-mask-${RUN}`;
    const client = openaiClient(SLUGS.mask);
    const answer = await client.chat.completions.create(
      { model: 'fake-split', messages: hi },
      headers(trace),
    );
    const calls = answer.choices[0]!.message.tool_calls!;
    expect(calls[1]).toMatchObject({ function: { arguments: '{"key":"[SECRET_1]"}' } });
    expect(calls[0]).toMatchObject({ function: { arguments: SPLIT_TEXTS.args0 } });
    expect((await rowOf(trace, null)).errorCode).toBeNull();

    const echoed = await client.chat.completions.create({
      model: 'fake-echo',
      messages: [{ role: 'user', content: 'Write to jane.doe@example.com today.' }],
    });
    expect(echoed.choices[0]!.message.content).toBe('Write to jane.doe@example.com today.');
  });

  it('redactResults off, and a log rule: the answer unchanged, the finding recorded', async () => {
    for (const slug of [SLUGS.keep, SLUGS.log]) {
      const trace = `outg-e2e-keep-${slug}`;
      const answer = await openaiClient(slug).chat.completions.create(
        { model: 'fake-split', messages: hi },
        headers(trace),
      );
      expect(answer.choices[0]!.message.tool_calls![1]).toMatchObject({
        function: { arguments: SPLIT_TEXTS.args1 },
      });
      const row = await rowOf(trace, null);
      expect(row.errorCode).toBeNull();
    }
  });
});
