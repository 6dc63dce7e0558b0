/**
 * Content inspection of passthrough LLM requests (docs/detections.md#passthrough), in workerd against
 * the real fake provider: a path outside the endpoint table that a rule allows carries a prompt too —
 * an Anthropic Message Batch create, a batch input file upload, another spelling of a governed path.
 * A `block` finding refuses it before the provider sees anything (403 content_blocked, a `deny` row
 * with the finding's location); a `redact` finding in a JSON body reaches the provider as its
 * placeholder (with the rewritten body's length), and one in a form's text field (multipart or
 * URL-encoded) reaches it masked in the gateway's re-encoding of the form; one in a file part, a
 * name or the model field, which the gateway cannot mask, refuses it (422 inspection_unmaskable); a binary upload is not text and passes; a repeated
 * key and a body over the inspection cap are refused. A connection without inspection forwards
 * passthrough bodies as before — a form as the gateway re-encodes it (llm.form-reencode.ts), its
 * entries unchanged; any other body byte for byte.
 */
import { env, exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FakeFormEntry, FakeForms } from '../e2e/llm.fake-forms';
import { batchInputLine } from '../e2e/llm.fake-provider.split';
import { ADMIN_KEY, BASE, bootstrapDefault } from './helpers';
import { llmConnection } from './llm.governance.fixtures';
import { inspectedLlm, llmRow } from './llm.inspection.fixtures';

const RUN = Date.now().toString(36);
const ANTH_BLOCK = `pt-req-ab-${RUN}`;
const ANTH_REDACT = `pt-req-ar-${RUN}`;
const OAI_BLOCK = `pt-req-ob-${RUN}`;
const OAI_REDACT = `pt-req-or-${RUN}`;
const PLAIN = `pt-req-plain-${RUN}`;
const BIG = `pt-req-big-${RUN}`;

const AWS_KEY = 'AKIAZ7Q4RXW2LM5PT3NB';
const EMAIL = 'jane.doe@example.com';
const BLOCK_SECRETS = { packs: ['secrets-default'], overrides: { categories: { secret: 'block' } } };
const REDACT_PII = { packs: ['secrets-default', 'llm-compliance-gdpr'] };

beforeAll(async () => {
  await bootstrapDefault();
  await inspectedLlm(ANTH_BLOCK, 'anthropic', BLOCK_SECRETS);
  await inspectedLlm(ANTH_REDACT, 'anthropic', REDACT_PII);
  await inspectedLlm(OAI_BLOCK, 'openai-compatible', BLOCK_SECRETS);
  await inspectedLlm(OAI_REDACT, 'openai-compatible', REDACT_PII);
  const org = { orgId: '', userId: '', key: ADMIN_KEY };
  await llmConnection(org, PLAIN, 'openai-compatible', [{ tool: '*', action: 'allow' }]);
  await llmConnection(org, BIG, 'openai-compatible', [{ tool: '*', action: 'allow' }], {
    maxBodyBytes: 8 * 1024 * 1024,
    inspection: BLOCK_SECRETS,
  });
});

interface Seen {
  method: string;
  path: string;
  query?: Record<string, string>;
  headers: Record<string, string>;
  body: unknown;
  /** A form body as the provider's parsers read it (test/e2e/llm.fake-forms.ts). */
  forms: FakeForms | null;
}

let n = 0;
/** POSTs `body` to `/llm/<slug>/v1<path>`, marked so that what reached the provider is this call's. */
async function send(slug: string, path: string, body: string | Uint8Array, type: string) {
  const marker = `${RUN}_${++n}`;
  const trace = `ig_trace_ptreq_${marker}`;
  const url = `${BASE}/llm/${slug}/v1${path}${path.includes('?') ? '&' : '?'}ptreq=${marker}`;
  const res = await exports.default.fetch(
    new Request(url, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': type, 'X-Igris-Trace-Id': trace },
      body,
    }),
  );
  const text = await res.text();
  const all = (await (await fetch(`${env.LLM_FAKE_URL}/__fake/requests`)).json()) as Seen[];
  const seen = all.filter((r) => r.query?.ptreq === marker);
  return { status: res.status, text, trace, seen };
}

const json = (value: unknown) => [JSON.stringify(value), 'application/json'] as const;

/** A multipart form of `fields`, as bytes and its Content-Type. */
async function multipart(fields: Array<[string, string | Blob, string?]>) {
  const form = new FormData();
  for (const [name, value, filename] of fields)
    if (typeof value === 'string') form.append(name, value);
    else form.append(name, value, filename);
  const res = new Response(form);
  return [new Uint8Array(await res.arrayBuffer()), res.headers.get('Content-Type')!] as const;
}

const messageBatch = (content: string) => ({
  requests: [
    {
      custom_id: 'one',
      params: { model: 'claude-x', max_tokens: 16, messages: [{ role: 'user', content: 'hello' }] },
    },
    {
      custom_id: 'two',
      params: { model: 'claude-x', max_tokens: 16, messages: [{ role: 'user', content }] },
    },
  ],
});

interface Finding {
  kind: string;
  detail: { location: string; action: string; where: string };
}
const findingsOf = (row: { details: string | null }) =>
  (JSON.parse(row.details ?? '{}') as { findings?: Finding[] }).findings ?? [];

describe('passthrough requests on an inspected connection', () => {
  it('refuses a Message Batch create whose request carries a blocked secret, before the provider', async () => {
    const res = await send(ANTH_BLOCK, '/messages/batches', ...json(messageBatch(`use ${AWS_KEY} now`)));
    expect(res.status, res.text).toBe(403);
    const body = JSON.parse(res.text) as {
      type: string;
      error: { type: string; details: Record<string, string> };
    };
    expect(body.error.type).toBe('permission_error');
    expect(body.error.details.ruleId).toBe('secret.aws_access_key_id');
    expect(body.error.details.location).toBe('$.requests[1].params.messages[0].content');
    expect(res.text).not.toContain(AWS_KEY);
    expect(res.seen).toHaveLength(0);
    const row = await llmRow(res.trace, () => true);
    expect(row.action).toBe('deny');
    expect(row.error_code).toBe('content_blocked');
    expect(row.details).not.toContain(AWS_KEY);
    expect(findingsOf(row).map((f) => [f.kind, f.detail.location, f.detail.where])).toContainEqual([
      'secret.aws_access_key_id',
      '$.requests[1].params.messages[0].content',
      'prompt',
    ]);
  });

  it('forwards a Message Batch create with its redacted values as placeholders, and its new length', async () => {
    const res = await send(ANTH_REDACT, '/messages/batches', ...json(messageBatch(`mail ${EMAIL} today`)));
    expect(res.status, res.text).toBe(200);
    expect(res.seen).toHaveLength(1);
    const forwarded = JSON.stringify(res.seen[0]!.body);
    expect(forwarded).not.toContain(EMAIL);
    const requests = (res.seen[0]!.body as ReturnType<typeof messageBatch>).requests;
    expect(requests[1]!.params.messages[0]!.content).toBe('mail [EMAIL_1] today');
    expect(requests[0]!.params.messages[0]!.content).toBe('hello');
    expect(Number(res.seen[0]!.headers['content-length'])).toBe(
      new TextEncoder().encode(forwarded).byteLength,
    );
    const row = await llmRow(res.trace, (r) => findingsOf(r).length > 0);
    expect(row.action).toBe('allow');
    expect(findingsOf(row).map((f) => [f.kind, f.detail.location])).toContainEqual([
      'pii.email',
      '$.requests[1].params.messages[0].content',
    ]);
  });

  it('refuses a batch input file upload with a secret on line 2, naming the part and the line', async () => {
    const file = new Blob([`${batchInputLine('r1', 'hello')}\n${batchInputLine('r2', `key ${AWS_KEY}`)}\n`]);
    const res = await send(
      OAI_BLOCK,
      '/files',
      ...(await multipart([
        ['purpose', 'batch'],
        ['file', file, 'batch.jsonl'],
      ])),
    );
    expect(res.status, res.text).toBe(403);
    const body = JSON.parse(res.text) as { error: { code: string; details: Record<string, string> } };
    expect(body.error.code).toBe('content_blocked');
    expect(body.error.details.location).toBe('part file line 2 $.body.messages[0].content');
    expect(res.seen).toHaveLength(0);
    const row = await llmRow(res.trace, () => true);
    expect([row.action, row.error_code]).toEqual(['deny', 'content_blocked']);
  });

  it('refuses an upload holding a value to redact: the gateway cannot mask bytes it forwards as sent', async () => {
    const file = new Blob([`{"messages":[{"role":"user","content":"write to ${EMAIL}"}]}\n`]);
    const res = await send(
      OAI_REDACT,
      '/files',
      ...(await multipart([
        ['purpose', 'fine-tune'],
        ['file', file, 'train.jsonl'],
      ])),
    );
    expect(res.status, res.text).toBe(422);
    const body = JSON.parse(res.text) as { error: { code: string; details: Record<string, string> } };
    expect(body.error.code).toBe('inspection_unmaskable');
    expect(body.error.details).toMatchObject({
      ruleId: 'pii.email',
      location: 'part file line 1 $.messages[0].content',
    });
    expect(res.text).not.toContain(EMAIL);
    expect(res.seen).toHaveLength(0);
    const row = await llmRow(res.trace, () => true);
    expect([row.action, row.error_code]).toEqual(['deny', 'inspection_unmaskable']);
    expect(findingsOf(row).map((f) => f.kind)).toContain('pii.email');
  });

  it('forwards a form field holding a value to redact with its placeholder, multipart or URL-encoded', async () => {
    // A form is forwarded as the gateway re-encodes the entries it parsed (llm.form-reencode.ts): a
    // value to redact in a text field is replaced by its placeholder in the re-encoding, the file
    // part and the other fields as they were; the provider's own parsers read the masked form.
    const file = new Blob(['{"prompt":"hi"}\n'], { type: 'application/jsonl' });
    const cases: Array<[string, string | Uint8Array, string, string]> = [
      [
        'multipart',
        ...(await multipart([
          ['purpose', 'fine-tune'],
          ['note', `write to ${EMAIL}`],
          ['file', file, 'train.jsonl'],
        ])),
        'part note',
      ],
      [
        'URL-encoded',
        `purpose=fine-tune&note=${encodeURIComponent(`write to ${EMAIL}`)}`,
        'application/x-www-form-urlencoded',
        'field note',
      ],
    ];
    for (const [what, body, type, location] of cases) {
      const res = await send(OAI_REDACT, '/files', body, type);
      expect(res.status, `${what}: ${res.text}`).toBe(200);
      expect(res.seen, what).toHaveLength(1);
      const seen = res.seen[0]!;
      const fields: FakeFormEntry[] = [
        ['purpose', 'fine-tune'],
        ['note', 'write to [EMAIL_1]'],
      ];
      if (what === 'multipart')
        fields.push([
          'file',
          { filename: 'train.jsonl', type: 'application/jsonl', text: '{"prompt":"hi"}\n' },
        ]);
      expect(seen.forms!.standard, what).toEqual(fields);
      expect(seen.forms!.lenient, what).toEqual(fields);
      expect(JSON.stringify(seen), what).not.toContain(EMAIL);
      // The Content-Type names the boundary of what was sent, and the length is the masked body's.
      if (what === 'multipart') expect(seen.headers['content-type']).toContain(seen.forms!.boundary!);
      const row = await llmRow(res.trace, (r) => findingsOf(r).length > 0);
      expect(row.action, what).toBe('allow');
      expect(row.details, what).not.toContain(EMAIL);
      expect(findingsOf(row).map((f) => [f.kind, f.detail.location, f.detail.action])).toContainEqual([
        'pii.email',
        location,
        'redact',
      ]);
    }
  });

  it('still refuses a value to redact where it cannot be masked: a file part, a field name, the model field', async () => {
    const cases: Array<[string, string | Uint8Array, string]> = [
      [
        'a text file part',
        ...(await multipart([
          ['purpose', 'fine-tune'],
          ['file', new Blob([`mail ${EMAIL}`]), 'notes.txt'],
        ])),
      ],
      ['a field name', `${encodeURIComponent(EMAIL)}=1`, 'application/x-www-form-urlencoded'],
      ['the model field', ...(await multipart([['model', EMAIL]]))],
    ];
    for (const [what, body, type] of cases) {
      const res = await send(OAI_REDACT, '/files', body, type);
      expect(res.status, `${what}: ${res.text}`).toBe(422);
      expect((JSON.parse(res.text) as { error: { code: string } }).error.code).toBe('inspection_unmaskable');
      expect(res.text).not.toContain(EMAIL);
      expect(res.seen, what).toHaveLength(0);
    }
  });

  it('passes a binary upload: bytes that are not UTF-8 are not text', async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0xfe, 0x00, 0x80]);
    const res = await send(
      OAI_BLOCK,
      '/files',
      ...(await multipart([
        ['purpose', 'vision'],
        ['file', new Blob([png], { type: 'image/png' }), 'image.png'],
      ])),
    );
    expect(res.status, res.text).toBe(200);
    expect(res.seen).toHaveLength(1);
  });

  it('refuses a secret sent to another spelling of a governed path (a trailing slash)', async () => {
    const chat = { model: 'fake-gpt', messages: [{ role: 'user', content: `key ${AWS_KEY}` }] };
    const res = await send(OAI_BLOCK, '/chat/completions/', ...json(chat));
    expect(res.status, res.text).toBe(403);
    expect(
      (JSON.parse(res.text) as { error: { details: { location: string } } }).error.details.location,
    ).toBe('$.messages[0].content');
    expect(res.seen).toHaveLength(0);
  });

  it('refuses a secret in a text body and in the query, and JSON lines sent as the body', async () => {
    const text = await send(OAI_BLOCK, '/embeddings/', `find ${AWS_KEY}`, 'text/plain');
    expect(text.status, text.text).toBe(403);
    expect(text.text).toContain('"location":"body"');
    const query = await send(OAI_BLOCK, `/files?after=${AWS_KEY}`, '', 'text/plain');
    expect(query.status, query.text).toBe(403);
    expect(query.text).toContain('"location":"query after"');
    const lines = await send(
      OAI_BLOCK,
      '/files',
      `${batchInputLine('r1', 'hi')}\n${batchInputLine('r2', AWS_KEY)}`,
      'application/jsonl',
    );
    expect(lines.status, lines.text).toBe(403);
    expect(lines.text).toContain('"location":"line 2 $.body.messages[0].content"');
    expect([...text.seen, ...query.seen, ...lines.seen]).toHaveLength(0);
  });

  it('reads a UTF-16 JSON body as a JSON parser given bytes would, and refuses its secret', async () => {
    const chat = JSON.stringify({
      model: 'fake-gpt',
      messages: [{ role: 'user', content: `key ${AWS_KEY}` }],
    });
    const utf16 = new Uint8Array(chat.length * 2);
    for (let i = 0; i < chat.length; i++) utf16[i * 2] = chat.charCodeAt(i);
    const res = await send(OAI_BLOCK, '/embeddings/', utf16, 'application/json');
    expect(res.status, res.text).toBe(403);
    expect(res.text).toContain('"location":"$.messages[0].content"');
    expect(res.seen).toHaveLength(0);
  });

  it('refuses a JSON body that repeats a key (the provider may read the value not inspected)', async () => {
    const body = `{"messages":[{"role":"user","content":"${AWS_KEY}"}],"messages":[]}`;
    const res = await send(OAI_BLOCK, '/chat/completions/', body, 'application/json');
    expect(res.status, res.text).toBe(400);
    expect((JSON.parse(res.text) as { error: { code: string } }).error.code).toBe('validation_failed');
    expect(res.seen).toHaveLength(0);
  });
});

describe('passthrough bodies past what inspection reads', () => {
  it('refuses a body over the 4 MiB inspection cap that the connection would accept (413)', async () => {
    const filler = 'a'.repeat(4 * 1024 * 1024);
    const res = await send(BIG, '/embeddings/', `${AWS_KEY} ${filler}`, 'text/plain');
    expect(res.status, res.text.slice(0, 300)).toBe(413);
    expect((JSON.parse(res.text) as { error: { code: string } }).error.code).toBe('payload_too_large');
    expect(res.seen).toHaveLength(0);
    const row = await llmRow(res.trace, () => true);
    expect(row.error_code).toBe('payload_too_large');
    // Under the cap, the same connection reads and refuses the secret.
    const small = await send(BIG, '/embeddings/', `${AWS_KEY} ${filler.slice(0, 1024)}`, 'text/plain');
    expect(small.status, small.text.slice(0, 300)).toBe(403);
  });

  it('refuses a form of more parts than inspection reads, before any is scanned', async () => {
    const fields: Array<[string, string]> = Array.from({ length: 1001 }, (_, i) => [`f${i}`, 'x']);
    const res = await send(BIG, '/files', ...(await multipart(fields)));
    expect(res.status, res.text.slice(0, 300)).toBe(413);
    expect(res.seen).toHaveLength(0);
  });
});

describe('passthrough on a connection without inspection', () => {
  it('forwards the form, secrets and all, and another body byte for byte (nothing inspects it)', async () => {
    const text = `${batchInputLine('r1', `key ${AWS_KEY}`)}\n${batchInputLine('r2', EMAIL)}\n`;
    const [bytes, type] = await multipart([
      ['purpose', 'batch'],
      ['file', new Blob([text]), 'batch.jsonl'],
    ]);
    const res = await send(PLAIN, '/files', bytes, type);
    expect(res.status, res.text).toBe(200);
    expect(res.seen).toHaveLength(1);
    // A form is forwarded as the gateway re-encodes it (llm.form-reencode.ts): the same entries,
    // the secrets in the file untouched, under the runtime's own boundary.
    expect(res.seen[0]!.forms!.standard).toEqual([
      ['purpose', 'batch'],
      ['file', { filename: 'batch.jsonl', type: 'application/octet-stream', text }],
    ]);
    const spaced = `{ "requests" : [ { "custom_id" : "x", "note": "${AWS_KEY}" } ] }`;
    const raw = await send(PLAIN, '/chat/completions/', spaced, 'text/plain');
    expect(raw.seen).toHaveLength(1);
    expect(raw.seen[0]!.headers['content-length']).toBe(String(spaced.length));
  });
});
