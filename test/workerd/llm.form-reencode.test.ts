/**
 * A form body is forwarded as the gateway's re-encoding of the form it read, never as the caller's
 * bytes (workers/llm/llm.form-reencode.ts, docs/llm-gateway.md#forms-are-forwarded-re-encoded).
 * Against the real fake provider (test/e2e/llm.fake-provider.ts), which records the raw body and
 * reads it with two parsers that are not workerd's (test/e2e/llm.fake-forms.ts): Node's standard
 * one, and a lenient one that splits on the boundary wherever it occurs, reads parts after the
 * close delimiter and takes `;` as a URL-encoded separator. "What the gateway decided on" is the
 * form as this runtime (workerd, the gateway's) parses the caller's body.
 *
 *   1. A plain upload reaches the provider under a fresh boundary, with a right Content-Length,
 *      and both provider parsers read exactly the gateway's entries (names, filenames, types).
 *   2. Bodies the old code forwarded as sent, that a lenient parser reads as another form — a part
 *      after the close delimiter, a delimiter inside a value, a preamble shaped as a part, a
 *      parameter whose name ends in `name`, bare LF line endings, `;` in a URL-encoded body — reach it
 *      canonicalised: every reading is the gateway's, no model it did not decide on is seen. A
 *      field given twice is forwarded twice, in order, on a connection without allowedModels.
 *   3. A JSON object typed application/x-www-form-urlencoded (a form to the gateway, JSON to a
 *      lenient server) is refused, list or not; text that only starts like JSON is a form. A part name the re-encoding would write escaped (`"`, CR, LF) or that a parser might
 *      percent-decode (`%6Dodel`) is refused: the provider would read a name the gateway did not.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { FakeFormEntry, FakeForms } from '../e2e/llm.fake-forms';
import { call, createOrg, type TestOrg } from './helpers';
import { llmConnection, providerRequests } from './llm.governance.fixtures';

const RUN = Date.now().toString(36);
const LISTED = `llm-fre-listed-${RUN}`;
const OPEN = `llm-fre-open-${RUN}`;
let org: TestOrg;

beforeAll(async () => {
  org = await createOrg('owner');
  const allowAll = [{ tool: '*', action: 'allow' }];
  await llmConnection(org, LISTED, 'openai-compatible', allowAll, { allowedModels: ['fake-gpt*'] });
  await llmConnection(org, OPEN, 'openai-compatible', allowAll);
});

interface Seen {
  query?: Record<string, string>;
  headers: Record<string, string>;
  body: unknown;
  forms: FakeForms | null;
}

let n = 0;
/** Sends `body` as `type` to `path` of `slug`; the answer's status and what the provider received. */
async function send(slug: string, path: string, type: string, body: string) {
  const marker = `${RUN}_${++n}`;
  const res = await call('POST', `/llm/${slug}/v1${path}?fre=${marker}`, {
    key: org.key,
    rawBody: body,
    headers: { 'Content-Type': type },
  });
  const text = await res.text();
  const seen = ((await providerRequests()) as unknown as Seen[]).filter((r) => r.query?.fre === marker);
  return { status: res.status, text, seen };
}

/** The form as the gateway's runtime parses the caller's body: what it decides on. */
async function gatewayReading(type: string, body: string): Promise<FakeFormEntry[]> {
  const form = await new Response(body, { headers: { 'Content-Type': type } }).formData();
  const entries: FakeFormEntry[] = [];
  for (const [name, value] of form.entries())
    entries.push(
      typeof value === 'string'
        ? [name, value]
        : [name, { filename: (value as File).name, type: (value as File).type, text: await value.text() }],
    );
  return entries;
}

/** The one request the provider received: both its readings are the gateway's. */
function expectReadAsDecided(seen: Seen[], decided: FakeFormEntry[], what: string): Seen {
  expect(seen, what).toHaveLength(1);
  const forms = seen[0]!.forms!;
  expect(forms, what).not.toBeNull();
  expect(forms.standard, `${what}: the standard parser`).toEqual(decided);
  expect(forms.lenient, `${what}: the lenient parser`).toEqual(decided);
  // Exactly the bytes received: a Content-Length the runtime set for the re-encoding.
  const raw = String(seen[0]!.body);
  expect(Number(seen[0]!.headers['content-length']), what).toBe(new TextEncoder().encode(raw).byteLength);
  return seen[0]!;
}

/** Every model a provider reading of the request names. */
function modelsSeen(seen: Seen): string[] {
  const forms = seen.forms!;
  const standard = Array.isArray(forms.standard) ? forms.standard : [];
  const json =
    typeof seen.body === 'object' && seen.body !== null ? [(seen.body as { model?: unknown }).model] : [];
  return [...standard, ...forms.lenient]
    .filter(([name]) => name === 'model')
    .map(([, value]) => value)
    .concat(json.filter((m) => m !== undefined) as string[])
    .map(String);
}

const CRLF = '\r\n';
const disposition = (name: string, filename?: string) =>
  `Content-Disposition: form-data; name="${name}"${filename === undefined ? '' : `; filename="${filename}"`}`;

/** Bodies a lenient parser reads as another form than the gateway's runtime does. */
const B = 'XyZ';
const part = (name: string, value: string, eol = CRLF) =>
  `--${B}${eol}${disposition(name)}${eol}${eol}${value}${eol}`;
const CRAFTED: Array<[string, string]> = [
  // The gateway reads `model=fake-gpt` and stops at the close delimiter; a parser reading on
  // finds a second `model` after it.
  [
    'a part after the close delimiter',
    `${part('model', 'fake-gpt')}--${B}--${CRLF}${part('model', 'gpt-4o')}--${B}--${CRLF}`,
  ],
  // A delimiter not at a line start is content to the gateway (the note's text); split there,
  // the note holds a second form naming gpt-4o.
  [
    'a delimiter inside a value',
    `${part('model', 'fake-gpt')}${part('note', `see --${B}${CRLF}${disposition('model')}${CRLF}${CRLF}gpt-4o`)}--${B}--${CRLF}`,
  ],
  // A preamble (before the first delimiter) shaped as a part: the gateway skips it, a parser
  // taking the body's start for a part's headers reads a model there.
  [
    'a preamble holding a part',
    `${disposition('model')}${CRLF}${CRLF}gpt-4o${CRLF}${part('model', 'fake-gpt')}--${B}--${CRLF}`,
  ],
  // A parameter whose name ends in `name`: the gateway reads the part's `name` (note), a
  // parser matching `name="…"` anywhere reads the first (model).
  [
    'a parameter ending in "name"',
    `${part('model', 'fake-gpt')}--${B}${CRLF}Content-Disposition: form-data; x-name="model"; name="note"${CRLF}${CRLF}gpt-4o${CRLF}--${B}--${CRLF}`,
  ],
  // Bare LF line endings: forwarded with CRLF.
  ['bare LF line endings', `${part('purpose', 'x', '\n')}${part('model', 'fake-gpt', '\n')}--${B}--\n`],
];

describe('a form is forwarded as the gateway re-encodes it', () => {
  it('a plain upload: a fresh boundary, a right Content-Length, every entry as the gateway read it', async () => {
    const b = 'callers-own-boundary-0123';
    const type = `multipart/form-data; boundary=${b}`;
    const line = JSON.stringify({
      custom_id: 'r1',
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'fake-gpt' },
    });
    const body =
      `--${b}${CRLF}${disposition('purpose')}${CRLF}${CRLF}batch${CRLF}` +
      `--${b}${CRLF}${disposition('note')}${CRLF}${CRLF}héllo wörld — “quoted”${CRLF}` +
      `--${b}${CRLF}${disposition('file', 'in put.jsonl')}${CRLF}Content-Type: application/jsonl${CRLF}${CRLF}${line}${CRLF}` +
      `--${b}--${CRLF}`;
    const decided = await gatewayReading(type, body);
    expect(decided).toHaveLength(3);
    const res = await send(LISTED, '/files', type, body);
    expect(res.status, res.text).toBe(200);
    const seen = expectReadAsDecided(res.seen, decided, 'plain upload');
    // The runtime's boundary, named by the Content-Type forwarded: not the caller's.
    expect(seen.forms!.boundary).not.toBeNull();
    expect(seen.forms!.boundary).not.toBe(b);
    expect(seen.headers['content-type']).toContain(seen.forms!.boundary!);
    expect(String(seen.body)).not.toContain(b);
  });

  for (const [what, body] of CRAFTED)
    it(`${what}: the provider reads the form the gateway read, no other model`, async () => {
      const type = `multipart/form-data; boundary=${B}`;
      const decided = await gatewayReading(type, body);
      expect(
        decided.filter(([name]) => name === 'model'),
        what,
      ).toEqual([['model', 'fake-gpt']]);
      // Forwarded (the fake provider has no route for image edits: its 404 is what comes back).
      const res = await send(LISTED, '/images/edits', type, body);
      expect(res.status, `${what}: ${res.text}`).toBe(404);
      expect(res.seen, what).toHaveLength(1);
      // No reading of the provider's names a model the gateway did not decide on (the lenient
      // one, on the bytes as sent, finds gpt-4o)...
      expect(new Set(modelsSeen(res.seen[0]!)), what).toEqual(new Set(['fake-gpt']));
      // ...because every reading is the gateway's form.
      const seen = expectReadAsDecided(res.seen, decided, what);
      expect(String(seen.body).replace(/\r\n/g, ''), `${what}: CRLF only`).not.toContain('\n');
    });

  it('a part name the re-encoding would escape or a parser might percent-decode is refused (400, nothing forwarded)', async () => {
    // `%6Dodel` is no model to the gateway; a parser that percent-decodes names reads `model`.
    for (const slug of [LISTED, OPEN]) {
      const body = `${part('model', 'fake-gpt')}${part('%6Dodel', 'gpt-4o')}--${B}--${CRLF}`;
      const res = await send(slug, '/images/edits', `multipart/form-data; boundary=${B}`, body);
      expect(res.status, res.text).toBe(400);
      expect(res.text).toContain('part name');
      expect(res.seen).toHaveLength(0);
    }
  });

  it('a field given twice, in order (no allowedModels; refused under it)', async () => {
    const b = 'twice';
    const type = `multipart/form-data; boundary=${b}`;
    const field = (name: string, value: string) =>
      `--${b}${CRLF}${disposition(name)}${CRLF}${CRLF}${value}${CRLF}`;
    const body = `${field('model', 'fake-gpt')}${field('prompt', 'p')}${field('model', 'gpt-4o')}--${b}--${CRLF}`;
    const decided = await gatewayReading(type, body);
    const res = await send(OPEN, '/images/edits', type, body);
    expect(res.status, res.text).toBe(404);
    expectReadAsDecided(res.seen, decided, 'a field twice');
    expect(decided.map(([name]) => name)).toEqual(['model', 'prompt', 'model']);
    const listed = await send(LISTED, '/images/edits', type, body);
    expect(listed.status).toBe(403);
    expect(listed.seen).toHaveLength(0);
  });

  it('a URL-encoded body: `;` is read by the provider as the gateway read it; a JSON object typed so is refused', async () => {
    const type = 'application/x-www-form-urlencoded';
    // `;` separates nothing to the gateway (WHATWG): `purpose` is `x;model=gpt-4o`.
    const semicolon = 'purpose=x;model=gpt-4o&model=fake-gpt';
    const res = await send(LISTED, '/images/edits', type, semicolon);
    expect(res.status, res.text).toBe(404);
    const decided: FakeFormEntry[] = [
      ['purpose', 'x;model=gpt-4o'],
      ['model', 'fake-gpt'],
    ];
    const seen = expectReadAsDecided(res.seen, decided, 'semicolon');
    expect(seen.headers['content-type']).toBe('application/x-www-form-urlencoded;charset=UTF-8');
    expect(modelsSeen(seen)).toEqual(['fake-gpt', 'fake-gpt']);
    // A JSON object typed as a form: one field named by the whole text to the gateway's parser, the
    // JSON to a lenient server (the fake provider reads JSON whatever the type) — refused, list or not.
    const json = JSON.stringify({ model: 'gpt-4o', prompt: 'p' });
    for (const slug of [LISTED, OPEN]) {
      const labelled = await send(slug, '/images/edits', type, json);
      expect(labelled.status, labelled.text).toBe(400);
      expect(labelled.text).toContain('application/json');
      expect(labelled.seen).toHaveLength(0);
    }
    // Text that only starts like JSON is no JSON to anyone: a form, forwarded re-encoded.
    const notJson = '{model=gpt-4o';
    const plain = await send(LISTED, '/images/edits', type, notJson);
    expect(plain.status, plain.text).toBe(404);
    const read = expectReadAsDecided(plain.seen, [['{model', 'gpt-4o']], 'not JSON');
    expect(typeof read.body).toBe('string');
  });
});
