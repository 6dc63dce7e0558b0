/**
 * What a scan asks the server (docs/tool-integrity.md#mcp-scanner): the handshake, the three lists,
 * and three probes — initialize without the credential (is it enforced?), initialize with a
 * foreign `Origin` (does the server validate it, as the MCP transport spec requires against DNS
 * rebinding?) — each over the gateway's own transport (scans.client.ts). Returns what the pure
 * checks (scans.checks.ts) read, minus the organization's other tools.
 */
import { mcpForwardsHeader, type UpstreamTarget } from '../gateway/gateway.forward';
import type { ScanInput } from './scans.checks';
import {
  CLIENT_INFO,
  endSession,
  listAll,
  type McpSession,
  PROTOCOL_VERSION,
  type RpcAnswer,
  resultOf,
  send,
} from './scans.client';

/** A site no MCP server should trust: what a DNS-rebinding page would send as its Origin. */
export const FOREIGN_ORIGIN = 'https://igris-scan-origin-probe.invalid';

const INITIALIZE = { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: CLIENT_INFO };

function answered(answer: RpcAnswer | null): boolean {
  return answer !== null && answer.status < 300 && answer.message?.result !== undefined;
}

/** One initialize on a fresh session with `target`; null when it could not be sent. */
async function bareInitialize(target: UpstreamTarget, signal: AbortSignal): Promise<RpcAnswer | null> {
  const session: McpSession = { target, signal, sessionId: null, nextId: 1 };
  const answer = await send(session, 'initialize', INITIALIZE).catch(() => null);
  if (answer !== null) {
    session.sessionId = answer.headers.get('mcp-session-id');
    await endSession(session);
  }
  return answer;
}

/** `target` with the foreign Origin set (the transport forwards no caller Origin otherwise). */
function withForeignOrigin(target: UpstreamTarget): UpstreamTarget {
  return {
    ...target,
    forwardsHeader: mcpForwardsHeader,
    headers: { ...(target.headers ?? {}), origin: FOREIGN_ORIGIN },
  };
}

export async function probe(target: UpstreamTarget, signal: AbortSignal) {
  const session: McpSession = { target, signal, sessionId: null, nextId: 1 };
  const init = await send(session, 'initialize', INITIALIZE);
  const initResult = resultOf(init, 'initialize');
  session.sessionId = init.headers.get('mcp-session-id');
  await send(session, 'notifications/initialized', undefined, true);
  const caps = (initResult.capabilities ?? {}) as Record<string, unknown>;
  const tools = await listAll(session, 'tools');
  const prompts = caps.prompts ? await listAll(session, 'prompts') : { items: [], truncated: false };
  const resources = caps.resources ? await listAll(session, 'resources') : { items: [], truncated: false };
  await endSession(session);
  // Does the endpoint insist on the credential? One initialize without it.
  const answeredWithoutCredential =
    target.credential !== null
      ? answered(await bareInitialize({ ...target, credential: null }, signal))
      : null;
  // Does it refuse a foreign Origin? One initialize with it (and the credential, so that an
  // enforced credential does not pass for an Origin check).
  const acceptsForeignOrigin = answered(await bareInitialize(withForeignOrigin(target), signal));
  const serverInfo = (initResult.serverInfo ?? null) as Record<string, unknown> | null;
  const protocolVersion = typeof initResult.protocolVersion === 'string' ? initResult.protocolVersion : null;
  return {
    server: {
      name: typeof serverInfo?.name === 'string' ? serverInfo.name.slice(0, 200) : null,
      version: typeof serverInfo?.version === 'string' ? serverInfo.version.slice(0, 80) : null,
      protocolVersion: protocolVersion?.slice(0, 40) ?? null,
      tools: tools.items.length,
      prompts: prompts.items.length,
      resources: resources.items.length,
    },
    input: {
      url: target.url,
      authType: target.authType,
      answeredWithoutCredential,
      acceptsForeignOrigin,
      protocolVersion,
      sessionId: session.sessionId,
      tools: tools.items,
      prompts: prompts.items,
      resources: resources.items,
      truncated: tools.truncated || prompts.truncated || resources.truncated,
    } satisfies Omit<ScanInput, 'others'>,
  };
}
