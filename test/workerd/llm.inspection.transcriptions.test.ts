/**
 * Content inspection of transcriptions (`POST /v1/audio/transcriptions`, a governed endpoint), in
 * workerd against the real fake provider (test/e2e/llm.fake-audio.ts: the transcript is the upload's
 * `prompt` field, FAKE_SECRET_TOKEN revealed as a key the request never held). The upload is a
 * multipart form and the transcript may come back as plain text (`text`, `srt`, `vtt`), shapes no
 * governed reading covered: both passed unread on a connection that inspects content.
 *   - the `prompt` field holding a key: refused before anything reaches the provider;
 *   - a transcript holding a key, as `json`, `text`, `srt` or `vtt`: refused, the caller never gets it;
 *     masked with a redact rule and `redactResults`;
 *   - the audio part (binary) is not text: a clean upload passes;
 *   - a connection that inspects nothing: the transcript as the provider answered.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { FAKE_SECRET_TOKEN, FAKE_SPLIT_SECRET } from '../e2e/llm.fake-provider.split';
import { traceId } from './gateway.fixtures';
import { bootstrapDefault, call } from './helpers';
import { allowedLlm, inspectedLlm, llmRow } from './llm.inspection.fixtures';

const RUN = Date.now().toString(36);
const RULE = 'secret.aws_access_key_id';
const PACKS = ['llm-standard-security'];
const SLUGS = {
  block: `tr-block-${RUN}`,
  mask: `tr-mask-${RUN}`,
  plain: `tr-plain-${RUN}`,
  big: `tr-big-${RUN}`,
};
// Not text (bytes ≥ 0x80 in no valid UTF-8 order, as compressed audio is): not read by inspection.
const audio = (n: number) => Uint8Array.from({ length: n }, (_, i) => 0x80 | ((i * 37) & 0x7f));
const AUDIO = audio(4096);

async function providerSaw(marker: string): Promise<number> {
  const res = await fetch(`${env.LLM_FAKE_URL}/__fake/requests`);
  const requests = (await res.json()) as Array<{ path: string; body: unknown }>;
  return requests.filter(
    (r) => r.path === '/v1/audio/transcriptions' && JSON.stringify(r.body).includes(marker),
  ).length;
}

async function transcribe(slug: string, prompt: string, format: string, trace: string, file = AUDIO) {
  const form = new FormData();
  form.append('model', 'whisper-1');
  form.append('file', new Blob([file], { type: 'audio/mpeg' }), 'speech.mp3');
  form.append('prompt', prompt);
  form.append('response_format', format);
  const upload = new Request('http://form.test', { method: 'POST', body: form });
  return call('POST', `/llm/${slug}/v1/audio/transcriptions`, {
    // Bytes: the audio part must reach the gateway as the binary it is, not decoded to text.
    rawBody: new Uint8Array(await upload.arrayBuffer()),
    headers: { 'Content-Type': upload.headers.get('Content-Type')!, 'X-Igris-Trace-Id': trace },
  });
}

beforeAll(async () => {
  await bootstrapDefault();
  await inspectedLlm(SLUGS.block, 'openai-compatible', {
    packs: PACKS,
    overrides: { rules: { [RULE]: 'block' } },
  });
  await inspectedLlm(SLUGS.mask, 'openai-compatible', { packs: PACKS });
  await allowedLlm(SLUGS.plain, { provider: 'openai-compatible' });
  // Recordings up to 10 MiB (the ceiling of maxBodyBytes), content inspected.
  await allowedLlm(SLUGS.big, {
    provider: 'openai-compatible',
    maxBodyBytes: 10 * 1024 * 1024,
    inspection: { packs: PACKS, overrides: { rules: { [RULE]: 'block' } } },
  });
});

describe('transcriptions on a connection that inspects content', () => {
  it('the prompt field holding a key: refused, nothing reaches the provider', async () => {
    const trace = traceId('tr-prompt');
    const marker = `prompt-${trace}`;
    const res = await transcribe(SLUGS.block, `${marker} ${FAKE_SPLIT_SECRET}`, 'json', trace);
    expect(res.status).toBe(403);
    const text = await res.text();
    expect(text).not.toContain(FAKE_SPLIT_SECRET);
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'content_blocked', details: { ruleId: RULE } } });
    expect(await providerSaw(marker)).toBe(0);
    const row = await llmRow(trace, (r) => r.error_code === 'content_blocked');
    expect(row.action).toBe('deny');
  });

  it.each(['json', 'text', 'srt', 'vtt'])(
    'a transcript holding a key (%s): refused, the caller never gets it',
    async (format) => {
      const trace = traceId(`tr-answer-${format}`);
      const res = await transcribe(SLUGS.block, `the key is ${FAKE_SECRET_TOKEN}`, format, trace);
      expect(res.status).toBe(403);
      const text = await res.text();
      expect(text).not.toContain(FAKE_SPLIT_SECRET);
      expect(JSON.parse(text)).toMatchObject({
        error: { code: 'content_blocked', details: { ruleId: RULE } },
      });
      const row = await llmRow(trace, (r) => r.error_code === 'content_blocked');
      expect(JSON.stringify(row)).not.toContain(FAKE_SPLIT_SECRET);
    },
  );

  it.each(['text', 'json'])(
    'redact with redactResults (%s): the caller gets the placeholder',
    async (format) => {
      const trace = traceId(`tr-mask-${format}`);
      const res = await transcribe(SLUGS.mask, `the key is ${FAKE_SECRET_TOKEN}`, format, trace);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).not.toContain(FAKE_SPLIT_SECRET);
      expect(text).toContain('the key is [SECRET_1]');
    },
  );

  it('a clean upload passes, its audio part unread', async () => {
    const trace = traceId('tr-clean');
    const res = await transcribe(SLUGS.block, 'a clean recording', 'text', trace);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('a clean recording');
  });

  it('a recording over what inspection reads (4 MiB) passes: only text counts against that bound', async () => {
    const trace = traceId('tr-big');
    const res = await transcribe(SLUGS.big, 'a long recording', 'text', trace, audio(5 * 1024 * 1024));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('a long recording');
  });

  it('without inspection: the transcript as the provider answered', async () => {
    const trace = traceId('tr-plain');
    const res = await transcribe(SLUGS.plain, `the key is ${FAKE_SECRET_TOKEN}`, 'text', trace);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(`the key is ${FAKE_SPLIT_SECRET}`);
  });
});
