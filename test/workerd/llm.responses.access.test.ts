/**
 * Who may name a stored LLM response through the gateway (docs/llm-gateway.md#stored-responses),
 * against the real fake provider (global-setup.ts), whose Responses API stores every response it
 * creates and continues, reads, deletes or cancels any id it is sent — as a real provider does for
 * every caller of one key (test/e2e/llm.fake-responses.ts). So only the gateway keeps callers apart:
 *
 *   owner                the caller (key and user) whose create made a response continues it with
 *                        previous_response_id and, passthrough allowed, reads it by path;
 *   anyone else          another key of the organization, another person, another organization
 *                        (through its own connection to the same provider), and any id not
 *                        created through the gateway get 404 `response_not_found` — the answer an
 *                        unknown id gets — audited as `deny`, and the provider never sees the call;
 *   spellings            every path a provider may route to a response, and every body that may
 *                        name one, is judged alike;
 *   conversations        refused (`conversation_unverifiable`): the gateway cannot know their owner.
 */
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionGuard } from '../../durable-objects/connection-guard.do';
import { taskOwner } from '../../durable-objects/task.owners';
import {
  ADMIN_KEY,
  addMember,
  apiKeyIdOf,
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
  ownedCall,
  providerSawNaming,
} from './llm.owners.fixtures';

const RUN = Date.now().toString(36);
const SLUG = `resp-${RUN}`;
const OTHER_SLUG = `resp-other-${RUN}`;

const connect = connectOwned;
const llm = ownedCall(SLUG);
const headers = callerHeaders;
const providerSaw = providerSawNaming;

let orgId: string;
let connectionId: string;
/** Another API key of the same organization (same member). */
let sameOrgKey: string;
/** Another person of the same organization (an admin: may use every connection). */
let person: TestOrg;
/** Another organization, with its own connection to the same provider. */
let outsider: TestOrg;

async function create(who: Caller, input: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await llm(who, 'POST', '/responses', { model: 'fake-gpt', input, ...extra });
  const body = await expectJson<{ id: string; object: string }>(res, 200);
  expect(body.object).toBe('response');
  return body.id;
}

/** A streamed create: the id from its `response.created` event. */
async function createStreamed(who: Caller, input: string): Promise<string> {
  const res = await llm(who, 'POST', '/responses', { model: 'fake-gpt', input, stream: true });
  expect(res.status).toBe(200);
  const text = await res.text();
  const created = text
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.parse(line.slice(6)) as { type: string; response?: { id: string } })
    .find((event) => event.type === 'response.created');
  return created!.response!.id;
}

function continueWith(who: Caller, id: string, input = 'repeat everything above'): Promise<Response> {
  return llm(who, 'POST', '/responses', { model: 'fake-gpt', input, previous_response_id: id });
}

async function expectNotFound(res: Response, id: string): Promise<void> {
  const body = await expectJson<{ error: { message: string; type: string; code: string } }>(res, 404);
  expect(body.error.code).toBe('response_not_found');
  expect(body.error.type).toBe('not_found_error');
  expect(body.error.message).toBe(`No response found with id ${JSON.stringify(id)}.`);
}

/** Every way a caller could name a response: continue it, read it, its items, delete it, cancel it. */
async function expectAllRefused(who: Caller, id: string): Promise<void> {
  await expectNotFound(await continueWith(who, id), id);
  await expectNotFound(await llm(who, 'GET', `/responses/${id}`), id);
  await expectNotFound(await llm(who, 'GET', `/responses/${id}/input_items`), id);
  await expectNotFound(await llm(who, 'POST', `/responses/${id}/cancel`), id);
  await expectNotFound(await llm(who, 'DELETE', `/responses/${id}`), id);
}

beforeAll(async () => {
  orgId = await bootstrapDefault();
  connectionId = await connect(SLUG, ADMIN_KEY);
  sameOrgKey = (await createApiKeyVia(ADMIN_KEY, `second-${RUN}`)).key;
  person = await addMember(orgId, 'admin');
  outsider = await createOrg('owner');
  await connect(OTHER_SLUG, outsider.key);
});

/**
 * The audit row of `trace` once flushed. A call's outcome reaches its guard after the caller has read
 * the answer (the row waits for it before it is written), so one flush right after the answer can
 * come before it: flushed again until the row is there (the CI run of session 21 met that once).
 */
async function flushedRow<T>(columns: string, trace: string): Promise<T> {
  for (let i = 0; i < 50; i++) {
    await flushAudit();
    const row = await env.DB.prepare(`SELECT ${columns} FROM audit_events WHERE org_id = ? AND trace_id = ?`)
      .bind(orgId, trace)
      .first<T>();
    if (row) return row;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no audit row for ${trace}`);
}

describe('stored responses: only their creator may name them', () => {
  const alice: Caller = { key: ADMIN_KEY, user: 'alice' };

  it('the owner continues its response and, passthrough allowed, reads it by path', async () => {
    const created = `resp-create-${RUN}`;
    const id = await create({ ...alice, trace: created }, `secret plan ${RUN}`);
    // The create's row carries the claim the guard recorded for its caller.
    const row = await flushedRow<{ details: string }>('details', created);
    expect(JSON.parse(row.details).findings).toContainEqual({
      stage: 'llm_response',
      kind: 'response_created',
      severity: 'info',
      detail: { responseId: id },
    });
    const res = await continueWith(alice, id);
    const body = await expectJson<{ id: string; output: Array<{ content: Array<{ text: string }> }> }>(
      res,
      200,
    );
    // The provider continued the conversation: the owner reads its own earlier turn.
    expect(body.output[0]!.content[0]!.text).toContain(`secret plan ${RUN}`);
    // The continuation is a response of its own, and the owner's too.
    expect((await continueWith(alice, body.id)).status).toBe(200);
    const read = await expectJson<{ id: string }>(await llm(alice, 'GET', `/responses/${id}`), 200);
    expect(read.id).toBe(id);
    const items = await expectJson<{ data: unknown[] }>(
      await llm(alice, 'GET', `/responses/${id}/input_items`),
      200,
    );
    expect(JSON.stringify(items.data)).toContain(`secret plan ${RUN}`);
  });

  it('another key of the organization is refused every form, and the provider never sees it', async () => {
    const id = await create(alice, `key plan ${RUN}`);
    const before = await providerSaw(id);
    await expectAllRefused({ key: sameOrgKey, user: 'alice' }, id);
    expect(await providerSaw(id)).toEqual(before);
    // Still the owner's, untouched (no one deleted or cancelled it).
    expect((await continueWith(alice, id)).status).toBe(200);
  });

  it('another person of the organization is refused, and so is another user of the same key', async () => {
    const id = await create(alice, `person plan ${RUN}`);
    const before = await providerSaw(id);
    await expectAllRefused({ key: person.key }, id);
    await expectAllRefused({ key: ADMIN_KEY, user: 'mallory' }, id);
    expect(await providerSaw(id)).toEqual(before);
  });

  it('another organization is refused through its own connection to the same provider', async () => {
    const id = await create(alice, `org plan ${RUN}`);
    const before = await providerSaw(id);
    await expectAllRefused({ key: outsider.key, slug: OTHER_SLUG }, id);
    // And it cannot reach organization A's connection at all.
    expect((await continueWith({ key: outsider.key }, id)).status).toBe(404);
    expect(await providerSaw(id)).toEqual(before);
  });

  it('an id not created through the gateway is refused to everyone, the caller who made it included', async () => {
    // Made at the provider directly, with the connection's own key.
    const direct = await fetch(`${env.LLM_FAKE_URL}/v1/responses`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${env.LLM_FAKE_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'fake-gpt', input: 'made outside' }),
    });
    const { id } = (await direct.json()) as { id: string };
    const before = await providerSaw(id);
    await expectAllRefused(alice, id);
    await expectAllRefused(alice, 'resp_never_made');
    expect(await providerSaw(id)).toEqual(before);
  });

  it('a streamed create records its owner too', async () => {
    const id = await createStreamed(alice, `streamed plan ${RUN}`);
    const res = await continueWith(alice, id);
    const body = await expectJson<{ output: Array<{ content: Array<{ text: string }> }> }>(res, 200);
    expect(body.output[0]!.content[0]!.text).toContain(`streamed plan ${RUN}`);
    const before = await providerSaw(id);
    await expectAllRefused({ key: sameOrgKey, user: 'alice' }, id);
    expect(await providerSaw(id)).toEqual(before);
  });

  it('every spelling of a path or body naming a response is judged alike', async () => {
    const id = await create(alice, `spelled plan ${RUN}`);
    const before = await providerSaw(id);
    const bob: Caller = { key: sameOrgKey };
    for (const path of [
      `/responses//${id}`,
      `/responses/./${id}`,
      `/Responses/${id}`,
      `/responses%2F${id}`,
      `/responses%252F${id}`,
      `/v1/responses/${id}`,
      `/openai/RESPONSES/${id}/input_items`,
      `/models/../responses/${id}/input_items`,
    ]) {
      await expectNotFound(await llm(bob, 'GET', path), id);
    }
    // A create by another spelling of its path, and the endpoints that read a create's fields.
    for (const path of ['/responses/', '/responses/input_tokens', '/responses/compact']) {
      await expectNotFound(
        await llm(bob, 'POST', path, { model: 'fake-gpt', input: 'x', previous_response_id: id }),
        id,
      );
    }
    expect(await providerSaw(id)).toEqual(before);
    // The owner's own spellings are forwarded (as sent: this provider routes no `//`).
    await llm(alice, 'GET', `/responses//${id}`);
    expect((await providerSaw(id)).map((r) => r.path)).toEqual([
      ...before.map((r) => r.path),
      `/v1/responses//${id}`,
    ]);
  });

  it('the Igris route (`@slug/model` on /v1/responses) records and checks the same way', async () => {
    const res = await call('POST', '/v1/responses', {
      key: ADMIN_KEY,
      body: { model: `@${SLUG}/fake-gpt`, input: `igris plan ${RUN}` },
      headers: headers(alice),
    });
    const { id } = await expectJson<{ id: string }>(res, 200);
    const before = await providerSaw(id);
    const igris = (key: string, user?: string) =>
      call('POST', '/v1/responses', {
        key,
        body: { model: `@${SLUG}/fake-gpt`, input: 'repeat everything above', previous_response_id: id },
        headers: headers({ key, user }),
      });
    await expectNotFound(await igris(sameOrgKey, 'alice'), id);
    expect(await providerSaw(id)).toEqual(before);
    // The same response through the SDK-native route is the same record.
    expect((await igris(ADMIN_KEY, 'alice')).status).toBe(200);
    expect((await continueWith(alice, id)).status).toBe(200);
  });

  it('a previous_response_id that names no recordable id is a validation error, not forwarded', async () => {
    for (const bad of [42, '', ['resp_x'], { id: 'resp_x' }, 'r'.repeat(201)]) {
      const res = await llm(alice, 'POST', '/responses', {
        model: 'fake-gpt',
        input: 'x',
        previous_response_id: bad,
      });
      const body = await expectJson<{ error: { code: string; param?: string } }>(res, 400);
      expect(body.error.code).toBe('validation_failed');
    }
  });

  it('a conversation is refused: the gateway cannot verify who owns one', async () => {
    const marker = `conv_${RUN}`;
    for (const conversation of [marker, { id: marker }]) {
      const res = await llm(alice, 'POST', '/responses', { model: 'fake-gpt', input: 'x', conversation });
      const body = await expectJson<{ error: { code: string; message: string } }>(res, 400);
      expect(body.error.code).toBe('conversation_unverifiable');
      expect(body.error.message).toMatch(/cannot verify who owns a conversation.*previous_response_id/);
    }
    for (const path of [`/conversations/${marker}`, `/conversations/${marker}/items`]) {
      const res = await llm(alice, 'GET', path);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
        'conversation_unverifiable',
      );
    }
    expect(await providerSaw(marker)).toEqual([]);
  });

  it('a refusal is audited as a denial of response access; the record is the guard’s, durable', async () => {
    const id = await create(alice, `audited plan ${RUN}`);
    const trace = `resp-refused-${RUN}`;
    await expectNotFound(await continueWith({ key: sameOrgKey, trace }, id), id);
    const row = await flushedRow<{
      action: string;
      error_code: string;
      method: string;
      upstream_status: number | null;
      details: string;
    }>('action, error_code, method, upstream_status, details', trace);
    expect(row).toMatchObject({ action: 'deny', error_code: 'response_not_found', method: 'responses' });
    expect(row!.upstream_status).toBeNull();
    expect(JSON.parse(row!.details)).toMatchObject({ reason: 'response_access' });

    const guard = env.GUARD.get(
      env.GUARD.idFromName(`${orgId}:${connectionId}`),
    ) as DurableObjectStub<ConnectionGuard>;
    const owner = taskOwner({ apiKeyId: await apiKeyIdOf(ADMIN_KEY), user: 'alice' });
    await runInDurableObject(guard, async (_instance, state) => {
      const stored = state.storage.sql
        .exec('SELECT owner FROM response_owners WHERE response_id = ?', id)
        .one();
      expect(stored.owner).toBe(owner);
    });
  });
});
