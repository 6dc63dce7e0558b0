/**
 * Passthrough inspection is the same when the organization traces (OpenTelemetry export on): a
 * traced call's response stages are wrapped for their spans (workers/tracing/trace.call.ts), and a
 * wrapper that dropped a stage's optional members (`onBody`, `finish`, `hold`) once let a
 * passthrough answer that is not JSON — a batch's output file, read by `onBody` — pass unread.
 *
 * Two organizations side by side, one exporting traces to a real local OTLP receiver, one not; in
 * each, the `openai` SDK reads a batch's output file holding a key (FAKE_SECRET_TOKEN, revealed by
 * the fake provider) through a connection that blocks it and one that masks it (`redactResults`):
 * the traced organization's answers are refused and masked exactly as the untraced one's, its
 * spans reach the receiver, and neither the spans nor any row holds the key.
 */
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OtlpReceiver, startOtlpReceiver } from '../shared/otlp.receiver.ts';
import { adminKey, api } from './helpers';
import { batchInputLine, FAKE_SECRET_TOKEN, FAKE_SPLIT_SECRET, RAW_FILE } from './llm.fake-provider.split.ts';
import { type FakeProvider, startFakeProvider } from './llm.fake-provider.ts';
import { createLlmConnection, openaiClient } from './llm.fixtures.ts';
import { createOrg, ok, until } from './tracing.fixtures.ts';

const RUN = Date.now().toString(36);
const PROVIDER_KEY = `sk-provider-${RUN}-traced`;
const RULE = 'secret.aws_access_key_id';
const PACKS = ['llm-standard-security'];

let fake: FakeProvider;
let receiver: OtlpReceiver;
let tracedKey: string;

interface Org {
  name: string;
  key: () => string;
  block: string;
  mask: string;
}
const ORGS: Org[] = [
  { name: 'untraced', key: () => adminKey(), block: `ptt-u-block-${RUN}`, mask: `ptt-u-mask-${RUN}` },
  { name: 'traced', key: () => tracedKey, block: `ptt-t-block-${RUN}`, mask: `ptt-t-mask-${RUN}` },
];

/** Spans as text (their times are bigints). */
const text = (value: unknown) =>
  JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));

const tracedSpans = () =>
  receiver.received.filter((r) => r.path === `/traced-${RUN}/v1/traces`).flatMap((r) => r.spans);

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  fake = await startFakeProvider({ apiKey: PROVIDER_KEY });
  tracedKey = (await createOrg()).key;
  await ok(
    api('PUT', '/tracing', { endpoint: `${receiver.url}/traced-${RUN}/v1/traces`, sampleRate: 1 }, tracedKey),
    200,
  );
  for (const org of ORGS) {
    const connection = (slug: string, inspection: Record<string, unknown>) =>
      createLlmConnection(slug, {
        upstreamUrl: `${fake.url}/v1`,
        credential: PROVIDER_KEY,
        key: org.key(),
        settings: { provider: 'openai-compatible', inspection: { packs: PACKS, ...inspection } },
      });
    await connection(org.block, { overrides: { rules: { [RULE]: 'block' } } });
    await connection(org.mask, { redactResults: true });
  }
});
afterAll(async () => {
  if (tracedKey) await api('DELETE', '/tracing', undefined, tracedKey);
  await receiver?.close();
  await fake?.close();
});

/** A batch whose output file names the key, created by `client`: the file's id. */
async function outputFile(client: OpenAI): Promise<string> {
  const file = await client.files.create({
    file: await toFile(Buffer.from(batchInputLine('one', `${RAW_FILE} ${FAKE_SECRET_TOKEN}`)), 'in.jsonl'),
    purpose: 'batch',
  });
  const batch = await client.batches.create({
    input_file_id: file.id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
  });
  return batch.output_file_id!;
}

/** The organization's rows of `trace`, once one says content_blocked (read with its own key). */
async function blockedRows(org: Org, trace: string): Promise<Array<{ errorCode: string | null }>> {
  let rows: Array<{ errorCode: string | null }> = [];
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const res = await api<{ events: typeof rows }>(
      'GET',
      `/audit-events?traceId=${trace}`,
      undefined,
      org.key(),
    );
    rows = res.status === 200 ? res.body.events : [];
    if (rows.some((row) => row.errorCode === 'content_blocked')) return rows;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no content_blocked row for ${trace}: ${JSON.stringify(rows).slice(0, 1000)}`);
}

const client = (org: Org, slug: string, trace: string) =>
  openaiClient(slug, { apiKey: org.key(), defaultHeaders: { 'X-Igris-Trace-Id': trace } });

describe('a passthrough answer holding a key, traced and untraced alike', () => {
  it('a block rule: files.content is refused (content_blocked) in both organizations', async () => {
    for (const org of ORGS) {
      const trace = `ptt-block-${org.name}-${RUN}`;
      const sdk = client(org, org.block, trace);
      const err = await sdk.files.content(await outputFile(sdk)).catch((e: unknown) => e);
      expect(err, org.name).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect((err as InstanceType<typeof OpenAI.PermissionDeniedError>).code, org.name).toBe(
        'content_blocked',
      );
      const rows = await blockedRows(org, trace);
      expect(JSON.stringify(rows), org.name).toContain(RULE);
      expect(JSON.stringify(rows), org.name).not.toContain(FAKE_SPLIT_SECRET);
    }
  });

  it('a redact rule with redactResults: files.content reads the same masked text in both organizations', async () => {
    const texts: string[] = [];
    for (const org of ORGS) {
      const sdk = client(org, org.mask, `ptt-mask-${org.name}-${RUN}`);
      const res = await sdk.files.content(await outputFile(sdk));
      texts.push(await res.text());
    }
    expect(texts[0]).not.toContain(FAKE_SPLIT_SECRET);
    expect(texts[0]).toContain('[SECRET_1]');
    expect(texts[1]).toBe(texts[0]);
  });

  it('the traced organization exported the calls’ spans, none holding the key', async () => {
    const spans = await until('the traced calls’ spans', () => {
      const all = tracedSpans();
      return all.some((s) => text(s).includes('inspection')) ? all : undefined;
    });
    expect(spans.length).toBeGreaterThan(0);
    expect(text(spans)).not.toContain(FAKE_SPLIT_SECRET);
    expect(receiver.invalid).toEqual([]);
  });
});
