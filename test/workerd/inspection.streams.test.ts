/**
 * Content inspection follows each text of a streamed LLM answer on its own, in workerd with real
 * bindings, against the real fake provider (`fake-split…`: a secret cut across two pieces of one
 * text with another text's piece between them, test/e2e/llm.fake-provider.split.ts;
 * docs/detections.md):
 *   - chat completions with n = 2 and parallel tool calls: the key is found in choice 1's content
 *     and in tool call 1's arguments, each under its own path, in the audit row in D1 — which
 *     never holds the key itself; the stream reaches the caller unchanged;
 *   - Responses function-call argument deltas, hosted tools' deltas (code interpreter code, MCP
 *     call arguments, a delta type no list names), Anthropic thinking deltas and citations are scanned;
 *   - an answer opening more texts than the gateway follows ends with the OpenAI-shaped error
 *     event (`upstream_too_large`) instead of the rest of the answer, and the row records it;
 *   - a chunk giving two choices one `index` (`fake-gap-dupe`) ends the stream with the error event
 *     (`content_blocked`) before it: its texts cannot be told apart, and the key they carry between
 *     them would pass any scan of their joined text to a client reading `choices[0]`.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { FAKE_SPLIT_SECRET, SPLIT_MANY_CHOICES } from '../e2e/llm.fake-provider.split';
import { type AuditRow, traceId } from './gateway.fixtures';
import { bootstrapDefault, call } from './helpers';
import { inspectedLlm, llmRow } from './llm.inspection.fixtures';

const RUN = Date.now().toString(36);
const OPENAI = `insp-split-${RUN}`;
const ANTHROPIC = `insp-split-a-${RUN}`;
const RULE = 'secret.aws_access_key_id';

const llmConnection = (slug: string, provider: string) =>
  inspectedLlm(slug, provider, { packs: ['llm-standard-security'] });

beforeAll(async () => {
  await bootstrapDefault();
  await llmConnection(OPENAI, 'openai-compatible');
  await llmConnection(ANTHROPIC, 'anthropic');
});

function locations(row: AuditRow): Array<[string, unknown]> {
  const details = JSON.parse(row.details ?? '{}') as {
    findings?: Array<{ kind: string; detail?: { where?: string; location?: string } }>;
  };
  return (details.findings ?? [])
    .filter((f) => f.detail?.where === 'completion')
    .map((f) => [f.kind, f.detail?.location]);
}

async function stream(
  path: string,
  trace: string,
  body: Record<string, unknown>,
  headers = {},
): Promise<string> {
  const res = await call('POST', path, {
    body: { ...body, stream: true },
    headers: { 'X-Igris-Trace-Id': trace, ...headers },
  });
  expect(res.status).toBe(200);
  return res.text();
}

describe('a streamed answer, text by text', () => {
  it('chat, n = 2 and parallel tool calls interleaved: each cut key found under its own path', async () => {
    const trace = traceId('split-chat');
    const text = await stream(`/llm/${OPENAI}/v1/chat/completions`, trace, {
      model: 'fake-split',
      n: 2,
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(text).toContain('data: [DONE]'); // passed whole, unchanged
    const row = await llmRow(trace, (r) => locations(r).length >= 2);
    expect(locations(row).sort()).toEqual([
      [RULE, '$.choices[0].message.tool_calls[1].function.arguments'],
      [RULE, '$.choices[1].message.content'],
    ]);
    expect(row.details).not.toContain(FAKE_SPLIT_SECRET);
  });

  it('Responses function_call_arguments.delta and Anthropic thinking_delta are scanned', async () => {
    const responses = traceId('split-resp');
    await stream(`/llm/${OPENAI}/v1/responses`, responses, { model: 'fake-split', input: 'Hi' });
    const thinking = traceId('split-think');
    await stream(
      `/llm/${ANTHROPIC}/v1/messages`,
      thinking,
      { model: 'fake-split', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] },
      { 'anthropic-version': '2023-06-01' },
    );
    expect(locations(await llmRow(responses, (r) => locations(r).length > 0))).toEqual([
      [RULE, '$.output[1].arguments'],
    ]);
    expect(locations(await llmRow(thinking, (r) => locations(r).length > 0))).toEqual([
      [RULE, '$.content[0].thinking'],
    ]);
  });

  it("Anthropic citations: a citation's quoted text, streamed (citations_delta) and whole", async () => {
    const trace = traceId('split-cited');
    const ask = { model: 'fake-split-cited', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] };
    await stream(`/llm/${ANTHROPIC}/v1/messages`, trace, ask, { 'anthropic-version': '2023-06-01' });
    expect(locations(await llmRow(trace, (r) => locations(r).length > 0))).toEqual([
      [RULE, '$.content[0].citations'],
    ]);
    const whole = traceId('split-cited-json');
    const res = await call('POST', `/llm/${ANTHROPIC}/v1/messages`, {
      body: ask,
      headers: { 'X-Igris-Trace-Id': whole, 'anthropic-version': '2023-06-01' },
    });
    expect(res.status).toBe(200);
    await res.text();
    const row = await llmRow(whole, (r) => locations(r).length > 0);
    expect(locations(row)).toEqual([[RULE, '$.content[0].citations[0].cited_text']]);
    expect(row.details).not.toContain(FAKE_SPLIT_SECRET);
  });

  it("Responses hosted tools' deltas: code interpreter code, MCP call arguments, any other text delta", async () => {
    const trace = traceId('split-hosted');
    const text = await stream(`/llm/${OPENAI}/v1/responses`, trace, {
      model: 'fake-split-hosted',
      input: 'Hi',
    });
    expect(text).toContain('response.completed'); // passed whole: findings are recorded, not blocked
    const row = await llmRow(trace, (r) => locations(r).length >= 3);
    expect(locations(row).sort()).toEqual([
      [RULE, '$.output[0].code'],
      [RULE, '$.output[1].arguments'],
      [RULE, '$.output[2].shell_call_command'],
    ]);
    expect(row.details).not.toContain(FAKE_SPLIT_SECRET);
  });

  it('an answer opening more texts than the gateway follows ends with the error event', async () => {
    const trace = traceId('split-many');
    const text = await stream(`/llm/${OPENAI}/v1/chat/completions`, trace, {
      model: 'fake-split-many',
      messages: [{ role: 'user', content: 'Hi' }],
    });
    const events = text.split('\n\n').filter((e) => e.startsWith('data: '));
    // Every choice the gateway followed, then the error in OpenAI's shape: never the last choice.
    expect(events).toHaveLength(SPLIT_MANY_CHOICES);
    const last = JSON.parse(events.at(-1)!.slice(6)) as { error: { code: string; details: unknown } };
    expect(last.error).toMatchObject({
      code: 'upstream_too_large',
      details: { maxStreams: SPLIT_MANY_CHOICES - 1 },
    });
    expect(text).not.toContain('[DONE]');
    const row = await llmRow(trace, (r) => r.error_code === 'upstream_too_large');
    expect(row.error_code).toBe('upstream_too_large');
  });

  it('a chunk repeating a choice index ends the stream with the error event, the key in no byte', async () => {
    const trace = traceId('split-dupe');
    const text = await stream(`/llm/${OPENAI}/v1/chat/completions`, trace, {
      model: 'fake-gap-dupe',
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(text).not.toContain(FAKE_SPLIT_SECRET.slice(0, 9));
    const events = text.split('\n\n').filter((e) => e.startsWith('data: '));
    const last = JSON.parse(events.at(-1)!.slice(6)) as { error: Record<string, unknown> };
    expect(last.error).toMatchObject({
      code: 'content_blocked',
      message:
        'Blocked by content inspection: the answer streams two choices with index 0; their texts cannot be told apart',
      details: { where: 'completion', location: '$.choices[0]' },
    });
    expect(text).not.toContain('[DONE]');
    const row = await llmRow(trace, (r) => r.error_code === 'content_blocked');
    expect(row.details ?? '').not.toContain(FAKE_SPLIT_SECRET);
  });
});
