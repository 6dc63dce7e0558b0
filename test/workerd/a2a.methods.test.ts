/**
 * The A2A methods beyond send/get/cancel, forwarded and governed against the real agent built with
 * the official `@a2a-js/sdk` server (test/e2e/a2a.agent.ts, started by global-setup.ts):
 *
 *   resubscribe   `SubscribeToTask` (v0.3 `tasks/resubscribe`) re-attaches to a working task's
 *                 stream through the gateway and sees it end canceled; its row records the states;
 *   ListTasks     forwarded and governed by its method name;
 *   push configs  Create/Get/List/Delete TaskPushNotificationConfig reach the agent (real answers
 *                 from its config store), each audited with the task it is about (not the config
 *                 id) — and a method the policy does not allow is refused before it is forwarded;
 *   conditions    a skill rule conditioned on the caller's team, user or metadata decides as for
 *                 MCP tools;
 *   data parts    content inspection reads data parts both ways: a block rule refuses a data part
 *                 sent, redact masks a data part going out and one coming back.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { LEAKED_CONTACT } from '../e2e/a2a.agent';
import { SseFrameReader } from '../shared/sse.frames';
import {
  apiKeyIdOf,
  call,
  createApiKeyVia,
  createOrg,
  expectJson,
  flushAudit,
  putPolicy,
  type TestOrg,
} from './helpers';

const RUN = Date.now().toString(36);
let org: TestOrg;

type RpcAnswer = {
  id: unknown;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: { code: string } };
};

const HEADERS = { 'A2A-Version': '1.0' };

async function createAgent(slug: string, rules: unknown[]) {
  const res = await call('POST', '/api/v1/connections', {
    key: org.key,
    body: {
      slug,
      name: slug,
      type: 'a2a',
      agentCardUrl: env.A2A_AGENT_URL,
      credential: env.A2A_AGENT_CREDENTIAL,
    },
  });
  await expectJson(res, 201);
  await putPolicy(slug, rules, org.key);
}

async function rpc(slug: string, method: string, params: unknown, trace: string): Promise<RpcAnswer> {
  const res = await call('POST', `/v1/a2a/${slug}`, {
    key: org.key,
    body: { jsonrpc: '2.0', id: 1, method, params },
    headers: { ...HEADERS, 'X-Igris-Trace-Id': trace },
  });
  return (await res.json()) as RpcAnswer;
}

/** Opens a streaming call and hands back a reader of its JSON-RPC events. */
async function openStream(slug: string, method: string, params: unknown, trace: string) {
  const res = await call('POST', `/v1/a2a/${slug}`, {
    key: org.key,
    body: { jsonrpc: '2.0', id: 1, method, params },
    headers: { ...HEADERS, Accept: 'text/event-stream', 'X-Igris-Trace-Id': trace },
  });
  expect(res.headers.get('Content-Type')).toMatch(/^text\/event-stream/);
  const frames = new SseFrameReader(res.body!.getReader());
  return {
    async next(): Promise<RpcAnswer | null> {
      for (;;) {
        const frame = await frames.frame(30_000).catch((err: Error) => {
          if (err.message === 'SSE stream ended') return null;
          throw err;
        });
        if (!frame) return null;
        if (frame.data !== null) return JSON.parse(frame.data) as RpcAnswer;
      }
    },
    cancel: () => frames.cancel(),
  };
}

function message(text: string, skillId: string) {
  return {
    message: {
      messageId: `m-${crypto.randomUUID()}`,
      role: 'ROLE_USER',
      parts: [{ text }],
      metadata: { skillId },
    },
  };
}

interface Row {
  method: string;
  tool: string;
  action: string;
  error_code: string | null;
  upstream_status: number | null;
  details: { taskId?: string; a2aMethod?: string; findings?: { stage: string; detail: { state: string } }[] };
}

async function rowOf(trace: string): Promise<Row> {
  await flushAudit();
  const row = await env.DB.prepare(
    'SELECT method, tool, action, error_code, upstream_status, details FROM audit_events WHERE org_id = ? AND trace_id = ?',
  )
    .bind(org.orgId, trace)
    .first<Omit<Row, 'details'> & { details: string }>();
  expect(row, `no audit row for ${trace}`).not.toBeNull();
  return { ...row!, details: JSON.parse(row!.details) };
}

const statesOf = (answers: RpcAnswer[]) =>
  answers.map((a) => {
    const r = a.result ?? {};
    const inner = (r.task ?? r.statusUpdate) as { status?: { state?: string } } | undefined;
    return inner?.status?.state ?? null;
  });

beforeAll(async () => {
  org = await createOrg('owner');
});

describe('SubscribeToTask (tasks/resubscribe)', () => {
  it('re-attaches to a working task through the gateway and follows it to canceled', async () => {
    const slug = `resub-${RUN}`;
    await createAgent(slug, [
      { tool: 'slow', action: 'allow' },
      { tool: 'SubscribeToTask', action: 'allow' },
      { tool: 'CancelTask', action: 'allow' },
    ]);
    const first = await openStream(
      slug,
      'SendStreamingMessage',
      message('slow work', 'slow'),
      `rs-send-${RUN}`,
    );
    const opened = await first.next();
    const taskId = (opened!.result!.task as { id: string }).id;
    expect(taskId).toBeTruthy();

    // The method is forwarded as sent: this agent (SDK 1.x) speaks v1.0 names (the v0.3 spelling
    // is governed as the same name, next test).
    const resub = await openStream(slug, 'SubscribeToTask', { id: taskId }, `rs-sub-${RUN}`);
    const attached = await resub.next();
    expect(attached!.error).toBeUndefined();
    expect((attached!.result!.task as { id: string }).id).toBe(taskId);

    const canceled = await rpc(slug, 'CancelTask', { id: taskId }, `rs-cancel-${RUN}`);
    expect(canceled.error).toBeUndefined();
    const rest: RpcAnswer[] = [attached!];
    for (let event = await resub.next(); event; event = await resub.next()) rest.push(event);
    await first.cancel();
    expect(statesOf(rest).at(-1)).toBe('TASK_STATE_CANCELED');

    const row = await rowOf(`rs-sub-${RUN}`);
    expect(row).toMatchObject({ method: 'SubscribeToTask', tool: 'SubscribeToTask', action: 'allow' });
    expect(row.details.taskId).toBe(taskId);
    const states = (row.details.findings ?? [])
      .filter((f) => f.stage === 'a2a_task')
      .map((f) => f.detail.state);
    expect(states.at(-1)).toBe('canceled');
  });

  it('is refused before forwarding when the policy does not allow it, in either spelling', async () => {
    const slug = `resub-deny-${RUN}`;
    await createAgent(slug, [{ tool: 'echo', action: 'allow' }]);
    for (const method of ['SubscribeToTask', 'tasks/resubscribe']) {
      const trace = `rs-deny-${method.replace('/', '-')}-${RUN}`;
      const res = await call('POST', `/v1/a2a/${slug}`, {
        key: org.key,
        body: { jsonrpc: '2.0', id: 1, method, params: { id: 'task-x' } },
        headers: { ...HEADERS, Accept: 'text/event-stream', 'X-Igris-Trace-Id': trace },
      });
      const body = (await res.json()) as RpcAnswer;
      expect(body.error).toMatchObject({ code: -32046, data: { code: 'policy_denied' } });
      expect(await rowOf(trace)).toMatchObject({
        method,
        tool: 'SubscribeToTask',
        action: 'deny',
        upstream_status: null,
      });
    }
  });
});

describe('push-notification config methods', () => {
  it('are forwarded to the agent and audited with their task; a method not allowed is refused', async () => {
    const slug = `push-${RUN}`;
    // First match wins: Delete is denied, the other config methods allowed.
    await createAgent(slug, [
      { tool: 'echo', action: 'allow' },
      { tool: 'DeleteTaskPushNotificationConfig', action: 'deny', reason: 'configs stay' },
      { tool: '*PushNotificationConfig*', action: 'allow' },
    ]);
    const sent = await rpc(slug, 'SendMessage', message('hello', 'echo'), `push-send-${RUN}`);
    const taskId = (sent.result!.task as { id: string }).id;
    const config = { taskId, id: `cfg-${RUN}`, url: 'https://hooks.example.com/igris', token: 'tok' };

    const created = await rpc(slug, 'CreateTaskPushNotificationConfig', config, `push-create-${RUN}`);
    expect(created.error).toBeUndefined();
    expect(created.result).toMatchObject({ taskId, id: config.id, url: config.url });

    const got = await rpc(
      slug,
      'GetTaskPushNotificationConfig',
      { taskId, id: config.id },
      `push-get-${RUN}`,
    );
    expect(got.result).toMatchObject({ id: config.id, url: config.url });

    const listed = await rpc(slug, 'ListTaskPushNotificationConfigs', { taskId }, `push-list-${RUN}`);
    expect((listed.result!.configs as { id: string }[]).map((c) => c.id)).toEqual([config.id]);

    // Governed by method: the deny rule refuses Delete before the agent sees it — the config stays.
    const refused = await rpc(
      slug,
      'DeleteTaskPushNotificationConfig',
      { taskId, id: config.id },
      `push-delete-${RUN}`,
    );
    expect(refused.error).toMatchObject({ code: -32046, data: { code: 'policy_denied' } });
    const still = await rpc(slug, 'ListTaskPushNotificationConfigs', { taskId }, `push-list2-${RUN}`);
    expect((still.result!.configs as unknown[]).length).toBe(1);

    for (const [label, method] of [
      ['create', 'CreateTaskPushNotificationConfig'],
      ['get', 'GetTaskPushNotificationConfig'],
      ['list', 'ListTaskPushNotificationConfigs'],
    ] as const) {
      const row = await rowOf(`push-${label}-${RUN}`);
      expect(row).toMatchObject({ method, tool: method, action: 'allow', upstream_status: 200 });
      // The task, not the config id (v1.0's `id` of these methods names the config).
      expect(row.details.taskId).toBe(taskId);
    }
    expect(await rowOf(`push-delete-${RUN}`)).toMatchObject({
      tool: 'DeleteTaskPushNotificationConfig',
      action: 'deny',
      error_code: 'policy_denied',
      upstream_status: null,
    });

    // With Delete allowed, it reaches the agent and the config is gone.
    await putPolicy(slug, [{ tool: '*PushNotificationConfig*', action: 'allow' }], org.key);
    const deleted = await rpc(
      slug,
      'DeleteTaskPushNotificationConfig',
      { taskId, id: config.id },
      `push-delete2-${RUN}`,
    );
    expect(deleted.error).toBeUndefined();
    const empty = await rpc(slug, 'ListTaskPushNotificationConfigs', { taskId }, `push-list3-${RUN}`);
    expect(empty.result!.configs ?? []).toEqual([]);
  });
});

describe('ListTasks (tasks/list)', () => {
  it('is forwarded to the agent, governed by its method name', async () => {
    const slug = `list-${RUN}`;
    await createAgent(slug, [
      { tool: 'echo', action: 'allow' },
      { tool: 'ListTasks', action: 'allow' },
    ]);
    const sent = await rpc(slug, 'SendMessage', message('listed', 'echo'), `list-send-${RUN}`);
    const taskId = (sent.result!.task as { id: string }).id;
    const listed = await rpc(slug, 'ListTasks', {}, `list-${RUN}`);
    expect(listed.error).toBeUndefined();
    expect((listed.result!.tasks as { id: string }[]).map((t) => t.id)).toContain(taskId);
    expect(await rowOf(`list-${RUN}`)).toMatchObject({
      method: 'ListTasks',
      tool: 'ListTasks',
      action: 'allow',
    });
    await putPolicy(slug, [{ tool: 'echo', action: 'allow' }], org.key);
    const refused = await rpc(slug, 'tasks/list', {}, `list-deny-${RUN}`);
    expect(refused.error).toMatchObject({ code: -32046, data: { code: 'policy_denied' } });
  });
});

describe('conditions on identity and team', () => {
  it('a skill allowed for one team, one user or one metadata value only', async () => {
    const slug = `cond-${RUN}`;
    const teamName = `analysts-${RUN}`;
    const team = await expectJson<{ id: string }>(
      await call('POST', '/api/v1/teams', { key: org.key, body: { name: teamName } }),
      201,
    );
    const analyst = await createApiKeyVia(org.key, 'analyst', 'admin');
    await expectJson(
      await call('POST', `/api/v1/teams/${team.id}/members`, {
        key: org.key,
        body: { apiKeyId: await apiKeyIdOf(analyst.key) },
      }),
      201,
    );
    await createAgent(slug, [
      { tool: 'echo', action: 'allow', conditions: { team: teamName } },
      { tool: 'echo', action: 'allow', conditions: { user: 'alice' } },
      { tool: 'echo', action: 'allow', conditions: { 'metadata.env': 'staging' } },
      { tool: '*', action: 'deny', reason: 'not for you' },
    ]);
    const send = async (key: string, headers: Record<string, string> = {}) => {
      const res = await call('POST', `/v1/a2a/${slug}`, {
        key,
        body: { jsonrpc: '2.0', id: 1, method: 'SendMessage', params: message('hi', 'echo') },
        headers: { ...HEADERS, ...headers },
      });
      return (await res.json()) as RpcAnswer;
    };
    // The owner key is in no team, names no user and sends no metadata: denied.
    expect((await send(org.key)).error).toMatchObject({ code: -32046, data: { code: 'policy_denied' } });
    // The team's key, by team name.
    expect((await send(analyst.key)).error).toBeUndefined();
    expect((await send(org.key, { 'X-Igris-User': 'alice' })).error).toBeUndefined();
    expect((await send(org.key, { 'X-Igris-Metadata': '{"env":"staging"}' })).error).toBeUndefined();
    expect((await send(org.key, { 'X-Igris-Metadata': '{"env":"prod"}' })).error).toMatchObject({
      code: -32046,
    });
  });
});

describe('detections on data parts, both ways', () => {
  const EMAIL = 'jane.doe@example.com';
  const AWS_KEY = 'AKIAZ7Q4RXW2LM5PT3NB';
  const sendData = (slug: string, data: Record<string, unknown>, trace: string) =>
    rpc(
      slug,
      'SendMessage',
      {
        message: {
          messageId: `m-${crypto.randomUUID()}`,
          role: 'ROLE_USER',
          parts: [{ data }],
          metadata: { skillId: 'echo' },
        },
      },
      trace,
    );
  const answerData = (answer: RpcAnswer) => {
    const task = answer.result!.task as { artifacts: { parts: { data?: Record<string, unknown> }[] }[] };
    return task.artifacts[0]!.parts[0]!.data as { received: { email: string }; leaked: { contact: string } };
  };
  async function agentWith(slug: string, inspection: Record<string, unknown>) {
    const res = await call('POST', '/api/v1/connections', {
      key: org.key,
      body: {
        slug,
        name: slug,
        type: 'a2a',
        agentCardUrl: env.A2A_AGENT_URL,
        credential: env.A2A_AGENT_CREDENTIAL,
        settings: { inspection },
      },
    });
    await expectJson(res, 201);
    await putPolicy(slug, [{ tool: '*', action: 'allow' }], org.key);
  }

  it('a block rule refuses a data part sent, before the agent sees it', async () => {
    const slug = `data-block-${RUN}`;
    await agentWith(slug, {
      packs: ['secrets-default'],
      overrides: { rules: { 'secret.aws_access_key_id': 'block' } },
    });
    const answer = await sendData(slug, { note: `key ${AWS_KEY}` }, `data-block-${RUN}`);
    expect(answer.error).toMatchObject({ code: -32014, data: { code: 'content_blocked' } });
    const row = await rowOf(`data-block-${RUN}`);
    expect(row.upstream_status).toBeNull();
    expect(JSON.stringify(row.details)).toContain('$.params.message.parts[0].data');
    expect(JSON.stringify(row.details)).not.toContain(AWS_KEY);
  });

  it('redact masks a data part going out, and (redactResults) one coming back', async () => {
    // Results not masked: what the agent echoes shows what it received — the placeholder.
    const out = `data-out-${RUN}`;
    await agentWith(out, { packs: ['pii-default'], redactResults: false });
    const sent = answerData(await sendData(out, { email: EMAIL }, `data-out-${RUN}`));
    expect(sent.received.email).toBe('[EMAIL_1]');
    expect(sent.leaked.contact).toBe(LEAKED_CONTACT);

    // Results masked: the agent's own address in its data part reaches the caller masked.
    const back = `data-back-${RUN}`;
    await agentWith(back, { packs: ['pii-default'] });
    const answer = await sendData(back, { email: EMAIL }, `data-back-${RUN}`);
    expect(JSON.stringify(answer)).not.toContain(LEAKED_CONTACT);
    expect(JSON.stringify(answer)).not.toContain(EMAIL);
    expect(answerData(answer).leaked.contact).toMatch(/^\[EMAIL_\d+\]$/);
  });
});
