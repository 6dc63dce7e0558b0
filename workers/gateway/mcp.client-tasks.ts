/**
 * Tasks the client hosts (MCP 2025-11-25: a server may send `sampling/createMessage` or
 * `elicitation/create` task-augmented, and the client answers with a CreateTaskResult, then reports
 * the task's progress with `notifications/tasks/status`). Pure.
 *
 * The client's status notification names a task id the client chose, so the server-hosted task
 * records (mcp.task.access.ts) never hold it and it used to be refused. Now, when a client's response
 * to a gateway-minted server request of those methods passes (mcp.server-responses.ts) carrying a
 * task handle, this request stage records an `mcp_task` / `client_task_created` finding on its row;
 * once the response is admitted and forwarded, the guard makes the task its caller's in a record
 * space of its own (`mcp-client`, durable-objects/task.owners.ts). A client's
 * `notifications/tasks/status` is then admitted when its caller owns the task as a client-hosted
 * task or, as before, as a server-hosted one (AdmitRequest.tasks.hosted).
 *
 * Why a space of its own: a client picks its task ids, so a claim from its answer must never make
 * a server-hosted task id its own (an unrecorded server task — created before ownership was
 * recorded, or beyond the cap — is refused to everyone, and stays so); a client-hosted claim only
 * lets its caller send status notifications about it.
 */
import type { JsonRpcMessage } from './gateway.jsonrpc';
import type { RequestStage } from './gateway.stages';
import { createdTask } from './mcp.task.access';

/** The server requests a client may answer with a task (2025-11-25 task-augmented requests). */
const TASK_AUGMENTABLE = new Set(['response:sampling/createMessage', 'response:elicitation/create']);

export const CLIENT_TASK_KIND = 'client_task_created';

export const clientTaskStage: RequestStage<JsonRpcMessage> = (call, decisions) => {
  decisions.forEach((d, unit) => {
    if (d.refusal || d.unit.method !== undefined || !d.tool || !TASK_AUGMENTABLE.has(d.tool)) return;
    const taskId = createdTask(d.unit.result);
    if (taskId === null) return;
    call.findings.push({
      stage: 'mcp_task',
      kind: CLIENT_TASK_KIND,
      severity: 'info',
      unit,
      detail: { taskId },
    });
  });
  return decisions;
};
