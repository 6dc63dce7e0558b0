/**
 * Vector stores, uploads, and the stored objects the gateway records no creator for, through
 * passthrough (docs/llm-gateway.md#stored-objects), against the real fake provider
 * (global-setup.ts), whose stores serve any id to any caller of one key
 * (test/e2e/llm.fake-stores.ts):
 *
 *   vector stores   a create is its caller's and may index only its caller's files; retrieve,
 *                   update, delete, search (the text of its files), its files and file batches
 *                   for it; attaching a file takes the caller's own; a Responses `file_search`
 *                   tool may search only the caller's stores; `GET /vector_stores` lists its own
 *   uploads         an upload is its caller's: parts, complete, cancel for it; the file a
 *                   completed upload makes is its caller's
 *   others          another key, another user of the key, another organization: 404
 *                   `object_not_found`, audited as `deny` with the kind, the provider never asked
 *   shared          Assistants, threads, containers (also a code interpreter's container named by
 *                   id): 403 `shared_object_refused`, nothing forwarded, unless the connection's
 *                   `settings.sharedProviderObjects` says its callers share them
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
  type TestOrg,
} from './helpers';
import {
  auditedCall,
  type Caller,
  callerHeaders,
  connectOwned,
  ownedCall,
  providerSawNaming as providerSaw,
  uploadAs,
} from './llm.owners.fixtures';

const RUN = Date.now().toString(36);
const SLUG = `vectors-${RUN}`;
const OTHER_SLUG = `vectors-other-${RUN}`;
const SHARING = `vectors-sharing-${RUN}`;

const llm = ownedCall(SLUG);
const upload = uploadAs(SLUG, 'assistants');
const alice: Caller = { key: ADMIN_KEY, user: 'alice' };

let orgId: string;
let sameOrgKey: string;
let outsider: TestOrg;

const others = (): Caller[] => [
  { key: sameOrgKey },
  { key: ADMIN_KEY, user: 'mallory' },
  { key: outsider.key, slug: OTHER_SLUG },
];

beforeAll(async () => {
  orgId = await bootstrapDefault();
  await connectOwned(SLUG, ADMIN_KEY);
  await connectOwned(SHARING, ADMIN_KEY, { provider: 'openai-compatible', sharedProviderObjects: true });
  sameOrgKey = (await createApiKeyVia(ADMIN_KEY, `vectors-second-${RUN}`)).key;
  outsider = await createOrg('owner');
  await connectOwned(OTHER_SLUG, outsider.key);
});

async function expectNotFound(res: Response, noun: string, id: string, what: string, param?: string) {
  const body = await expectJson<{ error: { message: string; code: string; param: string | null } }>(res, 404);
  expect(body.error, what).toMatchObject({
    code: 'object_not_found',
    message: `No ${noun} found with id ${JSON.stringify(id)}.`,
    ...(param ? { param } : {}),
  });
}

async function vectorStore(who: Caller, fileIds: string[]): Promise<string> {
  const res = await llm(who, 'POST', '/vector_stores', { name: 'docs', file_ids: fileIds });
  const store = await expectJson<{ id: string; object: string }>(res, 200);
  expect(store.object).toBe('vector_store');
  return store.id;
}

describe('vector stores', () => {
  it('a store is its creator’s: search, update, files, file batches, delete for it; 404 for anyone else, nothing forwarded', async () => {
    const file = await upload(alice, `indexed secret ${RUN}`);
    const store = await vectorStore(alice, [file]);
    const found = await llm(alice, 'POST', `/vector_stores/${store}/search`, { query: 'secret' });
    expect(JSON.stringify(await expectJson(found, 200))).toContain(`indexed secret ${RUN}`);
    const before = await providerSaw(store);
    for (const who of others()) {
      const own = await upload(who, 'their own file');
      for (const [method, path, body] of [
        ['GET', `/vector_stores/${store}`],
        ['POST', `/vector_stores/${store}`, { name: 'renamed' }],
        ['DELETE', `/vector_stores/${store}`],
        ['POST', `/vector_stores/${store}/search`, { query: 'secret' }],
        ['POST', `/Vector_Stores//${store}/search`, { query: 'secret' }],
        ['GET', `/vector_stores/${store}/files`],
        ['GET', `/vector_stores/${store}/files/${file}/content`],
        ['POST', `/vector_stores/${store}/files`, { file_id: own }],
        ['POST', `/vector_stores/${store}/file_batches`, { file_ids: [own] }],
      ] as const)
        await expectNotFound(await llm(who, method, path, body), 'vector store', store, `${method} ${path}`);
    }
    expect(await providerSaw(store)).toEqual(before);
    const second = await upload(alice, 'second');
    expect((await llm(alice, 'POST', `/vector_stores/${store}`, { name: 'renamed' })).status).toBe(200);
    expect((await llm(alice, 'POST', `/vector_stores/${store}/files`, { file_id: second })).status).toBe(200);
    const batch = await expectJson<{ id: string }>(
      await llm(alice, 'POST', `/vector_stores/${store}/file_batches`, { file_ids: [second] }),
      200,
    );
    expect((await llm(alice, 'GET', `/vector_stores/${store}/file_batches/${batch.id}/files`)).status).toBe(
      200,
    );
    expect((await llm(alice, 'GET', `/vector_stores/${store}/files/${file}/content`)).status).toBe(200);
    expect((await llm(alice, 'DELETE', `/vector_stores/${store}`)).status).toBe(200);
  });

  it('a store indexes, and a file_search tool searches, only what is the caller’s own', async () => {
    const file = await upload(alice, `private ${RUN}`);
    const store = await vectorStore(alice, [file]);
    const before = [...(await providerSaw(file)), ...(await providerSaw(store))];
    for (const who of others()) {
      await expectNotFound(
        await llm(who, 'POST', '/vector_stores', { name: 'steal', file_ids: [file] }),
        'file',
        file,
        'create',
        'file_ids[0]',
      );
      const theirs = await vectorStore(who, []);
      await expectNotFound(
        await llm(who, 'POST', `/vector_stores/${theirs}/files`, { file_id: file }),
        'file',
        file,
        'attach',
        'file_id',
      );
      await expectNotFound(
        await llm(who, 'POST', `/vector_stores/${theirs}/file_batches`, { files: [{ file_id: file }] }),
        'file',
        file,
        'file batch',
        'files[0].file_id',
      );
      await expectNotFound(
        await llm(who, 'POST', '/responses', {
          model: 'fake-gpt',
          input: 'what is in the docs?',
          tools: [{ type: 'file_search', vector_store_ids: [store] }],
        }),
        'vector store',
        store,
        'file_search',
        'tools[0].vector_store_ids[0]',
      );
      // A stored prompt's variable reads the file into the prompt too.
      await expectNotFound(
        await llm(who, 'POST', '/responses', {
          model: 'fake-gpt',
          prompt: { id: 'pmpt_1', variables: { doc: { type: 'input_file', file_id: file } } },
        }),
        'file',
        file,
        'prompt variable',
        'prompt.variables.doc.file_id',
      );
    }
    expect([...(await providerSaw(file)), ...(await providerSaw(store))]).toEqual(before);
    const searched = await llm(alice, 'POST', '/responses', {
      model: 'fake-gpt',
      input: 'what is in the docs?',
      tools: [{ type: 'file_search', vector_store_ids: [store] }],
    });
    expect(searched.status).toBe(200);
    await searched.text();
  });

  it('the list shows each caller its own stores; a refusal is audited with the kind', async () => {
    const mine = await vectorStore(alice, []);
    const theirs = await vectorStore({ key: sameOrgKey }, []);
    const listed = async (who: Caller) =>
      (
        await expectJson<{ data: Array<{ id: string }> }>(await llm(who, 'GET', '/vector_stores'), 200)
      ).data.map((s) => s.id);
    const alices = await listed(alice);
    expect(alices).toContain(mine);
    expect(alices).not.toContain(theirs);
    // The second key also made stores in the test above: its own, never alice's.
    const seconds = await listed({ key: sameOrgKey });
    expect(seconds).toContain(theirs);
    expect(seconds).not.toContain(mine);
    const outsiders = await listed({ key: outsider.key, slug: OTHER_SLUG });
    expect(outsiders).not.toContain(mine);
    expect(outsiders).not.toContain(theirs);
    const trace = `vectors-refused-${RUN}`;
    await llm({ key: sameOrgKey, trace }, 'POST', `/vector_stores/${mine}/search`, { query: 'x' });
    const row = await auditedCall(orgId, trace);
    expect(row).toMatchObject({ action: 'deny', error_code: 'object_not_found', upstream_status: null });
    expect(row!.details).toMatchObject({ reason: 'object_access', object: 'vector_store' });
  });
});

/** Sends one part of `text` to an upload as `who` (multipart, field `data`). */
function part(who: Caller, id: string, text: string): Promise<Response> {
  const boundary = 'igrispart';
  const rawBody = [
    `--${boundary}`,
    'Content-Disposition: form-data; name="data"; filename="blob"',
    'Content-Type: application/octet-stream',
    '',
    text,
    `--${boundary}--`,
    '',
  ].join('\r\n');
  return call('POST', `/llm/${who.slug ?? SLUG}/v1/uploads/${id}/parts`, {
    key: who.key,
    rawBody,
    headers: { ...callerHeaders(who), 'Content-Type': `multipart/form-data; boundary=${boundary}` },
  });
}

describe('uploads', () => {
  it('an upload and the file it completes into are its creator’s; 404 for anyone else, nothing forwarded', async () => {
    const created = await llm(alice, 'POST', '/uploads', {
      filename: 'notes.txt',
      purpose: 'assistants',
      bytes: 20,
      mime_type: 'text/plain',
    });
    const { id } = await expectJson<{ id: string }>(created, 200);
    const first = await expectJson<{ id: string }>(await part(alice, id, `upload secret ${RUN}`), 200);
    const before = await providerSaw(id);
    for (const who of others()) {
      await expectNotFound(await part(who, id, 'poison'), 'upload', id, 'parts');
      await expectNotFound(
        await llm(who, 'POST', `/uploads/${id}/complete`, { part_ids: [] }),
        'upload',
        id,
        'complete',
      );
      await expectNotFound(await llm(who, 'POST', `/uploads/${id}/cancel`), 'upload', id, 'cancel');
    }
    expect(await providerSaw(id)).toEqual(before);
    const completed = await expectJson<{ status: string; file: { id: string } }>(
      await llm(alice, 'POST', `/uploads/${id}/complete`, { part_ids: [first.id] }),
      200,
    );
    expect(completed.status).toBe('completed');
    const file = completed.file.id;
    const content = await expectJson<{ content: string }>(
      await llm(alice, 'GET', `/files/${file}/content`),
      200,
    );
    expect(content.content).toBe(`upload secret ${RUN}`);
    const fileBefore = await providerSaw(file);
    for (const who of others())
      await expectNotFound(await llm(who, 'GET', `/files/${file}/content`), 'file', file, 'completed file');
    expect(await providerSaw(file)).toEqual(fileBefore);
    const trace = `uploads-refused-${RUN}`;
    await llm({ key: sameOrgKey, trace }, 'POST', `/uploads/${id}/cancel`);
    expect((await auditedCall(orgId, trace))!.details).toMatchObject({
      reason: 'object_access',
      object: 'upload',
    });
  });
});

describe('objects the gateway records no creator for', () => {
  const calls: Array<[string, string, unknown]> = [
    ['POST', '/assistants', { model: 'fake-gpt', name: `assistant ${RUN}` }],
    ['GET', `/assistants/asst_${RUN}`, undefined],
    ['POST', '/threads/runs', { assistant_id: `asst_${RUN}` }],
    ['GET', `/threads/thread_${RUN}/messages`, undefined],
    ['GET', `/containers/cntr_${RUN}/files/cfile_1/content`, undefined],
    [
      'POST',
      '/responses',
      { model: 'fake-gpt', input: 'x', tools: [{ type: 'code_interpreter', container: `cntr_${RUN}` }] },
    ],
  ];
  /** What the provider received at `path` naming this run (in the path or the body). */
  const hits = async (path: string) =>
    (
      (await (await fetch(`${env.LLM_FAKE_URL}/__fake/requests`)).json()) as Array<{
        path: string;
        body: unknown;
      }>
    ).filter(
      (r) => r.path === `/v1${path}` && (path.includes(RUN) || JSON.stringify(r.body ?? null).includes(RUN)),
    ).length;

  it('are refused (403 shared_object_refused), nothing forwarded, unless the connection shares them', async () => {
    for (const [method, path, body] of calls) {
      const before = await hits(path);
      const res = await llm(alice, method, path, body);
      const answer = await expectJson<{ error: { code: string; type: string } }>(res, 403);
      expect(answer.error, path).toMatchObject({ code: 'shared_object_refused', type: 'permission_error' });
      expect(await hits(path), path).toBe(before);
    }
    // Audited as the gateway's refusal (as a conversation is), with its code.
    const trace = `shared-refused-${RUN}`;
    await (await llm({ ...alice, trace }, 'GET', `/threads/thread_${RUN}`)).text();
    expect(await auditedCall(orgId, trace)).toMatchObject({
      action: 'error',
      error_code: 'shared_object_refused',
    });
    for (const [method, path, body] of calls) {
      const before = await hits(path);
      const res = await llm({ ...alice, slug: SHARING }, method, path, body);
      await res.text();
      expect(res.status, path).not.toBe(403);
      expect(await hits(path), path).toBe(before + 1);
    }
  });
});
