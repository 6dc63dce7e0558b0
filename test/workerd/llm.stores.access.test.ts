/**
 * Anthropic Message Batches and OpenAI fine-tuning jobs through passthrough
 * (docs/llm-gateway.md#stored-objects), against the real fake provider (global-setup.ts), whose
 * stores serve any id to any caller of one key (test/e2e/llm.fake-stores.ts). So only the gateway
 * keeps callers apart:
 *
 *   message batches   a create is its caller's, and may read only its caller's files; retrieve,
 *                     results (the model's answers to the creator's prompts), cancel and delete for
 *                     it; `GET /messages/batches` lists the caller's own; anyone else gets
 *                     Anthropic's 404 (`not_found_error`)
 *   fine-tuning jobs  a create must name the caller's own training and validation files; the job,
 *                     and the result file its answers name, are its caller's: retrieve, events,
 *                     checkpoints, pause, resume, cancel for it; `GET /fine_tuning/jobs` lists the
 *                     caller's own
 *   others            another key, another user of the key, another organization: 404
 *                     `object_not_found`, audited as `deny` with the kind, the provider never
 *                     asked (its requests naming the id counted before and after).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_KEY,
  BASE,
  bootstrapDefault,
  createApiKeyVia,
  createOrg,
  expectJson,
  type TestOrg,
} from './helpers';
import {
  auditedCall,
  type Caller,
  connectOwned,
  ownedCall,
  providerSawNaming as providerSaw,
  uploadAs,
} from './llm.owners.fixtures';

const RUN = Date.now().toString(36);
const ANT = `stores-ant-${RUN}`;
const ANT_OTHER = `stores-ant-other-${RUN}`;
const OAI = `stores-oai-${RUN}`;
const OAI_OTHER = `stores-oai-other-${RUN}`;
const ANTHROPIC = { provider: 'anthropic' };

const claude = ownedCall(ANT, { 'anthropic-version': '2023-06-01' });
const llm = ownedCall(OAI);
const upload = uploadAs(OAI, 'fine-tune');
const uploadAnt = uploadAs(ANT);
const alice: Caller = { key: ADMIN_KEY, user: 'alice' };

let orgId: string;
let sameOrgKey: string;
let outsider: TestOrg;

/** Another key of the organization, another person behind alice's key, another organization. */
const others = (otherSlug: string): Caller[] => [
  { key: sameOrgKey },
  { key: ADMIN_KEY, user: 'mallory' },
  { key: outsider.key, slug: otherSlug },
];

beforeAll(async () => {
  orgId = await bootstrapDefault();
  await connectOwned(ANT, ADMIN_KEY, ANTHROPIC);
  await connectOwned(OAI, ADMIN_KEY);
  sameOrgKey = (await createApiKeyVia(ADMIN_KEY, `stores-second-${RUN}`)).key;
  outsider = await createOrg('owner');
  await connectOwned(ANT_OTHER, outsider.key, ANTHROPIC);
  await connectOwned(OAI_OTHER, outsider.key);
});

async function expectOpenAiNotFound(res: Response, noun: string, id: string, what: string): Promise<void> {
  const body = await expectJson<{ error: { message: string; code: string } }>(res, 404);
  expect(body.error, what).toMatchObject({
    code: 'object_not_found',
    message: `No ${noun} found with id ${JSON.stringify(id)}.`,
  });
}

const prompt = (text: string, fileId?: string) => ({
  model: 'fake-claude',
  max_tokens: 16,
  messages: [
    {
      role: 'user',
      content: [
        ...(fileId ? [{ type: 'document', source: { type: 'file', file_id: fileId } }] : []),
        { type: 'text', text },
      ],
    },
  ],
});

async function messageBatch(who: Caller, text: string, fileId?: string): Promise<string> {
  const res = await claude(who, 'POST', '/messages/batches', {
    requests: [{ custom_id: 'one', params: prompt(text, fileId) }],
  });
  const created = await expectJson<{ id: string; type: string }>(res, 200);
  expect(created.type).toBe('message_batch');
  return created.id;
}

describe('Anthropic Message Batches', () => {
  it('a batch is its creator’s: retrieve, results, cancel, delete for it; Anthropic’s 404 for anyone else, nothing forwarded', async () => {
    const id = await messageBatch(alice, `batch prompt secret ${RUN}`);
    // The answer names its results at the gateway, not at the provider (llm.batch-results.ts).
    const retrieved = await expectJson<{ results_url: string }>(
      await claude(alice, 'GET', `/messages/batches/${id}`),
      200,
    );
    expect(retrieved.results_url).toBe(`${BASE}/llm/${ANT}/v1/messages/batches/${id}/results`);
    const listedUrls = await expectJson<{ data: Array<{ id: string; results_url: string }> }>(
      await claude(alice, 'GET', '/messages/batches'),
      200,
    );
    expect(listedUrls.data.find((b) => b.id === id)?.results_url).toBe(retrieved.results_url);
    const results = await claude(
      alice,
      'GET',
      new URL(retrieved.results_url).pathname.replace(`/llm/${ANT}/v1`, ''),
    );
    expect(results.status).toBe(200);
    expect(await results.text()).toContain(`answer to: batch prompt secret ${RUN}`);
    const before = await providerSaw(id);
    for (const who of others(ANT_OTHER)) {
      for (const [method, path] of [
        ['GET', `/messages/batches/${id}`],
        ['GET', `/messages/batches/${id}/results`],
        ['GET', `/Messages//Batches/${id}/results`],
        ['GET', `/messages/batches%2F${id}/results`],
        ['POST', `/messages/batches/${id}/cancel`],
        ['DELETE', `/messages/batches/${id}`],
      ] as const) {
        const res = await claude(who, method, path);
        const body = await expectJson<{ type: string; error: { type: string; message: string } }>(res, 404);
        expect(body, `${method} ${path}`).toMatchObject({
          type: 'error',
          error: {
            type: 'not_found_error',
            message: `No message batch found with id ${JSON.stringify(id)}.`,
          },
        });
      }
    }
    expect(await providerSaw(id)).toEqual(before);
    expect(
      (await expectJson<{ id: string }>(await claude(alice, 'GET', `/messages/batches/${id}`), 200)).id,
    ).toBe(id);
    const cancelled = await claude(alice, 'POST', `/messages/batches/${id}/cancel`);
    expect((await expectJson<{ processing_status: string }>(cancelled, 200)).processing_status).toBe(
      'canceling',
    );
    const deleted = await claude(alice, 'DELETE', `/messages/batches/${id}`);
    expect((await expectJson<{ type: string }>(deleted, 200)).type).toBe('message_batch_deleted');
  });

  it('a batch’s requests may read only the caller’s own files', async () => {
    const file = await uploadAnt(alice, `document secret ${RUN}`);
    const before = await providerSaw(file);
    for (const who of others(ANT_OTHER)) {
      const res = await claude(who, 'POST', '/messages/batches', {
        requests: [{ custom_id: 'x', params: prompt('summarise', file) }],
      });
      const body = await expectJson<{ error: { message: string; details: unknown } }>(res, 404);
      expect(body.error).toMatchObject({
        message: `No file found with id ${JSON.stringify(file)}.`,
        details: { location: 'body', path: 'requests[0].params.messages[0].content[0].source.file_id' },
      });
      // A Messages create by another spelling of its path (passthrough) reads the file the same.
      const spelled = await claude(who, 'POST', '/messages/', prompt('summarise', file));
      expect((await expectJson<{ error: { message: string } }>(spelled, 404)).error.message).toBe(
        `No file found with id ${JSON.stringify(file)}.`,
      );
    }
    expect(await providerSaw(file)).toEqual(before);
    await messageBatch(alice, 'summarise', file);
  });

  it('the list shows each caller its own batches; a refusal is audited with the kind', async () => {
    const mine = await messageBatch(alice, 'mine');
    const theirs = await messageBatch({ key: sameOrgKey }, 'theirs');
    const listed = async (who: Caller) =>
      (
        await expectJson<{ data: Array<{ id: string }> }>(await claude(who, 'GET', '/messages/batches'), 200)
      ).data.map((b) => b.id);
    const alices = await listed(alice);
    expect(alices).toContain(mine);
    expect(alices).not.toContain(theirs);
    expect(await listed({ key: sameOrgKey })).toEqual([theirs]);
    expect(await listed({ key: outsider.key, slug: ANT_OTHER })).toEqual([]);
    const trace = `stores-mb-refused-${RUN}`;
    await claude({ key: sameOrgKey, trace }, 'GET', `/messages/batches/${mine}/results`);
    const row = await auditedCall(orgId, trace);
    expect(row).toMatchObject({ action: 'deny', error_code: 'object_not_found', upstream_status: null });
    expect(row!.details).toMatchObject({ reason: 'object_access', object: 'message_batch' });
  });
});

interface Job {
  id: string;
  object: string;
  status: string;
  result_files: string[];
}

async function job(who: Caller, trainingFile: string, validationFile?: string): Promise<Job> {
  const res = await llm(who, 'POST', '/fine_tuning/jobs', {
    model: 'fake-gpt',
    training_file: trainingFile,
    ...(validationFile ? { validation_file: validationFile } : {}),
  });
  return expectJson<Job>(res, 200);
}

describe('fine-tuning jobs', () => {
  it('a job and its result file are its creator’s: retrieve, events, checkpoints, pause, resume, cancel for it; 404 for anyone else', async () => {
    const created = await job(alice, await upload(alice, `training secret ${RUN}`));
    const result = created.result_files[0]!;
    const events = await llm(alice, 'GET', `/fine_tuning/jobs/${created.id}/events`);
    expect(JSON.stringify(await expectJson(events, 200))).toContain(`training secret ${RUN}`);
    const content = await expectJson<{ content: string }>(
      await llm(alice, 'GET', `/files/${result}/content`),
      200,
    );
    expect(content.content).toBe(`results of: training secret ${RUN}`);
    const before = [...(await providerSaw(created.id)), ...(await providerSaw(result))];
    for (const who of others(OAI_OTHER)) {
      for (const [method, path] of [
        ['GET', `/fine_tuning/jobs/${created.id}`],
        ['GET', `/fine_tuning/jobs/${created.id}/events`],
        ['GET', `/fine_tuning/jobs/${created.id}/checkpoints`],
        ['GET', `/Fine_Tuning/JOBS/${created.id}/events`],
        ['POST', `/fine_tuning/jobs/${created.id}/pause`],
        ['POST', `/fine_tuning/jobs/${created.id}/resume`],
        ['POST', `/fine_tuning/jobs/${created.id}/cancel`],
      ] as const)
        await expectOpenAiNotFound(
          await llm(who, method, path),
          'fine-tuning job',
          created.id,
          `${method} ${path}`,
        );
      await expectOpenAiNotFound(await llm(who, 'GET', `/files/${result}/content`), 'file', result, 'result');
    }
    expect([...(await providerSaw(created.id)), ...(await providerSaw(result))]).toEqual(before);
    for (const [sub, status] of [
      ['pause', 'paused'],
      ['resume', 'running'],
      ['cancel', 'cancelled'],
    ] as const) {
      const res = await llm(alice, 'POST', `/fine_tuning/jobs/${created.id}/${sub}`);
      expect((await expectJson<Job>(res, 200)).status).toBe(status);
    }
    expect((await llm(alice, 'GET', `/fine_tuning/jobs/${created.id}/checkpoints`)).status).toBe(200);
  });

  it('a create must name the caller’s own training and validation files', async () => {
    const training = await upload(alice, `train ${RUN}`);
    const validation = await upload(alice, `validate ${RUN}`);
    const mine = await upload({ key: sameOrgKey }, 'their own');
    const before = [...(await providerSaw(training)), ...(await providerSaw(validation))];
    for (const who of others(OAI_OTHER)) {
      await expectOpenAiNotFound(
        await llm(who, 'POST', '/fine_tuning/jobs', { model: 'fake-gpt', training_file: training }),
        'file',
        training,
        'training_file',
      );
    }
    const res = await llm({ key: sameOrgKey }, 'POST', '/fine_tuning/jobs', {
      model: 'fake-gpt',
      training_file: mine,
      validation_file: validation,
    });
    const body = await expectJson<{ error: { code: string; param: string } }>(res, 404);
    expect(body.error).toMatchObject({ code: 'object_not_found', param: 'validation_file' });
    expect([...(await providerSaw(training)), ...(await providerSaw(validation))]).toEqual(before);
    const bad = await llm(alice, 'POST', '/fine_tuning/jobs', {
      model: 'fake-gpt',
      training_file: [training],
    });
    expect((await expectJson<{ error: { code: string; param: string } }>(bad, 400)).error).toMatchObject({
      code: 'validation_failed',
      param: 'training_file',
    });
    expect((await job(alice, training, validation)).status).toBe('succeeded');
  });

  it('the list shows each caller its own jobs; a refusal is audited with the kind', async () => {
    const made = await job(alice, await upload(alice, 'a'));
    const mine = made.id;
    const theirs = (await job({ key: sameOrgKey }, await upload({ key: sameOrgKey }, 'b'))).id;
    const listed = async (who: Caller) =>
      (
        await expectJson<{ data: Array<{ id: string }> }>(await llm(who, 'GET', '/fine_tuning/jobs'), 200)
      ).data.map((j) => j.id);
    const alices = await listed(alice);
    expect(alices).toContain(mine);
    expect(alices).not.toContain(theirs);
    expect(await listed({ key: sameOrgKey })).toEqual([theirs]);
    expect(await listed({ key: outsider.key, slug: OAI_OTHER })).toEqual([]);
    // A list claims the result files of the jobs it shows: only those left after the filter.
    const result = made.result_files[0]!;
    await expectOpenAiNotFound(
      await llm({ key: sameOrgKey }, 'GET', `/files/${result}/content`),
      'file',
      result,
      'listed',
    );
    const trace = `stores-ft-refused-${RUN}`;
    await llm({ key: outsider.key, slug: OAI_OTHER, trace }, 'POST', `/fine_tuning/jobs/${mine}/cancel`);
    const row = await auditedCall(outsider.orgId, trace);
    expect(row).toMatchObject({ action: 'deny', error_code: 'object_not_found', upstream_status: null });
    expect(row!.details).toMatchObject({ reason: 'object_access', object: 'fine_tuning_job' });
  });
});
