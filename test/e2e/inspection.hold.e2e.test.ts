/**
 * A held stream (`settings.inspection.streamMode: "hold"`, docs/detections.md#held-streams-streammode-hold)
 * end to end: the official `openai` client streaming (`stream: true`) through the local runtime
 * against the real fake provider, whose `fake-split` model cuts an AWS key id across interleaved
 * texts (test/e2e/llm.fake-provider.split.ts):
 *   - a `block` rule: the SDK raises PermissionDeniedError (403, content_blocked) before it yields
 *     a single chunk — nothing of the answer was sent — and the row records content_blocked;
 *   - a `redact` rule (redactResults on): the text the SDK assembles from the deltas is masked
 *     (`[SECRET_1]`), the key in none of the chunks; the caller's own value comes back restored.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForAudit } from './helpers';
import { FAKE_SPLIT_SECRET, SPLIT_TEXTS } from './llm.fake-provider.split.ts';
import { type FakeProvider, startFakeProvider } from './llm.fake-provider.ts';
import { createLlmConnection, openaiClient } from './llm.fixtures.ts';

const RUN = Date.now().toString(36);
const BLOCK_SLUG = `insp-hold-block-${RUN}`;
const MASK_SLUG = `insp-hold-mask-${RUN}`;
const PROVIDER_KEY = `sk-provider-${RUN}-secret`;
const RULE = 'secret.aws_access_key_id';

let fake: FakeProvider;

const createHoldConnection = (slug: string, inspection: Record<string, unknown>) =>
  createLlmConnection(slug, {
    upstreamUrl: `${fake.url}/v1`,
    credential: PROVIDER_KEY,
    settings: {
      provider: 'openai-compatible',
      inspection: {
        packs: ['llm-standard-security', 'llm-compliance-gdpr'],
        streamMode: 'hold',
        ...inspection,
      },
    },
  });

beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: PROVIDER_KEY });
  await createHoldConnection(BLOCK_SLUG, { overrides: { rules: { [RULE]: 'block' } } });
  await createHoldConnection(MASK_SLUG, {});
});
afterAll(() => fake?.close());

describe('OpenAI SDK streaming through a hold connection', () => {
  it('a block: PermissionDeniedError before the first chunk, the row content_blocked', async () => {
    const trace = `insp-hold-block-${RUN}`;
    const chunks: unknown[] = [];
    let error: unknown;
    try {
      const stream = await openaiClient(BLOCK_SLUG).chat.completions.create(
        { model: 'fake-split', n: 2, stream: true, messages: [{ role: 'user', content: 'Hi' }] },
        { headers: { 'X-Igris-Trace-Id': trace } },
      );
      for await (const chunk of stream) chunks.push(chunk);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const denied = error as InstanceType<typeof OpenAI.PermissionDeniedError>;
    expect(denied.status).toBe(403);
    expect(denied.code).toBe('content_blocked');
    expect(JSON.stringify(denied.error)).not.toContain(FAKE_SPLIT_SECRET);
    expect(chunks).toEqual([]);
    const rows = await waitForAudit<{ id: string; errorCode: string | null }>(
      `traceId=${trace}`,
      (r) => r[0]?.errorCode === 'content_blocked',
    );
    expect(rows[0]?.errorCode).toBe('content_blocked');
  });

  it('a redact: the streamed text the SDK assembles is masked, the key in no chunk', async () => {
    const stream = await openaiClient(MASK_SLUG).chat.completions.create({
      model: 'fake-split',
      n: 2,
      stream: true,
      messages: [{ role: 'user', content: 'Hi' }],
    });
    const content = ['', ''];
    const seen: string[] = [];
    for await (const chunk of stream) {
      seen.push(JSON.stringify(chunk));
      for (const c of chunk.choices) content[c.index] += c.delta.content ?? '';
    }
    expect(content).toEqual([SPLIT_TEXTS.choice0, 'The key is [SECRET_1] today.']);
    expect(seen.join('')).not.toContain(FAKE_SPLIT_SECRET);
  });

  it('the caller’s own value, masked on the way out, comes back restored in the stream', async () => {
    const prompt = 'Please write to jane.doe@example.com today.';
    const stream = await openaiClient(MASK_SLUG).chat.completions.create({
      model: 'fake-echo',
      stream: true,
      messages: [{ role: 'user', content: prompt }],
    });
    let said = '';
    for await (const chunk of stream) said += chunk.choices[0]?.delta.content ?? '';
    expect(said).toBe(prompt);
    // The provider saw only the placeholder.
    expect(JSON.stringify(fake.requests.at(-1)?.body)).not.toContain('jane.doe@example.com');
  });
});
