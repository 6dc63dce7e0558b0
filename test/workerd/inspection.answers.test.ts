/**
 * Content inspection as an LLM output guardrail, in workerd with real bindings (D1 audit rows),
 * against the real fake provider (docs/detections.md). Model `fake-split…` answers with an AWS
 * key id the prompt never held (test/e2e/llm.fake-provider.split.ts), `fake-echo` with the prompt:
 *   - block, JSON (OpenAI and Anthropic): 403 in the provider's shape (`permission_error`,
 *     `content_blocked`, rule and path, never the key); the row in D1 says `content_blocked`,
 *     with the finding, without the key;
 *   - block, stream: the stream ends with the provider's error event at the event whose scan found
 *     the key — what came before it (the key's two pieces included: the documented window) was
 *     delivered, nothing after it; the row says `content_blocked`;
 *   - redact with `redactResults` on: the key masked in the JSON answer (`[SECRET_1]`), and a
 *     a caller's own value, restored from its placeholder, is given back as the caller sent it;
 *   - redact with `redactResults` off, and an `alert` rule: the answer unchanged, the finding
 *     recorded, no error code.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { FAKE_SPLIT_SECRET, SPLIT_TEXTS } from '../e2e/llm.fake-provider.split';
import { type AuditRow, traceId } from './gateway.fixtures';
import { bootstrapDefault, call } from './helpers';
import { inspectedLlm, llmRow } from './llm.inspection.fixtures';

const RUN = Date.now().toString(36);
const RULE = 'secret.aws_access_key_id';
const PACKS = ['llm-standard-security', 'llm-compliance-gdpr'];
const SLUGS = {
  block: `outg-block-${RUN}`,
  blockAnthropic: `outg-block-a-${RUN}`,
  mask: `outg-mask-${RUN}`,
  keep: `outg-keep-${RUN}`,
  alert: `outg-alert-${RUN}`,
};
const ANTHROPIC_HEADERS = { 'anthropic-version': '2023-06-01' };

const llmConnection = (slug: string, provider: string, inspection: Record<string, unknown>) =>
  inspectedLlm(slug, provider, { packs: PACKS, ...inspection });

beforeAll(async () => {
  await bootstrapDefault();
  const block = { overrides: { rules: { [RULE]: 'block' } } };
  await llmConnection(SLUGS.block, 'openai-compatible', block);
  await llmConnection(SLUGS.blockAnthropic, 'anthropic', block);
  await llmConnection(SLUGS.mask, 'openai-compatible', {});
  await llmConnection(SLUGS.keep, 'openai-compatible', { redactResults: false });
  await llmConnection(SLUGS.alert, 'openai-compatible', { overrides: { rules: { [RULE]: 'alert' } } });
});

type RowFinding = { kind: string; detail?: { where?: string; action?: string; location?: string } };
function completionFindings(row: AuditRow): RowFinding[] {
  const details = JSON.parse(row.details ?? '{}') as { findings?: RowFinding[] };
  return (details.findings ?? []).filter((f) => f.detail?.where === 'completion');
}

async function post(slug: string, path: string, trace: string, body: Record<string, unknown>, headers = {}) {
  return call('POST', `/llm/${slug}/v1/${path}`, {
    body,
    headers: { 'X-Igris-Trace-Id': trace, ...headers },
  });
}
const chatBody = (model: string, extra: Record<string, unknown> = {}) => ({
  model,
  messages: [{ role: 'user', content: 'Hi' }],
  ...extra,
});
const anthropicBody = (extra: Record<string, unknown> = {}) => ({
  model: 'fake-split',
  max_tokens: 64,
  messages: [{ role: 'user', content: 'Hi' }],
  ...extra,
});

describe('block', () => {
  it('a JSON chat answer is refused with 403 permission_error, the row content_blocked, never the key', async () => {
    const trace = traceId('outg-json');
    const res = await post(SLUGS.block, 'chat/completions', trace, chatBody('fake-split'));
    expect(res.status).toBe(403);
    const text = await res.text();
    expect(text).not.toContain(FAKE_SPLIT_SECRET);
    const { error } = JSON.parse(text) as { error: Record<string, unknown> };
    expect(error).toMatchObject({
      type: 'permission_error',
      code: 'content_blocked',
      details: {
        ruleId: RULE,
        category: 'secret',
        where: 'completion',
        location: '$.choices[0].message.tool_calls[1].function.arguments',
      },
    });
    const row = await llmRow(trace, (r) => r.error_code === 'content_blocked');
    expect(completionFindings(row)).toEqual([
      expect.objectContaining({ kind: RULE, detail: expect.objectContaining({ action: 'block' }) }),
    ]);
    expect(row.details).not.toContain(FAKE_SPLIT_SECRET);
  });

  it('an Anthropic message is refused in Anthropic’s shape', async () => {
    const trace = traceId('outg-json-a');
    const res = await post(SLUGS.blockAnthropic, 'messages', trace, anthropicBody(), ANTHROPIC_HEADERS);
    expect(res.status).toBe(403);
    const body = (await res.json()) as { type: string; error: Record<string, unknown> };
    expect(body.type).toBe('error');
    expect(body.error).toMatchObject({ type: 'permission_error' });
    expect(JSON.stringify(body)).toContain('$.content[0].thinking');
    expect(JSON.stringify(body)).not.toContain(FAKE_SPLIT_SECRET);
    await llmRow(trace, (r) => r.error_code === 'content_blocked');
  });

  it('a stream ends with the error event where the scan found the key: nothing after it is delivered', async () => {
    const trace = traceId('outg-stream');
    const res = await post(
      SLUGS.block,
      'chat/completions',
      trace,
      chatBody('fake-split', { stream: true, n: 2 }),
    );
    expect(res.status).toBe(200);
    const text = await res.text();
    const events = text.split('\n\n').filter((e) => e.startsWith('data: '));
    const last = JSON.parse(events.at(-1)!.slice(6)) as { error: Record<string, unknown> };
    expect(last.error).toMatchObject({
      code: 'content_blocked',
      details: { ruleId: RULE, location: '$.choices[1].message.content' },
    });
    expect(text).not.toContain('[DONE]');
    // Choice 1 is scanned when it ends: its pieces (the key's two halves) were delivered before —
    // the window docs/detections.md describes; the tool calls that follow never are.
    const delivered = events
      .slice(0, -1)
      .map((e) => (JSON.parse(e.slice(6)) as { choices: Array<{ delta: { content?: string } }> }).choices)
      .flatMap((choices) => choices.map((c) => c.delta.content ?? ''))
      .join('');
    expect(delivered).toContain(SPLIT_TEXTS.choice1.slice(0, 12));
    expect(text).not.toContain('call_b');
    const row = await llmRow(trace, (r) => r.error_code === 'content_blocked');
    expect(completionFindings(row).map((f) => f.kind)).toContain(RULE);
  });

  it('an Anthropic stream ends with an `error` event after the thinking block; the text block never comes', async () => {
    const trace = traceId('outg-stream-a');
    const res = await post(
      SLUGS.blockAnthropic,
      'messages',
      trace,
      anthropicBody({ stream: true }),
      ANTHROPIC_HEADERS,
    );
    const text = await res.text();
    expect(text).toMatch(/event: error\ndata: \{"type":"error","error":\{"type":"permission_error"/);
    expect(text).not.toContain(SPLIT_TEXTS.text);
    expect(text).not.toContain('message_stop');
    await llmRow(trace, (r) => r.error_code === 'content_blocked');
  });
});

describe('redact', () => {
  it('redactResults on: the key masked in the JSON answer, the finding recorded', async () => {
    const trace = traceId('outg-mask');
    const res = await post(SLUGS.mask, 'chat/completions', trace, chatBody('fake-split'));
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(FAKE_SPLIT_SECRET);
    const body = JSON.parse(text) as {
      choices: Array<{ message: { tool_calls: Array<{ function: { arguments: string } }> } }>;
    };
    expect(body.choices[0]!.message.tool_calls[1]!.function.arguments).toBe('{"key":"[SECRET_1]"}');
    expect(body.choices[0]!.message.tool_calls[0]!.function.arguments).toBe(SPLIT_TEXTS.args0);
    const row = await llmRow(trace, (r) => completionFindings(r).length > 0);
    expect(row.error_code).toBeNull();
    expect(completionFindings(row)[0]).toMatchObject({ kind: RULE, detail: { action: 'redact' } });
  });

  it('redactResults on: a caller’s own value comes back restored; one it did not send is masked', async () => {
    const trace = traceId('outg-echo');
    const prompt = 'Write to jane.doe@example.com today.';
    const res = await post(SLUGS.mask, 'chat/completions', trace, {
      model: 'fake-echo',
      messages: [{ role: 'user', content: prompt }],
    });
    const body = (await res.json()) as { choices: Array<{ message: { content: string } }> };
    // The provider saw the placeholder; the caller gets its own value back (the restore).
    expect(body.choices[0]!.message.content).toBe(prompt);
    const row = await llmRow(trace, (r) => completionFindings(r).length > 0);
    expect(row.details).not.toContain('jane.doe@example.com');
  });

  it('redactResults off: the answer unchanged, the finding recorded', async () => {
    const trace = traceId('outg-keep');
    const res = await post(SLUGS.keep, 'chat/completions', trace, chatBody('fake-split'));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(FAKE_SPLIT_SECRET);
    const row = await llmRow(trace, (r) => completionFindings(r).length > 0);
    expect(row.error_code).toBeNull();
    expect(completionFindings(row)[0]).toMatchObject({ kind: RULE, detail: { action: 'redact' } });
  });

  it('an alert rule: JSON and stream unchanged, recorded', async () => {
    const trace = traceId('outg-alert');
    const res = await post(SLUGS.alert, 'chat/completions', trace, chatBody('fake-split'));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(FAKE_SPLIT_SECRET);
    const row = await llmRow(trace, (r) => completionFindings(r).length > 0);
    expect(row.error_code).toBeNull();
    expect(completionFindings(row)[0]).toMatchObject({ kind: RULE, detail: { action: 'alert' } });
    const streamed = await post(SLUGS.alert, 'chat/completions', traceId('outg-alert-s'), {
      ...chatBody('fake-split', { stream: true, n: 2 }),
    });
    expect(await streamed.text()).toContain('[DONE]');
  });
});
