/**
 * The response stage that mints the id of every server→client JSON-RPC request the gateway relays
 * (a message with a `method` and an `id`: `sampling/createMessage`, `elicitation/create`,
 * `roots/list`, `ping`…), in a JSON body, a batch item or an SSE event, on a POST's answer and on
 * the GET stream (replays included). The client answers with the minted id; gateway.decide.ts
 * verifies it, decides the response as `response:<method>` and forwards it with the original id
 * (mcp.server-ids.ts). So a response the server never asked for — or asked another session,
 * connection or organization for — is refused, never forwarded.
 *
 * A server request whose id cannot be minted (an id over MAX_ORIGINAL_ID_CHARS, a method over
 * MAX_SERVER_METHOD_CHARS, or no key: the Worker has no ENCRYPTION_KEY) is dropped from the answer,
 * logged and recorded as a finding: relayed unminted, its answer could only be refused anyway.
 *
 * Cost: on an SSE event the pre-check is two native string searches (`"method"` and `"id"`, or a
 * `\u` escape that could spell one: json.keys.ts); an ordinary answer (a result has no `method`, a
 * notification no `id`) is not parsed for this stage.
 */

import { mayHaveKey } from '../lib/json.keys';
import { log } from '../lib/log';
import { isRecord } from '../lib/values';
import { auditMethod } from '../shared/audit.method';
import { DROP, type ResponseStage, type StageCall } from './gateway.stages';
import { type IdBinding, MAX_ORIGINAL_ID_CHARS, mintServerId } from './mcp.server-ids';

export function serverRequestStage(call: StageCall): ResponseStage {
  const key = call.serverIdKeys?.()[0] ?? null;
  const binding: IdBinding = {
    orgId: call.orgId,
    connectionId: call.connectionId,
    sessionId: call.mcpSessionId ?? null,
    caller: call.actor ?? null,
  };
  return {
    name: 'server-requests',
    wants: (raw) => mayHaveKey(raw, 'method') && mayHaveKey(raw, 'id'),
    onMessage(message) {
      if (!isRecord(message) || typeof message.method !== 'string' || !('id' in message)) return undefined;
      const minted = key ? mintServerId(key, binding, message.method, message.id) : null;
      if (minted !== null) return { ...message, id: minted };
      const reason = key ? 'id_not_mintable' : 'no_minting_key';
      log('warn', 'server request dropped: its id cannot be minted', {
        reason,
        method: auditMethod(message.method),
        traceId: call.identity.traceId,
      });
      call.findings.push({
        stage: 'server-requests',
        kind: 'server_request_dropped',
        severity: 'medium',
        detail: { reason, method: auditMethod(message.method), maxIdChars: MAX_ORIGINAL_ID_CHARS },
      });
      return DROP;
    },
  };
}
