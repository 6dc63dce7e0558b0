/**
 * A batch create is decided against the connection's `allowedModels` as they are when the batch is
 * created, not only when its input file was uploaded (docs/llm-gateway.md#passthrough-and-allowedmodels;
 * durable-objects/batch.file-models.ts): the official `openai` client, pointed at Igris Edge by base
 * URL and key only, against the real local fake provider, which runs a batch on any input file it
 * keeps.
 *
 *   - a file uploaded while the connection had no list, naming a model the list set since does not
 *     match: `batches.create` raises PermissionDeniedError, the provider never sees the batch, the
 *     audit row is a `deny`; naming one the list matches: forwarded;
 *   - a file uploaded under the list, naming an allowed model: forwarded;
 *   - the list narrowed after the upload: refused;
 *   - a file whose models were not recorded at its upload (its lines not a batch, or completed from
 *     an upload in parts): refused, the message says to upload it again;
 *   - a file of another connection of the organization, or of another organization, whose models
 *     the list matches: NotFoundError, nothing forwarded — its record lends nothing.
 */
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKey, api, createOrgInD1, waitForAudit } from './helpers';
import { type FakeProvider, startFakeProvider } from './llm.fake-provider.ts';
import { createLlmConnection, openaiClient } from './llm.fixtures.ts';
import { requestsNaming } from './llm.owners.fixtures.ts';

const RUN = Date.now().toString(36);
const PROVIDER_KEY = `sk-provider-${RUN}-bfm`;
const LIST = ['fake-gpt*'];

let fake: FakeProvider;
let outsiderKey: string;
let n = 0;

/** A new connection of `key`'s organization on the fake provider, with `settings`. */
async function connection(settings: Record<string, unknown> = {}, key = adminKey()): Promise<string> {
  const slug = `llm-bfm-${RUN}-${++n}`;
  await createLlmConnection(slug, {
    upstreamUrl: `${fake.url}/v1`,
    credential: PROVIDER_KEY,
    settings: { provider: 'openai-compatible', ...settings },
    key,
  });
  return slug;
}

/** What an admin does: set or narrow the connection's allowedModels. */
async function setAllowedModels(slug: string, allowedModels: string[]): Promise<void> {
  const res = await api('PATCH', `/connections/${slug}`, { settings: { allowedModels } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

const line = (model: string, i = 1) =>
  JSON.stringify({
    custom_id: `r${i}`,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model, messages: [{ role: 'user', content: 'hi' }] },
  });

const upload = async (sdk: OpenAI, text: string) =>
  (await sdk.files.create({ file: await toFile(Buffer.from(text), 'input.jsonl'), purpose: 'batch' })).id;

const run = (sdk: OpenAI, fileId: string) =>
  sdk.batches.create({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h' });

/** The batch creates the provider received on `fileId`. */
const batchesSeen = (fileId: string) =>
  requestsNaming(fake, fileId).filter((r) => r.startsWith('POST /v1/batches'));

/** `attempt` is refused with `type` (PermissionDeniedError, NotFoundError): its error. */
async function refused(
  attempt: Promise<unknown>,
  type: typeof OpenAI.PermissionDeniedError | typeof OpenAI.NotFoundError,
): Promise<InstanceType<typeof OpenAI.APIError>> {
  const err = await attempt.then(
    () => new Error('not refused'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(type);
  return err as InstanceType<typeof OpenAI.APIError>;
}

beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: PROVIDER_KEY });
  outsiderKey = (await createOrgInD1('bfm-other')).key;
});

afterAll(async () => {
  await fake?.close();
});

describe('a batch create and the allowedModels of when it is created', () => {
  it('a file uploaded without a list, then a list set: a model outside it is refused (403, deny, not forwarded); one inside it passes', async () => {
    const slug = await connection();
    const sdk = openaiClient(slug);
    const outside = await upload(sdk, line('gpt-4o'));
    const inside = await upload(sdk, `${line('fake-gpt-mini', 1)}\n${line('fake-gpt', 2)}\n`);
    await setAllowedModels(slug, LIST);

    const trace = `bfm-e2e-set-${RUN}`;
    const traced = openaiClient(slug, { defaultHeaders: { 'X-Igris-Trace-Id': trace } });
    const err = await refused(run(traced, outside), OpenAI.PermissionDeniedError);
    expect(err.status).toBe(403);
    expect(err.message).toContain(`"${outside}" runs model "gpt-4o"`);
    expect(err.message).toContain('allowedModels');
    expect(batchesSeen(outside)).toEqual([]);
    const rows = await waitForAudit<{ id: string; action: string; errorCode: string; details: unknown }>(
      `traceId=${trace}`,
      (r) => r.length > 0,
    );
    expect(rows[0]).toMatchObject({
      action: 'deny',
      errorCode: 'policy_denied',
      details: { file: outside, model: 'gpt-4o' },
    });

    // Its models were recorded at the upload, list or not: every one matches the list now.
    const batch = await run(sdk, inside);
    expect(batch.input_file_id).toBe(inside);
    expect(batchesSeen(inside)).toEqual(['POST /v1/batches']);
  });

  it('a file uploaded under the list, naming an allowed model: its batch is forwarded', async () => {
    const slug = await connection({ allowedModels: LIST });
    const sdk = openaiClient(slug);
    const file = await upload(sdk, line('fake-gpt'));
    const batch = await run(sdk, file);
    expect(batch.status).toBe('completed');
    expect(batchesSeen(file)).toEqual(['POST /v1/batches']);
  });

  it('the list narrowed after the upload: the batch is refused and not forwarded', async () => {
    const slug = await connection({ allowedModels: LIST });
    const sdk = openaiClient(slug);
    const file = await upload(sdk, line('fake-gpt-4o'));
    await setAllowedModels(slug, ['fake-gpt-mini']);
    const err = await refused(run(sdk, file), OpenAI.PermissionDeniedError);
    expect(err.message).toContain('runs model "fake-gpt-4o"');
    expect(batchesSeen(file)).toEqual([]);
    // Widened again: the same file runs.
    await setAllowedModels(slug, LIST);
    expect((await run(sdk, file)).input_file_id).toBe(file);
  });

  it('a file whose models were not recorded at its upload is refused: upload it again', async () => {
    const slug = await connection();
    const sdk = openaiClient(slug);
    // Not a batch the gateway can read (a line that is not JSON): uploaded, its models unknown.
    const file = await upload(sdk, `${line('fake-gpt')}\nnot json\n`);
    await setAllowedModels(slug, LIST);
    const err = await refused(run(sdk, file), OpenAI.PermissionDeniedError);
    expect(err.message).toContain('upload the file again with POST /files (purpose=batch)');
    expect(batchesSeen(file)).toEqual([]);
  });

  it('a batch file completed from an upload in parts, then a list set: refused, its models never read', async () => {
    const slug = await connection();
    const sdk = openaiClient(slug);
    const text = line('fake-gpt');
    const upload = await sdk.uploads.create({
      filename: 'input.jsonl',
      purpose: 'batch',
      bytes: text.length,
      mime_type: 'text/jsonl',
    });
    const part = await sdk.uploads.parts.create(upload.id, { data: await toFile(Buffer.from(text), 'blob') });
    const file = (await sdk.uploads.complete(upload.id, { part_ids: [part.id] })).file!.id;
    await setAllowedModels(slug, LIST);
    const err = await refused(run(sdk, file), OpenAI.PermissionDeniedError);
    expect(err.message).toContain('upload the file again');
    expect(batchesSeen(file)).toEqual([]);
  });

  it('a line naming its model twice (duplicate "model" keys) is not read as either: unrecorded, and refused under a list', async () => {
    // `{"model":"gpt-4o","model":"fake-gpt"}`: JSON.parse keeps the last, a provider whose parser
    // keeps the first runs gpt-4o. Neither reading may be recorded or forwarded under the list.
    const twice = JSON.stringify({
      custom_id: 'r1',
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] },
    }).replace('"model":"gpt-4o"', '"model":"gpt-4o","model":"fake-gpt"');
    const bodyTwice = `{"custom_id":"r1","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o","messages":[]},"body":{"model":"fake-gpt","messages":[]}}`;
    const slug = await connection();
    const sdk = openaiClient(slug);
    const files = [await upload(sdk, twice), await upload(sdk, bodyTwice)];
    await setAllowedModels(slug, LIST);
    for (const file of files) {
      const err = await refused(run(sdk, file), OpenAI.PermissionDeniedError);
      expect(err.message).toContain('upload the file again');
      expect(batchesSeen(file)).toEqual([]);
    }
    // Uploaded under the list: refused at the upload, nothing stored at the provider.
    for (const text of [twice, bodyTwice]) {
      const err = await refused(upload(sdk, text), OpenAI.PermissionDeniedError);
      expect(err.message).toContain('duplicate key');
    }
  });

  it('a batch create naming its input file twice (duplicate "input_file_id" keys) is refused, neither file run', async () => {
    // JSON.parse keeps the last id, a parser keeping the first runs the other file: the body is
    // forwarded as sent, so it is refused rather than judged on one reading.
    const slug = await connection();
    const sdk = openaiClient(slug);
    const outside = await upload(sdk, line('gpt-4o'));
    const inside = await upload(sdk, line('fake-gpt'));
    await setAllowedModels(slug, LIST);
    // The real client, its body spelled with the key twice on its way out.
    const twice = openaiClient(slug, {
      fetch: (url: RequestInfo | URL, init?: RequestInit) =>
        fetch(url, {
          ...init,
          body: String(init?.body).replace(
            `"input_file_id":"${inside}"`,
            `"input_file_id":"${outside}","input_file_id":"${inside}"`,
          ),
        }),
    });
    const err = await run(twice, inside).then(
      () => new Error('not refused'),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as Error).message).toContain('twice');
    expect(batchesSeen(outside)).toEqual([]);
    expect(batchesSeen(inside)).toEqual([]);
    // Spelled once, the allowed file runs.
    expect((await run(sdk, inside)).input_file_id).toBe(inside);
  });

  it('a passthrough body naming its model twice is refused under the list, not read as the allowed one', async () => {
    const slug = await connection({ allowedModels: LIST });
    const marker = `dup-model-${RUN}`;
    const err = await openaiClient(slug)
      .post(`/realtime/sessions?m=${marker}`, {
        body: { model: 'fake-gpt' },
      })
      .then(
        () => new Error('not refused'),
        (e: unknown) => e,
      );
    // Sent once it is read (and forwarded or refused by the provider); sent twice, never forwarded.
    expect(err).not.toBeInstanceOf(OpenAI.PermissionDeniedError);
    const twice = openaiClient(slug, {
      fetch: (url: RequestInfo | URL, init?: RequestInit) =>
        fetch(url, {
          ...init,
          body: String(init?.body).replace('"model":"fake-gpt"', '"model":"gpt-4o","model":"fake-gpt"'),
        }),
    });
    const refusedTwice = await refused(
      twice.post(`/realtime/sessions?m=${marker}-2`, { body: { model: 'fake-gpt' } }),
      OpenAI.PermissionDeniedError,
    );
    expect(refusedTwice.message).toContain('twice');
    expect(requestsNaming(fake, `${marker}-2`)).toEqual([]);
  });

  it('a file of another connection or organization lends nothing: NotFoundError, nothing forwarded', async () => {
    const open = await connection();
    const listedSameOrg = await connection({ allowedModels: LIST });
    const listedOtherOrg = await connection({ allowedModels: LIST }, outsiderKey);
    // Uploaded on an open connection, naming a model both lists match: its record says so.
    const file = await upload(openaiClient(open), line('fake-gpt'));
    for (const sdk of [openaiClient(listedSameOrg), openaiClient(listedOtherOrg, { apiKey: outsiderKey })]) {
      const err = await refused(run(sdk, file), OpenAI.NotFoundError);
      expect(err.message).toContain(`No file found with id ${JSON.stringify(file)}.`);
    }
    expect(batchesSeen(file)).toEqual([]);
  });
});
