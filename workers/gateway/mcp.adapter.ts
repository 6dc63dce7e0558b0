/**
 * MCP Streamable HTTP as a protocol of the call core (gateway.adapter.ts): the governed units are
 * the JSON-RPC messages of a POST body (a batch has several); GET opens the server's stream and
 * DELETE ends the session, neither with anything to decide. Errors are JSON-RPC errors
 * (gateway.respond.ts). The list filter is this protocol's first response stage.
 */

import { bearerCredential } from '../auth/api-key.auth';
import { errorAnswerStage } from '../inspection/inspection.error-answer';
import { inspectMcpRequest, mcpResultStage } from '../inspection/inspection.mcp.stage';
import { recordSnapshots } from '../integrity/integrity.record';
import { integrityStage, pendingIntegrityLists, refuseBlocked } from '../integrity/integrity.stage';
import { pinnedAnnotations } from '../integrity/integrity.types';
import { AppError, jsonRpcErrorBody } from '../lib/errors';
import { auditMethod } from '../shared/audit.method';
import type { ProtocolAdapter } from './gateway.adapter';
import type { ResolvedConnection } from './gateway.connection';
import { auditRows, decideEach, governedNameOrNull, refuseBatchWhole, requestRows } from './gateway.decide';
import { mcpForwardsHeader } from './gateway.forward';
import {
  type JsonRpcMessage,
  messageKind,
  type ParsedBody,
  parseJsonRpc,
  readBodyCapped,
  replyId,
  streamedAnswerOf,
} from './gateway.jsonrpc';
import { listFilterStage, pendingLists } from './gateway.lists';
import { checkHeaderAgreement } from './gateway.protocol';
import { respondRefusedBatch, respondToBody } from './gateway.respond';
import { clientTaskStage } from './mcp.client-tasks';
import { serverRequestStage } from './mcp.server-requests';
import { withAnswers } from './mcp.server-responses';
import { mcpTaskAccess, taskClaimStage, taskListStage } from './mcp.task.access';

/** A parsed MCP POST: the JSON-RPC messages are the units. */
export interface McpRequest extends ParsedBody {
  units: JsonRpcMessage[];
  /** The connection records content (`settings.logContent`): arguments go into the audit rows. */
  logContent?: boolean;
  /**
   * The units as forwarded, set by `decide`: a client response (or a cancellation of a server
   * request) carries the server's original id again instead of the one the gateway minted.
   * `units` stays as received, so a second decision (a `stale` guard) verifies the same ids.
   */
  forward?: JsonRpcMessage[];
}

async function readMessages(request: Request, connection: ResolvedConnection): Promise<McpRequest> {
  const contentType = request.headers.get('Content-Type') ?? '';
  if (!/^application\/json\b/i.test(contentType)) {
    throw new AppError('unsupported_media_type', {
      message: 'Content-Type must be application/json',
      details: { location: 'header', path: 'Content-Type' },
    });
  }
  const bytes = await readBodyCapped(request, connection.settings.maxBodyBytes);
  const parsed = parseJsonRpc(bytes, connection.settings.maxBatchMessages);
  return { ...parsed, units: parsed.messages, logContent: connection.settings.logContent === true };
}

/**
 * A task the caller did not create here (or an unknown one): MCP's answer for an unknown task is
 * Invalid params (-32602, as the spec's examples and the SDK server answer), one answer for both.
 */
function mcpError(err: AppError): AppError {
  return err.code === 'task_not_found' ? new AppError('mcp_task_not_found') : err;
}

/** A GET that resumes a stream (Last-Event-ID): recorded as such on its audit row. */
function resumes(request: Request): boolean {
  return request.headers.get('Last-Event-ID') !== null;
}

/**
 * A pending request's JSON-RPC error, as an SSE event, when the gateway ends its stream (a kill
 * switch, or a caller that may no longer call). A GET stream answers no request: it just closes.
 */
function endedStreamText(parsed: McpRequest | null, traceId: string, err: AppError): string | null {
  const id = replyId(parsed);
  if (id === null) return null;
  return `event: message\ndata: ${JSON.stringify(jsonRpcErrorBody(err, id, traceId))}\n\n`;
}

export const mcpAdapter: ProtocolAdapter<JsonRpcMessage, McpRequest> = {
  connectionType: 'mcp',
  protocol: 'mcp',

  readApiKey: (request) => bearerCredential(request.headers.get('Authorization')),

  read: (request, httpMethod, connection) =>
    httpMethod === 'POST' ? readMessages(request, connection) : Promise.resolve(null),
  check: (request, parsed) => checkHeaderAgreement(request.headers, parsed),
  // MCP names no user of its own: X-Igris-User is the only source.
  userOf: () => null,
  decide: (parsed, identity, policy, integrity, call) => {
    const serverIds = call
      ? {
          keys: call.serverIdKeys?.() ?? [],
          binding: {
            orgId: call.orgId,
            connectionId: call.connectionId,
            sessionId: call.mcpSessionId ?? null,
            caller: call.actor ?? null,
          },
        }
      : null;
    const decisions = decideEach(parsed.units, identity, policy, integrity, serverIds);
    parsed.forward = decisions.map((d) => d.unit);
    return parsed.logContent ? decisions.map((d) => ({ ...d, recordArgs: true })) : decisions;
  },
  // Tool integrity: calls to quarantined (or, fail_closed, unapproved) tools are refused. Then
  // content inspection: arguments, URIs and prompt arguments scanned, a `block` finding refused.
  // Then a client-hosted task a passing response creates is noted for its claim (mcp.client-tasks.ts).
  requestStages: [refuseBlocked, inspectMcpRequest, clientTaskStage],
  usesToolIntegrity: true,
  settle: refuseBatchWhole,
  // Forward the serialization of what was decided on, not the raw bytes: a body with duplicate
  // keys ({"name":"safe","name":"evil"}) could otherwise be read differently upstream.
  forwardBody: (parsed) => {
    const units = parsed.forward ?? parsed.units;
    return JSON.stringify(parsed.batch ? units : units[0]);
  },
  upstream: (connection) => ({ url: connection.upstreamUrl, forwardsHeader: mcpForwardsHeader }),

  auditRows: (base, decisions, request, httpMethod, policy) =>
    decisions.length === 0
      ? requestRows(base, httpMethod, resumes(request))
      : auditRows(base, decisions, policy?.version ?? null, request.headers.get('traceparent')),
  refusalFields: (parsed) => {
    const single = parsed && !parsed.batch ? parsed.units[0] : undefined;
    return {
      method: auditMethod(single?.method),
      tool: single?.method ? governedNameOrNull(single.method, single.params) : null,
    };
  },

  // Task ownership (mcp.task.access.ts): the tasks a body addresses, and the server requests it
  // answers (each answerable once: mcp.server-responses.ts), checked by the guard in the admit.
  taskAccess: (parsed) => withAnswers(mcpTaskAccess(parsed?.units ?? null), parsed?.units ?? null),
  // Every GET stream's messages go through the response stages, recognised by shape: a resumed
  // one replays responses, and a plain one (the spec says it carries no responses) may carry one
  // anyway — clients (the TypeScript SDK) match a response to their pending request by id, on
  // whatever stream it comes. An upstream could otherwise answer `tools/list` there, unfiltered.
  needsPolicy: (_request, httpMethod) => httpMethod === 'GET',
  responseStages: (call, parsed) => {
    // Tasks first, whatever the policy: a created task is its caller's, a task list the caller's only.
    const tasks = [
      parsed ? taskClaimStage(call, parsed.units) : null,
      taskListStage(call, parsed?.units ?? null),
      // An error answer (4xx/5xx) is inspected as a result is (inspection.error-answer.ts).
      errorAnswerStage(call, 'result'),
    ];
    if (!call.policy) return tasks.filter((stage) => stage !== null);
    // Integrity first: it must see every item the upstream listed (gateway.lists.ts then hides
    // per caller, and an item hidden from one caller is not "removed").
    const integrity = integrityStage(call, parsed ? pendingIntegrityLists(parsed.units) : null, (snapshots) =>
      call.deferred?.push((env) =>
        recordSnapshots(
          env as Env,
          { orgId: call.orgId, connectionId: call.connectionId, integrity: call.integrity! },
          snapshots,
        ),
      ),
    );
    const filter = listFilterStage(call.policy, parsed ? pendingLists(parsed.units) : null, {
      ...call.identity,
      annotationsOf: (name) => pinnedAnnotations(call.integrity, name),
    });
    // Content inspection: it scans (and may mask) only what the caller will receive.
    const inspection = mcpResultStage(call, parsed?.units ?? null);
    // Last, server requests get the ids their responses must carry (mcp.server-requests.ts): on
    // the GET stream, and on the answer to a POST with a request (a POST of notifications and
    // responses is answered 202, no body).
    const asks = !parsed || parsed.units.some((unit) => messageKind(unit) === 'request');
    const serverRequests = asks ? serverRequestStage(call) : null;
    return [...tasks, integrity, filter, inspection, serverRequests].filter((stage) => stage !== null);
  },

  // The outcome goes with the answer's headers; nothing is added at its end.
  completeAtEnd: false,
  finalOutcome: () => Promise.resolve({ outcome: {} }),
  endedStreamText,
  // A POST's stream answers its one request (a batch's is always relayed).
  streamAnswer: (parsed) => streamedAnswerOf(replyId(parsed)),

  replyId,
  // A notification or response gets no JSON-RPC answer, only an HTTP error status.
  respondError: (ctx, err, parsed) => respondToBody(ctx, mcpError(err), parsed),
  respondRefused: (ctx, err, decisions, parsed) =>
    parsed.batch ? respondRefusedBatch(ctx, decisions) : respondToBody(ctx, err, parsed),
};
