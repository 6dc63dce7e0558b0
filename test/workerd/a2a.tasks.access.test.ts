/**
 * Who may address an A2A task through the gateway (docs/a2a.md#who-may-address-a-task), against
 * the real agent built with the official `@a2a-js/sdk` server (test/e2e/a2a.agent.ts). Two
 * organizations register the same agent with the same credential — the agent sees one caller,
 * so only the gateway can keep their tasks apart:
 *
 *   other organization   GetTask, CancelTask, SubscribeToTask, a follow-up message and a push
 *                        config naming another organization's task are refused before they are
 *                        forwarded — the same answer as for an id that exists nowhere — audited
 *                        as `deny` / `task_not_found`; the SDK client raises it;
 *   management API       each organization's task listing shows only its own tasks;
 *   same organization    only the caller that created a task (its key and X-Igris-User) may
 *                        address it; an admin still reads it through the management API;
 *   no record            a task the gateway never saw created (made at the agent directly, as
 *                        one from before ownership was recorded) is refused: fail closed;
 *   ListTasks            the agent lists every caller's tasks; each caller sees its own.
 */

import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { ClientFactory, DefaultAgentCardResolver, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { JsonRpcTransportError } from '@a2a-js/sdk/errors';
import { beforeAll, describe, expect, it } from 'vitest';
import worker from '../../workers/index';
import { SseFrameReader } from '../shared/sse.frames';
import {
  BASE,
  call,
  createApiKeyVia,
  createOrg,
  expectJson,
  flushAudit,
  putPolicy,
  type TestOrg,
} from './helpers';

const RUN = Date.now().toString(36);
const SECRET = 'secret plan of org A';
/** Both organizations name their connection to the agent alike (slugs are per organization). */
const SLUG = `shared-agent-${RUN}`;

let orgA: TestOrg;
let orgB: TestOrg;

type RpcAnswer = {
  id: unknown;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: { code: string; traceId?: string } };
};

async function registerAgent(org: TestOrg) {
  const res = await call('POST', '/api/v1/connections', {
    key: org.key,
    body: {
      slug: SLUG,
      name: 'Shared agent',
      type: 'a2a',
      agentCardUrl: env.A2A_AGENT_URL,
      credential: env.A2A_AGENT_CREDENTIAL,
    },
  });
  await expectJson(res, 201);
  await putPolicy(SLUG, [{ tool: '*', action: 'allow' }], org.key);
}

async function rpc(
  key: string,
  method: string,
  params: unknown,
  options: { trace?: string; user?: string } = {},
): Promise<RpcAnswer> {
  const res = await call('POST', `/v1/a2a/${SLUG}`, {
    key,
    body: { jsonrpc: '2.0', id: 1, method, params },
    headers: {
      'A2A-Version': '1.0',
      ...(options.trace ? { 'X-Igris-Trace-Id': options.trace } : {}),
      ...(options.user ? { 'X-Igris-User': options.user } : {}),
    },
  });
  return (await res.json()) as RpcAnswer;
}

function message(text: string, extra: Record<string, unknown> = {}) {
  return {
    message: {
      messageId: `m-${crypto.randomUUID()}`,
      role: 'ROLE_USER',
      parts: [{ text }],
      metadata: { skillId: text.startsWith('slow') ? 'slow' : 'echo' },
      ...extra,
    },
  };
}

async function sendTask(key: string, text: string, user?: string): Promise<string> {
  const answer = await rpc(key, 'SendMessage', message(text), { user });
  expect(answer.error).toBeUndefined();
  return (answer.result!.task as { id: string }).id;
}

/** The refusal, without what differs per call (its trace id). */
function refusalOf(answer: RpcAnswer) {
  expect(answer.result).toBeUndefined();
  const { traceId: _, ...data } = answer.error?.data ?? { code: 'none' };
  return { code: answer.error?.code, message: answer.error?.message, data };
}

const TASK_NOT_FOUND = { code: -32018, message: 'Task not found', data: { code: 'task_not_found' } };

async function rowOf(orgId: string, trace: string) {
  await flushAudit();
  const row = await env.DB.prepare(
    'SELECT action, error_code, upstream_status, details FROM audit_events WHERE org_id = ? AND trace_id = ?',
  )
    .bind(orgId, trace)
    .first<{ action: string; error_code: string | null; upstream_status: number | null; details: string }>();
  expect(row, `no audit row for ${trace}`).not.toBeNull();
  return { ...row!, details: JSON.parse(row!.details) as Record<string, unknown> };
}

async function listed(org: TestOrg): Promise<string[]> {
  const res = await call('GET', `/api/v1/connections/${SLUG}/tasks?limit=200`, { key: org.key });
  const body = await expectJson<{ tasks: { taskId: string }[] }>(res, 200);
  return body.tasks.map((t) => t.taskId);
}

/** Waits for the tracking written after the answer (waitUntil). */
async function eventually<T>(read: () => Promise<T | null | undefined | false>): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = await read();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('not written');
}

/** The official A2A client, through the gateway, with an Igris key. */
function sdkClient(key: string) {
  const fetchImpl: typeof fetch = (input, init) => {
    const request = new Request(input, init);
    request.headers.set('Authorization', `Bearer ${key}`);
    return exports.default.fetch(request);
  };
  const factory = new ClientFactory({
    transports: [new JsonRpcTransportFactory({ fetchImpl })],
    cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
  });
  return factory.createFromUrl(`${BASE}/v1/a2a/${SLUG}/`);
}

beforeAll(async () => {
  orgA = await createOrg('owner');
  orgB = await createOrg('owner');
  await registerAgent(orgA);
  await registerAgent(orgB);
});

describe('another organization', () => {
  it('cannot read, cancel, follow, continue or watch a task, and is told what an unknown id is told', async () => {
    const taskId = await sendTask(orgA.key, SECRET);
    const unknown = refusalOf(await rpc(orgB.key, 'GetTask', { id: `no-such-task-${RUN}` }));
    expect(unknown).toEqual(TASK_NOT_FOUND);

    const got = await rpc(orgB.key, 'GetTask', { id: taskId, historyLength: 10 }, { trace: `b-get-${RUN}` });
    expect(JSON.stringify(got)).not.toContain(SECRET);
    expect(refusalOf(got)).toEqual(unknown);
    for (const [method, params] of [
      ['CancelTask', { id: taskId }],
      ['tasks/get', { id: taskId }],
      ['SubscribeToTask', { id: taskId }],
      ['SendMessage', message('what was the plan?', { taskId })],
      ['SendMessage', message('what was the plan?', { referenceTaskIds: [taskId] })],
      ['CreateTaskPushNotificationConfig', { taskId, id: `cfg-${RUN}`, url: 'https://hooks.example.com/b' }],
    ] as const) {
      expect(refusalOf(await rpc(orgB.key, method, params)), method).toEqual(unknown);
    }
    // Its own task in one place and A's in another: every id the agent may read is checked.
    const both = { id: taskId, taskId: await sendTask(orgB.key, 'mine') };
    expect(refusalOf(await rpc(orgB.key, 'GetTask', both, { trace: `b-both-${RUN}` }))).toEqual(unknown);
    expect((await rowOf(orgB.orgId, `b-both-${RUN}`)).details).toMatchObject({
      taskId: both.taskId,
      taskIds: [both.taskId, taskId],
    });

    // Refused before forwarding, audited like other refusals.
    const row = await rowOf(orgB.orgId, `b-get-${RUN}`);
    expect(row).toMatchObject({ action: 'deny', error_code: 'task_not_found', upstream_status: null });
    expect(row.details).toMatchObject({ taskId, reason: 'task_access' });

    // The SDK client raises the refusal.
    const client = await sdkClient(orgB.key);
    const err = await client.getTask({ id: taskId } as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JsonRpcTransportError);
    expect((err as JsonRpcTransportError).envelopeCode).toBe(-32018);
    expect((err as JsonRpcTransportError).data).toMatchObject({ code: 'task_not_found' });

    // A's task was not canceled, and A still reads it.
    const own = await rpc(orgA.key, 'GetTask', { id: taskId });
    expect(own.error).toBeUndefined();
    expect((own.result as { status: { state: string } }).status.state).toBe('TASK_STATE_COMPLETED');
    expect(JSON.stringify(own)).toContain(SECRET);
  });

  it('does not see the task in its management API listing', async () => {
    const taskId = await sendTask(orgA.key, SECRET);
    await rpc(orgB.key, 'GetTask', { id: taskId });
    // B's own task shows that B's tracking is written; A's task is not among B's.
    const mine = await sendTask(orgB.key, 'b own task');
    const ofB = await eventually(async () => {
      const ids = await listed(orgB);
      return ids.includes(mine) && ids;
    });
    expect(ofB).not.toContain(taskId);
    expect(await eventually(async () => (await listed(orgA)).includes(taskId))).toBe(true);
    expect((await call('GET', `/api/v1/connections/${SLUG}/tasks/${taskId}`, { key: orgB.key })).status).toBe(
      404,
    );
  });

  it('cannot cancel or re-subscribe to a working task; its creator can', async () => {
    const res = await call('POST', `/v1/a2a/${SLUG}`, {
      key: orgA.key,
      body: { jsonrpc: '2.0', id: 1, method: 'SendStreamingMessage', params: message('slow work') },
      headers: { 'A2A-Version': '1.0', Accept: 'text/event-stream' },
    });
    const frames = new SseFrameReader(res.body!.getReader());
    const first = JSON.parse((await frames.frame(30_000)).data!) as RpcAnswer;
    const taskId = (first.result!.task as { id: string }).id;

    expect(refusalOf(await rpc(orgB.key, 'CancelTask', { id: taskId }))).toEqual(TASK_NOT_FOUND);
    expect(refusalOf(await rpc(orgB.key, 'SubscribeToTask', { id: taskId }))).toEqual(TASK_NOT_FOUND);
    const canceled = await rpc(orgA.key, 'CancelTask', { id: taskId });
    expect(canceled.error).toBeUndefined();
    await frames.cancel();
  });
});

describe('inside one organization', () => {
  it('only the caller that created a task may address it; an admin reads it through the API', async () => {
    const other = await createApiKeyVia(orgA.key, 'other caller', 'admin');
    const taskId = await sendTask(orgA.key, SECRET, 'alice');

    expect(refusalOf(await rpc(other.key, 'GetTask', { id: taskId }))).toEqual(TASK_NOT_FOUND);
    expect(refusalOf(await rpc(other.key, 'GetTask', { id: taskId }, { user: 'alice' }))).toEqual(
      TASK_NOT_FOUND,
    );
    expect(refusalOf(await rpc(orgA.key, 'GetTask', { id: taskId }, { user: 'bob' }))).toEqual(
      TASK_NOT_FOUND,
    );
    expect(refusalOf(await rpc(orgA.key, 'GetTask', { id: taskId }))).toEqual(TASK_NOT_FOUND);
    expect((await rpc(orgA.key, 'GetTask', { id: taskId }, { user: 'alice' })).error).toBeUndefined();

    const viaApi = await eventually(async () => {
      const res = await call('GET', `/api/v1/connections/${SLUG}/tasks/${taskId}`, { key: other.key });
      return res.status === 200 && (res.json() as Promise<{ taskId: string; user: string | null }>);
    });
    expect(viaApi).toMatchObject({ taskId, user: 'alice' });
  });
});

describe('a task the gateway has no record of', () => {
  it('is refused (created at the agent directly, as a task from before ownership was recorded)', async () => {
    const { card } = await expectJson<{ card: { supportedInterfaces: { url: string }[] } }>(
      await call('GET', `/api/v1/connections/${SLUG}/agent-card`, { key: orgA.key }),
      200,
    );
    const direct = await fetch(card.supportedInterfaces[0]!.url, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${env.A2A_AGENT_CREDENTIAL}`,
        'Content-Type': 'application/json',
        'A2A-Version': '1.0',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: message('before') }),
    });
    const taskId = ((await direct.json()) as { result: { task: { id: string } } }).result.task.id;
    expect(refusalOf(await rpc(orgA.key, 'GetTask', { id: taskId }))).toEqual(TASK_NOT_FOUND);
  });
});

describe('ListTasks', () => {
  it('the agent lists every caller’s tasks; each caller sees only its own', async () => {
    const ofA = await sendTask(orgA.key, SECRET);
    const ofB = await sendTask(orgB.key, 'b listed');
    const listedBy = async (org: TestOrg) => {
      const answer = await rpc(org.key, 'ListTasks', {});
      expect(answer.error).toBeUndefined();
      return (answer.result!.tasks as { id: string }[]).map((t) => t.id);
    };
    const seenByB = await listedBy(orgB);
    expect(seenByB).toContain(ofB);
    expect(seenByB).not.toContain(ofA);
    const seenByA = await listedBy(orgA);
    expect(seenByA).toContain(ofA);
    expect(seenByA).not.toContain(ofB);
  });
});

describe('the guard unreachable, on a fail-open connection', () => {
  /** ConnectionGuard as if its objects could not be reached: every stub's call rejects. */
  const down = () => Promise.reject(new Error('guard unreachable'));
  const unreachable = {
    idFromName: (name: string) => env.GUARD.idFromName(name),
    get: () => ({ admit: down, complete: down, completeMany: down, watchKill: down, unwatch: down }),
  } as unknown as Env['GUARD'];

  async function rpcGuardDown(slug: string, method: string, params: unknown): Promise<[number, RpcAnswer]> {
    const request = new Request(`${BASE}/v1/a2a/${slug}`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${orgA.key}`,
        'Content-Type': 'application/json',
        'A2A-Version': '1.0',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    });
    const ctx = createExecutionContext();
    const res = await worker.fetch(request, { ...env, GUARD: unreachable }, ctx);
    const body = (await res.json()) as RpcAnswer;
    await waitOnExecutionContext(ctx);
    return [res.status, body];
  }

  it('a send passes; a call naming a task is refused; ListTasks lists nothing', async () => {
    const slug = `open-${RUN}`;
    await expectJson(
      await call('POST', '/api/v1/connections', {
        key: orgA.key,
        body: {
          slug,
          name: slug,
          type: 'a2a',
          agentCardUrl: env.A2A_AGENT_URL,
          credential: env.A2A_AGENT_CREDENTIAL,
          settings: { failMode: 'open' },
        },
      }),
      201,
    );
    await putPolicy(slug, [{ tool: '*', action: 'allow' }], orgA.key);

    const [sentStatus, sent] = await rpcGuardDown(slug, 'SendMessage', message('while the guard is down'));
    expect(sentStatus).toBe(200);
    const taskId = (sent.result!.task as { id: string }).id;
    const [status, got] = await rpcGuardDown(slug, 'GetTask', { id: taskId });
    expect(status).toBe(503);
    expect(got.error?.data).toMatchObject({ code: 'guard_unavailable' });
    expect(got.result).toBeUndefined();
    const [, list] = await rpcGuardDown(slug, 'ListTasks', {});
    expect(list.result!.tasks).toEqual([]);
  });
});
