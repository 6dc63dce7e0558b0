/**
 * Content inspection of passthrough requests end to end (docs/detections.md#passthrough): the official
 * `@anthropic-ai/sdk` and `openai` clients through the local runtime against the real fake provider, on
 * connections that allow passthrough and inspect content. A Message Batch create whose request holds a
 * secret (`messages.batches.create`) and a batch input file holding one (`files.create` with
 * `purpose: "batch"`) are refused with the 403 the SDKs raise as PermissionDeniedError, before the
 * provider sees anything; an email in a Message Batch reaches the provider as its placeholder, and so does
 * one in the `openai` SDK's `batches.create` metadata (a JSON passthrough body) and in a transcription's
 * `prompt` (a multipart text field, forwarded in the gateway's re-encoding of the form; the caller reads
 * its own value back, restored); an email in an uploaded fine-tuning file, which the gateway cannot mask,
 * is the 422 the OpenAI SDK raises as UnprocessableEntityError.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { waitForAudit } from './helpers';
import { batchInputLine } from './llm.fake-provider.split.ts';
import { type FakeProvider, startFakeProvider } from './llm.fake-provider.ts';
import { createLlmPair } from './llm.fixtures.ts';

const RUN = Date.now().toString(36);
const OPENAI_SLUG = `pt-req-oai-${RUN}`;
const ANTHROPIC_SLUG = `pt-req-ant-${RUN}`;
const PROVIDER_KEY = `sk-provider-${RUN}-secret`;
const AWS_KEY = 'AKIAZ7Q4RXW2LM5PT3NB';
const EMAIL = 'jane.doe@example.com';
// Secrets blocked, personal data redacted.
const INSPECTION = {
  packs: ['secrets-default', 'llm-compliance-gdpr'],
  overrides: { categories: { secret: 'block' } },
};

let fake: FakeProvider;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: PROVIDER_KEY });
  ({ openai, anthropic } = await createLlmPair(
    { openai: OPENAI_SLUG, anthropic: ANTHROPIC_SLUG },
    {
      upstreamUrl: `${fake.url}/v1`,
      credential: PROVIDER_KEY,
      settings: { inspection: INSPECTION },
    },
  ));
});
afterAll(() => fake?.close());
beforeEach(() => fake.reset());

const batchRequest = (custom_id: string, content: string) => ({
  custom_id,
  params: { model: 'fake-claude', max_tokens: 16, messages: [{ role: 'user' as const, content }] },
});

describe('Anthropic SDK: messages.batches.create', () => {
  it('raises PermissionDeniedError on a secret in a request of the batch; the provider sees nothing', async () => {
    const trace = `pt-req-batch-${RUN}`;
    const err = await anthropic.messages.batches
      .create(
        { requests: [batchRequest('a', 'hello'), batchRequest('b', `deploy with ${AWS_KEY}`)] },
        { headers: { 'X-Igris-Trace-Id': trace } },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.PermissionDeniedError);
    const denied = err as InstanceType<typeof Anthropic.PermissionDeniedError>;
    expect(denied.message).not.toContain(AWS_KEY);
    expect(JSON.stringify(denied.error)).toContain('$.requests[1].params.messages[0].content');
    expect(fake.requests).toHaveLength(0);
    const rows = await waitForAudit<{
      id: string;
      action: string;
      errorCode: string;
      details: { findings?: unknown[] };
    }>(`traceId=${trace}`, (r) => r.length > 0);
    expect(rows[0]).toMatchObject({ action: 'deny', errorCode: 'content_blocked' });
    expect(JSON.stringify(rows[0]!.details.findings)).toContain('$.requests[1].params.messages[0].content');
    expect(JSON.stringify(rows[0])).not.toContain(AWS_KEY);
  });

  it('creates the batch with an email replaced by its placeholder in what the provider receives', async () => {
    const batch = await anthropic.messages.batches.create({
      requests: [batchRequest('a', `write to ${EMAIL}`)],
    });
    expect(batch.type).toBe('message_batch');
    expect(fake.requests).toHaveLength(1);
    const sent = JSON.stringify(fake.requests[0]!.body);
    expect(sent).toContain('write to [EMAIL_1]');
    expect(sent).not.toContain(EMAIL);
  });
});

describe('OpenAI SDK: files.create', () => {
  it('raises PermissionDeniedError on a batch input file with a secret on line 2; nothing is uploaded', async () => {
    const jsonl = `${batchInputLine('r1', 'hello')}\n${batchInputLine('r2', `key ${AWS_KEY}`)}\n`;
    const err = await openai.files
      .create({ file: await toFile(Buffer.from(jsonl), 'batch.jsonl'), purpose: 'batch' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const denied = err as InstanceType<typeof OpenAI.PermissionDeniedError>;
    expect(denied.code).toBe('content_blocked');
    expect(JSON.stringify(denied.error)).toContain('part file line 2 $.body.messages[0].content');
    expect(fake.requests).toHaveLength(0);
  });

  it('raises UnprocessableEntityError on an email in a fine-tuning file, which cannot be masked', async () => {
    const err = await openai.files
      .create({
        file: await toFile(
          Buffer.from(`{"messages":[{"role":"user","content":"mail ${EMAIL}"}]}\n`),
          'train.jsonl',
        ),
        purpose: 'fine-tune',
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.UnprocessableEntityError);
    expect((err as InstanceType<typeof OpenAI.UnprocessableEntityError>).code).toBe('inspection_unmaskable');
    expect(fake.requests).toHaveLength(0);
  });

  it('uploads a clean batch file as sent', async () => {
    const jsonl = `${batchInputLine('r1', 'hello')}\n${batchInputLine('r2', 'world')}\n`;
    const file = await openai.files.create({
      file: await toFile(Buffer.from(jsonl), 'batch.jsonl'),
      purpose: 'batch',
    });
    expect(file.id).toMatch(/^file-/);
    expect(fake.requests).toHaveLength(1);
    expect(String(fake.requests[0]!.body)).toContain(jsonl);
  });
});

interface Row {
  id: string;
  action: string;
  errorCode: string | null;
  details: { findings?: Array<{ kind: string; detail?: { location?: string; action?: string } }> };
}

/** The row of `trace` once it has a finding: it names the rule and location, never the value. */
async function rowWithFinding(trace: string): Promise<Row> {
  const rows = await waitForAudit<Row>(`traceId=${trace}`, (r) =>
    r.some((row) => (row.details.findings?.length ?? 0) > 0),
  );
  expect(JSON.stringify(rows)).not.toContain(EMAIL);
  expect(JSON.stringify(rows)).not.toContain(AWS_KEY);
  return rows.find((row) => (row.details.findings?.length ?? 0) > 0)!;
}

describe('OpenAI SDK: a value to redact in a passthrough JSON body or a form field is masked, not refused', () => {
  const traced = (trace: string) => ({ headers: { 'X-Igris-Trace-Id': trace } });

  it('batches.create: the provider receives the metadata with the placeholder; the SDK gets the batch', async () => {
    const trace = `pt-req-batch-meta-${RUN}`;
    const input = await openai.files.create({
      file: await toFile(Buffer.from(`${batchInputLine('r1', 'hello')}\n`), 'batch.jsonl'),
      purpose: 'batch',
    });
    const batch = await openai.batches.create(
      {
        input_file_id: input.id,
        endpoint: '/v1/chat/completions',
        completion_window: '24h',
        metadata: { owner: `mail ${EMAIL}` },
      },
      traced(trace),
    );
    expect(batch.object).toBe('batch');
    const creates = fake.requests.filter((r) => r.path === '/v1/batches');
    expect(creates).toHaveLength(1);
    const sent = creates[0]!;
    expect((sent.body as { metadata: Record<string, string> }).metadata).toEqual({ owner: 'mail [EMAIL_1]' });
    expect(JSON.stringify(sent.body)).not.toContain(EMAIL);
    expect(Number(sent.headers['content-length'])).toBe(Buffer.byteLength(JSON.stringify(sent.body)));
    const row = await rowWithFinding(trace);
    expect(row.action).toBe('allow');
    expect(row.details.findings!.map((f) => [f.kind, f.detail?.location])).toContainEqual([
      'pii.email',
      '$.metadata.owner',
    ]);
  });

  it('audio.transcriptions.create: the prompt field reaches the provider masked; the caller reads its own value back', async () => {
    const trace = `pt-req-transcribe-${RUN}`;
    const answer = await openai.audio.transcriptions.create(
      {
        file: await toFile(Buffer.from('RIFF fake audio bytes WAVE'), 'clip.wav', { type: 'audio/wav' }),
        model: 'whisper-1',
        prompt: `call ${EMAIL}`,
        response_format: 'json',
      },
      traced(trace),
    );
    // The fake transcribes the prompt it received: the placeholder, restored for the caller only.
    expect(answer.text).toBe(`call ${EMAIL}`);
    expect(fake.requests).toHaveLength(1);
    const forms = fake.requests[0]!.forms!;
    const fields = Object.fromEntries(forms.standard as Array<[string, unknown]>);
    expect(fields.prompt).toBe('call [EMAIL_1]');
    expect(fields.model).toBe('whisper-1');
    expect(fields.file).toEqual({
      filename: 'clip.wav',
      type: 'audio/wav',
      text: 'RIFF fake audio bytes WAVE',
    });
    expect(Object.fromEntries(forms.lenient).prompt).toBe('call [EMAIL_1]');
    expect(String(fake.requests[0]!.body)).not.toContain(EMAIL);
    const row = await rowWithFinding(trace);
    expect(row.action).toBe('allow');
    expect(row.details.findings!.map((f) => [f.kind, f.detail?.location])).toContainEqual([
      'pii.email',
      'part prompt',
    ]);
  });

  it('audio.transcriptions.create: a secret in the prompt field is still blocked before the provider', async () => {
    const trace = `pt-req-transcribe-block-${RUN}`;
    const err = await openai.audio.transcriptions
      .create(
        {
          file: await toFile(Buffer.from('RIFF fake audio bytes WAVE'), 'clip.wav', { type: 'audio/wav' }),
          model: 'whisper-1',
          prompt: `key ${AWS_KEY}`,
        },
        traced(trace),
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((err as InstanceType<typeof OpenAI.PermissionDeniedError>).code).toBe('content_blocked');
    expect(fake.requests).toHaveLength(0);
    const row = await rowWithFinding(trace);
    expect([row.action, row.errorCode]).toEqual(['deny', 'content_blocked']);
  });
});
