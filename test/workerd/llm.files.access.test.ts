/**
 * Files and batches through passthrough (docs/llm-gateway.md#stored-objects), against the real fake
 * provider (global-setup.ts), whose Files and Batch APIs serve any id to any caller of one key
 * (test/e2e/llm.fake-files.ts). So only the gateway keeps callers apart:
 *
 *   files      an upload is its caller's; retrieve, content and delete only for it; `GET /files`
 *              lists the caller's own; a file named in a prompt (`file_id` of an input part) too;
 *   batches    a batch input file may name only its uploader's responses and files (each request's
 *              `previous_response_id`, input files…); a batch create must name the caller's own input
 *              file; the batch, and the output file
 *              its answers name, are its caller's; retrieve and cancel only for it; `GET /batches`
 *              lists the caller's own;
 *   others     another key, another user of the key, another organization: 404 `object_not_found`,
 *              audited as `deny`, nothing forwarded.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_KEY,
  bootstrapDefault,
  call,
  createApiKeyVia,
  createOrg,
  expectJson,
  flushAudit,
  type TestOrg,
} from './helpers';
import {
  type Caller,
  callerHeaders,
  connectOwned,
  FILE_UPLOAD_TYPE,
  fileUploadBody,
  ownedCall,
  providerSawNaming,
} from './llm.owners.fixtures';

const RUN = Date.now().toString(36);
const SLUG = `files-${RUN}`;
const OTHER_SLUG = `files-other-${RUN}`;

const connect = connectOwned;
const llm = ownedCall(SLUG);
const headers = callerHeaders;
const providerSaw = providerSawNaming;

let orgId: string;
let sameOrgKey: string;
let outsider: TestOrg;

/** Uploads `text` as a batch input file; its id. */
async function upload(who: Caller, text: string): Promise<string> {
  const res = await call('POST', `/llm/${who.slug ?? SLUG}/v1/files`, {
    key: who.key,
    rawBody: fileUploadBody(text),
    headers: { ...headers(who), 'Content-Type': FILE_UPLOAD_TYPE },
  });
  const file = await expectJson<{ id: string; object: string }>(res, 200);
  expect(file.object).toBe('file');
  return file.id;
}

interface Batch {
  id: string;
  output_file_id: string | null;
}

async function batch(who: Caller, inputFileId: string): Promise<Batch> {
  const res = await llm(who, 'POST', '/batches', {
    input_file_id: inputFileId,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
  });
  return expectJson<Batch>(res, 200);
}

async function expectNotFound(res: Response, noun: string, id: string): Promise<void> {
  const body = await expectJson<{ error: { message: string; code: string } }>(res, 404);
  expect(body.error).toMatchObject({
    code: 'object_not_found',
    message: `No ${noun} found with id ${JSON.stringify(id)}.`,
  });
}

async function listed(who: Caller, path: string): Promise<string[]> {
  const list = await expectJson<{ data: Array<{ id: string }> }>(await llm(who, 'GET', path), 200);
  return list.data.map((entry) => entry.id);
}

const others = (): Caller[] => [
  { key: sameOrgKey, user: 'alice' },
  { key: ADMIN_KEY, user: 'mallory' },
  { key: outsider.key, slug: OTHER_SLUG },
];

beforeAll(async () => {
  orgId = await bootstrapDefault();
  await connect(SLUG, ADMIN_KEY);
  sameOrgKey = (await createApiKeyVia(ADMIN_KEY, `files-second-${RUN}`)).key;
  outsider = await createOrg('owner');
  await connect(OTHER_SLUG, outsider.key);
});

describe('files', () => {
  const alice: Caller = { key: ADMIN_KEY, user: 'alice' };

  it('an upload is its caller’s: retrieve, content and delete for it, 404 for anyone else, nothing forwarded', async () => {
    const id = await upload(alice, `file secret ${RUN}`);
    const content = await expectJson<{ content: string }>(
      await llm(alice, 'GET', `/files/${id}/content`),
      200,
    );
    expect(content.content).toBe(`file secret ${RUN}`);
    expect((await expectJson<{ id: string }>(await llm(alice, 'GET', `/files/${id}`), 200)).id).toBe(id);
    const before = await providerSaw(id);
    for (const who of others()) {
      for (const [method, path] of [
        ['GET', `/files/${id}`],
        ['GET', `/files/${id}/content`],
        ['GET', `/Files//${id}/content`],
        ['DELETE', `/files/${id}`],
      ] as const) {
        await expectNotFound(await llm(who, method, path), 'file', id);
      }
      // Named in a prompt: the provider would read the file into it.
      await expectNotFound(
        await llm(who, 'POST', '/responses', {
          model: 'fake-gpt',
          input: [{ role: 'user', content: [{ type: 'input_file', file_id: id }] }],
        }),
        'file',
        id,
      );
      await expectNotFound(
        await llm(who, 'POST', '/chat/completions', {
          model: 'fake-gpt',
          messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: id } }] }],
        }),
        'file',
        id,
      );
    }
    expect(await providerSaw(id)).toEqual(before);
    // Its owner may name it in a prompt, and delete it.
    const prompt = await llm(alice, 'POST', '/chat/completions', {
      model: 'fake-gpt',
      messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: id } }] }],
    });
    expect(prompt.status).toBe(200);
    expect((await llm(alice, 'DELETE', `/files/${id}`)).status).toBe(200);
  });

  it('the list shows each caller its own files only', async () => {
    const mine = await upload(alice, 'mine');
    const theirs = await upload({ key: sameOrgKey }, 'theirs');
    const outside = await upload({ key: outsider.key, slug: OTHER_SLUG }, 'outside');
    const alices = await listed(alice, '/files');
    expect(alices).toContain(mine);
    expect(alices).not.toContain(theirs);
    expect(alices).not.toContain(outside);
    expect(await listed({ key: sameOrgKey }, '/files')).toEqual([theirs]);
    expect(await listed({ key: outsider.key, slug: OTHER_SLUG }, '/files')).toEqual([outside]);
  });
});

describe('batches', () => {
  const alice: Caller = { key: ADMIN_KEY, user: 'alice' };

  it('a batch input file may name only its uploader’s responses and files: 404 for anyone else, nothing forwarded', async () => {
    const created = await llm(alice, 'POST', '/responses', { model: 'fake-gpt', input: `batch ref ${RUN}` });
    const response = (await expectJson<{ id: string }>(created, 200)).id;
    const file = await upload(alice, `referenced ${RUN}`);
    const lines = (ref: string) =>
      [
        JSON.stringify({
          custom_id: 'ok',
          method: 'POST',
          url: '/v1/embeddings',
          body: { model: 'e', input: 'x' },
        }),
        ref,
      ].join('\n');
    const naming = [
      [
        'response',
        response,
        lines(
          JSON.stringify({
            custom_id: 'r',
            method: 'POST',
            url: '/v1/responses',
            body: { model: 'fake-gpt', previous_response_id: response, input: 'go on' },
          }),
        ),
      ],
      [
        'file',
        file,
        lines(
          JSON.stringify({
            custom_id: 'f',
            method: 'POST',
            url: '/v1/chat/completions',
            body: {
              model: 'fake-gpt',
              messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: file } }] }],
            },
          }),
        ),
      ],
    ] as const;
    for (const [noun, id, text] of naming) {
      const before = await providerSaw(id);
      for (const who of others()) {
        const res = await call('POST', `/llm/${who.slug ?? SLUG}/v1/files`, {
          key: who.key,
          rawBody: fileUploadBody(text),
          headers: { ...headers(who), 'Content-Type': FILE_UPLOAD_TYPE },
        });
        // A response keeps the refusal code it always had (docs/llm-gateway.md#stored-responses).
        const body = await expectJson<{ error: { message: string; code: string } }>(res, 404);
        expect(body.error).toMatchObject({
          code: noun === 'response' ? 'response_not_found' : 'object_not_found',
          message: `No ${noun} found with id ${JSON.stringify(id)}.`,
        });
      }
      expect(await providerSaw(id)).toEqual(before);
      // Its owner may.
      await upload(alice, text);
    }
  });

  it('a batch runs only the caller’s own input file', async () => {
    const file = await upload(alice, `batch input ${RUN}`);
    const before = await providerSaw(file);
    for (const who of others()) {
      const res = await llm(who, 'POST', '/batches', {
        input_file_id: file,
        endpoint: '/v1/chat/completions',
        completion_window: '24h',
      });
      await expectNotFound(res, 'file', file);
    }
    expect(await providerSaw(file)).toEqual(before);
    const bad = await llm(alice, 'POST', '/batches', { input_file_id: 7, endpoint: '/v1/chat/completions' });
    expect((await expectJson<{ error: { code: string; param: string } }>(bad, 400)).error).toMatchObject({
      code: 'validation_failed',
      param: 'input_file_id',
    });
  });

  it('the batch and its output file are its caller’s: retrieve, cancel, output for it, 404 for anyone else', async () => {
    const file = await upload(alice, `batch secret ${RUN}`);
    const created = await batch(alice, file);
    const output = created.output_file_id!;
    const read = await expectJson<{ content: string }>(
      await llm(alice, 'GET', `/files/${output}/content`),
      200,
    );
    expect(read.content).toContain(`batch secret ${RUN}`);
    expect((await expectJson<Batch>(await llm(alice, 'GET', `/batches/${created.id}`), 200)).id).toBe(
      created.id,
    );
    const before = [...(await providerSaw(created.id)), ...(await providerSaw(output))];
    for (const who of others()) {
      await expectNotFound(await llm(who, 'GET', `/batches/${created.id}`), 'batch', created.id);
      await expectNotFound(await llm(who, 'POST', `/batches/${created.id}/cancel`), 'batch', created.id);
      await expectNotFound(await llm(who, 'GET', `/files/${output}/content`), 'file', output);
    }
    expect([...(await providerSaw(created.id)), ...(await providerSaw(output))]).toEqual(before);
    const cancelled = await expectJson<{ status: string }>(
      await llm(alice, 'POST', `/batches/${created.id}/cancel`),
      200,
    );
    expect(cancelled.status).toBe('cancelling');
  });

  it('the list shows each caller its own batches only', async () => {
    const mine = (await batch(alice, await upload(alice, 'a'))).id;
    const theirs = (await batch({ key: sameOrgKey }, await upload({ key: sameOrgKey }, 'b'))).id;
    const alices = await listed(alice, '/batches');
    expect(alices).toContain(mine);
    expect(alices).not.toContain(theirs);
    expect(await listed({ key: sameOrgKey }, '/batches')).toEqual([theirs]);
    expect(await listed({ key: outsider.key, slug: OTHER_SLUG }, '/batches')).toEqual([]);
  });

  it('a refusal is audited as a denial of object access', async () => {
    const file = await upload(alice, 'audited');
    const trace = `files-refused-${RUN}`;
    await llm({ key: sameOrgKey, trace }, 'GET', `/files/${file}/content`);
    await flushAudit();
    const row = await env.DB.prepare(
      'SELECT action, error_code, upstream_status, details FROM audit_events WHERE org_id = ? AND trace_id = ?',
    )
      .bind(orgId, trace)
      .first<{ action: string; error_code: string; upstream_status: null; details: string }>();
    expect(row).toMatchObject({ action: 'deny', error_code: 'object_not_found', upstream_status: null });
    expect(JSON.parse(row!.details)).toMatchObject({ reason: 'object_access', object: 'file' });
  });
});
