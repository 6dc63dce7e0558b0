/**
 * `/tasks` on the demo MCP server: MCP tasks (2025-11-25), built with the official SDK's
 * experimental task support, to test that the gateway keeps each caller's tasks its own
 * (docs/policies.md#mcp-tasks).
 *
 *   POST /tasks         MCP (stateless), answers as SSE streams
 *   POST /tasks/json    the same, answering with JSON bodies
 *
 * One task store for the whole process and no sessions: like any upstream behind a gateway that
 * sees one credential, it answers `tasks/get`, `tasks/result`, `tasks/cancel` for any id it is
 * sent and lists every task in `tasks/list` — only the gateway can tell callers apart.
 *
 * Tool `report` ({ text, ms? }) must be called as a task: the task completes after `ms`
 * milliseconds (default 20) with the text `report: <text>`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InMemoryTaskStore } from '@modelcontextprotocol/sdk/experimental/tasks/stores/in-memory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

const taskStore = new InMemoryTaskStore();

function buildTasksServer(): McpServer {
  const server = new McpServer(
    { name: 'igris-tasks-upstream', version: '1.0.0' },
    {
      capabilities: { tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } } },
      taskStore,
    },
  );
  server.experimental.tasks.registerToolTask(
    'report',
    {
      description: 'Writes a report as a task',
      inputSchema: { text: z.string(), ms: z.number().optional() },
      execution: { taskSupport: 'required' },
    },
    {
      async createTask({ text, ms }, { taskStore: store, taskRequestedTtl }) {
        const task = await store.createTask({ ttl: taskRequestedTtl ?? 60_000 });
        setTimeout(() => {
          void store
            .storeTaskResult(task.taskId, 'completed', {
              content: [{ type: 'text', text: `report: ${text}` }],
            })
            .catch(() => {}); // cancelled meanwhile
        }, ms ?? 20).unref();
        return { task };
      },
      getTask: (_args, { taskId, taskStore: store }) => store.getTask(taskId),
      // The stored result is the CallToolResult written above (the store types it as any Result).
      getTaskResult: async (_args, { taskId, taskStore: store }) =>
        (await store.getTaskResult(taskId)) as CallToolResult,
    },
  );
  return server;
}

export async function handleTasks(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  body: () => Promise<unknown>,
): Promise<boolean> {
  if (path !== '/tasks' && path !== '/tasks/json') return false;
  const server = buildTasksServer();
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: path === '/tasks/json',
  });
  res.on('close', () => {
    void transport.close();
    void server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, req.method === 'POST' ? await body() : undefined);
  return true;
}
