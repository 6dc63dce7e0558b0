/**
 * Who may address an MCP task through the gateway (docs/policies.md#mcp-tasks), against a real
 * MCP server built with the official SDK's task support (scripts/demo-mcp-tasks.ts) behind the
 * recording proxy. The upstream has one task store and no sessions: it answers any task id it is
 * sent and lists every task — as any upstream does that sees one credential for every caller —
 * so only the gateway can keep callers' tasks apart:
 *
 *   same organization    only the caller that created a task (its key and X-Igris-User) may
 *                        address it with tasks/get, tasks/result, tasks/cancel, tasks/update, a
 *                        status notification or related-task metadata; anyone else gets exactly
 *                        the answer an unknown id gets, audited as `deny` / `task_not_found`,
 *                        and the upstream never receives the call;
 *   tasks/list           each caller sees its own tasks only;
 *   batches              every item is checked: one foreign task refuses the whole batch;
 *   other organization   the same, through its own connection to the same upstream;
 *   no record            a task made at the upstream directly is refused to everyone.
 */
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionGuard } from '../../durable-objects/connection-guard.do';
import { TaskOwners, taskOwner } from '../../durable-objects/task.owners';
import { ACCEPT_BOTH } from './gateway.fixtures';
import {
  apiKeyIdOf,
  call,
  createApiKeyVia,
  createOrg,
  expectJson,
  flushAudit,
  putPolicy,
  rpcResult,
  type TestOrg,
} from './helpers';
import { receivedBy, recordedUpstream, uniqueAgent } from './upstream.log';

const RUN = Date.now().toString(36);
const SLUG = `tasks-${RUN}`;
const SSE_SLUG = `tasks-sse-${RUN}`;

let orgA: TestOrg;
/** The id of organization A's JSON connection (its guard holds the task records). */
let connectionA: string;
let orgB: TestOrg;
/** A second API key of organization A: another caller sharing the connection. */
let keyB: string;

interface Caller {
  key: string;
  user?: string;
  agent?: string;
  trace?: string;
}

type Answer = Awaited<ReturnType<typeof rpcResult>>;

let nextId = 0;

async function connect(org: TestOrg, slug: string, path: string): Promise<string> {
  const res = await call('POST', '/api/v1/connections', {
    key: org.key,
    body: {
      slug,
      name: slug,
      upstreamUrl: recordedUpstream(path),
      authType: 'bearer',
      credential: 'cred-tasks',
    },
  });
  const { id } = await expectJson<{ id: string }>(res, 201);
  await putPolicy(slug, [{ tool: '*', action: 'allow' }], org.key);
  return id;
}

function headers(who: Caller): Record<string, string> {
  return {
    Accept: ACCEPT_BOTH,
    ...(who.user ? { 'X-Igris-User': who.user } : {}),
    ...(who.agent ? { 'User-Agent': who.agent } : {}),
    ...(who.trace ? { 'X-Igris-Trace-Id': who.trace } : {}),
  };
}

function post(who: Caller, body: unknown, slug = SLUG): Promise<Response> {
  return call('POST', `/v1/mcp/${slug}`, { key: who.key, body, headers: headers(who) });
}

async function rpc(
  who: Caller,
  method: string,
  params: Record<string, unknown>,
  slug = SLUG,
): Promise<Answer> {
  return rpcResult(await post(who, { jsonrpc: '2.0', id: ++nextId, method, params }, slug));
}

async function createTask(who: Caller, text: string, slug = SLUG, ms = 20): Promise<string> {
  const answer = await rpc(
    who,
    'tools/call',
    { name: 'report', arguments: { text, ms }, task: { ttl: 60_000 } },
    slug,
  );
  expect(answer.error).toBeUndefined();
  const taskId = (answer.result?.task as { taskId?: string } | undefined)?.taskId;
  expect(typeof taskId).toBe('string');
  return taskId!;
}

/** Every task the caller is shown, page after page (the upstream lists its tasks in pages). */
async function listed(who: Caller, slug = SLUG): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const answer = await rpc(who, 'tasks/list', cursor ? { cursor } : {}, slug);
    expect(answer.error).toBeUndefined();
    ids.push(...(answer.result!.tasks as { taskId: string }[]).map((t) => t.taskId));
    cursor = answer.result!.nextCursor as string | undefined;
  } while (cursor);
  return ids;
}

/** The refusal, without what differs per call (its trace id). */
function refusalOf(answer: Answer) {
  expect(answer.result).toBeUndefined();
  const { traceId: _, ...data } = answer.error?.data ?? { code: 'none' };
  return { code: answer.error?.code, message: answer.error?.message, data };
}

const TASK_NOT_FOUND = { code: -32602, message: 'Task not found', data: { code: 'mcp_task_not_found' } };

async function rowOf(orgId: string, trace: string) {
  await flushAudit();
  const row = await env.DB.prepare(
    'SELECT action, error_code, method, upstream_status, details FROM audit_events WHERE org_id = ? AND trace_id = ?',
  )
    .bind(orgId, trace)
    .first<{
      action: string;
      error_code: string | null;
      method: string;
      upstream_status: number | null;
      details: string;
    }>();
  expect(row, `no audit row for ${trace}`).not.toBeNull();
  return { ...row!, details: JSON.parse(row!.details) as Record<string, unknown> };
}

/** Waits until a task has its result (the demo tool completes after `ms`). */
async function completed(who: Caller, taskId: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const answer = await rpc(who, 'tasks/get', { taskId });
    if (answer.result?.status === 'completed') return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('task did not complete');
}

beforeAll(async () => {
  orgA = await createOrg('owner');
  orgB = await createOrg('owner');
  keyB = (await createApiKeyVia(orgA.key, 'second caller', 'admin')).key;
  connectionA = await connect(orgA, SLUG, '/tasks/json');
  await connect(orgA, SSE_SLUG, '/tasks');
  await connect(orgB, SLUG, '/tasks/json');
});

describe('MCP tasks belong to the caller that created them', () => {
  it('another caller of the same organization gets the unknown-id answer, and the upstream never hears of it', async () => {
    const alice: Caller = { key: orgA.key, user: 'alice' };
    const taskId = await createTask(alice, 'secret plan of alice');
    await completed(alice, taskId);
    const got = await rpc(alice, 'tasks/result', { taskId });
    expect(got.result?.content).toEqual([{ type: 'text', text: 'report: secret plan of alice' }]);

    const agent = uniqueAgent('mcp-tasks-intruder');
    const intruders: Caller[] = [
      { key: keyB, user: 'bob', agent }, // another key and user
      { key: keyB, user: 'alice', agent }, // another key, the same user name
      { key: orgA.key, user: 'bob', agent }, // the same key, another user
      { key: orgA.key, agent }, // the same key, no user
    ];
    const unknown = refusalOf(await rpc(intruders[0]!, 'tasks/get', { taskId: `no-such-${RUN}` }));
    expect(unknown).toEqual(TASK_NOT_FOUND);
    // The creator asking for an id that exists nowhere gets that same answer.
    expect(refusalOf(await rpc(alice, 'tasks/get', { taskId: `no-such-${RUN}` }))).toEqual(TASK_NOT_FOUND);
    for (const who of intruders) {
      for (const method of ['tasks/get', 'tasks/result', 'tasks/cancel']) {
        expect(refusalOf(await rpc(who, method, { taskId })), `${method} ${who.user}`).toEqual(unknown);
      }
      const update = await rpc(who, 'tasks/update', { taskId, inputResponses: {} });
      expect(refusalOf(update)).toEqual(unknown);
      // Related-task metadata names a task too (the SDK server queues the answer into it).
      const related = await rpc(who, 'ping', {
        _meta: { 'io.modelcontextprotocol/related-task': { taskId } },
      });
      expect(refusalOf(related)).toEqual(unknown);
    }
    // A status notification naming the task: refused like one naming an unknown id (no body).
    const notify = (id: string) =>
      post(intruders[0]!, {
        jsonrpc: '2.0',
        method: 'notifications/tasks/status',
        params: { taskId: id, status: 'cancelled', createdAt: '', lastUpdatedAt: '', ttl: null },
      });
    const foreign = await notify(taskId);
    const nowhere = await notify(`no-such-${RUN}`);
    expect([foreign.status, await foreign.text()]).toEqual([400, '']);
    expect([nowhere.status, await nowhere.text()]).toEqual([400, '']);

    expect(await receivedBy(agent)).toEqual([]);
    // The task was not cancelled by anyone but is still alice's.
    expect((await rpc(alice, 'tasks/get', { taskId })).result).toMatchObject({ taskId, status: 'completed' });
  });

  it('a refused task call is audited as a denial of task access', async () => {
    const alice: Caller = { key: orgA.key, user: 'alice' };
    const taskId = await createTask(alice, 'audited');
    const trace = `mcp-task-denied-${RUN}`;
    expect(refusalOf(await rpc({ key: keyB, user: 'bob', trace }, 'tasks/get', { taskId }))).toEqual(
      TASK_NOT_FOUND,
    );
    const row = await rowOf(orgA.orgId, trace);
    expect(row).toMatchObject({
      action: 'deny',
      error_code: 'task_not_found',
      method: 'tasks/get',
      upstream_status: null,
    });
    expect(row.details).toMatchObject({ reason: 'task_access' });

    // The creating call's row shows the task it created (the claim's source).
    const created = `mcp-task-created-${RUN}`;
    const mine = await createTask({ ...alice, trace: created }, 'traced');
    const createdRow = await rowOf(orgA.orgId, created);
    expect(createdRow.details.findings).toContainEqual(
      expect.objectContaining({ stage: 'mcp_task', kind: 'task_created', detail: { taskId: mine } }),
    );
  });

  it('tasks/list shows each caller its own tasks only', async () => {
    const carol: Caller = { key: orgA.key, user: `carol-${RUN}` };
    const dave: Caller = { key: keyB, user: `dave-${RUN}` };
    const carols = [await createTask(carol, 'c1'), await createTask(carol, 'c2')];
    const daves = [await createTask(dave, 'd1')];
    // The upstream lists them all to anyone (its own view, straight from it).
    const direct = await fetch(recordedUpstream('/tasks/json'), {
      method: 'POST',
      headers: { Accept: ACCEPT_BOTH, 'Content-Type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tasks/list', params: {} }),
    });
    const all = ((await direct.json()) as { result: { tasks: { taskId: string }[] } }).result.tasks.map(
      (t) => t.taskId,
    );
    expect(all).toEqual(expect.arrayContaining([...carols, ...daves]));

    expect((await listed(carol)).sort()).toEqual([...carols].sort());
    expect(await listed(dave)).toEqual(daves);
    expect(await listed({ key: keyB, user: `nobody-${RUN}` })).toEqual([]);
  });

  it('every item of a batch is checked: one foreign task refuses the batch, unforwarded', async () => {
    const erin: Caller = { key: orgA.key, user: `erin-${RUN}` };
    const frank: Caller = { key: keyB, user: `frank-${RUN}`, agent: uniqueAgent('mcp-tasks-batch') };
    const erins = await createTask(erin, 'e1');
    const franks = await createTask({ ...frank, agent: undefined }, 'f1');
    const batch = (ids: string[]) =>
      ids.map((taskId, i) => ({ jsonrpc: '2.0', id: i + 1, method: 'tasks/get', params: { taskId } }));

    const refused = await post(frank, batch([franks, erins]));
    const body = (await refused.json()) as Answer;
    expect(refusalOf(body)).toEqual(TASK_NOT_FOUND);
    expect(await receivedBy(frank.agent!)).toEqual([]);

    const own = await post(erin, batch([erins, erins]));
    const answers = (await own.json()) as Answer[];
    expect(answers.map((a) => a.result?.taskId)).toEqual([erins, erins]);
  });

  it('a task created over an SSE answer is its creator’s too', async () => {
    const gina: Caller = { key: orgA.key, user: `gina-${RUN}` };
    const taskId = await createTask(gina, 'streamed', SSE_SLUG);
    expect((await rpc(gina, 'tasks/get', { taskId }, SSE_SLUG)).result).toMatchObject({ taskId });
    expect(refusalOf(await rpc({ key: keyB, user: 'bob' }, 'tasks/get', { taskId }, SSE_SLUG))).toEqual(
      TASK_NOT_FOUND,
    );
    expect(await listed(gina, SSE_SLUG)).toEqual([taskId]);
  });

  it('the creator may cancel its own task; another caller may not', async () => {
    const hank: Caller = { key: orgA.key, user: `hank-${RUN}` };
    const taskId = await createTask(hank, 'long', SLUG, 60_000);
    expect(refusalOf(await rpc({ key: keyB, user: 'bob' }, 'tasks/cancel', { taskId }))).toEqual(
      TASK_NOT_FOUND,
    );
    expect((await rpc(hank, 'tasks/get', { taskId })).result?.status).toBe('working');
    const cancelled = await rpc(hank, 'tasks/cancel', { taskId });
    expect(cancelled.result).toMatchObject({ taskId, status: 'cancelled' });
  });

  it('another organization, through its own connection to the same upstream, sees nothing of it', async () => {
    const alice: Caller = { key: orgA.key, user: 'alice' };
    const taskId = await createTask(alice, 'org A only');
    const outsider: Caller = { key: orgB.key, user: 'alice', agent: uniqueAgent('mcp-tasks-org-b') };
    for (const method of ['tasks/get', 'tasks/result', 'tasks/cancel']) {
      expect(refusalOf(await rpc(outsider, method, { taskId }))).toEqual(TASK_NOT_FOUND);
    }
    expect(await receivedBy(outsider.agent!)).toEqual([]);
    expect(await listed(outsider)).not.toContain(taskId);
    const own = await createTask({ key: orgB.key, user: 'alice' }, 'org B');
    expect(await listed({ key: orgB.key, user: 'alice' })).toEqual([own]);
  });

  it('the record is in the guard’s durable storage, as an MCP record: a restarted guard reads it', async () => {
    const ivy: Caller = { key: orgA.key, user: `ivy-${RUN}` };
    const taskId = await createTask(ivy, 'kept');
    expect((await rpc(ivy, 'tasks/get', { taskId })).result).toMatchObject({ taskId });
    const owner = taskOwner({ apiKeyId: await apiKeyIdOf(orgA.key), user: ivy.user });
    const guard = env.GUARD.getByName(`${orgA.orgId}:${connectionA}`) as DurableObjectStub<ConnectionGuard>;
    await runInDurableObject(guard, async (_instance, state) => {
      const row = state.storage.sql
        .exec('SELECT owner FROM task_owners WHERE task_id = ?', `~mcp:${taskId}`)
        .one();
      expect(row.owner).toBe(owner);
      // What a guard starting after eviction builds: the records come from its SQLite, not memory.
      const restarted = new TaskOwners(state.storage.sql);
      expect(restarted.ownsAll([taskId], owner, Date.now(), 'mcp')).toBe(true);
      // Keyed by protocol: the same id is no A2A task.
      expect(restarted.ownsAll([taskId], owner, Date.now(), 'a2a')).toBe(false);
    });
  });

  it('a task the gateway never saw created is refused to everyone (fail closed)', async () => {
    const direct = await fetch(recordedUpstream('/tasks/json'), {
      method: 'POST',
      headers: { Accept: ACCEPT_BOTH, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'report', arguments: { text: 'direct' }, task: {} },
      }),
    });
    const taskId = ((await direct.json()) as { result: { task: { taskId: string } } }).result.task.taskId;
    expect(refusalOf(await rpc({ key: orgA.key, user: 'alice' }, 'tasks/get', { taskId }))).toEqual(
      TASK_NOT_FOUND,
    );
    expect(await listed({ key: orgA.key, user: 'alice' })).not.toContain(taskId);
  });
});
