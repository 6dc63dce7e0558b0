/**
 * Stored LLM objects besides responses, end to end (docs/llm-gateway.md#stored-objects): the official
 * `openai` client, pointed at Igris Edge by base URL and key only, against the real local fake
 * provider, which reads any output item an input names by id (llm.fake-responses.ts) and keeps
 * stored chat completions (llm.fake-chat-store.ts) — one key for every caller of the connection, as at
 * a real provider.
 *
 *   output items       the caller whose answer carried an item passes it back by reference; another
 *                      key of the organization, another person and another organization get the
 *                      SDK's NotFoundError, and the provider never receives their calls;
 *   chat completions   `store: true`: its creator retrieves, updates, lists the messages of and
 *                      deletes it; anyone else gets NotFoundError; `chat.completions.list()` pages
 *                      through the caller's own only;
 *   files, batches     an upload, a batch on it and the batch's output file are their creator's;
 *                      anyone else's retrieve, content, cancel or batch on that file gets
 *                      NotFoundError, and `files.list()` / `batches.list()` show the caller's own.
 * The refusals are audited (`deny`, `object_not_found`).
 */
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKey, api, createOrgInD1, waitForAudit } from './helpers';
import { type FakeProvider, startFakeProvider } from './llm.fake-provider.ts';
import { openaiClient } from './llm.fixtures.ts';
import { addPerson, connectOwnersLlm, requestsNaming } from './llm.owners.fixtures.ts';

const RUN = Date.now().toString(36);
const SLUG = `llm-objs-${RUN}`;
const OTHER_SLUG = `llm-objs-other-${RUN}`;
const PROVIDER_KEY = `sk-provider-${RUN}-secret`;
const MODEL = 'fake-gpt';

let fake: FakeProvider;
let owner: OpenAI;
let sameOrgKey: string;
let sameOrg: OpenAI;
let person: OpenAI;
let outsider: OpenAI;

function client(key: string, slug = SLUG, headers: Record<string, string> = {}): OpenAI {
  return openaiClient(slug, { apiKey: key, defaultHeaders: headers });
}

const connect = (slug: string, key: string) => connectOwnersLlm(fake.url, slug, key, PROVIDER_KEY);
const providerSaw = (id: string) => requestsNaming(fake, id);

async function expectNotFound(what: string, attempt: () => Promise<unknown>, message: string): Promise<void> {
  const err = await attempt().then(
    () => new Error(`${what} was not refused`),
    (e: unknown) => e,
  );
  expect(err, what).toBeInstanceOf(OpenAI.NotFoundError);
  expect((err as Error).message, what).toContain(message);
}

/** An output item of the owner's holding `secret` (a continuation repeats the conversation). */
async function ownersItem(secret: string): Promise<string> {
  const first = await owner.responses.create({ model: MODEL, input: secret });
  const next = await owner.responses.create({
    model: MODEL,
    input: 'repeat everything above',
    previous_response_id: first.id,
  });
  expect(next.output_text).toContain(secret);
  return next.output[0]!.id!;
}

beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: PROVIDER_KEY });
  await connect(SLUG, adminKey());
  owner = client(adminKey());
  const second = await api<{ key: string }>('POST', '/api-keys', { name: `objs-second-${RUN}` });
  if (second.status !== 201) throw new Error(`api key: ${second.status}`);
  sameOrgKey = second.body.key;
  sameOrg = client(sameOrgKey);
  person = client(await addPerson());
  const other = await createOrgInD1('objs-other');
  await connect(OTHER_SLUG, other.key);
  outsider = client(other.key, OTHER_SLUG);
});

afterAll(async () => {
  await fake?.close();
});

describe('output items through the official openai client', () => {
  it('the owner passes its item back by reference; everyone else gets NotFoundError and the provider sees nothing', async () => {
    const itemId = await ownersItem(`item secret ${RUN}`);
    const byReference = await owner.responses.create({
      model: MODEL,
      input: [{ type: 'item_reference', id: itemId }],
    });
    expect(byReference.output_text).toContain(`item secret ${RUN}`);
    const before = providerSaw(itemId);
    for (const [who, sdk] of [
      ['same org', sameOrg],
      ['person', person],
      ['outsider', outsider],
    ] as const) {
      await expectNotFound(
        `${who} item_reference`,
        () => sdk.responses.create({ model: MODEL, input: [{ type: 'item_reference', id: itemId }] }),
        `No item found with id ${JSON.stringify(itemId)}.`,
      );
      await expectNotFound(
        `${who} item passed back`,
        () =>
          sdk.responses.create({
            model: MODEL,
            input: [
              {
                type: 'message',
                role: 'assistant',
                id: itemId,
                status: 'completed',
                content: [{ type: 'output_text', text: 'x', annotations: [] }],
              },
            ],
          }),
        `No item found with id ${JSON.stringify(itemId)}.`,
      );
    }
    expect(providerSaw(itemId)).toEqual(before);
  });

  it('the refusal is audited as a denial of object access', async () => {
    const itemId = await ownersItem(`audited item ${RUN}`);
    const trace = `objs-e2e-item-${RUN}`;
    const traced = client(sameOrgKey, SLUG, { 'X-Igris-Trace-Id': trace });
    await expectNotFound(
      'traced',
      () => traced.responses.create({ model: MODEL, input: [{ type: 'item_reference', id: itemId }] }),
      'No item found',
    );
    const rows = await waitForAudit<{ id: string; action: string; errorCode: string }>(
      `traceId=${trace}`,
      (r) => r.length > 0,
    );
    expect(rows[0]).toMatchObject({ action: 'deny', errorCode: 'object_not_found' });
  });
});

describe('stored chat completions through the official openai client', () => {
  const ask = (sdk: OpenAI, text: string) =>
    sdk.chat.completions.create({ model: MODEL, store: true, messages: [{ role: 'user', content: text }] });

  it('the creator retrieves, updates, reads and deletes its completion; everyone else gets NotFoundError', async () => {
    const { id } = await ask(owner, `chat secret ${RUN}`);
    expect((await owner.chat.completions.retrieve(id)).id).toBe(id);
    const messages = [];
    for await (const m of owner.chat.completions.messages.list(id)) messages.push(m);
    expect(JSON.stringify(messages)).toContain(`chat secret ${RUN}`);
    expect((await owner.chat.completions.update(id, { metadata: { k: 'v' } })).metadata).toEqual({ k: 'v' });
    const before = providerSaw(id);
    const message = `No chat completion found with id ${JSON.stringify(id)}.`;
    for (const [who, sdk] of [
      ['same org', sameOrg],
      ['person', person],
      ['outsider', outsider],
    ] as const) {
      await expectNotFound(`${who} retrieve`, () => sdk.chat.completions.retrieve(id), message);
      await expectNotFound(`${who} messages`, () => sdk.chat.completions.messages.list(id), message);
      await expectNotFound(`${who} update`, () => sdk.chat.completions.update(id, { metadata: {} }), message);
      await expectNotFound(`${who} delete`, () => sdk.chat.completions.delete(id), message);
    }
    expect(providerSaw(id)).toEqual(before);
    expect((await owner.chat.completions.delete(id)).deleted).toBe(true);
  });

  it('list() pages through the caller’s own completions only', async () => {
    const mine = (await ask(owner, `mine ${RUN}`)).id;
    const theirs = (await ask(sameOrg, `theirs ${RUN}`)).id;
    const outside = (await ask(outsider, `outside ${RUN}`)).id;
    const listed = async (sdk: OpenAI) => {
      const ids: string[] = [];
      for await (const c of sdk.chat.completions.list()) ids.push(c.id);
      return ids;
    };
    const owners = await listed(owner);
    expect(owners).toContain(mine);
    expect(owners).not.toContain(theirs);
    expect(owners).not.toContain(outside);
    expect(await listed(sameOrg)).toEqual([theirs]);
    expect(await listed(outsider)).toEqual([outside]);
    expect(await listed(person)).toEqual([]);
  });
});

describe('files and batches through the official openai client', () => {
  const upload = async (sdk: OpenAI, text: string) =>
    sdk.files.create({ file: await toFile(Buffer.from(text), 'input.jsonl'), purpose: 'batch' });
  const run = (sdk: OpenAI, fileId: string) =>
    sdk.batches.create({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h' });

  it('an upload, its batch and the batch’s output are their creator’s; everyone else gets NotFoundError', async () => {
    const file = await upload(owner, `file secret ${RUN}`);
    const batch = await run(owner, file.id);
    const output = batch.output_file_id!;
    expect(await (await owner.files.content(output)).text()).toContain(`file secret ${RUN}`);
    expect((await owner.batches.retrieve(batch.id)).id).toBe(batch.id);
    const before = [...providerSaw(file.id), ...providerSaw(batch.id), ...providerSaw(output)];
    for (const [who, sdk] of [
      ['same org', sameOrg],
      ['person', person],
      ['outsider', outsider],
    ] as const) {
      const noFile = (id: string) => `No file found with id ${JSON.stringify(id)}.`;
      await expectNotFound(`${who} retrieve file`, () => sdk.files.retrieve(file.id), noFile(file.id));
      await expectNotFound(`${who} content`, () => sdk.files.content(file.id), noFile(file.id));
      await expectNotFound(`${who} output`, () => sdk.files.content(output), noFile(output));
      await expectNotFound(`${who} delete`, () => sdk.files.delete(file.id), noFile(file.id));
      await expectNotFound(`${who} batch on it`, () => run(sdk, file.id), noFile(file.id));
      const noBatch = `No batch found with id ${JSON.stringify(batch.id)}.`;
      await expectNotFound(`${who} retrieve batch`, () => sdk.batches.retrieve(batch.id), noBatch);
      await expectNotFound(`${who} cancel`, () => sdk.batches.cancel(batch.id), noBatch);
    }
    expect([...providerSaw(file.id), ...providerSaw(batch.id), ...providerSaw(output)]).toEqual(before);
  });

  it('files.list() and batches.list() show the caller’s own only', async () => {
    const mine = await upload(owner, 'mine');
    const theirs = await upload(sameOrg, 'theirs');
    const myBatch = (await run(owner, mine.id)).id;
    const ids = async (page: AsyncIterable<{ id: string }>) => {
      const out: string[] = [];
      for await (const entry of page) out.push(entry.id);
      return out;
    };
    const ownersFiles = await ids(owner.files.list());
    expect(ownersFiles).toContain(mine.id);
    expect(ownersFiles).not.toContain(theirs.id);
    expect(await ids(sameOrg.files.list())).toEqual([theirs.id]);
    expect(await ids(owner.batches.list())).toContain(myBatch);
    expect(await ids(sameOrg.batches.list())).toEqual([]);
    expect(await ids(outsider.files.list())).toEqual([]);
  });
});
