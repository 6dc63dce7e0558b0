/**
 * Message Batches, fine-tuning jobs, vector stores and uploads, end to end
 * (docs/llm-gateway.md#stored-objects): the official `openai` and `@anthropic-ai/sdk` clients,
 * pointed at Igris Edge by base URL and key only, against the real local fake provider, whose stores
 * serve any id to anyone holding the connection's one key (llm.fake-stores.ts) — as a real provider
 * would. Only the gateway keeps callers apart:
 *
 *   message batches    `messages.batches`: its creator retrieves, cancels, lists and deletes it;
 *                      another key, another person and another organization get Anthropic's
 *                      NotFoundError (also from `results()`, which retrieves first); the creator's
 *                      `results()` follows the `results_url` the gateway names (its own path)
 *   fine-tuning jobs   `fineTuning.jobs`: its creator retrieves, lists events and checkpoints,
 *                      cancels; anyone else gets NotFoundError, also for a create naming the
 *                      creator's training file; `list()` shows the caller's own
 *   vector stores      `vectorStores`: its creator searches it; anyone else's retrieve, update,
 *                      search, files, delete get NotFoundError; `list()` shows the caller's own
 *   uploads            `uploads`: its creator adds parts and completes it, and the file it makes
 *                      is its creator's; anyone else's part, complete, cancel get NotFoundError
 *   Assistants         `beta.assistants.create`: PermissionDeniedError (shared_object_refused)
 * The provider receives nothing naming another caller's object; refusals are audited.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKey, api, createOrgInD1, waitForAudit } from './helpers';
import { type FakeProvider, startFakeProvider } from './llm.fake-provider.ts';
import { anthropicClient, openaiClient } from './llm.fixtures.ts';
import { addPerson, connectOwnersLlm, requestsNaming } from './llm.owners.fixtures.ts';

const RUN = Date.now().toString(36);
const OAI = `llm-stores-${RUN}`;
const OAI_OTHER = `llm-stores-other-${RUN}`;
const ANT = `llm-stores-ant-${RUN}`;
const ANT_OTHER = `llm-stores-ant-other-${RUN}`;
const PROVIDER_KEY = `sk-provider-${RUN}-secret`;

let fake: FakeProvider;
type Pair = { name: string; openai: OpenAI; anthropic: Anthropic };
let owner: Pair;
let others: Pair[];

function pair(name: string, key: string, oai = OAI, ant = ANT, headers: Record<string, string> = {}): Pair {
  return {
    name,
    openai: openaiClient(oai, { apiKey: key, defaultHeaders: headers }),
    anthropic: anthropicClient(ant, { apiKey: key, defaultHeaders: headers }),
  };
}

const providerSaw = (id: string) => requestsNaming(fake, id);

/** `attempt` fails with `type` (an SDK's NotFoundError) and says no `noun` has `id`. */
async function refused(
  what: string,
  attempt: () => Promise<unknown>,
  type: abstract new (...a: never[]) => Error,
  noun: string,
  id: string,
) {
  const err = await attempt().then(
    () => new Error(`${what} was not refused`),
    (e: unknown) => e,
  );
  expect(err, what).toBeInstanceOf(type);
  // The message as the provider words it; Anthropic's SDK quotes the whole JSON body, escaping its quotes.
  const message = (err as Error).message.replaceAll('\\"', '"');
  expect(message, what).toContain(`No ${noun} found with id ${JSON.stringify(id)}.`);
}

async function trainingFile(client: OpenAI, text: string): Promise<string> {
  return (
    await client.files.create({ file: await toFile(Buffer.from(text), 'train.jsonl'), purpose: 'fine-tune' })
  ).id;
}

beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: PROVIDER_KEY });
  const connect = (slug: string, key: string, provider?: 'anthropic') =>
    connectOwnersLlm(fake.url, slug, key, PROVIDER_KEY, provider);
  await connect(OAI, adminKey());
  await connect(ANT, adminKey(), 'anthropic');
  owner = pair('owner', adminKey());
  const second = await api<{ key: string }>('POST', '/api-keys', { name: `stores-second-${RUN}` });
  if (second.status !== 201) throw new Error(`api key: ${second.status}`);
  const other = await createOrgInD1('stores-other');
  await connect(OAI_OTHER, other.key);
  await connect(ANT_OTHER, other.key, 'anthropic');
  others = [
    pair('same org', second.body.key),
    pair('person', await addPerson()),
    pair('outsider', other.key, OAI_OTHER, ANT_OTHER),
  ];
});

afterAll(async () => {
  await fake?.close();
});

describe('Anthropic Message Batches through the official @anthropic-ai/sdk', () => {
  it('the creator retrieves, lists, cancels and deletes its batch; everyone else gets NotFoundError', async () => {
    const batch = await owner.anthropic.messages.batches.create({
      requests: [
        {
          custom_id: 'one',
          params: {
            model: 'fake-claude',
            max_tokens: 16,
            messages: [{ role: 'user', content: `secret ${RUN}` }],
          },
        },
      ],
    });
    expect((await owner.anthropic.messages.batches.retrieve(batch.id)).id).toBe(batch.id);
    // results() follows the batch's results_url: the gateway's (Anthropic names its own, which the
    // SDK would call with the caller's ig_ key), so the creator reads its results through it.
    const results: Array<{ custom_id: string; result: { type: string } }> = [];
    for await (const r of await owner.anthropic.messages.batches.results(batch.id)) results.push(r);
    expect(results).toMatchObject([{ custom_id: 'one', result: { type: 'succeeded' } }]);
    const before = providerSaw(batch.id);
    const NotFound = Anthropic.NotFoundError;
    for (const { name, anthropic } of others) {
      const batches = anthropic.messages.batches;
      await refused(
        `${name} retrieve`,
        () => batches.retrieve(batch.id),
        NotFound,
        'message batch',
        batch.id,
      );
      await refused(`${name} results`, () => batches.results(batch.id), NotFound, 'message batch', batch.id);
      await refused(`${name} cancel`, () => batches.cancel(batch.id), NotFound, 'message batch', batch.id);
      await refused(`${name} delete`, () => batches.delete(batch.id), NotFound, 'message batch', batch.id);
      const listed: string[] = [];
      for await (const b of batches.list()) listed.push(b.id);
      expect(listed, name).not.toContain(batch.id);
    }
    expect(providerSaw(batch.id)).toEqual(before);
    const mine: string[] = [];
    for await (const b of owner.anthropic.messages.batches.list()) mine.push(b.id);
    expect(mine).toContain(batch.id);
    expect((await owner.anthropic.messages.batches.cancel(batch.id)).processing_status).toBe('canceling');
    expect((await owner.anthropic.messages.batches.delete(batch.id)).type).toBe('message_batch_deleted');
  });
});

describe('fine-tuning jobs through the official openai client', () => {
  it('the creator’s job is its own to read and cancel; everyone else gets NotFoundError, also for its training file', async () => {
    const file = await trainingFile(owner.openai, `training secret ${RUN}`);
    const job = await owner.openai.fineTuning.jobs.create({ model: 'fake-gpt', training_file: file });
    const events = await owner.openai.fineTuning.jobs.listEvents(job.id);
    expect(JSON.stringify(events.data)).toContain(`training secret ${RUN}`);
    expect((await owner.openai.fineTuning.jobs.checkpoints.list(job.id)).data).toHaveLength(1);
    const before = [...providerSaw(job.id), ...providerSaw(file)];
    const NotFound = OpenAI.NotFoundError;
    for (const { name, openai } of others) {
      const jobs = openai.fineTuning.jobs;
      await refused(`${name} retrieve`, () => jobs.retrieve(job.id), NotFound, 'fine-tuning job', job.id);
      await refused(`${name} events`, () => jobs.listEvents(job.id), NotFound, 'fine-tuning job', job.id);
      await refused(
        `${name} checkpoints`,
        () => jobs.checkpoints.list(job.id),
        NotFound,
        'fine-tuning job',
        job.id,
      );
      await refused(`${name} pause`, () => jobs.pause(job.id), NotFound, 'fine-tuning job', job.id);
      await refused(`${name} cancel`, () => jobs.cancel(job.id), NotFound, 'fine-tuning job', job.id);
      await refused(
        `${name} create on the owner's file`,
        () => jobs.create({ model: 'fake-gpt', training_file: file }),
        NotFound,
        'file',
        file,
      );
      const listed: string[] = [];
      for await (const j of jobs.list()) listed.push(j.id);
      expect(listed, name).not.toContain(job.id);
    }
    expect([...providerSaw(job.id), ...providerSaw(file)]).toEqual(before);
    expect((await owner.openai.fineTuning.jobs.cancel(job.id)).status).toBe('cancelled');
  });
});

describe('vector stores and uploads through the official openai client', () => {
  it('the creator searches its store; everyone else gets NotFoundError', async () => {
    const file = await trainingFile(owner.openai, `indexed secret ${RUN}`);
    const store = await owner.openai.vectorStores.create({ name: 'docs', file_ids: [file] });
    const page = await owner.openai.vectorStores.search(store.id, { query: 'secret' });
    expect(JSON.stringify(page.data)).toContain(`indexed secret ${RUN}`);
    const before = providerSaw(store.id);
    const NotFound = OpenAI.NotFoundError;
    for (const { name, openai } of others) {
      const stores = openai.vectorStores;
      const noun = 'vector store';
      await refused(`${name} retrieve`, () => stores.retrieve(store.id), NotFound, noun, store.id);
      await refused(`${name} update`, () => stores.update(store.id, { name: 'x' }), NotFound, noun, store.id);
      await refused(
        `${name} search`,
        () => stores.search(store.id, { query: 'secret' }),
        NotFound,
        noun,
        store.id,
      );
      await refused(`${name} files`, () => stores.files.list(store.id), NotFound, noun, store.id);
      await refused(`${name} delete`, () => stores.delete(store.id), NotFound, noun, store.id);
      const listed: string[] = [];
      for await (const s of stores.list()) listed.push(s.id);
      expect(listed, name).not.toContain(store.id);
    }
    expect(providerSaw(store.id)).toEqual(before);
    expect((await owner.openai.vectorStores.delete(store.id)).deleted).toBe(true);
  });

  it('an upload and the file it completes into are the creator’s; everyone else gets NotFoundError', async () => {
    const upload = await owner.openai.uploads.create({
      filename: 'notes.txt',
      purpose: 'assistants',
      bytes: 32,
      mime_type: 'text/plain',
    });
    const part = await owner.openai.uploads.parts.create(upload.id, {
      data: await toFile(Buffer.from(`upload secret ${RUN}`), 'blob'),
    });
    const before = providerSaw(upload.id);
    const NotFound = OpenAI.NotFoundError;
    for (const { name, openai } of others) {
      const uploads = openai.uploads;
      const data = await toFile(Buffer.from('poison'), 'blob');
      await refused(
        `${name} part`,
        () => uploads.parts.create(upload.id, { data }),
        NotFound,
        'upload',
        upload.id,
      );
      await refused(
        `${name} complete`,
        () => uploads.complete(upload.id, { part_ids: [] }),
        NotFound,
        'upload',
        upload.id,
      );
      await refused(`${name} cancel`, () => uploads.cancel(upload.id), NotFound, 'upload', upload.id);
    }
    expect(providerSaw(upload.id)).toEqual(before);
    const done = await owner.openai.uploads.complete(upload.id, { part_ids: [part.id] });
    const fileId = done.file!.id;
    const content = await (await owner.openai.files.content(fileId)).json();
    expect(content).toEqual({ content: `upload secret ${RUN}` });
    for (const { name, openai } of others)
      await refused(`${name} file`, () => openai.files.content(fileId), OpenAI.NotFoundError, 'file', fileId);
  });
});

describe('Assistants and refusals in the audit', () => {
  it('an assistant is refused with PermissionDeniedError; a refusal of another caller’s store is audited', async () => {
    const err = await owner.openai.beta.assistants.create({ model: 'fake-gpt' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((err as Error).message).toContain('sharedProviderObjects');
    expect(fake.requests.filter((r) => r.path.startsWith('/v1/assistants'))).toEqual([]);
    const store = await owner.openai.vectorStores.create({ name: 'audited' });
    const trace = `stores-e2e-${RUN}`;
    const traced = pair('traced', others[0]!.openai.apiKey!, OAI, ANT, { 'X-Igris-Trace-Id': trace });
    await refused(
      'traced',
      () => traced.openai.vectorStores.retrieve(store.id),
      OpenAI.NotFoundError,
      'vector store',
      store.id,
    );
    const rows = await waitForAudit<{ id: string; action: string; errorCode: string }>(
      `traceId=${trace}`,
      (r) => r.length > 0,
    );
    expect(rows[0]).toMatchObject({ action: 'deny', errorCode: 'object_not_found' });
  });
});
