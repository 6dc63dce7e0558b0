/**
 * MCP tasks through the gateway with the official TypeScript SDK client (v1, its experimental
 * task API) against a real SDK task server (scripts/demo-mcp-tasks.ts: one task store, no
 * sessions — it answers any caller). The creator runs a task to its result the way the SDK does
 * it (tools/call with a task, then tasks/get polling and tasks/result at once); another API key
 * of the same organization, with the task's id, gets the SDK's "task not found" error (-32602)
 * from the gateway — the same as for an id that exists nowhere — and does not see the task in
 * tasks/list, although the upstream lists it to anyone.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { adminKey, api, ensureConnection, gatewayUrl, setPolicy } from './helpers.ts';

const RUN = Date.now().toString(36);
const SLUG = `e2e-tasks-${RUN}`;

let keyB: string;
const clients: Client[] = [];

async function connect(key: string, user: string, direct = false): Promise<Client> {
  const url = direct ? `${inject('upstreamUrl')}/tasks` : `${gatewayUrl()}/v1/mcp/${SLUG}`;
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: direct ? {} : { Authorization: `Bearer ${key}`, 'X-Igris-User': user } },
  });
  const client = new Client({ name: `igris-e2e-${user}`, version: '1.0.0' });
  await client.connect(transport);
  clients.push(client);
  return client;
}

/** Runs the `report` tool as a task the SDK's way; the task id and the final result's text. */
async function runTask(client: Client, text: string): Promise<{ taskId: string; text: string }> {
  let taskId = '';
  let result = '';
  const stream = client.experimental.tasks.callToolStream(
    { name: 'report', arguments: { text } },
    undefined,
    { task: { ttl: 60_000 } },
  );
  for await (const message of stream) {
    if (message.type === 'taskCreated') taskId = message.task.taskId;
    if (message.type === 'result') result = (message.result.content as { text: string }[])[0]!.text;
    if (message.type === 'error') throw message.error;
  }
  return { taskId, text: result };
}

async function refusal(attempt: Promise<unknown>): Promise<{ code: number; message: string }> {
  const err = await attempt.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(McpError);
  const { code, message } = err as McpError;
  return { code, message };
}

beforeAll(async () => {
  await ensureConnection(SLUG, `${inject('upstreamUrl')}/tasks`, 'e2e-tasks-credential');
  await setPolicy(SLUG, [{ tool: '*', action: 'allow' }]);
  const created = await api<{ key: string }>('POST', '/api-keys', { name: `tasks-b-${RUN}`, role: 'admin' });
  expect(created.status).toBe(201);
  keyB = created.body.key;
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
});

describe('MCP tasks with the official SDK client, through the gateway', () => {
  it('the creator runs its task to the result; another caller gets "task not found" and an empty list', async () => {
    const alice = await connect(adminKey(), 'alice');
    const bob = await connect(keyB, 'bob');

    const { taskId, text } = await runTask(alice, 'secret plan of alice');
    expect(text).toBe('report: secret plan of alice');
    expect((await alice.experimental.tasks.getTask(taskId)).status).toBe('completed');
    expect((await alice.experimental.tasks.listTasks()).tasks.map((t) => t.taskId)).toContain(taskId);

    const stolen = await refusal(bob.experimental.tasks.getTask(taskId));
    const unknown = await refusal(bob.experimental.tasks.getTask(`no-such-${RUN}`));
    expect(stolen).toEqual({ code: ErrorCode.InvalidParams, message: 'MCP error -32602: Task not found' });
    expect(stolen).toEqual(unknown);
    expect(await refusal(bob.experimental.tasks.getTaskResult(taskId))).toEqual(unknown);
    expect(await refusal(bob.experimental.tasks.cancelTask(taskId))).toEqual(unknown);

    // The upstream lists the task to anyone; through the gateway bob sees only his own.
    const direct = await connect('', 'direct', true);
    expect((await direct.experimental.tasks.listTasks()).tasks.map((t) => t.taskId)).toContain(taskId);
    const own = await runTask(bob, 'bob');
    const bobs = [];
    let cursor: string | undefined;
    do {
      const page = await bob.experimental.tasks.listTasks(cursor);
      bobs.push(...page.tasks.map((t) => t.taskId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(bobs).toEqual([own.taskId]);

    // Alice's task was neither read nor cancelled by bob.
    expect((await alice.experimental.tasks.getTask(taskId)).status).toBe('completed');
  });
});
