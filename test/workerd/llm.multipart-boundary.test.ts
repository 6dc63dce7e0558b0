/**
 * A multipart body that parsers would split differently is refused, never read one way
 * (workers/gateway/llm.adapter.ts readForm): parsers disagree on which `boundary` parameter wins
 * (the runtime's keeps one, Python's multipart keeps the last), and one body can hold two forms, one
 * per boundary — each the other's preamble or epilogue. Read with one boundary, a batch upload
 * names only allowed models (and would be recorded so: durable-objects/batch.file-models.ts); read
 * with the other, its file runs another model at the provider. Against the real fake provider,
 * through the gateway with its real bindings: 400 `validation_failed`, nothing forwarded, whichever
 * order the two parameters come in, with or without allowedModels.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { call, createOrg, type TestOrg } from './helpers';
import { llmConnection, providerRequests } from './llm.governance.fixtures';

const RUN = Date.now().toString(36);
const LISTED = `llm-mpb-listed-${RUN}`;
const OPEN = `llm-mpb-open-${RUN}`;
let org: TestOrg;

beforeAll(async () => {
  org = await createOrg('owner');
  const allowAll = [{ tool: '*', action: 'allow' }];
  await llmConnection(org, LISTED, 'openai-compatible', allowAll, { allowedModels: ['fake-gpt*'] });
  await llmConnection(org, OPEN, 'openai-compatible', allowAll);
});

const line = (model: string) =>
  JSON.stringify({ custom_id: 'r1', method: 'POST', url: '/v1/chat/completions', body: { model } });

/** One batch upload form, delimited by `boundary`. */
function form(boundary: string, model: string): string {
  const part = (headers: string, content: string) => `--${boundary}\r\n${headers}\r\n\r\n${content}\r\n`;
  return (
    part('Content-Disposition: form-data; name="purpose"', 'batch') +
    part(
      'Content-Disposition: form-data; name="file"; filename="in.jsonl"\r\nContent-Type: application/jsonl',
      line(model),
    ) +
    `--${boundary}--\r\n`
  );
}

let n = 0;
async function upload(slug: string, type: string, body: string) {
  const marker = `${RUN}_${++n}`;
  const res = await call('POST', `/llm/${slug}/v1/files?mpb=${marker}`, {
    key: org.key,
    rawBody: body,
    headers: { 'Content-Type': type },
  });
  const text = await res.text();
  const seen = (await providerRequests()) as Array<{ query?: Record<string, string> }>;
  return { status: res.status, text, hits: seen.filter((r) => r.query?.mpb === marker).length };
}

describe('a multipart body with two boundaries', () => {
  it('is refused (400, nothing forwarded) whichever boundary comes first, list or not', async () => {
    // With boundary AAA the form names fake-gpt (allowed); with BBB, gpt-4o.
    const body = form('BBB', 'gpt-4o') + form('AAA', 'fake-gpt');
    for (const slug of [LISTED, OPEN])
      for (const type of [
        'multipart/form-data; boundary=AAA; boundary=BBB',
        'multipart/form-data; boundary=BBB; boundary=AAA',
        'multipart/form-data; boundary="AAA"; BOUNDARY=BBB',
        "multipart/form-data; boundary=AAA; boundary*=utf-8''BBB",
      ]) {
        const res = await upload(slug, type, body);
        expect(res.status, `${slug} ${type}: ${res.text}`).toBe(400);
        expect(res.text).toContain('boundary');
        expect(res.hits, type).toBe(0);
      }
  });

  it('a part whose headers are spelled twice is refused (400, nothing forwarded), list or not', async () => {
    const b = 'CCC';
    const type = `multipart/form-data; boundary=${b}`;
    const part = (headers: string[], content: string) =>
      `--${b}\r\n${headers.join('\r\n')}\r\n\r\n${content}\r\n`;
    const purpose = part(['Content-Disposition: form-data; name="purpose"'], 'batch');
    const good = part(['Content-Disposition: form-data; name="file"; filename="a.jsonl"'], line('fake-gpt'));
    // The runtime reads the first Content-Disposition (a field `x`), Python's parsers the last (a
    // second `file`, which they keep over the first): the file stored runs gpt-4o.
    const cases = [
      part(
        [
          'Content-Disposition: form-data; name="x"; filename="x.jsonl"',
          'Content-Disposition: form-data; name="file"; filename="b.jsonl"',
        ],
        line('gpt-4o'),
      ),
      part(['Content-Disposition: form-data; name="file"; name="x"; filename="b.jsonl"'], line('gpt-4o')),
      part(
        ['Content-Disposition: form-data; name="x"; name*=utf-8\'\'file; filename="b.jsonl"'],
        line('gpt-4o'),
      ),
      part(['Content-Disposition: form-data; name="x";', ' name="file"; filename="b.jsonl"'], line('gpt-4o')),
    ];
    for (const slug of [LISTED, OPEN])
      for (const evil of cases) {
        const res = await upload(slug, type, `${purpose}${good}${evil}--${b}--\r\n`);
        expect(res.status, `${slug} ${evil}: ${res.text}`).toBe(400);
        expect(res.text).toContain('headers two ways');
        expect(res.hits).toBe(0);
      }
    // Epilogue and preamble text, and a file whose lines look like headers, are no parts' headers.
    const plain = `preamble\r\n${purpose}${part(['Content-Disposition: form-data; name="file"; filename="a.jsonl"', 'Content-Type: application/jsonl'], line('fake-gpt'))}--${b}--\r\nx: 1\r\nx: 1\r\n`;
    const ok = await upload(LISTED, type, plain);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.hits).toBe(1);
  });

  it('one boundary, quoted or not, is read as before', async () => {
    for (const type of ['multipart/form-data; boundary=AAA', 'multipart/form-data; boundary="AAA"']) {
      const res = await upload(LISTED, type, form('AAA', 'fake-gpt'));
      expect(res.status, res.text).toBe(200);
      expect(res.hits).toBe(1);
      const outside = await upload(LISTED, type, form('AAA', 'gpt-4o'));
      expect(outside.status).toBe(403);
      expect(outside.hits).toBe(0);
    }
  });
});
