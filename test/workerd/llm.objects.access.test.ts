/**
 * Stored LLM objects besides responses (docs/llm-gateway.md#stored-objects), against the real fake
 * provider (global-setup.ts), which — as a real provider does for every caller of one key — reads
 * any output item a create's `input` names by id (llm.fake-responses.ts) and reads, lists, updates
 * and deletes any stored chat completion (llm.fake-chat-store.ts). So only the gateway keeps
 * callers apart:
 *
 *   output items       named in a create's `input` (`item_reference`, `{id}` alone, the item passed
 *                      back whole): forwarded only for the caller whose answer carried them — a way
 *                      around the previous_response_id check before;
 *   chat completions   `store: true`: retrieve, messages, update and delete only for their creator;
 *                      the list `GET /chat/completions` shows each caller its own;
 *   everyone else      another key of the organization, another user of the same key, another
 *                      organization: 404 `object_not_found`, audited as `deny`, nothing forwarded.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_KEY,
  bootstrapDefault,
  createApiKeyVia,
  createOrg,
  expectJson,
  flushAudit,
  type TestOrg,
} from './helpers';
import { type Caller, connectOwned, ownedCall, providerSawNaming } from './llm.owners.fixtures';

const RUN = Date.now().toString(36);
const SLUG = `objs-${RUN}`;
const OTHER_SLUG = `objs-other-${RUN}`;

const connect = connectOwned;
const llm = ownedCall(SLUG);
const providerSaw = providerSawNaming;

let orgId: string;
let sameOrgKey: string;
let outsider: TestOrg;

interface ResponseJson {
  id: string;
  output: Array<{ id: string; type: string; role: string; content: Array<{ text: string }> }>;
}

async function create(who: Caller, body: Record<string, unknown>): Promise<ResponseJson> {
  const res = await llm(who, 'POST', '/responses', { model: 'fake-gpt', ...body });
  return expectJson<ResponseJson>(res, 200);
}

/** A response whose output item holds `secret` (a continuation repeats the conversation). */
async function itemHolding(who: Caller, secret: string): Promise<{ id: string; text: string }> {
  const first = await create(who, { input: secret });
  const next = await create(who, { input: 'repeat everything above', previous_response_id: first.id });
  const item = next.output[0]!;
  expect(item.content[0]!.text).toContain(secret);
  return { id: item.id, text: item.content[0]!.text };
}

async function expectNotFound(res: Response, noun: string, id: string): Promise<void> {
  const body = await expectJson<{ error: { message: string; type: string; code: string } }>(res, 404);
  expect(body.error).toMatchObject({
    code: 'object_not_found',
    type: 'not_found_error',
    message: `No ${noun} found with id ${JSON.stringify(id)}.`,
  });
}

/** Every way an input names an output item. */
const ITEM_FORMS = (id: string, text: string): Array<Record<string, unknown>> => [
  { type: 'item_reference', id },
  { id },
  { type: 'message', role: 'assistant', id, content: [{ type: 'output_text', text }] },
];

beforeAll(async () => {
  orgId = await bootstrapDefault();
  await connect(SLUG, ADMIN_KEY);
  sameOrgKey = (await createApiKeyVia(ADMIN_KEY, `objs-second-${RUN}`)).key;
  outsider = await createOrg('owner');
  await connect(OTHER_SLUG, outsider.key);
});

describe('output items named in a create’s input', () => {
  const alice: Caller = { key: ADMIN_KEY, user: 'alice' };

  it('the caller whose answer carried an item names it in every form (the provider reads it), no one else', async () => {
    const item = await itemHolding(alice, `item secret ${RUN}`);
    for (const form of ITEM_FORMS(item.id, item.text)) {
      const res = await create(alice, { input: [form, { role: 'user', content: 'repeat it' }] });
      expect(res.output[0]!.content[0]!.text).toContain(`item secret ${RUN}`);
      // …and that caller only.
      const other = await llm({ key: sameOrgKey, user: 'alice' }, 'POST', '/responses', {
        model: 'fake-gpt',
        input: [form],
      });
      await expectNotFound(other, 'item', item.id);
    }
  });

  it('a streamed answer’s items are their caller’s too', async () => {
    const first = await create(alice, { input: `streamed item secret ${RUN}` });
    const res = await llm(alice, 'POST', '/responses', {
      model: 'fake-gpt',
      input: 'again',
      previous_response_id: first.id,
      stream: true,
    });
    const events = (await res.text())
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => JSON.parse(line.slice(6)) as { type: string; item?: { id: string } });
    const itemId = events.find((e) => e.type === 'response.output_item.done')!.item!.id;
    const mine = await create(alice, { input: [{ type: 'item_reference', id: itemId }] });
    expect(mine.output[0]!.content[0]!.text).toContain(`streamed item secret ${RUN}`);
    const before = await providerSaw(itemId);
    const bob: Caller = { key: sameOrgKey, user: 'alice' };
    await expectNotFound(
      await llm(bob, 'POST', '/responses', {
        model: 'fake-gpt',
        input: [{ type: 'item_reference', id: itemId }],
      }),
      'item',
      itemId,
    );
    expect(await providerSaw(itemId)).toEqual(before);
  });

  it('another key, another user of the key and another organization are refused every form; nothing forwarded', async () => {
    const item = await itemHolding(alice, `others item secret ${RUN}`);
    const before = await providerSaw(item.id);
    for (const who of [
      { key: sameOrgKey, user: 'alice' },
      { key: ADMIN_KEY, user: 'mallory' },
      { key: outsider.key, slug: OTHER_SLUG },
    ]) {
      for (const form of ITEM_FORMS(item.id, item.text)) {
        const res = await llm(who, 'POST', '/responses', { model: 'fake-gpt', input: [form] });
        await expectNotFound(res, 'item', item.id);
      }
      // Beside a previous_response_id of the caller's own, and in a count of input tokens.
      const own = await create(who, { input: 'mine' });
      await expectNotFound(
        await llm(who, 'POST', '/responses', {
          model: 'fake-gpt',
          previous_response_id: own.id,
          input: [{ type: 'item_reference', id: item.id }],
        }),
        'item',
        item.id,
      );
      await expectNotFound(
        await llm(who, 'POST', '/responses/input_tokens', {
          model: 'fake-gpt',
          input: [{ type: 'item_reference', id: item.id }],
        }),
        'item',
        item.id,
      );
    }
    // Not one of the 15 refused calls reached the provider.
    expect(await providerSaw(item.id)).toEqual(before);
  });

  it('an item id the gateway never saw is refused to everyone; an id it cannot record is a 400', async () => {
    await expectNotFound(
      await llm(alice, 'POST', '/responses', {
        model: 'fake-gpt',
        input: [{ type: 'item_reference', id: `msg_never_${RUN}` }],
      }),
      'item',
      `msg_never_${RUN}`,
    );
    for (const bad of [42, '', 'm'.repeat(201)]) {
      const res = await llm(alice, 'POST', '/responses', {
        model: 'fake-gpt',
        input: [{ type: 'item_reference', id: bad }],
      });
      const body = await expectJson<{ error: { code: string; param: string } }>(res, 400);
      expect(body.error).toMatchObject({ code: 'validation_failed', param: 'input[0].id' });
    }
  });

  it('a refusal is audited as a denial of object access', async () => {
    const item = await itemHolding(alice, `audited item ${RUN}`);
    const trace = `objs-item-refused-${RUN}`;
    await llm({ key: sameOrgKey, trace }, 'POST', '/responses', {
      model: 'fake-gpt',
      input: [{ type: 'item_reference', id: item.id }],
    });
    await flushAudit();
    const row = await env.DB.prepare(
      'SELECT action, error_code, method, upstream_status, details FROM audit_events WHERE org_id = ? AND trace_id = ?',
    )
      .bind(orgId, trace)
      .first<{
        action: string;
        error_code: string;
        method: string;
        upstream_status: null;
        details: string;
      }>();
    expect(row).toMatchObject({ action: 'deny', error_code: 'object_not_found', method: 'responses' });
    expect(row!.upstream_status).toBeNull();
    expect(JSON.parse(row!.details)).toMatchObject({ reason: 'object_access', object: 'item' });
  });
});

describe('stored chat completions', () => {
  const alice: Caller = { key: ADMIN_KEY, user: 'alice' };
  // Read when a test runs: the key is made in beforeAll.
  const bob = (): Caller => ({ key: sameOrgKey, user: 'alice' });

  async function stored(who: Caller, text: string, stream = false): Promise<string> {
    const res = await llm(who, 'POST', '/chat/completions', {
      model: 'fake-gpt',
      store: true,
      stream,
      messages: [{ role: 'user', content: text }],
    });
    if (!stream) return (await expectJson<{ id: string }>(res, 200)).id;
    const chunk = (await res.text()).split('\n').find((line) => line.startsWith('data: {'))!;
    return (JSON.parse(chunk.slice(6)) as { id: string }).id;
  }

  /** Every by-id call on a stored completion. */
  const BY_ID: Array<[string, (id: string) => string, unknown?]> = [
    ['GET', (id) => `/chat/completions/${id}`],
    ['GET', (id) => `/chat/completions/${id}/messages`],
    ['POST', (id) => `/chat/completions/${id}`, { metadata: { k: 'v' } }],
    ['GET', (id) => `/Chat//Completions/${id}`],
    ['GET', (id) => `/chat/completions%2F${id}`],
    ['DELETE', (id) => `/chat/completions/${id}`],
  ];

  it('the creator retrieves, reads the messages of, updates and deletes its completion; another may not', async () => {
    const id = await stored(alice, `chat secret ${RUN}`);
    expect(
      (await expectJson<{ id: string }>(await llm(alice, 'GET', `/chat/completions/${id}`), 200)).id,
    ).toBe(id);
    const messages = await expectJson<{ data: unknown[] }>(
      await llm(alice, 'GET', `/chat/completions/${id}/messages`),
      200,
    );
    expect(JSON.stringify(messages.data)).toContain(`chat secret ${RUN}`);
    const updated = await llm(alice, 'POST', `/chat/completions/${id}`, { metadata: { k: 'v' } });
    expect((await expectJson<{ metadata: unknown }>(updated, 200)).metadata).toEqual({ k: 'v' });
    // Another caller may not delete it…
    await expectNotFound(await llm(bob(), 'DELETE', `/chat/completions/${id}`), 'chat completion', id);
    // …its creator may.
    expect((await llm(alice, 'DELETE', `/chat/completions/${id}`)).status).toBe(200);
  });

  it('anyone else gets 404 on every by-id call, streamed creates included; nothing forwarded', async () => {
    for (const stream of [false, true]) {
      const id = await stored(alice, `chat others ${RUN}`, stream);
      const before = await providerSaw(id);
      for (const who of [
        bob(),
        { key: ADMIN_KEY, user: 'mallory' },
        { key: outsider.key, slug: OTHER_SLUG },
      ]) {
        for (const [method, path, body] of BY_ID) {
          await expectNotFound(await llm(who, method, path(id), body), 'chat completion', id);
        }
      }
      expect(await providerSaw(id)).toEqual(before);
      // Still there, unchanged, for its creator.
      const kept = await expectJson<{ metadata: unknown }>(
        await llm(alice, 'GET', `/chat/completions/${id}`),
        200,
      );
      expect(kept.metadata).toBeNull();
    }
  });

  it('a completion not stored through the gateway (store absent, or made at the provider) is refused', async () => {
    const direct = await fetch(`${env.LLM_FAKE_URL}/v1/chat/completions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${env.LLM_FAKE_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'fake-gpt', store: true, messages: [{ role: 'user', content: 'x' }] }),
    });
    const { id } = (await direct.json()) as { id: string };
    await expectNotFound(await llm(alice, 'GET', `/chat/completions/${id}`), 'chat completion', id);
    // Without `store: true` the provider keeps nothing, and the gateway records nothing.
    const unstored = await expectJson<{ id: string }>(
      await llm(alice, 'POST', '/chat/completions', {
        model: 'fake-gpt',
        messages: [{ role: 'user', content: 'x' }],
      }),
      200,
    );
    await expectNotFound(
      await llm(alice, 'GET', `/chat/completions/${unstored.id}`),
      'chat completion',
      unstored.id,
    );
    expect(await providerSaw(id)).toEqual([]);
  });

  it('the list shows each caller its own completions only', async () => {
    const mine = await stored(alice, `list mine ${RUN}`);
    const theirs = await stored(bob(), `list theirs ${RUN}`);
    const outside = await stored({ key: outsider.key, slug: OTHER_SLUG }, `list outside ${RUN}`);
    const ids = async (who: Caller) => {
      const list = await expectJson<{ data: Array<{ id: string }>; first_id: string | null }>(
        await llm(who, 'GET', '/chat/completions'),
        200,
      );
      if (list.data.length > 0) expect(list.first_id).toBe(list.data[0]!.id);
      return list.data.map((c) => c.id);
    };
    const alices = await ids(alice);
    expect(alices).toContain(mine);
    expect(alices).not.toContain(theirs);
    expect(alices).not.toContain(outside);
    expect(await ids(bob())).toEqual([theirs]);
    expect(await ids({ key: outsider.key, slug: OTHER_SLUG })).toEqual([outside]);
    expect(await ids({ key: ADMIN_KEY, user: 'mallory' })).toEqual([]);
  });

  it('a refusal is audited as a denial of object access', async () => {
    const id = await stored(alice, `chat audited ${RUN}`);
    const trace = `objs-chat-refused-${RUN}`;
    await llm({ ...bob(), trace }, 'GET', `/chat/completions/${id}`);
    await flushAudit();
    const row = await env.DB.prepare(
      'SELECT action, error_code, upstream_status, details FROM audit_events WHERE org_id = ? AND trace_id = ?',
    )
      .bind(orgId, trace)
      .first<{ action: string; error_code: string; upstream_status: null; details: string }>();
    expect(row).toMatchObject({ action: 'deny', error_code: 'object_not_found', upstream_status: null });
    expect(JSON.parse(row!.details)).toMatchObject({ reason: 'object_access', object: 'chat_completion' });
  });
});
