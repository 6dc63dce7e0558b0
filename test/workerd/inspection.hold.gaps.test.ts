/**
 * Held streams (`settings.inspection.streamMode: "hold"`, docs/detections.md#held-streams-streammode-hold):
 * the refusals and the masking path the other hold tests leave out, in workerd with real bindings
 * against the real fake provider (its `fake-gap-…` streams: test/e2e/llm.fake-provider.gaps.ts):
 *   - an Anthropic tool input (`input_json_delta` pieces) whose masked text would no longer be JSON
 *     (a custom `redact` rule whose match takes the closing quote): refused, 403 permission_error,
 *     the value in no byte; the row records content_blocked;
 *   - OpenAI chat chunks carrying two choices with one `index`: their texts cannot be told apart
 *     (joined by index, the key one choice carries is cut by the other's pieces, so no scan finds
 *     it — a client reading `choices[0]` would get it whole): refused, 403 content_blocked;
 *   - legacy completions (`/v1/completions`, `text_completion` chunks) with the key cut across two
 *     chunks: delivered with the pieces masked, joined they read `[SECRET_1]`.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { FAKE_SPLIT_SECRET } from '../e2e/llm.fake-provider.split';
import { traceId } from './gateway.fixtures';
import { bootstrapDefault, call } from './helpers';
import { inspectedLlm, llmRow } from './llm.inspection.fixtures';

const RUN = Date.now().toString(36);
const RULE = `custom.gap_ticket_${RUN}`;
const PACK = `gap-tickets-${RUN}`;
const SLUGS = { anthropic: `gap-tool-${RUN}`, openai: `gap-oai-${RUN}` };
const ANTHROPIC_HEADERS = { 'anthropic-version': '2023-06-01' };

const llmConnection = (slug: string, provider: string, packs: string[]) =>
  inspectedLlm(slug, provider, { packs, streamMode: 'hold' });

beforeAll(async () => {
  await bootstrapDefault();
  // A ticket number with the quote that closes it: masked, a JSON string loses its end.
  const rule = await call('POST', '/api/v1/detections/rules', {
    body: {
      id: RULE,
      category: 'secret',
      severity: 'high',
      where: ['completion'],
      detection: { literals: ['TICKET-'], pattern: 'TICKET-\\d{6}"' },
      action: 'redact',
      description: 'A ticket number and its closing quote',
      examples: { positive: ['ref TICKET-123456" end'], negative: ['a ticket'] },
    },
  });
  expect(rule.status, await rule.clone().text()).toBe(201);
  const pack = await call('POST', '/api/v1/detections/packs', {
    body: { name: PACK, description: 'Tickets', rules: [RULE] },
  });
  expect(pack.status, await pack.clone().text()).toBe(201);
  await llmConnection(SLUGS.anthropic, 'anthropic', [PACK]);
  await llmConnection(SLUGS.openai, 'openai-compatible', ['llm-standard-security']);
});

const post = (slug: string, path: string, trace: string, body: Record<string, unknown>, headers = {}) =>
  call('POST', `/llm/${slug}/v1/${path}`, { body, headers: { 'X-Igris-Trace-Id': trace, ...headers } });

/** The data of each SSE event, parsed ([DONE] left out). */
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

describe('held Anthropic tool input that masking would break', () => {
  it('is refused (403, permission_error naming rule and path), the ticket in no byte, the row content_blocked', async () => {
    const trace = traceId('gap-tool');
    const res = await post(
      SLUGS.anthropic,
      'messages',
      trace,
      {
        model: 'fake-gap-tool',
        stream: true,
        max_tokens: 64,
        messages: [{ role: 'user', content: `look it up ${RUN}` }],
      },
      ANTHROPIC_HEADERS,
    );
    expect(res.status).toBe(403);
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
    const text = await res.text();
    expect(text).not.toContain('data:');
    expect(text).not.toContain('TICKET-');
    expect(JSON.parse(text)).toEqual({
      type: 'error',
      error: {
        type: 'permission_error',
        message: `Blocked by content inspection: rule ${RULE} (secret) matched the completion`,
        details: {
          ruleId: RULE,
          category: 'secret',
          severity: 'high',
          where: 'completion',
          location: '$.content[0].input',
        },
      },
    });
    const row = await llmRow(trace, (r) => r.error_code === 'content_blocked');
    expect(row).toMatchObject({ action: 'allow', error_code: 'content_blocked', upstream_status: 200 });
    expect(row.details).toContain(RULE);
    expect(row.details).not.toContain('TICKET-');
  });
});

describe('held chat chunks with two choices sharing one index', () => {
  it('are refused (403 content_blocked), the key in no byte, the row content_blocked', async () => {
    const trace = traceId('gap-dupe');
    const res = await post(SLUGS.openai, 'chat/completions', trace, {
      model: 'fake-gap-dupe',
      stream: true,
      messages: [{ role: 'user', content: `dupe ${RUN}` }],
    });
    const text = await res.text();
    expect(text).not.toContain(FAKE_SPLIT_SECRET.slice(0, 9));
    expect(res.status).toBe(403);
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(JSON.parse(text)).toEqual({
      error: {
        type: 'permission_error',
        message:
          'Blocked by content inspection: the answer streams two choices with index 0; their texts cannot be told apart',
        param: null,
        code: 'content_blocked',
        details: { where: 'completion', location: '$.choices[0]' },
      },
    });
    const row = await llmRow(trace, (r) => r.error_code === 'content_blocked');
    expect(row).toMatchObject({ action: 'allow', error_code: 'content_blocked', upstream_status: 200 });
    expect(row.details ?? '').not.toContain(FAKE_SPLIT_SECRET);
  });
});

describe('held legacy completions', () => {
  it('are delivered with the key masked across the chunks it was cut over; the finding recorded', async () => {
    const trace = traceId('gap-legacy');
    const res = await post(SLUGS.openai, 'completions', trace, {
      model: 'fake-gap-legacy',
      stream: true,
      prompt: `legacy ${RUN}`,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/^text\/event-stream/);
    const text = await res.text();
    expect(text).not.toContain(FAKE_SPLIT_SECRET.slice(0, 6));
    expect(text).toContain('data: [DONE]');
    const chunks = events(text) as Array<{ object: string; choices: Array<{ text: string }> }>;
    expect(chunks.map((c) => c.object)).toEqual(['text_completion', 'text_completion']);
    // The placeholder goes wholly where the match starts; the second chunk keeps only the rest.
    expect(chunks.map((c) => c.choices[0]!.text)).toEqual(['Legacy key [SECRET_1]', ' here.']);
    const row = await llmRow(trace, (r) => (r.details ?? '').includes('secret.aws_access_key_id'));
    expect(row.error_code).toBeNull();
    expect(row.details).not.toContain(FAKE_SPLIT_SECRET);
  });
});
