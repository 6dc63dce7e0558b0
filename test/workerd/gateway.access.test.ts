/**
 * connections:use — who may call tools through `/v1/mcp/:slug` with a connection's stored
 * credential. Every role against a real upstream (behind a recording proxy), asserting that the
 * upstream did, or did NOT, receive the call and the credential; refusals are audited.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../workers/db/schema';
import { auditFor, traceId } from './gateway.fixtures';
import {
  addMember,
  call,
  createApiKeyVia,
  createOrg,
  expectApiError,
  expectJson,
  json,
  memberIdOf,
  putPolicy,
  type TestOrg,
} from './helpers';
import { receivedBy, recordedUpstream, uniqueAgent } from './upstream.log';

const RUN = Date.now().toString(36);
const OWNERS = `acc-owner-${RUN}`;
const DEVS = `acc-dev-${RUN}`;
const SHARED = `acc-shared-${RUN}`;
const credentialOf = (slug: string) => `cred-${slug}-s3cret`;

let org: TestOrg;
let admin: TestOrg;
let devA: TestOrg;
let devB: TestOrg;
let auditor: TestOrg;

async function connection(slug: string, key: string, settings: Record<string, unknown> = {}) {
  const res = await call('POST', '/api/v1/connections', {
    key,
    body: {
      slug,
      name: slug,
      upstreamUrl: recordedUpstream(),
      credential: credentialOf(slug),
      settings,
    },
  });
  await expectJson(res, 201);
  await putPolicy(slug, [{ tool: '*', action: 'allow' }], key);
}

/** One echo call through the gateway, tagged so the upstream's log shows exactly its requests. */
async function use(slug: string, key: string, httpMethod: 'POST' | 'GET' | 'DELETE' = 'POST') {
  const agent = uniqueAgent(slug);
  const trace = traceId('access');
  const res = await call(httpMethod, `/v1/mcp/${slug}`, {
    key,
    headers: {
      Accept: 'application/json, text/event-stream',
      'User-Agent': agent,
      'X-Igris-Trace-Id': trace,
    },
    ...(httpMethod === 'POST'
      ? {
          body: {
            jsonrpc: '2.0',
            id: 1,
            method: 'tools/call',
            params: { name: 'echo', arguments: { message: 'hi' } },
          },
        }
      : {}),
  });
  const text = await res.text();
  return { status: res.status, text, received: await receivedBy(agent), trace };
}

async function expectAllowed(slug: string, key: string) {
  const { status, text, received } = await use(slug, key);
  expect(status, text).toBe(200);
  expect(text).toContain('"text":"hi"');
  expect(received).toHaveLength(1);
  expect(received[0]!.headers.authorization).toBe(`Bearer ${credentialOf(slug)}`);
}

async function expectRefused(slug: string, key: string, httpMethod: 'POST' | 'GET' | 'DELETE' = 'POST') {
  const { status, text, received, trace } = await use(slug, key, httpMethod);
  expect(status, text).toBe(403);
  const body = JSON.parse(text) as {
    error: { code: number; message: string; data: Record<string, unknown> };
  };
  expect(body.error).toMatchObject({
    code: -32003,
    message: 'Not allowed to use this connection',
    data: {
      code: 'connection_forbidden',
      details: { location: 'path', path: 'slug', permission: 'connections:use' },
    },
  });
  // Nothing about who may use it, and never the credential.
  expect(text).not.toContain(credentialOf(slug));
  expect(text).not.toMatch(/sharedWith|createdBy|usr_/);
  // The upstream saw nothing: not the call, not the credential.
  expect(received).toEqual([]);
  const rows = await auditFor(trace);
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({
    org_id: org.orgId,
    connection_slug: slug,
    action: 'error',
    error_code: 'connection_forbidden',
  });
  expect(rows[0]!.connection_id).toBeTruthy();
  expect(rows[0]!.api_key_id).toBeTruthy();
}

beforeAll(async () => {
  org = await createOrg('owner');
  admin = await addMember(org.orgId, 'admin');
  devA = await addMember(org.orgId, 'developer');
  devB = await addMember(org.orgId, 'developer');
  auditor = await addMember(org.orgId, 'auditor');
  await connection(OWNERS, org.key);
  await connection(DEVS, devA.key);
  await connection(SHARED, org.key, { sharedWith: [devB.userId, auditor.userId] });
});

describe('connections:use on the gateway', () => {
  it('owner and admin use every connection of the organization', async () => {
    for (const key of [org.key, admin.key]) {
      await expectAllowed(OWNERS, key);
      await expectAllowed(DEVS, key);
      await expectAllowed(SHARED, key);
    }
  });

  it('a developer uses their own connection, and no one else’s', async () => {
    await expectAllowed(DEVS, devA.key);
    await expectRefused(OWNERS, devA.key);
    await expectRefused(DEVS, devB.key);
  });

  it('a developer uses a connection shared with them; another developer does not', async () => {
    await expectAllowed(SHARED, devB.key);
    await expectRefused(SHARED, devA.key);
  });

  it('an auditor uses nothing, not even a connection shared with them', async () => {
    await expectRefused(OWNERS, auditor.key);
    await expectRefused(DEVS, auditor.key);
    await expectRefused(SHARED, auditor.key);
  });

  it('refuses GET (the server stream) and DELETE alike, before anything reaches the upstream', async () => {
    await expectRefused(OWNERS, devA.key, 'GET');
    await expectRefused(OWNERS, auditor.key, 'DELETE');
  });

  it('a key acts with its creator’s current role: demoting the member stops its keys at once', async () => {
    const member = await addMember(org.orgId, 'admin');
    const second = await createApiKeyVia(member.key, 'second admin key', 'admin');
    await expectAllowed(OWNERS, second.key);
    // Through the API, as an admin would: the change reaches every isolate's cache at once.
    const res = await call('PATCH', `/api/v1/members/${await memberIdOf(org.orgId, member.userId)}`, {
      key: org.key,
      body: { role: 'developer' satisfies Role },
    });
    await expectJson(res, 200);
    await expectRefused(OWNERS, second.key);
    await expectRefused(OWNERS, member.key);
  });

  it('a developer-role key minted by an owner uses what that owner created, as the API does', async () => {
    const key = await createApiKeyVia(org.key, 'owner’s developer key', 'developer');
    await expectAllowed(OWNERS, key.key);
    await expectRefused(DEVS, key.key);
  });

  it('a disabled connection is not revealed as such to a caller who may not use it', async () => {
    const slug = `acc-disabled-${RUN}`;
    await connection(slug, org.key);
    await expectJson(
      await call('PATCH', `/api/v1/connections/${slug}`, { key: org.key, body: { enabled: false } }),
      200,
    );
    await expectRefused(slug, devA.key);
    const { status, text } = await use(slug, org.key);
    expect(status).toBe(403);
    expect(text).toContain('connection_disabled');
  });

  it('the A2A agent-card route checks the same way: forbidden first, then disabled (requireUsableConnection)', async () => {
    const slug = `acc-card-${RUN}`;
    await connection(slug, org.key);
    await expectJson(
      await call('PATCH', `/api/v1/connections/${slug}`, { key: org.key, body: { enabled: false } }),
      200,
    );
    const card = (key: string) => call('GET', `/v1/a2a/${slug}/.well-known/agent-card.json`, { key });
    const forbidden = await card(devA.key);
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as { error: { code: string } }).error.code).toBe('connection_forbidden');
    const disabled = await card(org.key);
    expect(disabled.status).toBe(403);
    expect(((await disabled.json()) as { error: { code: string } }).error.code).toBe('connection_disabled');
  });
});

describe('sharing: settings.sharedWith', () => {
  it('is set and cleared by whoever may write the connection; the next call follows it', async () => {
    const slug = `acc-own-share-${RUN}`;
    await connection(slug, devA.key);
    await expectRefused(slug, devB.key);
    const shared = await expectJson<{ settings: { sharedWith: string[] } }>(
      await call('PATCH', `/api/v1/connections/${slug}`, {
        key: devA.key,
        body: { settings: { sharedWith: [devB.userId, devB.userId] } },
      }),
      200,
    );
    expect(shared.settings.sharedWith).toEqual([devB.userId]);
    await expectAllowed(slug, devB.key);

    await expectJson(
      await call('PATCH', `/api/v1/connections/${slug}`, {
        key: devA.key,
        body: { settings: { sharedWith: [] } },
      }),
      200,
    );
    await expectRefused(slug, devB.key);
  });

  it('may not be changed by a developer on a connection they do not own (connections:write)', async () => {
    await expectApiError(
      await call('PATCH', `/api/v1/connections/${OWNERS}`, {
        key: devA.key,
        body: { settings: { sharedWith: [devA.userId] } },
      }),
      403,
      'forbidden',
    );
    await expectRefused(OWNERS, devA.key);
  });

  it('refuses ids that are not members of the organization (unknown, or of another organization)', async () => {
    const other = await createOrg('owner');
    for (const id of ['usr_nobody', other.userId]) {
      const err = await expectApiError(
        await call('PATCH', `/api/v1/connections/${OWNERS}`, {
          key: org.key,
          body: { settings: { sharedWith: [devA.userId, id] } },
        }),
        400,
        'validation_failed',
      );
      expect(err.details?.issues?.[0]).toMatchObject({ location: 'body', path: 'settings.sharedWith.1' });
    }
    const create = await call('POST', '/api/v1/connections', {
      key: org.key,
      body: {
        slug: `acc-bad-${RUN}`,
        name: 'bad',
        upstreamUrl: recordedUpstream(),
        credential: 'x',
        settings: { sharedWith: [other.userId] },
      },
    });
    await expectApiError(create, 400, 'validation_failed');
    const { connections } = await json<{ connections: Array<{ slug: string }> }>(
      await call('GET', '/api/v1/connections', { key: org.key }),
    );
    expect(connections.map((c) => c.slug)).not.toContain(`acc-bad-${RUN}`);
    await expectRefused(OWNERS, devA.key);
  });
});
