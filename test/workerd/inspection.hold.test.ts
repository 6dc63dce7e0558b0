/**
 * `settings.inspection.streamMode: "hold"` (docs/detections.md), in workerd with real bindings
 * (D1 audit rows), against the real fake provider: a streamed LLM answer is read whole before any
 * of it is sent. Model `fake-split` streams an AWS key id cut across interleaved texts
 * (test/e2e/llm.fake-provider.split.ts), `fake-echo` streams the prompt back:
 *   - block, each stream format (chat, Responses, Anthropic): a 403 JSON error in the provider's
 *     shape (content_blocked, rule, path, never the key) instead of a stream — no event at all; the
 *     row says content_blocked;
 *   - redact (redactResults on): each text's deltas joined read as the masked text, the key in
 *     none of the bytes, the summary events masked too; the caller's own value comes back restored;
 *   - nothing to refuse or mask: the upstream's bytes, byte for byte;
 *   - over the answer cap (MAX_ANSWER_MESSAGE_BYTES): `upstream_too_large` as a JSON error, no event;
 *   - usage, cost, the audit outcome and stored-response claims as for a passing stream;
 *   - the setting validated: anything but "pass" / "hold" is a 400 at settings.inspection.streamMode.
 * (`pass`, the default, is covered unchanged by inspection.answers.test.ts.)
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_ANSWER_MESSAGE_BYTES } from '../../workers/gateway/gateway.rewrite';
import { FAKE_SPLIT_SECRET, SPLIT_TEXTS } from '../e2e/llm.fake-provider.split';
import { type AuditRow, traceId } from './gateway.fixtures';
import { bootstrapDefault, call } from './helpers';
import { createInspectedLlm, inspectedLlm, llmRow } from './llm.inspection.fixtures';

const RUN = Date.now().toString(36);
const RULE = 'secret.aws_access_key_id';
const PACKS = ['llm-standard-security', 'llm-compliance-gdpr'];
const SLUGS = {
  block: `hold-block-${RUN}`,
  blockAnthropic: `hold-block-a-${RUN}`,
  mask: `hold-mask-${RUN}`,
  maskAnthropic: `hold-mask-a-${RUN}`,
  alert: `hold-alert-${RUN}`,
  alertAnthropic: `hold-alert-a-${RUN}`,
  pass: `hold-pass-${RUN}`,
};
const ANTHROPIC_HEADERS = { 'anthropic-version': '2023-06-01' };

const createConnection = (slug: string, provider: string, inspection: Record<string, unknown>) =>
  createInspectedLlm(slug, provider, { packs: PACKS, streamMode: 'hold', ...inspection });
const llmConnection = (slug: string, provider: string, inspection: Record<string, unknown>) =>
  inspectedLlm(slug, provider, { packs: PACKS, streamMode: 'hold', ...inspection });

beforeAll(async () => {
  await bootstrapDefault();
  const block = { overrides: { rules: { [RULE]: 'block' } } };
  const alert = { overrides: { rules: { [RULE]: 'alert' } } };
  await llmConnection(SLUGS.block, 'openai-compatible', block);
  await llmConnection(SLUGS.blockAnthropic, 'anthropic', block);
  await llmConnection(SLUGS.mask, 'openai-compatible', {});
  await llmConnection(SLUGS.maskAnthropic, 'anthropic', {});
  await llmConnection(SLUGS.alert, 'openai-compatible', alert);
  await llmConnection(SLUGS.alertAnthropic, 'anthropic', alert);
  await llmConnection(SLUGS.pass, 'openai-compatible', { streamMode: 'pass' });
});

const post = (slug: string, path: string, trace: string, body: Record<string, unknown>, headers = {}) =>
  call('POST', `/llm/${slug}/v1/${path}`, { body, headers: { 'X-Igris-Trace-Id': trace, ...headers } });

const BODIES = {
  chat: { model: 'fake-split', stream: true, n: 2, messages: [{ role: 'user', content: 'Hi' }] },
  responses: { model: 'fake-split', stream: true, input: 'Hi' },
  messages: {
    model: 'fake-split',
    stream: true,
    max_tokens: 64,
    messages: [{ role: 'user', content: 'Hi' }],
  },
};
type Format = keyof typeof BODIES;
const PATHS: Record<Format, string> = {
  chat: 'chat/completions',
  responses: 'responses',
  messages: 'messages',
};

/** The data of each SSE event, parsed. */
function events(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n\n')
    .map((e) =>
      e
        .split('\n')
        .find((l) => l.startsWith('data: '))
        ?.slice(6),
    )
    .filter((d): d is string => d !== undefined && d !== '[DONE]')
    .map((d) => JSON.parse(d) as Record<string, unknown>);
}

describe('hold + block: a 403 JSON error instead of a stream', () => {
  const cases: Array<[Format, string, string]> = [
    ['chat', SLUGS.block, '$.choices[1].message.content'],
    ['responses', SLUGS.block, '$.output[1].arguments'],
    ['messages', SLUGS.blockAnthropic, '$.content[0].thinking'],
  ];
  for (const [format, slug, location] of cases) {
    it(`${format}: nothing of the stream is delivered, the row says content_blocked (as a blocked JSON answer's)`, async () => {
      const trace = traceId(`hold-block-${format}`);
      const headers = format === 'messages' ? ANTHROPIC_HEADERS : {};
      const res = await post(slug, PATHS[format], trace, BODIES[format], headers);
      expect(res.status).toBe(403);
      expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
      const text = await res.text();
      expect(text).not.toContain(FAKE_SPLIT_SECRET);
      expect(text).not.toContain('data:');
      const body = JSON.parse(text) as { error: Record<string, unknown> };
      expect(body.error).toMatchObject({ type: 'permission_error' });
      // OpenAI's shape carries the code; Anthropic's has none (its type says permission_error).
      if (format !== 'messages') expect(body.error).toMatchObject({ code: 'content_blocked' });
      expect(text).toContain(location);
      expect(text).toContain(RULE);
      const row = await llmRow(trace, (r) => r.error_code === 'content_blocked');
      expect(row.details).toContain(RULE);
      expect(row.details).not.toContain(FAKE_SPLIT_SECRET);
    });
  }
});

describe('hold + redact: delivered masked', () => {
  it('chat: each text’s deltas joined read as the masked text (across 2 deltas, n=2, parallel tool calls)', async () => {
    const trace = traceId('hold-mask-chat');
    const res = await post(SLUGS.mask, PATHS.chat, trace, BODIES.chat);
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/^text\/event-stream/);
    const text = await res.text();
    expect(text).not.toContain(FAKE_SPLIT_SECRET);
    expect(text).not.toContain(FAKE_SPLIT_SECRET.slice(0, 9));
    expect(text).toContain('data: [DONE]');
    const content = ['', ''];
    const args = ['', ''];
    for (const e of events(text)) {
      for (const c of e.choices as Array<{ index: number; delta: Record<string, unknown> }>) {
        if (typeof c.delta.content === 'string') content[c.index] += c.delta.content;
        for (const t of (c.delta.tool_calls ?? []) as Array<{
          index: number;
          function: { arguments?: string };
        }>)
          args[t.index] += t.function.arguments ?? '';
      }
    }
    expect(content[0]).toBe(SPLIT_TEXTS.choice0);
    expect(content[1]).toBe('The key is [SECRET_1] today.');
    expect(args).toEqual([SPLIT_TEXTS.args0, '{"key":"[SECRET_1]"}']);
    const row = await llmRow(trace, (r) => (r.details ?? '').includes(RULE));
    expect(row.error_code).toBeNull();
    expect(row.details).not.toContain(FAKE_SPLIT_SECRET);
  });

  it('Responses: the argument deltas and the summary events (.done, response.completed) masked', async () => {
    const res = await post(SLUGS.mask, PATHS.responses, traceId('hold-mask-resp'), BODIES.responses);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(FAKE_SPLIT_SECRET);
    const args = ['', ''];
    for (const e of events(text))
      if (e.type === 'response.function_call_arguments.delta')
        args[e.output_index as number] += e.delta as string;
    expect(args).toEqual([SPLIT_TEXTS.args0, '{"key":"[SECRET_1]"}']);
    const completed = events(text).find((e) => e.type === 'response.completed') as {
      response: { output: Array<{ arguments: string }> };
    };
    expect(completed.response.output[1]!.arguments).toBe('{"key":"[SECRET_1]"}');
  });

  it('Anthropic: the thinking block’s deltas masked, the text block as sent', async () => {
    const res = await post(
      SLUGS.maskAnthropic,
      PATHS.messages,
      traceId('hold-mask-a'),
      BODIES.messages,
      ANTHROPIC_HEADERS,
    );
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(FAKE_SPLIT_SECRET);
    let thinking = '';
    let said = '';
    for (const e of events(text)) {
      const d = e.delta as Record<string, string> | undefined;
      if (e.type === 'content_block_delta' && d?.type === 'thinking_delta') thinking += d.thinking;
      if (e.type === 'content_block_delta' && d?.type === 'text_delta') said += d.text;
    }
    expect(thinking).toBe(SPLIT_TEXTS.thinking.replace(FAKE_SPLIT_SECRET, '[SECRET_1]'));
    expect(said).toBe(SPLIT_TEXTS.text);
  });

  it('the caller’s own value comes back restored; a value it did not send is masked', async () => {
    const prompt = 'Write to jane.doe@example.com today.';
    const res = await post(SLUGS.mask, PATHS.chat, traceId('hold-echo'), {
      model: 'fake-echo',
      stream: true,
      messages: [{ role: 'user', content: prompt }],
    });
    const text = await res.text();
    const said = events(text)
      .flatMap((e) => (e.choices as Array<{ delta: { content?: string } }>).map((c) => c.delta.content ?? ''))
      .join('');
    expect(said).toBe(prompt);
  });
});

describe('hold, nothing refused or masked: the upstream’s bytes', () => {
  const cases: Array<[Format, string]> = [
    ['chat', SLUGS.alert],
    ['responses', SLUGS.alert],
    ['messages', SLUGS.alertAnthropic],
  ];
  for (const [format, slug] of cases) {
    it(`${format}: byte for byte, the finding recorded`, async () => {
      const headers = format === 'messages' ? ANTHROPIC_HEADERS : {};
      const direct = await fetch(`${env.LLM_FAKE_URL}/v1/${PATHS[format]}`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Authorization: `Bearer ${env.LLM_FAKE_KEY}`,
          ...headers,
        },
        body: JSON.stringify(BODIES[format]),
      });
      const upstream = await direct.text();
      expect(upstream).toContain(FAKE_SPLIT_SECRET.slice(0, 9));
      const trace = traceId(`hold-same-${format}`);
      const res = await post(slug, PATHS[format], trace, BODIES[format], headers);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(upstream);
      const row = await llmRow(trace, (r) => (r.details ?? '').includes(RULE));
      expect(row.error_code).toBeNull();
    });
  }
});

describe('hold: bounded, and metered as a passing stream', () => {
  it('a stream over the answer cap fails with upstream_too_large, nothing of it delivered', async () => {
    const trace = traceId('hold-cap');
    const res = await post(SLUGS.mask, PATHS.chat, trace, { ...BODIES.chat, model: 'fake-split-big', n: 1 });
    expect(res.status).toBe(502);
    const text = await res.text();
    expect(text).not.toContain('data:');
    expect(JSON.parse(text)).toMatchObject({
      error: { code: 'upstream_too_large', details: { maxBytes: MAX_ANSWER_MESSAGE_BYTES } },
    });
    const row = await llmRow(trace, (r) => r.error_code === 'upstream_too_large');
    expect(row.upstream_status).toBe(200);
  });

  it('usage, cost and the outcome on the row are a passing stream’s', async () => {
    const rows: AuditRow[] = [];
    for (const slug of [SLUGS.mask, SLUGS.pass]) {
      const trace = traceId(`hold-usage-${slug === SLUGS.pass ? 'pass' : 'hold'}`);
      const res = await post(slug, PATHS.chat, trace, {
        model: 'gpt-4o-mini',
        stream: true,
        messages: [{ role: 'user', content: 'Hi' }],
      });
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('[DONE]');
      rows.push(await llmRow(trace, (r) => r.input_tokens !== null));
    }
    const pick = (r: AuditRow) => ({
      action: r.action,
      error_code: r.error_code,
      upstream_status: r.upstream_status,
      input_tokens: r.input_tokens,
      cached_input_tokens: r.cached_input_tokens,
      output_tokens: r.output_tokens,
      cost_usd: r.cost_usd,
    });
    expect(pick(rows[0]!)).toEqual(pick(rows[1]!));
    expect(rows[0]!.input_tokens).toBeGreaterThan(0);
    expect(rows[0]!.output_tokens).toBeGreaterThan(0);
  });

  it('a streamed Responses create claims its stored response for the caller, as a passing stream does', async () => {
    const res = await post(SLUGS.mask, PATHS.responses, traceId('hold-claim'), {
      model: 'gpt-4o-mini',
      stream: true,
      input: 'Hi',
    });
    expect(res.status).toBe(200);
    const created = events(await res.text()).find((e) => e.type === 'response.created') as {
      response: { id: string };
    };
    const read = await call('GET', `/llm/${SLUGS.mask}/v1/responses/${created.response.id}`);
    expect(read.status, await read.clone().text()).toBe(200);
    expect(((await read.json()) as { id: string }).id).toBe(created.response.id);
  });
});

describe('the setting', () => {
  it('"hold" is stored and read back', async () => {
    const res = await call('GET', `/api/v1/connections/${SLUGS.mask}`);
    const body = (await res.json()) as { settings: { inspection: { streamMode: string } } };
    expect(body.settings.inspection.streamMode).toBe('hold');
  });

  it('anything but "pass" or "hold" is refused at settings.inspection.streamMode', async () => {
    for (const bad of ['buffer', true, 1, null]) {
      const res = await createConnection(`hold-bad-${RUN}`, 'openai-compatible', { streamMode: bad });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string; details?: unknown } };
      expect(body.error.code).toBe('validation_failed');
      expect(JSON.stringify(body.error)).toContain('inspection.streamMode');
    }
  });
});
