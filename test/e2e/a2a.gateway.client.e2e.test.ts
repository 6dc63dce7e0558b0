/**
 * The A2A gateway end to end, the SDK client: pointed at the gateway's rewritten card with an Igris
 * key only, it sends, streams, reads and cancels tasks through the local runtime. Governance as for
 * MCP: a denied skill, an unknown method, a rate limit and a kill switch pulled mid-stream are
 * JSON-RPC errors the SDK raises; audit rows record the method, the skill and the task states;
 * another organization's agent is 404; neither credential crosses over. Set-up in
 * a2a.gateway.fixtures.ts.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { JsonRpcTransportError } from '@a2a-js/sdk/errors';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ROOT } from '../../scripts/local-stack.ts';
import { AGENT_REPLY, LEAKED } from './a2a.agent.ts';
import {
  AGENT_CREDENTIAL,
  type AuditRow,
  agent,
  client,
  POLICY,
  RUN,
  SLUG,
  setPolicy,
  setUpA2aGateway,
} from './a2a.gateway.fixtures.ts';
import { adminKey, api, gatewayUrl, waitForAudit } from './helpers';

const execFileAsync = promisify(execFile);

function userMessage(text: string, skillId?: string) {
  return {
    message: {
      messageId: randomBytes(8).toString('hex'),
      role: 1,
      parts: [{ content: { $case: 'text', value: text } }],
      ...(skillId ? { metadata: { skillId } } : {}),
    },
  } as never;
}

const traced = (label: string) => {
  const trace = `a2a-${label}-${RUN}`;
  return { trace, options: { serviceParameters: { 'X-Igris-Trace-Id': trace } } as never };
};

async function rowOf(trace: string, predicate: (row: AuditRow) => boolean = () => true): Promise<AuditRow> {
  const rows = await waitForAudit<AuditRow>(`traceId=${encodeURIComponent(trace)}`, (r) => r.some(predicate));
  return rows.find(predicate)!;
}

/** Waits for what the gateway writes off the hot path (task tracking) to be readable. */
async function eventually<T>(read: () => Promise<T | null>): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = await read();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('not written in time');
}

const statesOf = (row: AuditRow) =>
  (row.details.findings ?? []).filter((f) => f.stage === 'a2a_task').map((f) => f.detail.state);

/** Everything the agent received, as text: the caller's ig_ key must be in none of it. */
const agentSaw = () => JSON.stringify(agent.requests);

/**
 * An organization with an owner and an API key, inserted straight into the local D1. Run without
 * blocking the event loop: while a synchronous child ran for seconds, the gateway could close an
 * idle keep-alive socket unnoticed, and the next fetch failed on it ("other side closed").
 */
async function createOrgInD1(): Promise<string> {
  const id = (prefix: string) => `${prefix}_a2a${randomBytes(8).toString('hex')}`;
  const orgId = id('org');
  const userId = id('usr');
  const key = `ig_${randomBytes(32).toString('base64url')}`;
  const hash = createHash('sha256').update(key).digest('hex');
  const sql = [
    `INSERT INTO organizations (id, slug, name) VALUES ('${orgId}', 'a2a-${RUN}', 'A2A ${RUN}')`,
    `INSERT INTO users (id, email) VALUES ('${userId}', '${userId}@e2e.local')`,
    `INSERT INTO members (id, org_id, user_id, role) VALUES ('${id('mem')}', '${orgId}', '${userId}', 'owner')`,
    `INSERT INTO api_keys (id, org_id, created_by, name, role, prefix, hash) VALUES ('${id('key')}', '${orgId}', '${userId}', 'e2e', 'owner', '${key.slice(0, 10)}', '${hash}')`,
  ].join('; ');
  await execFileAsync(
    path.join(ROOT, 'node_modules', '.bin', 'wrangler'),
    ['d1', 'execute', 'DB', '--local', '--persist-to', inject('persistTo'), '--command', sql],
    { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' }, encoding: 'utf8' },
  ).catch((err: { stdout?: string; stderr?: string }) => {
    throw new Error(`wrangler d1 execute failed:\n${err.stdout}\n${err.stderr}`);
  });
  return key;
}

beforeAll(setUpA2aGateway);

afterAll(() => agent?.close());

describe('A2A SDK client through the gateway', () => {
  it('sends a message: the task completes, the agent gets its credential and never the ig_ key', async () => {
    const { trace, options } = traced('send');
    const before = agent.requests.length;
    const result = (await client.sendMessage(userMessage('hello', 'echo'), options)) as {
      id: string;
      status: { state: number };
      artifacts: { parts: { content: { value: string } }[] }[];
    };
    expect(result.status.state).toBe(3); // TASK_STATE_COMPLETED
    expect(result.artifacts[0]?.parts[0]?.content.value).toBe(`${AGENT_REPLY}hello`);
    const seen = agent.requests.slice(before).filter((r) => r.path === '/a2a');
    expect(seen.at(-1)?.headers.authorization).toBe(`Bearer ${AGENT_CREDENTIAL}`);
    expect(agentSaw()).not.toContain(adminKey());
    const row = await rowOf(trace, (r) => r.upstreamStatus !== null);
    expect(row).toMatchObject({ type: 'a2a_call', action: 'allow', method: 'SendMessage', tool: 'echo' });
    expect(statesOf(row)).toEqual(['completed']);
    expect(JSON.stringify(row)).not.toContain(AGENT_CREDENTIAL);

    const { trace: getTrace, options: getOptions } = traced('get');
    const task = (await client.getTask({ id: result.id } as never, getOptions)) as {
      status: { state: number };
    };
    expect(task.status.state).toBe(3);
    expect(await rowOf(getTrace)).toMatchObject({ type: 'a2a_call', method: 'GetTask', tool: 'GetTask' });
  });

  it('streams a task to completion, and the row records each state', async () => {
    const { trace, options } = traced('stream');
    const kinds: string[] = [];
    let text = '';
    for await (const event of client.sendMessageStream(userMessage('streamed', 'echo'), options)) {
      const payload = (event as unknown as { payload: { $case: string; value: Record<string, unknown> } })
        .payload;
      kinds.push(payload.$case);
      if (payload.$case === 'artifactUpdate') {
        text = (payload.value.artifact as { parts: { content: { value: string } }[] }).parts[0]!.content
          .value;
      }
    }
    expect(kinds).toEqual(['task', 'statusUpdate', 'artifactUpdate', 'statusUpdate']);
    expect(text).toBe(`${AGENT_REPLY}streamed`);
    const row = await rowOf(trace, (r) => statesOf(r).includes('completed'));
    expect(row).toMatchObject({ method: 'SendStreamingMessage', tool: 'echo' });
    expect(statesOf(row)).toEqual(['submitted', 'working', 'completed']);
  });

  it('cancels a working task', async () => {
    const stream = client.sendMessageStream(userMessage('slow work', 'slow'));
    const first = await stream.next();
    const taskId = (first.value as { payload: { value: { id: string } } }).payload.value.id;
    const { trace, options } = traced('cancel');
    await client.cancelTask({ id: taskId } as never, options);
    for await (const _ of stream) {
      // drain: the agent publishes the canceled state and ends the stream
    }
    expect(agent.canceled.has(taskId)).toBe(true);
    expect(await rowOf(trace)).toMatchObject({ method: 'CancelTask', action: 'allow' });
  });

  it('refuses a skill the policy does not allow, before the agent sees it', async () => {
    const { trace, options } = traced('deny');
    const before = agent.requests.length;
    const err = await client
      .sendMessage(userMessage('reset all', 'admin.reset'), options)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JsonRpcTransportError);
    expect((err as JsonRpcTransportError).envelopeCode).toBe(-32046);
    expect((err as JsonRpcTransportError).data).toMatchObject({ code: 'policy_denied' });
    expect(agent.requests.length).toBe(before);
    expect(await rowOf(trace)).toMatchObject({
      action: 'deny',
      tool: 'admin.reset',
      errorCode: 'policy_denied',
    });
  });

  it('refuses a method the gateway does not forward', async () => {
    const res = await fetch(`${gatewayUrl()}/v1/a2a/${SLUG}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${adminKey()}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'GetExtendedAgentCard', params: {} }),
    });
    expect(await res.json()).toMatchObject({ id: 7, error: { code: -32601 } });
  });

  it('a rate limit answers a JSON-RPC error the SDK raises', async () => {
    await setPolicy([
      { tool: 'echo', action: 'allow', rateLimit: { limit: 2, windowSeconds: 60, by: 'apiKey' } },
    ]);
    try {
      await client.sendMessage(userMessage('one', 'echo'));
      await client.sendMessage(userMessage('two', 'echo'));
      const err = await client.sendMessage(userMessage('three', 'echo')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(JsonRpcTransportError);
      expect((err as JsonRpcTransportError).data).toMatchObject({ code: 'rate_limited' });
    } finally {
      await setPolicy(POLICY);
    }
  });

  it('a kill switch pulled mid-stream ends the task stream with an error the SDK raises', async () => {
    const { trace, options } = traced('kill');
    const stream = client.sendMessageStream(userMessage('slow and killed', 'slow'), options);
    await stream.next(); // the task exists and is working
    const kill = await api<{ id: string }>('POST', '/kill-switch', {
      scope: 'connection',
      target: SLUG,
      reason: `a2a e2e ${RUN}`,
    });
    expect(kill.status).toBe(201);
    try {
      const err = await (async () => {
        for await (const _ of stream) {
          // drain until the gateway ends the stream
        }
      })().catch((e: unknown) => e);
      // The SDK raises an error event of a stream as an Error carrying the JSON-RPC error's message.
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toContain('Session Suspended');
      const refused = await client.sendMessage(userMessage('after', 'echo')).catch((e: unknown) => e);
      expect((refused as JsonRpcTransportError).data).toMatchObject({ code: 'session_suspended' });
    } finally {
      await api('DELETE', `/kill-switch/${kill.body.id}`);
    }
    expect(await rowOf(trace)).toMatchObject({ method: 'SendStreamingMessage', tool: 'slow' });
  });

  it('tracks the streamed task: its states and messages are listed by the tasks API', async () => {
    const { trace, options } = traced('tracked');
    let taskId = '';
    for await (const event of client.sendMessageStream(userMessage('tracked', 'echo'), options)) {
      const payload = (event as unknown as { payload: { $case: string; value: { id?: string } } }).payload;
      if (payload.$case === 'task') taskId = payload.value.id!;
    }
    expect(taskId).not.toBe('');
    const task = await eventually(async () => {
      const res = await api<{
        state: string;
        lastTraceId: string;
        events: { kind: string; state: string | null; detail: Record<string, unknown> | null }[];
      }>('GET', `/connections/${SLUG}/tasks/${encodeURIComponent(taskId)}`);
      return res.status === 200 && res.body.state === 'completed' ? res.body : null;
    });
    expect(task.lastTraceId).toBe(trace);
    expect(task.events.filter((e) => e.kind === 'state').map((e) => e.state)).toEqual([
      'submitted',
      'working',
      'completed',
    ]);
    expect(task.events.find((e) => e.kind === 'request')?.detail).toMatchObject({
      role: 'user',
      parts: [{ kind: 'text', size: 'tracked'.length }],
      metadata: { skillId: 'echo' },
    });
    // Content is not kept unless the connection logs content.
    expect(JSON.stringify(task)).not.toContain(`${AGENT_REPLY}tracked`);
    const list = await api<{ tasks: { taskId: string }[] }>('GET', `/connections/${SLUG}/tasks`);
    expect(list.body.tasks.map((t) => t.taskId)).toContain(taskId);
  });

  it('an agent open to another team only refuses this caller with a JSON-RPC error the SDK raises', async () => {
    const team = await api<{ id: string }>('POST', '/teams', { name: `a2a-only-${RUN}` });
    expect(team.status).toBe(201);
    const set = await api('PATCH', `/connections/${SLUG}`, { settings: { allowedTeams: [team.body.id] } });
    expect(set.status).toBe(200);
    try {
      const before = agent.requests.length;
      const err = await client.sendMessage(userMessage('not my team', 'echo')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(JsonRpcTransportError);
      expect((err as JsonRpcTransportError).envelopeCode).toBe(-32043);
      expect((err as JsonRpcTransportError).data).toMatchObject({ code: 'connection_forbidden' });
      expect(agent.requests.length).toBe(before);
    } finally {
      await api('PATCH', `/connections/${SLUG}`, { settings: { allowedTeams: [] } });
    }
  });

  it('a detection on a message part blocks the send with a JSON-RPC error the SDK raises', async () => {
    const set = await api('PATCH', `/connections/${SLUG}`, {
      settings: {
        inspection: {
          packs: ['secrets-default'],
          overrides: { rules: { 'secret.aws_access_key_id': 'block' } },
        },
      },
    });
    expect(set.status).toBe(200);
    try {
      const before = agent.requests.length;
      const err = await client
        .sendMessage(userMessage('my key is AKIAZ7Q4RXW2LM5PT3NB', 'echo'))
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(JsonRpcTransportError);
      expect((err as JsonRpcTransportError).data).toMatchObject({ code: 'content_blocked' });
      expect(agent.requests.length).toBe(before);
    } finally {
      await api('PATCH', `/connections/${SLUG}`, { settings: { inspection: { packs: [] } } });
    }
  });

  it('what the agent streams back is inspected too: an address in its answer reaches the SDK masked', async () => {
    const set = await api('PATCH', `/connections/${SLUG}`, {
      settings: { inspection: { packs: ['pii-default'] } },
    });
    expect(set.status).toBe(200);
    try {
      let text = '';
      for await (const event of client.sendMessageStream(userMessage('leak it', 'echo'))) {
        const payload = (event as unknown as { payload: { $case: string; value: Record<string, unknown> } })
          .payload;
        if (payload.$case === 'artifactUpdate') {
          text = (payload.value.artifact as { parts: { content: { value: string } }[] }).parts[0]!.content
            .value;
        }
      }
      expect(LEAKED).toContain('leaked.person@example.com');
      expect(text).toBe(`${AGENT_REPLY}${LEAKED.replace('leaked.person@example.com', '[EMAIL_1]')}`);
    } finally {
      await api('PATCH', `/connections/${SLUG}`, { settings: { inspection: { packs: [] } } });
    }
  });

  it("another organization's key finds neither the agent nor its card", async () => {
    const otherKey = await createOrgInD1();
    const card = await fetch(`${gatewayUrl()}/v1/a2a/${SLUG}/.well-known/agent-card.json`, {
      headers: { Authorization: `Bearer ${otherKey}` },
    });
    expect(card.status).toBe(404);
    const call = await fetch(`${gatewayUrl()}/v1/a2a/${SLUG}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${otherKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: 'x' } }),
    });
    expect(call.status).toBe(404);
    expect(await call.json()).toMatchObject({ id: null, error: { data: { code: 'not_found' } } });
  });
});
