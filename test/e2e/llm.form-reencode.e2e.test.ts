/**
 * The official `openai` client's multipart uploads through the gateway, which forwards each form as
 * its own re-encoding of the entries it read (docs/llm-gateway.md#forms-are-forwarded-re-encoded):
 * a transcription (the audio file, model, prompt, response_format) and a batch file upload, against
 * the real local fake provider, which parses what it receives with Node's own multipart parser
 * (test/e2e/llm.fake-forms.ts). The SDK gets its answers as before; the provider receives the same
 * entries (names, filenames, file types, contents) under a boundary that is not the SDK's, with a
 * Content-Length equal to what it received.
 */
import { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeRequest } from './llm.fake-provider.ts';
import { type FakeProvider, startFakeProvider } from './llm.fake-provider.ts';
import { createLlmConnection, openaiClient } from './llm.fixtures.ts';

const RUN = Date.now().toString(36);
const PROVIDER_KEY = `sk-provider-${RUN}-fre`;
const SLUG = `llm-fre-e2e-${RUN}`;

let fake: FakeProvider;
/** The Content-Type of every request the SDK sent (its own boundary). */
const sent: string[] = [];

/** The client, its requests' Content-Types recorded as they leave it. */
const sdk = () =>
  openaiClient(SLUG, {
    fetch: async (url, init) => {
      const request = new Request(url, init);
      sent.push(request.headers.get('content-type') ?? '');
      return fetch(request);
    },
  });

beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: PROVIDER_KEY });
  await createLlmConnection(SLUG, {
    upstreamUrl: `${fake.url}/v1`,
    credential: PROVIDER_KEY,
    settings: { provider: 'openai-compatible', allowedModels: ['whisper-1', 'fake-gpt*'] },
  });
});

afterAll(async () => {
  await fake?.close();
});

const boundaryOf = (type: string) => /boundary=("?)([^";]+)\1/i.exec(type)?.[2] ?? null;

/** The last request the provider received on `path`: its entries as Node's parser reads them. */
function received(path: string): FakeRequest {
  const seen = fake.requests.filter((r) => r.method === 'POST' && r.path === path).at(-1);
  expect(seen, path).toBeDefined();
  const raw = String(seen!.body);
  expect(Number(seen!.headers['content-length'])).toBe(Buffer.byteLength(raw));
  return seen!;
}

describe('the openai SDK through the gateway, its forms re-encoded', () => {
  it('a transcription: the answer as before; the provider reads the SDK’s entries under the gateway’s boundary', async () => {
    sent.length = 0;
    const audio = await toFile(Buffer.from('RIFF fake audio bytes WAVE'), 'clip.wav', { type: 'audio/wav' });
    const answer = await sdk().audio.transcriptions.create({
      file: audio,
      model: 'whisper-1',
      prompt: 'A note about the weather.',
      response_format: 'json',
    });
    expect(answer.text).toBe('A note about the weather.');
    const seen = received('/v1/audio/transcriptions');
    const standard = seen.forms!.standard as Array<[string, unknown]>;
    expect(Object.fromEntries(standard)).toEqual({
      file: { filename: 'clip.wav', type: 'audio/wav', text: 'RIFF fake audio bytes WAVE' },
      model: 'whisper-1',
      prompt: 'A note about the weather.',
      response_format: 'json',
    });
    // The gateway's boundary, not the SDK's.
    const own = boundaryOf(sent.at(-1)!);
    expect(own).not.toBeNull();
    expect(seen.forms!.boundary).not.toBeNull();
    expect(seen.forms!.boundary).not.toBe(own);
    expect(String(seen.body)).not.toContain(own!);
  });

  it('a batch file upload: stored and read back as uploaded, the provider reading the SDK’s entries', async () => {
    sent.length = 0;
    const line = JSON.stringify({
      custom_id: 'r1',
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'fake-gpt', messages: [{ role: 'user', content: 'hi' }] },
    });
    const client = sdk();
    const file = await client.files.create({
      file: await toFile(Buffer.from(line), 'input.jsonl', { type: 'application/jsonl' }),
      purpose: 'batch',
    });
    const seen = received('/v1/files');
    // In the SDK's order (the file first).
    expect(seen.forms!.standard).toEqual([
      ['file', { filename: 'input.jsonl', type: 'application/jsonl', text: line }],
      ['purpose', 'batch'],
    ]);
    expect(seen.forms!.boundary).not.toBe(boundaryOf(sent.at(-1)!));
    // What the provider stored is the uploaded line (the fake answers `{ "content": … }`).
    expect(await (await client.files.content(file.id)).json()).toEqual({ content: line });
    // A batch on it runs (its line names an allowed model, read from the form forwarded).
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    expect(batch.input_file_id).toBe(file.id);
    expect(batch.status).toBe('completed');
  });
});
