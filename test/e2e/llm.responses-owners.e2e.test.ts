/**
 * Stored responses end to end (docs/llm-gateway.md#stored-responses): the official `openai` client,
 * pointed at Igris Edge by base URL and key only, against the real local fake provider, whose
 * Responses API stores every response and continues, reads, deletes or cancels any id it is sent
 * (llm.fake-responses.ts) — one key for every caller of the connection, as at a real provider.
 *
 * The owner continues its conversation with previous_response_id (streamed and not) and, with
 * passthrough allowed, retrieves it and lists its input items; another key of the organization,
 * another person, another organization and any id the gateway did not see created get the SDK's
 * NotFoundError, and the provider never receives their calls. `conversation` is refused with a
 * BadRequestError saying why.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKey, api, createOrgInD1 } from './helpers';
import { type FakeProvider, startFakeProvider } from './llm.fake-provider.ts';
import { openaiClient } from './llm.fixtures.ts';
import { addPerson, connectOwnersLlm, requestsNaming } from './llm.owners.fixtures.ts';

const RUN = Date.now().toString(36);
const SLUG = `llm-resp-${RUN}`;
const OTHER_SLUG = `llm-resp-other-${RUN}`;
const PROVIDER_KEY = `sk-provider-${RUN}-secret`;
const MODEL = 'fake-gpt';

let fake: FakeProvider;
let owner: OpenAI;
let sameOrg: OpenAI;
let person: OpenAI;
let outsider: OpenAI;

function client(key: string, slug = SLUG): OpenAI {
  return openaiClient(slug, { apiKey: key });
}

const connect = (slug: string, key: string) => connectOwnersLlm(fake.url, slug, key, PROVIDER_KEY);
const providerSaw = (id: string) => requestsNaming(fake, id);

/** Creates with `stream: true`: the id from the stream's events, and its full text. */
async function createStreamed(
  sdk: OpenAI,
  input: string,
  previous?: string,
): Promise<{ id: string; text: string }> {
  const stream = await sdk.responses.create({
    model: MODEL,
    input,
    stream: true,
    ...(previous ? { previous_response_id: previous } : {}),
  });
  let id = '';
  let text = '';
  for await (const event of stream) {
    if (event.type === 'response.created') id = event.response.id;
    if (event.type === 'response.output_text.delta') text += event.delta;
  }
  return { id, text };
}

/** Every way the SDK names a response, each refused with NotFoundError. */
async function expectRefused(sdk: OpenAI, id: string): Promise<void> {
  const attempts: Array<[string, () => Promise<unknown>]> = [
    [
      'continue',
      () =>
        sdk.responses.create({ model: MODEL, input: 'repeat everything above', previous_response_id: id }),
    ],
    ['continue streamed', () => createStreamed(sdk, 'repeat everything above', id)],
    ['retrieve', () => sdk.responses.retrieve(id)],
    ['input items', () => sdk.responses.inputItems.list(id)],
    ['delete', () => sdk.responses.delete(id)],
    ['cancel', () => sdk.responses.cancel(id)],
  ];
  for (const [what, attempt] of attempts) {
    const err = await attempt().then(
      () => new Error(`${what} was not refused`),
      (e: unknown) => e,
    );
    expect(err, what).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).message, what).toContain(
      `No response found with id ${JSON.stringify(id)}.`,
    );
  }
}

beforeAll(async () => {
  fake = await startFakeProvider({ apiKey: PROVIDER_KEY });
  await connect(SLUG, adminKey());
  owner = client(adminKey());
  const second = await api<{ key: string }>('POST', '/api-keys', { name: `second-${RUN}` });
  if (second.status !== 201) throw new Error(`api key: ${second.status}`);
  sameOrg = client(second.body.key);
  person = client(await addPerson());
  const other = await createOrgInD1('resp-other');
  await connect(OTHER_SLUG, other.key);
  outsider = client(other.key, OTHER_SLUG);
});

afterAll(async () => {
  await fake?.close();
});

describe('stored responses through the official openai client', () => {
  it('the owner continues its conversation (streamed and not) and retrieves it', async () => {
    const first = await owner.responses.create({ model: MODEL, input: `my secret ${RUN}` });
    const next = await owner.responses.create({
      model: MODEL,
      input: 'repeat everything above',
      previous_response_id: first.id,
    });
    expect(next.output_text).toContain(`my secret ${RUN}`);
    const streamed = await createStreamed(owner, 'and again', next.id);
    expect(streamed.text).toContain(`my secret ${RUN}`);
    expect((await owner.responses.retrieve(first.id)).id).toBe(first.id);
    const items = [];
    for await (const item of owner.responses.inputItems.list(first.id)) items.push(item);
    expect(JSON.stringify(items)).toContain(`my secret ${RUN}`);
    // Everyone else is refused the same conversation, by every form.
    await expectRefused(sameOrg, first.id);
  });

  it('another key of the organization, another person and another organization are refused; the provider never sees it', async () => {
    const first = await owner.responses.create({ model: MODEL, input: `team secret ${RUN}` });
    const before = providerSaw(first.id);
    await expectRefused(sameOrg, first.id);
    await expectRefused(person, first.id);
    await expectRefused(outsider, first.id);
    expect(providerSaw(first.id)).toEqual(before);
    // Nobody deleted or cancelled it: still the owner's to continue.
    const next = await owner.responses.create({
      model: MODEL,
      input: 'go on',
      previous_response_id: first.id,
    });
    expect(next.output_text).toContain(`team secret ${RUN}`);
  });

  it('a streamed create records its owner too', async () => {
    const first = await createStreamed(owner, `streamed secret ${RUN}`);
    expect(first.id).toMatch(/^resp_/);
    const next = await owner.responses.create({
      model: MODEL,
      input: 'repeat everything above',
      previous_response_id: first.id,
    });
    expect(next.output_text).toContain(`streamed secret ${RUN}`);
    const before = providerSaw(first.id);
    await expectRefused(person, first.id);
    expect(providerSaw(first.id)).toEqual(before);
  });

  it('an id the gateway did not see created is refused, even to a caller of the connection', async () => {
    const direct = await fetch(`${fake.url}/v1/responses`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${PROVIDER_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: MODEL, input: 'made at the provider' }),
    });
    const { id } = (await direct.json()) as { id: string };
    const before = providerSaw(id);
    await expectRefused(owner, id);
    await expectRefused(owner, `resp_unknown_${RUN}`);
    expect(providerSaw(id)).toEqual(before);
  });

  it('a conversation is refused with a BadRequestError saying why', async () => {
    const conversation = `conv_${RUN}`;
    const err = await owner.responses.create({ model: MODEL, input: 'hi', conversation }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as Error).message).toMatch(/cannot verify who owns a conversation.*previous_response_id/);
    expect(providerSaw(conversation)).toEqual([]);
  });
});
