/**
 * Content inspection of passthrough answers end to end (docs/detections.md#passthrough-answers):
 * the official SDKs through the local runtime against the real fake provider, whose batch results
 * and output files read back a key the creating requests never held (FAKE_SECRET_TOKEN):
 *   - `@anthropic-ai/sdk` `messages.batches.results(id)` (JSONL, fetched from the results_url the
 *     gateway rewrote to itself): a block rule — the SDK throws PermissionDeniedError, the row says
 *     content_blocked; a redact rule with redactResults — the SDK's parsed result holds `[SECRET_1]`;
 *   - `openai` `files.content(id)` of a batch's output file (bytes): PermissionDeniedError.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForAudit } from './helpers';
import {
  batchInputLine,
  FAKE_SECRET_TOKEN,
  FAKE_SPLIT_SECRET,
  RAW_FILE,
  SECRET_BATCH_REQUEST,
} from './llm.fake-provider.split.ts';
import { type FakeProvider, startFakeProvider } from './llm.fake-provider.ts';
import { anthropicClient, createLlmConnection, openaiClient } from './llm.fixtures.ts';

const RUN = Date.now().toString(36);
const PROVIDER_KEY = `sk-provider-${RUN}-secret`;
const RULE = 'secret.aws_access_key_id';
const PACKS = ['llm-standard-security'];
const SLUGS = {
  blockAnthropic: `pta-e2e-block-a-${RUN}`,
  maskAnthropic: `pta-e2e-mask-a-${RUN}`,
  block: `pta-e2e-block-${RUN}`,
};

let fake: FakeProvider;

const connection = (slug: string, provider: string, inspection: Record<string, unknown>) =>
  createLlmConnection(slug, {
    upstreamUrl: `${fake.url}/v1`,
    credential: PROVIDER_KEY,
    settings: { provider, inspection: { packs: PACKS, ...inspection } },
  });

const anthropicFor = (slug: string, trace: string) =>
  anthropicClient(slug, { defaultHeaders: { 'X-Igris-Trace-Id': trace } });
const openaiFor = (slug: string, trace: string) =>
  openaiClient(slug, { defaultHeaders: { 'X-Igris-Trace-Id': trace } });

interface Row {
  id: string;
  errorCode: string | null;
  details: { findings?: Array<{ kind: string; detail?: { where?: string; location?: string } }> };
}

/** The rows of `trace` once one says content_blocked: its findings name the rule, never the key. */
async function blockedRow(trace: string): Promise<Row> {
  const rows = await waitForAudit<Row>(`traceId=${trace}`, (r) =>
    r.some((row) => row.errorCode === 'content_blocked'),
  );
  const row = rows.find((r) => r.errorCode === 'content_blocked')!;
  expect(row.details.findings?.map((f) => f.kind)).toContain(RULE);
  expect(JSON.stringify(rows)).not.toContain(FAKE_SPLIT_SECRET);
  return row;
}

beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: PROVIDER_KEY });
  await connection(SLUGS.blockAnthropic, 'anthropic', { overrides: { rules: { [RULE]: 'block' } } });
  await connection(SLUGS.maskAnthropic, 'anthropic', { redactResults: true });
  await connection(SLUGS.block, 'openai-compatible', { overrides: { rules: { [RULE]: 'block' } } });
});
afterAll(() => fake?.close());

async function batchOf(client: Anthropic): Promise<string> {
  const batch = await client.messages.batches.create({ requests: [SECRET_BATCH_REQUEST] });
  return batch.id;
}

describe('Anthropic Message Batch results', () => {
  it('a block rule: results() throws PermissionDeniedError, the row says content_blocked', async () => {
    const trace = `pta-e2e-results-${RUN}`;
    const client = anthropicFor(SLUGS.blockAnthropic, trace);
    const id = await batchOf(client);
    const err = await (async () => {
      for await (const _ of await client.messages.batches.results(id)) {
        // Nothing of the results reaches the caller.
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect(JSON.stringify((err as InstanceType<typeof Anthropic.PermissionDeniedError>).error)).not.toContain(
      FAKE_SPLIT_SECRET,
    );
    const row = await blockedRow(trace);
    expect(row.details.findings?.find((f) => f.kind === RULE)?.detail?.location).toBe(
      'line 1 $.result.message.content[0].text',
    );
  });

  it('a redact rule with redactResults: the SDK reads the placeholder', async () => {
    const client = anthropicFor(SLUGS.maskAnthropic, `pta-e2e-results-mask-${RUN}`);
    const id = await batchOf(client);
    const texts: string[] = [];
    for await (const entry of await client.messages.batches.results(id)) {
      if (entry.result.type !== 'succeeded') throw new Error(`result ${entry.result.type}`);
      for (const block of entry.result.message.content) if (block.type === 'text') texts.push(block.text);
    }
    expect(texts).toEqual(['answer to: the key is [SECRET_1]']);
  });
});

describe('OpenAI batch output file', () => {
  it('files.content(output) throws PermissionDeniedError, the row says content_blocked', async () => {
    const trace = `pta-e2e-file-${RUN}`;
    const client = openaiFor(SLUGS.block, trace);
    const line = batchInputLine('one', `${RAW_FILE} ${FAKE_SECRET_TOKEN}`);
    const file = await client.files.create({
      file: await toFile(Buffer.from(line), 'in.jsonl'),
      purpose: 'batch',
    });
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const err = await client.files.content(batch.output_file_id!).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((err as InstanceType<typeof OpenAI.PermissionDeniedError>).code).toBe('content_blocked');
    await blockedRow(trace);
  });
});
