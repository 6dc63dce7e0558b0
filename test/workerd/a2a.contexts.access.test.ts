/**
 * Who may continue an A2A context through the gateway (docs/a2a.md#who-may-continue-a-context),
 * against the real agent built with the official `@a2a-js/sdk` server (test/e2e/a2a.agent.ts),
 * which keeps memory per context: a text starting with `recall` is answered with what the context
 * received before, and `/__control/contexts/<id>` tells what reached it. Every caller of a
 * connection reaches the agent with the one stored credential, so only the gateway keeps their
 * conversations apart:
 *
 *   another caller       a send naming a context first used by another key, or another user of
 *                        the same key, is refused before it is forwarded — JSON-RPC -32021,
 *                        `context_not_found` — in every spelling (v1.0 and v0.3 methods, JSON or
 *                        streaming, `contextId` or `context_id`), audited as `deny`; the SDK
 *                        client raises it; the agent's memory of the context is untouched;
 *   its first user       continues it, and the agent remembers;
 *   a client-minted id   is forwarded, and then belongs to its first user;
 *   a task and context   one's own task inside another's context is refused; another's task is
 *                        refused by the task check, whatever the context;
 *   guard unreachable    on a fail-open connection a send naming a context is refused (503).
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
const SECRET = `secret plan of alice ${RUN}`;
const SLUG = `ctx-agent-${RUN}`;

let org: TestOrg;
/** Another admin key of the same organization. */
let otherKey: string;

type RpcAnswer = {
  id: unknown;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: { code: string; traceId?: string } };
};

interface Caller {
  key: string;
  user?: string;
}

async function registerAgent(of: TestOrg) {
  const res = await call('POST', '/api/v1/connections', {
    key: of.key,
    body: {
      slug: SLUG,
      name: 'Agent with memory',
      type: 'a2a',
      agentCardUrl: env.A2A_AGENT_URL,
      credential: env.A2A_AGENT_CREDENTIAL,
    },
  });
  await expectJson(res, 201);
  await putPolicy(SLUG, [{ tool: '*', action: 'allow' }], of.key);
}

async function rpc(caller: Caller, method: string, params: unknown, trace?: string): Promise<RpcAnswer> {
  const res = await call('POST', `/v1/a2a/${SLUG}`, {
    key: caller.key,
    body: { jsonrpc: '2.0', id: 1, method, params },
    headers: {
      'A2A-Version': '1.0',
      ...(trace ? { 'X-Igris-Trace-Id': trace } : {}),
      ...(caller.user ? { 'X-Igris-User': caller.user } : {}),
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
      metadata: { skillId: 'echo' },
      ...extra,
    },
  };
}

/** A send's task: its id, its context, and the agent's answer text. */
async function send(caller: Caller, text: string, extra: Record<string, unknown> = {}) {
  const answer = await rpc(caller, 'SendMessage', message(text, extra));
  expect(answer.error).toBeUndefined();
  const task = answer.result!.task as { id: string; contextId: string };
  return { taskId: task.id, contextId: task.contextId, text: JSON.stringify(answer.result) };
}

/** What the agent's memory holds for a context (every text that reached it). */
async function agentMemory(contextId: string): Promise<string[]> {
  const res = await fetch(`${env.A2A_AGENT_URL}/__control/contexts/${encodeURIComponent(contextId)}`);
  return ((await res.json()) as { texts: string[] }).texts;
}

function refusalOf(answer: RpcAnswer) {
  expect(answer.result).toBeUndefined();
  const { traceId: _, ...data } = answer.error?.data ?? { code: 'none' };
  return { code: answer.error?.code, message: answer.error?.message, data };
}

const CONTEXT_NOT_FOUND = { code: -32021, message: 'Context not found', data: { code: 'context_not_found' } };
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

const alice: () => Caller = () => ({ key: org.key, user: 'alice' });

beforeAll(async () => {
  org = await createOrg('owner');
  otherKey = (await createApiKeyVia(org.key, 'other caller', 'admin')).key;
  await registerAgent(org);
});

describe('another caller of the same connection', () => {
  it('cannot continue a context, in any spelling; nothing reaches the agent; its first user can', async () => {
    const { contextId } = await send(alice(), SECRET);
    expect(await agentMemory(contextId)).toEqual([SECRET]);

    const intruders: Caller[] = [
      { key: otherKey },
      { key: otherKey, user: 'alice' },
      { key: org.key, user: 'bob' },
      { key: org.key },
    ];
    for (const intruder of intruders) {
      const answer = await rpc(intruder, 'SendMessage', message('recall', { contextId }));
      expect(refusalOf(answer), JSON.stringify(intruder)).toEqual(CONTEXT_NOT_FOUND);
      expect(JSON.stringify(answer)).not.toContain(SECRET);
    }
    const bob: Caller = { key: otherKey };
    for (const [method, params] of [
      ['message/send', message('recall', { contextId })],
      ['SendStreamingMessage', message('recall', { contextId })],
      ['message/stream', message('recall', { contextId })],
      // The proto field name, which protobuf JSON parsers (the SDK's) read as well.
      ['SendMessage', message('recall', { context_id: contextId })],
      ['SendMessage', message('recall', { contextId: '', context_id: contextId })],
    ] as const) {
      expect(refusalOf(await rpc(bob, method, params)), method).toEqual(CONTEXT_NOT_FOUND);
    }
    // A value the gateway could not record is refused as invalid (agents coerce ["x"] to "x").
    const coerced = await rpc(bob, 'SendMessage', message('recall', { contextId: [contextId] }));
    expect(coerced.error?.data).toMatchObject({ code: 'validation_failed' });

    // The SDK client raises the refusal.
    const client = await sdkClient(otherKey);
    const err = await client
      .sendMessage({
        message: {
          messageId: `m-${crypto.randomUUID()}`,
          contextId,
          role: 1,
          parts: [{ content: { $case: 'text', value: 'recall' } }],
          metadata: { skillId: 'echo' },
        },
      } as never)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JsonRpcTransportError);
    expect((err as JsonRpcTransportError).envelopeCode).toBe(-32021);
    expect((err as JsonRpcTransportError).data).toMatchObject({ code: 'context_not_found' });

    // Nothing of the refused sends reached the agent's memory of the context.
    expect(await agentMemory(contextId)).toEqual([SECRET]);

    // Its first user continues it, and the agent remembers (what the refused callers would have read).
    const followUp = await send(alice(), 'recall', { contextId });
    expect(followUp.contextId).toBe(contextId);
    expect(followUp.text).toContain(SECRET);
  });

  it('is refused before forwarding and audited as a deny naming the context', async () => {
    const { contextId } = await send(alice(), SECRET);
    const trace = `ctx-deny-${RUN}`;
    refusalOf(await rpc({ key: otherKey }, 'SendMessage', message('recall', { contextId }), trace));
    const row = await rowOf(org.orgId, trace);
    expect(row).toMatchObject({ action: 'deny', error_code: 'context_not_found', upstream_status: null });
    expect(row.details).toMatchObject({ contextId, reason: 'context_access', a2aMethod: 'SendMessage' });
    expect(JSON.stringify(row)).not.toContain(SECRET);

    // The admitted send's row carries the context the agent reported.
    const sentTrace = `ctx-sent-${RUN}`;
    await rpc(alice(), 'SendMessage', message('hello again', { contextId }), sentTrace);
    const sent = await rowOf(org.orgId, sentTrace);
    expect(sent.details.findings).toEqual(
      expect.arrayContaining([
        { stage: 'a2a_context', kind: 'context_id', severity: 'info', detail: { contextId } },
      ]),
    );
  });

  it('a context first reported in a streamed answer belongs to its caller too', async () => {
    const res = await call('POST', `/v1/a2a/${SLUG}`, {
      key: org.key,
      body: { jsonrpc: '2.0', id: 1, method: 'SendStreamingMessage', params: message(SECRET) },
      headers: { 'A2A-Version': '1.0', Accept: 'text/event-stream', 'X-Igris-User': 'alice' },
    });
    const frames = new SseFrameReader(res.body!.getReader());
    const first = JSON.parse((await frames.frame(30_000)).data!) as RpcAnswer;
    const contextId = (first.result!.task as { contextId: string }).contextId;
    while ((await frames.frame(10_000).catch(() => null))?.data) {
      // drain: the echo task completes and the stream ends
    }
    expect(refusalOf(await rpc({ key: otherKey }, 'SendMessage', message('recall', { contextId })))).toEqual(
      CONTEXT_NOT_FOUND,
    );
    expect((await send(alice(), 'recall', { contextId })).text).toContain(SECRET);
  });
});

describe('a context id the client mints', () => {
  it('is forwarded, and then belongs to its first user', async () => {
    const minted = `client-ctx-${crypto.randomUUID()}`;
    const first = await send(alice(), SECRET, { contextId: minted });
    expect(first.contextId).toBe(minted);
    expect(await agentMemory(minted)).toEqual([SECRET]);

    expect(
      refusalOf(await rpc({ key: otherKey }, 'SendMessage', message('recall', { contextId: minted }))),
    ).toEqual(CONTEXT_NOT_FOUND);
    expect((await send(alice(), 'recall', { contextId: minted })).text).toContain(SECRET);

    // Another caller's own fresh id works for it, and is then refused to alice.
    const theirs = `client-ctx-${crypto.randomUUID()}`;
    await send({ key: otherKey }, 'mine', { contextId: theirs });
    expect(refusalOf(await rpc(alice(), 'SendMessage', message('recall', { contextId: theirs })))).toEqual(
      CONTEXT_NOT_FOUND,
    );
  });
});

describe('a follow-up naming a task and a context', () => {
  it('one’s own task in another’s context is refused; another’s task is refused by the task check', async () => {
    const ofAlice = await send(alice(), SECRET);
    const ofOther = await send({ key: otherKey }, 'other work');
    const other: Caller = { key: otherKey };

    const mixed = await rpc(
      other,
      'SendMessage',
      message('recall', { taskId: ofOther.taskId, contextId: ofAlice.contextId }),
    );
    expect(refusalOf(mixed)).toEqual(CONTEXT_NOT_FOUND);
    expect(refusalOf(await rpc(other, 'SendMessage', message('recall', { taskId: ofAlice.taskId })))).toEqual(
      TASK_NOT_FOUND,
    );
    expect(
      refusalOf(
        await rpc(
          other,
          'SendMessage',
          message('recall', { taskId: ofAlice.taskId, contextId: ofOther.contextId }),
        ),
      ),
    ).toEqual(TASK_NOT_FOUND);
    expect(await agentMemory(ofAlice.contextId)).toEqual([SECRET]);
  });
});

describe('a task named by its proto field name', () => {
  it('`task_id` and `reference_task_ids` are checked like `taskId`: no continuing, referencing or config reading', async () => {
    const ofAlice = await send(alice(), SECRET);
    const ofOther = await send({ key: otherKey }, 'other work');
    const other: Caller = { key: otherKey };
    const hook = `https://hooks.example.com/alice-${RUN}`;
    const config = { taskId: ofAlice.taskId, id: `cfg-${RUN}`, url: hook, token: 'alice-token' };
    expect((await rpc(alice(), 'CreateTaskPushNotificationConfig', config)).error).toBeUndefined();

    for (const params of [
      message('recall', { task_id: ofAlice.taskId }),
      message('recall', { reference_task_ids: [ofAlice.taskId] }),
    ]) {
      expect(refusalOf(await rpc(other, 'SendMessage', params)), JSON.stringify(params)).toEqual(
        TASK_NOT_FOUND,
      );
    }
    // Its own task in the resource name, alice's in `task_id` (which the agent reads).
    const read = await rpc(other, 'GetTaskPushNotificationConfig', {
      name: `tasks/${ofOther.taskId}/pushNotificationConfigs/${config.id}`,
      task_id: ofAlice.taskId,
      id: config.id,
    });
    expect(JSON.stringify(read)).not.toContain(hook);
    expect(refusalOf(read)).toEqual(TASK_NOT_FOUND);
    expect(await agentMemory(ofAlice.contextId)).toEqual([SECRET]);
  });
});

describe('the guard unreachable, on a fail-open connection', () => {
  const down = () => Promise.reject(new Error('guard unreachable'));
  const unreachable = {
    idFromName: (name: string) => env.GUARD.idFromName(name),
    get: () => ({ admit: down, complete: down, completeMany: down, watchKill: down, unwatch: down }),
  } as unknown as Env['GUARD'];

  async function sendGuardDown(slug: string, params: unknown): Promise<[number, RpcAnswer]> {
    const request = new Request(`${BASE}/v1/a2a/${slug}`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${org.key}`,
        'Content-Type': 'application/json',
        'A2A-Version': '1.0',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params }),
    });
    const ctx = createExecutionContext();
    const res = await worker.fetch(request, { ...env, GUARD: unreachable }, ctx);
    const body = (await res.json()) as RpcAnswer;
    await waitOnExecutionContext(ctx);
    return [res.status, body];
  }

  it('a send naming no context passes; one naming a context is refused, never forwarded', async () => {
    const slug = `ctx-open-${RUN}`;
    await expectJson(
      await call('POST', '/api/v1/connections', {
        key: org.key,
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
    await putPolicy(slug, [{ tool: '*', action: 'allow' }], org.key);
    const [sentStatus, sent] = await sendGuardDown(slug, message(SECRET));
    expect(sentStatus).toBe(200);
    const contextId = (sent.result!.task as { contextId: string }).contextId;
    const [status, again] = await sendGuardDown(slug, message('recall', { contextId }));
    expect(status).toBe(503);
    expect(again.error?.data).toMatchObject({ code: 'guard_unavailable' });
    expect(JSON.stringify(again)).not.toContain(SECRET);
    expect(await agentMemory(contextId)).toEqual([SECRET]);
  });
});
