/**
 * A2A governance inside workerd, against a real agent built with the official `@a2a-js/sdk` server
 * (test/e2e/a2a.agent.ts, started by global-setup.ts and registered by its card URL):
 *
 *   access by team   an agent open to one team refuses every other caller with a JSON-RPC error
 *                    (and another organization's team id cannot be listed);
 *   detections       message parts are inspected both ways: a `block` rule refuses the request
 *                    before the agent sees it, `redact` masks what is forwarded and what comes back
 *                    (JSON and SSE), a `block` on the answer replaces it with a JSON-RPC error;
 *   task tracking    task ids and states from answers and SSE updates land in `a2a_tasks` off the
 *                    hot path, listed by the API with the messages' metadata (content only with
 *                    `logContent`), one `a2a_task` live event per change;
 *   scheduled refresh the cron re-reads the card and records a change once.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { runScheduled } from '../../workers/scheduled';
import { LEAKED } from '../e2e/a2a.agent';
import { SseFrameReader } from '../shared/sse.frames';
import {
  adminAuditRows,
  apiKeyIdOf,
  call,
  createApiKeyVia,
  createOrg,
  expectApiError,
  expectJson,
  flushAudit,
  hubEvents,
  putPolicy,
  type TestOrg,
} from './helpers';

const RUN = Date.now().toString(36);
const EMAIL = 'jane.doe@example.com';
const AWS_KEY = 'AKIAZ7Q4RXW2LM5PT3NB';

let org: TestOrg;

async function createAgent(slug: string, settings: Record<string, unknown> = {}, key = org.key) {
  const res = await call('POST', '/api/v1/connections', {
    key,
    body: {
      slug,
      name: slug,
      type: 'a2a',
      agentCardUrl: env.A2A_AGENT_URL,
      credential: env.A2A_AGENT_CREDENTIAL,
      settings,
    },
  });
  const body = await expectJson<{ id: string }>(res, 201);
  await putPolicy(slug, [{ tool: '*', action: 'allow' }], key);
  return body;
}

type RpcAnswer = {
  id: unknown;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data: { code: string; details?: Record<string, unknown> } };
};

function send(text: string, options: { stream?: boolean; skill?: string; messageId?: string } = {}) {
  return {
    jsonrpc: '2.0',
    id: 1,
    method: options.stream ? 'SendStreamingMessage' : 'SendMessage',
    params: {
      message: {
        messageId: options.messageId ?? `m-${crypto.randomUUID()}`,
        role: 'ROLE_USER',
        parts: [{ text }],
        metadata: { skillId: options.skill ?? 'echo', note: 'kept' },
      },
    },
  };
}

async function rpc(slug: string, body: unknown, key = org.key, trace?: string): Promise<RpcAnswer> {
  const res = await call('POST', `/v1/a2a/${slug}`, {
    key,
    body,
    headers: { 'A2A-Version': '1.0', ...(trace ? { 'X-Igris-Trace-Id': trace } : {}) },
  });
  return (await res.json()) as RpcAnswer;
}

/** The JSON data of each SSE event of a streaming call. */
async function stream(slug: string, body: unknown, trace?: string): Promise<RpcAnswer[]> {
  const res = await call('POST', `/v1/a2a/${slug}`, {
    key: org.key,
    body,
    headers: {
      Accept: 'text/event-stream',
      'A2A-Version': '1.0',
      ...(trace ? { 'X-Igris-Trace-Id': trace } : {}),
    },
  });
  expect(res.headers.get('Content-Type')).toMatch(/^text\/event-stream/);
  const frames = new SseFrameReader(res.body!.getReader());
  const out: RpcAnswer[] = [];
  for (;;) {
    const frame = await frames.frame(30_000).catch((err: Error) => {
      if (err.message === 'SSE stream ended') return null;
      throw err;
    });
    if (!frame) return out;
    if (frame.data !== null) out.push(JSON.parse(frame.data) as RpcAnswer);
  }
}

/** Waits for off-the-hot-path work (waitUntil) to have written what `read` looks for. */
async function eventually<T>(read: () => Promise<T | null | undefined>): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = await read();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('not written');
}

interface TaskDetail {
  taskId: string;
  state: string;
  skill: string | null;
  lastTraceId: string;
  events: { kind: string; state: string | null; detail: Record<string, unknown> | null }[];
}

async function taskOf(slug: string, taskId: string, until: (t: TaskDetail) => boolean = () => true) {
  return eventually(async () => {
    const res = await call('GET', `/api/v1/connections/${slug}/tasks/${taskId}`, { key: org.key });
    if (res.status !== 200) return null;
    const task = (await res.json()) as TaskDetail;
    return until(task) ? task : null;
  });
}

const taskIdOf = (answer: RpcAnswer) => (answer.result!.task as { id: string }).id;

beforeAll(async () => {
  org = await createOrg('owner');
});

describe('access by team', () => {
  it('an agent open to one team refuses other callers with a JSON-RPC error, audited as a deny', async () => {
    const team = await expectJson<{ id: string }>(
      await call('POST', '/api/v1/teams', { key: org.key, body: { name: `research-${RUN}` } }),
      201,
    );
    const insider = await createApiKeyVia(org.key, 'in the team', 'admin');
    await expectJson(
      await call('POST', `/api/v1/teams/${team.id}/members`, {
        key: org.key,
        body: { apiKeyId: await apiKeyIdOf(insider.key) },
      }),
      201,
    );
    await createAgent(`teams-${RUN}`, { allowedTeams: [team.id] });

    const refused = await rpc(`teams-${RUN}`, send('hello'), org.key, `a2a-team-out-${RUN}`);
    expect(refused.error).toMatchObject({ code: -32043, data: { code: 'connection_forbidden' } });
    const allowed = await rpc(`teams-${RUN}`, send('hello'), insider.key);
    expect(allowed.error).toBeUndefined();
    expect((allowed.result!.task as { status: { state: string } }).status.state).toBe('TASK_STATE_COMPLETED');

    await flushAudit();
    const row = await env.DB.prepare(
      'SELECT action, error_code, details FROM audit_events WHERE trace_id = ?',
    )
      .bind(`a2a-team-out-${RUN}`)
      .first<{ action: string; error_code: string; details: string }>();
    expect(row).toMatchObject({ action: 'deny', error_code: 'connection_forbidden' });
    expect(JSON.parse(row!.details)).toMatchObject({ reason: 'team_access' });
  });

  it('a team of another organization cannot be listed', async () => {
    const other = await createOrg('owner');
    const foreign = await expectJson<{ id: string }>(
      await call('POST', '/api/v1/teams', { key: other.key, body: { name: 'theirs' } }),
      201,
    );
    const res = await call('POST', '/api/v1/connections', {
      key: org.key,
      body: {
        slug: `teams-bad-${RUN}`,
        name: 'x',
        type: 'a2a',
        agentCardUrl: env.A2A_AGENT_URL,
        credential: 'x',
        settings: { allowedTeams: [foreign.id] },
      },
    });
    const err = await expectApiError(res, 400, 'validation_failed');
    expect(err.details?.issues?.[0]?.path).toBe('settings.allowedTeams.0');
  });
});

describe('skill ids', () => {
  it('one holding whitespace, control or invisible characters is refused before any decision; spellings of a denied skill are denied', async () => {
    const slug = `skills-${RUN}`;
    await createAgent(slug);
    await putPolicy(
      slug,
      [
        { tool: 'echo', action: 'deny', reason: 'no echo' },
        { tool: '*', action: 'allow' },
      ],
      org.key,
    );
    for (const [i, skill] of ['echo ', ' echo', 'echo\t', 'echo\u00a0', 'echo\n', 'ec\u200bho'].entries()) {
      const trace = `a2a-skill-hidden-${i}-${RUN}`;
      const refused = await rpc(slug, send('hello', { skill }), org.key, trace);
      expect(refused.error, JSON.stringify(skill)).toMatchObject({
        code: -32602,
        data: { code: 'validation_failed' },
      });
      expect(refused.result).toBeUndefined();
    }
    for (const skill of ['echo', 'Echo', 'ech\u043e']) {
      const denied = await rpc(slug, send('hello', { skill }));
      expect(denied.error, skill).toMatchObject({ code: -32046, data: { code: 'policy_denied' } });
    }
    const allowed = await rpc(slug, send('hello', { skill: 'summarise' }));
    expect(allowed.error).toBeUndefined();
  });
});

describe('detections on message parts', () => {
  const inspection = {
    packs: ['pii-default', 'secrets-default'],
    overrides: { rules: { 'secret.aws_access_key_id': 'block' } },
  };

  it('a block rule refuses the request before it is forwarded; redact masks what goes out', async () => {
    const slug = `insp-req-${RUN}`;
    await createAgent(slug, { inspection: { packs: ['pii-default', 'secrets-default'] } });
    await createAgent(`${slug}-block`, { inspection });
    const blocked = await rpc(`${slug}-block`, send(`my key is ${AWS_KEY}`), org.key, `a2a-block-${RUN}`);
    expect(blocked.error).toMatchObject({ code: -32014, data: { code: 'content_blocked' } });
    expect(JSON.stringify(blocked)).not.toContain(AWS_KEY);
    await flushAudit();
    const row = await env.DB.prepare('SELECT upstream_status, details FROM audit_events WHERE trace_id = ?')
      .bind(`a2a-block-${RUN}`)
      .first<{ upstream_status: number | null; details: string }>();
    expect(row?.upstream_status).toBeNull(); // never forwarded
    expect(row?.details).not.toContain(AWS_KEY);
    expect(JSON.parse(row!.details).findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          stage: 'inspection',
          detail: expect.objectContaining({
            ruleId: 'secret.aws_access_key_id',
            where: 'prompt',
            location: '$.params.message.parts[0].text',
          }),
        }),
      ]),
    );

    // The agent echoes what it received: the address went out as a placeholder.
    const masked = await rpc(slug, send(`write to ${EMAIL}`));
    const echoed = JSON.stringify(masked.result);
    expect(echoed).toContain('[EMAIL_1]');
    expect(echoed).not.toContain(EMAIL);
  });

  it('an answer is masked (JSON and SSE) or, for a block rule, replaced by a JSON-RPC error', async () => {
    const slug = `insp-res-${RUN}`;
    await createAgent(slug, { inspection: { packs: ['pii-default'] } });
    const json = await rpc(slug, send('leak please'));
    expect(json.error).toBeUndefined();
    const text = JSON.stringify(json.result);
    expect(text).not.toContain('leaked.person@example.com');
    expect(text).toContain('[EMAIL_1]');

    const events = await stream(slug, send('leak streamed', { stream: true }));
    const all = JSON.stringify(events);
    expect(all).toContain('[EMAIL_1]');
    expect(all).not.toContain('leaked.person@example.com');
    expect(events.at(-1)?.result).toBeDefined();

    await createAgent(`${slug}-block`, { inspection });
    const blocked = await rpc(`${slug}-block`, send('leak it'));
    expect(blocked.error).toMatchObject({ code: -32014, data: { code: 'content_blocked' } });
    expect(JSON.stringify(blocked)).not.toContain(LEAKED);
  });
});

describe('task tracking', () => {
  it('records a streamed task’s states and messages’ metadata, content only with logContent', async () => {
    const slug = `tasks-${RUN}`;
    await createAgent(slug);
    const events = await stream(
      slug,
      send('streamed', { stream: true, messageId: `msg-${RUN}` }),
      `a2a-t-${RUN}`,
    );
    const taskId = (events[0]!.result!.task as { id: string }).id;
    const task = await taskOf(slug, taskId, (t) => t.state === 'completed');
    expect(task).toMatchObject({ skill: 'echo', lastTraceId: `a2a-t-${RUN}` });
    expect(task.events.filter((e) => e.kind === 'state').map((e) => e.state)).toEqual([
      'submitted',
      'working',
      'completed',
    ]);
    const request = task.events.find((e) => e.kind === 'request');
    expect(request?.detail).toEqual({
      messageId: `msg-${RUN}`,
      role: 'user',
      parts: [{ kind: 'text', size: 'streamed'.length }],
      metadata: { skillId: 'echo', note: 'kept' },
    });
    expect(task.events.some((e) => e.kind === 'artifact')).toBe(true);
    expect(JSON.stringify(task)).not.toContain('echo: streamed'); // no content without logContent

    const list = await expectJson<{ tasks: { taskId: string; state: string }[] }>(
      await call('GET', `/api/v1/connections/${slug}/tasks?state=completed`, { key: org.key }),
      200,
    );
    expect(list.tasks.map((t) => t.taskId)).toContain(taskId);

    // The audit row of the call carries the same states, and one live event per change.
    await flushAudit();
    const row = await env.DB.prepare('SELECT details FROM audit_events WHERE trace_id = ?')
      .bind(`a2a-t-${RUN}`)
      .first<{ details: string }>();
    const states = (JSON.parse(row!.details).findings as { stage: string; detail: { state: string } }[])
      .filter((f) => f.stage === 'a2a_task')
      .map((f) => f.detail.state);
    expect(states).toEqual(['submitted', 'working', 'completed']);
  });

  it('a GetTask reading the same state again writes no new state and publishes nothing', async () => {
    const slug = `tasks-get-${RUN}`;
    await createAgent(slug);
    const sent = await rpc(slug, send('once'));
    const taskId = taskIdOf(sent);
    await taskOf(slug, taskId, (t) => t.state === 'completed');
    const published = async () =>
      (await hubEvents(org.orgId))
        .map((body) => JSON.parse(body) as { type: string; taskId?: string; state?: string })
        .filter((e) => e.type === 'a2a_task' && e.taskId === taskId);
    expect((await eventually(published)).map((e) => e.state)).toEqual(['completed']);

    const got = await rpc(
      slug,
      { jsonrpc: '2.0', id: 2, method: 'GetTask', params: { id: taskId } },
      org.key,
      `a2a-get-${RUN}`,
    );
    expect((got.result as { status: { state: string } }).status.state).toBe('TASK_STATE_COMPLETED');
    const after = await taskOf(slug, taskId, (t) => t.lastTraceId === `a2a-get-${RUN}`);
    expect(after.events.filter((e) => e.kind === 'state')).toHaveLength(1);
    expect((await published()).map((e) => e.state)).toEqual(['completed']);
  });

  it('keeps the parts’ content when the connection logs content', async () => {
    const slug = `tasks-content-${RUN}`;
    await createAgent(slug, { logContent: true });
    const taskId = taskIdOf(await rpc(slug, send('remember me')));
    const task = await taskOf(slug, taskId, (t) => t.events.some((e) => e.kind === 'artifact'));
    const request = task.events.find((e) => e.kind === 'request');
    expect(request?.detail).toMatchObject({ parts: [{ kind: 'text', content: 'remember me' }] });
    expect(JSON.stringify(task.events.filter((e) => e.kind === 'artifact'))).toContain('echo: remember me');
  });

  it('follows the organization’s audit retention', async () => {
    const slug = `tasks-old-${RUN}`;
    await createAgent(slug);
    const taskId = taskIdOf(await rpc(slug, send('old news')));
    await taskOf(slug, taskId, (t) => t.state === 'completed');
    const day = 86_400_000;
    await env.DB.batch([
      env.DB.prepare('UPDATE a2a_tasks SET updated_at = ? WHERE task_id = ?').bind(
        Date.now() - 100 * day,
        taskId,
      ),
      env.DB.prepare('UPDATE a2a_task_events SET created_at = ? WHERE task_id = ?').bind(
        Date.now() - 100 * day,
        taskId,
      ),
    ]);
    await runScheduled({ scheduledTime: Date.now() }, env);
    await expectApiError(
      await call('GET', `/api/v1/connections/${slug}/tasks/${taskId}`, { key: org.key }),
      404,
      'not_found',
    );
    const left = await env.DB.prepare('SELECT COUNT(*) AS n FROM a2a_task_events WHERE task_id = ?')
      .bind(taskId)
      .first<{ n: number }>();
    expect(left?.n).toBe(0);
  });

  it('another organization sees neither the tasks nor the task', async () => {
    const slug = `tasks-${RUN}`;
    const other = await createOrg('owner');
    await expectApiError(
      await call('GET', `/api/v1/connections/${slug}/tasks`, { key: other.key }),
      404,
      'not_found',
    );
    await expectApiError(
      await call('GET', `/api/v1/connections/${slug}/tasks/anything`, { key: org.key }),
      404,
      'not_found',
    );
  });
});

describe('scheduled AgentCard refresh', () => {
  it('re-reads a card older than its age limit and records a change once', async () => {
    const slug = `refresh-${RUN}`;
    const { id } = await createAgent(slug);
    const age = () =>
      env.DB.prepare('UPDATE a2a_agent_cards SET fetched_at = 0 WHERE connection_id = ?').bind(id).run();
    await age();
    await runScheduled({ scheduledTime: Date.now() }, env);
    expect(await adminAuditRows(org.orgId, 'connection.agent_card.changed')).toHaveLength(0);

    await fetch(`${env.A2A_AGENT_URL}/__control/description`, { method: 'POST', body: `changed ${RUN}` });
    try {
      await age();
      await runScheduled({ scheduledTime: Date.now() }, env);
      await age();
      await runScheduled({ scheduledTime: Date.now() }, env);
    } finally {
      await fetch(`${env.A2A_AGENT_URL}/__control/description`, {
        method: 'POST',
        body: 'An agent for the Igris Edge e2e tests',
      });
    }
    const rows = (await adminAuditRows(org.orgId, 'connection.agent_card.changed')).filter(
      (r) => r.connection_slug === slug,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor: 'system:a2a-refresh' });
    expect(rows[0]!.details).toMatchObject({ source: 'fetched', fields: ['description'] });
    const stored = await expectJson<{ card: { description: string } }>(
      await call('GET', `/api/v1/connections/${slug}/agent-card`, { key: org.key }),
      200,
    );
    expect(stored.card.description).toBe(`changed ${RUN}`);
    const changes = (await hubEvents(org.orgId))
      .map((body) => JSON.parse(body) as { type: string; change?: string; slug?: string })
      .filter((e) => e.type === 'connection_update' && e.change === 'agent_card_changed' && e.slug === slug);
    expect(changes).toHaveLength(1);
  });
});
