/**
 * The MCP traffic of the benchmarks: a stateful session opened once directly on the upstream and
 * reused through the gateway (the gateway forwards Mcp-Session-Id), so paths A and B send the very
 * same `tools/call` to the very same server session.
 */
import type http from 'node:http';
import { type HttpResult, send } from './http.ts';

export const PROTOCOL_VERSION = '2025-06-18';

let nextId = 1;
/** Unique JSON-RPC ids across both paths: the upstream session maps answers by id. */
export function rpcId(): number {
  return nextId++;
}

export function echoMessage(bytes: number): string {
  // Printable, not one repeated byte (no accidental compression wins anywhere on the path).
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let out = '';
  let x = 12345;
  for (let i = 0; i < bytes; i++) {
    x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff;
    out += alphabet[(x >>> 16) & 63];
  }
  return out;
}

export function echoCall(id: number, message: string): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name: 'echo', arguments: { message } },
  });
}

export function mcpHeaders(sessionId: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    'Mcp-Session-Id': sessionId,
    'Mcp-Protocol-Version': PROTOCOL_VERSION,
    ...extra,
  };
}

/** Opens a session directly on the upstream (initialize + initialized) and returns its id. */
export async function openSession(agent: http.Agent, mcpUrl: URL): Promise<string> {
  const init = await send(agent, mcpUrl, {
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: rpcId(),
      method: 'initialize',
      params: {
        protocolVersion: PROTOCOL_VERSION,
        capabilities: {},
        clientInfo: { name: 'igris-bench', version: '1' },
      },
    }),
    headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
  });
  const sessionId = init.headers['mcp-session-id'];
  if (init.status !== 200 || typeof sessionId !== 'string') {
    throw new Error(`initialize failed: ${init.status} ${init.text.slice(0, 300)}`);
  }
  const done = await send(agent, mcpUrl, {
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    headers: mcpHeaders(sessionId),
  });
  if (done.status !== 202) throw new Error(`initialized notification: ${done.status} ${done.text}`);
  return sessionId;
}

/** A `tools/call` answered with a result (JSON or SSE-framed). */
export function isResult(res: HttpResult): boolean {
  return res.status === 200 && res.text.includes('"result"');
}

/**
 * The gateway's kill-switch refusal: 503 with JSON-RPC "Session Suspended" — or, for a call whose
 * SSE answer was still streaming when the switch was pulled, a 200 stream ended by that error.
 */
export function isSuspended(res: HttpResult): boolean {
  return (res.status === 503 || res.status === 200) && !isResult(res) && /session_suspended/.test(res.text);
}
