/**
 * Content inspection of passthrough answers (docs/detections.md#passthrough-answers), in workerd
 * with real bindings (D1 audit rows), against the real fake provider. What is read back holds a
 * secret its creating request never held (FAKE_SECRET_TOKEN, llm.fake-provider.split.ts):
 *   - a Message Batch's results (JSONL, `application/binary`): refused on a blocking connection —
 *     the caller gets Anthropic's 403, never the key; the row says `content_blocked` with the
 *     finding at `line 1 $.result.message.content[0].text` — and masked (`[SECRET_1]`) with a
 *     redact rule and `redactResults`;
 *   - an OpenAI batch's output file, served as bytes (octet-stream) or as `{content}` JSON: refused;
 *   - a stored chat completion read back (`GET /chat/completions/{id}`, `/messages`): refused;
 *   - a stream on `POST /chat/completions/` (another spelling, passthrough) whose key is cut across
 *     two deltas: caught — a passing stream ends with the error event, a held one is refused whole;
 *   - a binary file's content (not UTF-8) passes as it came; one over the answer cap (4 MiB) is
 *     refused, `upstream_too_large`, and passes whole without inspection;
 *   - on a connection that inspects nothing, the results and the file pass byte for byte.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BIG_FILE,
  BINARY_FILE,
  batchInputLine,
  FAKE_SECRET_TOKEN,
  FAKE_SPLIT_SECRET,
  RAW_FILE,
  SECRET_BATCH_REQUEST,
} from '../e2e/llm.fake-provider.split';
import { type AuditRow, traceId } from './gateway.fixtures';
import { bootstrapDefault, call, expectJson } from './helpers';
import { allowedLlm, inspectedLlm, llmRow } from './llm.inspection.fixtures';
import { FILE_UPLOAD_TYPE, fileUploadBody } from './llm.owners.fixtures';

const RUN = Date.now().toString(36);
const RULE = 'secret.aws_access_key_id';
const PACKS = ['llm-standard-security'];
const BLOCK = { packs: PACKS, overrides: { rules: { [RULE]: 'block' } } };
const SLUGS = {
  block: `pta-block-${RUN}`,
  blockAnthropic: `pta-block-a-${RUN}`,
  maskAnthropic: `pta-mask-a-${RUN}`,
  hold: `pta-hold-${RUN}`,
  plain: `pta-plain-${RUN}`,
  plainAnthropic: `pta-plain-a-${RUN}`,
};
const ANTHROPIC = { 'anthropic-version': '2023-06-01' };

beforeAll(async () => {
  await bootstrapDefault();
  await inspectedLlm(SLUGS.block, 'openai-compatible', BLOCK);
  await inspectedLlm(SLUGS.blockAnthropic, 'anthropic', BLOCK);
  await inspectedLlm(SLUGS.maskAnthropic, 'anthropic', { packs: PACKS });
  await inspectedLlm(SLUGS.hold, 'openai-compatible', { ...BLOCK, streamMode: 'hold' });
  await allowedLlm(SLUGS.plain, { provider: 'openai-compatible' });
  await allowedLlm(SLUGS.plainAnthropic, { provider: 'anthropic' });
});

function llm(slug: string, method: string, path: string, trace: string, body?: unknown, headers = {}) {
  return call(method, `/llm/${slug}/v1${path}`, { body, headers: { 'X-Igris-Trace-Id': trace, ...headers } });
}

type RowFinding = { kind: string; detail?: { where?: string; action?: string; location?: string } };
function completionFindings(row: AuditRow): RowFinding[] {
  const details = JSON.parse(row.details ?? '{}') as { findings?: RowFinding[] };
  return (details.findings ?? []).filter((f) => f.detail?.where === 'completion');
}

/** A Message Batch of one request whose answer names the key; its results path at the gateway. */
async function messageBatch(slug: string): Promise<string> {
  const res = await llm(
    slug,
    'POST',
    '/messages/batches',
    traceId('pta-mb'),
    { requests: [SECRET_BATCH_REQUEST] },
    ANTHROPIC,
  );
  const batch = await expectJson<{ id: string; results_url: string }>(res, 200);
  expect(JSON.stringify(batch)).not.toContain(FAKE_SPLIT_SECRET);
  return new URL(batch.results_url).pathname.replace(`/llm/${slug}/v1`, '');
}

/** Uploads `text` as a batch input file and runs a batch on it: the output file's id. */
async function batchOutput(slug: string, text: string): Promise<string> {
  const upload = await call('POST', `/llm/${slug}/v1/files`, {
    rawBody: fileUploadBody(text),
    headers: { 'Content-Type': FILE_UPLOAD_TYPE },
  });
  const file = await expectJson<{ id: string }>(upload, 200);
  const res = await llm(slug, 'POST', '/batches', traceId('pta-batch'), {
    input_file_id: file.id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
  });
  return (await expectJson<{ output_file_id: string }>(res, 200)).output_file_id;
}

/** What the provider itself answers to `path` (the connection's key): the bytes the gateway got. */
async function upstreamBytes(path: string, headers: Record<string, string> = {}): Promise<Uint8Array> {
  const res = await fetch(`${env.LLM_FAKE_URL}/v1${path}`, {
    headers: { Authorization: `Bearer ${env.LLM_FAKE_KEY}`, 'x-api-key': env.LLM_FAKE_KEY, ...headers },
  });
  expect(res.status).toBe(200);
  return new Uint8Array(await res.arrayBuffer());
}

async function expectBlocked(res: Response, location: string): Promise<void> {
  expect(res.status).toBe(403);
  const text = await res.text();
  expect(text).not.toContain(FAKE_SPLIT_SECRET);
  expect(JSON.parse(text)).toMatchObject({
    error: { type: 'permission_error', details: { ruleId: RULE, location } },
  });
}

describe('Message Batch results (JSONL)', () => {
  it('blocked: refused in Anthropic’s shape, the row content_blocked with the finding at its line and path', async () => {
    const results = await messageBatch(SLUGS.blockAnthropic);
    const trace = traceId('pta-mb-results');
    const res = await llm(SLUGS.blockAnthropic, 'GET', results, trace, undefined, ANTHROPIC);
    expect(res.status).toBe(403);
    const text = await res.text();
    expect(text).not.toContain(FAKE_SPLIT_SECRET);
    expect(JSON.parse(text)).toMatchObject({
      type: 'error',
      error: {
        type: 'permission_error',
        details: { ruleId: RULE, location: 'line 1 $.result.message.content[0].text' },
      },
    });
    const row = await llmRow(trace, (r) => r.error_code === 'content_blocked');
    expect(completionFindings(row)).toEqual([
      expect.objectContaining({
        kind: RULE,
        detail: expect.objectContaining({
          action: 'block',
          location: 'line 1 $.result.message.content[0].text',
        }),
      }),
    ]);
    expect(JSON.stringify(row)).not.toContain(FAKE_SPLIT_SECRET);
  });

  it('redact with redactResults: the caller gets the placeholder, the other lines as they came', async () => {
    const results = await messageBatch(SLUGS.maskAnthropic);
    const trace = traceId('pta-mb-mask');
    const res = await llm(SLUGS.maskAnthropic, 'GET', results, trace, undefined, ANTHROPIC);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(FAKE_SPLIT_SECRET);
    const line = JSON.parse(text.trim()) as { result: { message: { content: Array<{ text: string }> } } };
    expect(line.result.message.content[0]!.text).toBe('answer to: the key is [SECRET_1]');
    const row = await llmRow(trace, (r) => completionFindings(r).length > 0);
    expect(completionFindings(row)[0]).toMatchObject({ kind: RULE, detail: { action: 'redact' } });
  });

  it('without inspection: byte for byte what the provider answers', async () => {
    const results = await messageBatch(SLUGS.plainAnthropic);
    const res = await llm(
      SLUGS.plainAnthropic,
      'GET',
      results,
      traceId('pta-mb-plain'),
      undefined,
      ANTHROPIC,
    );
    expect(res.status).toBe(200);
    const got = new Uint8Array(await res.arrayBuffer());
    expect(got).toEqual(await upstreamBytes(results, ANTHROPIC));
    expect(new TextDecoder().decode(got)).toContain(FAKE_SPLIT_SECRET);
  });
});

describe('OpenAI batch output files', () => {
  it('an output file served as bytes (octet-stream) holding the key is refused, at its line', async () => {
    const output = await batchOutput(SLUGS.block, batchInputLine('one', `${RAW_FILE} ${FAKE_SECRET_TOKEN}`));
    const trace = traceId('pta-file');
    await expectBlocked(await llm(SLUGS.block, 'GET', `/files/${output}/content`, trace), 'line 1');
    const row = await llmRow(trace, (r) => r.error_code === 'content_blocked');
    expect(completionFindings(row).map((f) => f.kind)).toEqual([RULE]);
  });

  it('one served as `{content}` JSON is refused too, at its JSON path', async () => {
    const output = await batchOutput(SLUGS.block, batchInputLine('one', FAKE_SECRET_TOKEN));
    const trace = traceId('pta-file-json');
    await expectBlocked(await llm(SLUGS.block, 'GET', `/files/${output}/content`, trace), '$.content');
  });

  it('a binary file (not UTF-8) passes as it came', async () => {
    const output = await batchOutput(
      SLUGS.block,
      batchInputLine('one', `${BINARY_FILE} ${FAKE_SECRET_TOKEN}`),
    );
    const res = await llm(SLUGS.block, 'GET', `/files/${output}/content`, traceId('pta-binary'));
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(await upstreamBytes(`/files/${output}/content`));
  });

  it('one over the answer cap is refused (502 upstream_too_large), never passed uninspected', async () => {
    const output = await batchOutput(SLUGS.block, batchInputLine('one', BIG_FILE));
    const trace = traceId('pta-big');
    const res = await llm(SLUGS.block, 'GET', `/files/${output}/content`, trace);
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: { code: 'upstream_too_large' } });
    await llmRow(trace, (r) => r.error_code === 'upstream_too_large');
    // Without inspection it is not read: it passes whole.
    const plain = await batchOutput(SLUGS.plain, batchInputLine('one', BIG_FILE));
    const passed = await llm(SLUGS.plain, 'GET', `/files/${plain}/content`, traceId('pta-big-plain'));
    expect(passed.status).toBe(200);
    expect((await passed.arrayBuffer()).byteLength).toBeGreaterThan(4 * 1024 * 1024);
  });

  it('without inspection: byte for byte what the provider answers', async () => {
    const output = await batchOutput(SLUGS.plain, batchInputLine('one', `${RAW_FILE} ${FAKE_SECRET_TOKEN}`));
    const res = await llm(SLUGS.plain, 'GET', `/files/${output}/content`, traceId('pta-file-plain'));
    expect(res.status).toBe(200);
    const got = new Uint8Array(await res.arrayBuffer());
    expect(got).toEqual(await upstreamBytes(`/files/${output}/content`));
    expect(new TextDecoder().decode(got)).toContain(FAKE_SPLIT_SECRET);
  });
});

describe('stored chat completions read back', () => {
  /** A completion stored by the caller (its id claimed: llm.objects.stage.ts) that reads back the key. */
  async function stored(): Promise<string> {
    const created = await expectJson<{ id: string }>(
      await llm(SLUGS.block, 'POST', '/chat/completions', traceId('pta-store'), {
        model: 'fake-echo',
        store: true,
        messages: [{ role: 'user', content: `the key is ${FAKE_SECRET_TOKEN}` }],
      }),
      200,
    );
    return created.id;
  }

  it('retrieve: refused (a chat.completion: the known texts, as on the governed path)', async () => {
    const trace = traceId('pta-retrieve');
    await expectBlocked(
      await llm(SLUGS.block, 'GET', `/chat/completions/${await stored()}`, trace),
      '$.choices[0].message.content',
    );
    await llmRow(trace, (r) => r.error_code === 'content_blocked');
  });

  it('messages (a list, a shape of no known answer): refused at its path', async () => {
    const trace = traceId('pta-messages');
    await expectBlocked(
      await llm(SLUGS.block, 'GET', `/chat/completions/${await stored()}/messages`, trace),
      '$.data[0].content',
    );
    await llmRow(trace, (r) => r.error_code === 'content_blocked');
  });
});

describe('a stream on another spelling of a governed path', () => {
  const split = { model: 'fake-split', stream: true, n: 2, messages: [{ role: 'user', content: 'Hi' }] };

  it('passing: the key cut across two deltas is caught, the stream ends with the error event', async () => {
    const trace = traceId('pta-slash');
    const res = await llm(SLUGS.block, 'POST', '/chat/completions/', trace, split);
    expect(res.status).toBe(200);
    const text = await res.text();
    const events = text.split('\n\n').filter((e) => e.startsWith('data: '));
    expect(JSON.parse(events.at(-1)!.slice(6))).toMatchObject({
      error: { code: 'content_blocked', details: { ruleId: RULE, location: '$.choices[1].message.content' } },
    });
    expect(text).not.toContain('[DONE]');
    expect(text).not.toContain('call_b');
    await llmRow(trace, (r) => r.error_code === 'content_blocked');
  });

  it('held: refused whole, nothing of the key sent', async () => {
    const trace = traceId('pta-slash-hold');
    const res = await llm(SLUGS.hold, 'POST', '/chat/completions/', trace, split);
    expect(res.status).toBe(403);
    const text = await res.text();
    expect(text).not.toContain(FAKE_SPLIT_SECRET.slice(0, 9));
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'content_blocked' } });
    await llmRow(trace, (r) => r.error_code === 'content_blocked');
  });
});
