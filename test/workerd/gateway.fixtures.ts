/** Helpers shared by the gateway workerd tests (protocol and policy). */
import { env } from 'cloudflare:workers';
import { expect } from 'vitest';
import { call, flushAudit, json } from './helpers';

export const ACCEPT_BOTH = 'application/json, text/event-stream';

export async function patchSettings(slug: string, settings: Record<string, unknown>): Promise<void> {
  const res = await call('PATCH', `/api/v1/connections/${slug}`, { body: { settings } });
  if (res.status !== 200) throw new Error(`patch ${slug}: ${res.status} ${await res.text()}`);
}

/** POSTs a raw JSON-RPC body (object or batch) to a connection through the gateway. */
export function post(slug: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return call('POST', `/v1/mcp/${slug}`, { body, headers: { Accept: ACCEPT_BOTH, ...headers } });
}

/** The same POST sent straight to the upstream (no gateway), for direct-vs-gateway comparisons. */
export function postDirect(
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${env.UPSTREAM_URL}${path}`, {
    method: 'POST',
    headers: { Accept: ACCEPT_BOTH, 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

export interface SseMessage {
  id: string | null;
  event: string | null;
  data: string;
}

/**
 * Reads SSE events from a stream one at a time (an independent, minimal parser: the upstream is
 * the SDK's Node transport, which writes LF line endings).
 */
export class SseReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #decoder = new TextDecoder();
  #buffer = '';

  constructor(res: Response) {
    this.#reader = res.body!.getReader();
  }

  /** The next event with data, or null at the end of the stream. */
  async next(): Promise<SseMessage | null> {
    for (;;) {
      const end = this.#buffer.indexOf('\n\n');
      if (end !== -1) {
        const block = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        const lines = block.split('\n');
        const field = (name: string) =>
          lines
            .filter((l) => l.startsWith(`${name}:`))
            .map((l) => l.slice(name.length + 1).replace(/^ /, ''));
        const data = field('data');
        if (data.length === 0) continue;
        return { id: field('id')[0] ?? null, event: field('event')[0] ?? null, data: data.join('\n') };
      }
      const { done, value } = await this.#reader.read();
      if (done) return null;
      this.#buffer += this.#decoder.decode(value, { stream: true });
    }
  }

  /** Every remaining JSON message. */
  async all(): Promise<Array<Record<string, unknown>>> {
    const out: Array<Record<string, unknown>> = [];
    for (let e = await this.next(); e; e = await this.next()) {
      if (e.data !== '') out.push(JSON.parse(e.data));
    }
    return out;
  }

  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

/** JSON-RPC messages of a response, whether the upstream answered JSON or SSE. */
export async function messages(res: Response): Promise<Array<Record<string, unknown>>> {
  if ((res.headers.get('Content-Type') ?? '').includes('text/event-stream')) return new SseReader(res).all();
  const body = await json<unknown>(res);
  return Array.isArray(body) ? body : [body as Record<string, unknown>];
}

export interface Session {
  id: string;
  version: string;
  headers: Record<string, string>;
}

/** A legacy session on a stateful upstream (initialize + notifications/initialized), via the gateway. */
export async function openSession(slug: string, protocolVersion = '2025-11-25'): Promise<Session> {
  const init = await post(slug, {
    jsonrpc: '2.0',
    id: 'init',
    method: 'initialize',
    params: { protocolVersion, capabilities: {}, clientInfo: { name: 'gateway-test', version: '1.0.0' } },
  });
  expect(init.status).toBe(200);
  const id = init.headers.get('Mcp-Session-Id');
  expect(id).toBeTruthy();
  const [answer] = await messages(init);
  const version = (answer!.result as { protocolVersion: string }).protocolVersion;
  const headers = { 'Mcp-Session-Id': id!, 'MCP-Protocol-Version': version };
  const initialized = await post(slug, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers);
  expect(initialized.status).toBe(202);
  return { id: id!, version, headers };
}

export type AuditRow = Record<string, unknown> & {
  id: string;
  action: string;
  method: string | null;
  tool: string | null;
  rule_index: number | null;
  policy_version: number | null;
  error_code: string | null;
  details: string | null;
};

/**
 * Decision rows of a trace, in the order the gateway saw the messages (flushes the spools
 * first). Anomaly rows the guard may add for the same trace are not decisions and are left out.
 */
export async function auditFor(traceId: string): Promise<AuditRow[]> {
  await flushAudit();
  const rows = await env.DB.prepare(
    "SELECT * FROM audit_events WHERE trace_id = ? AND type IN ('tool_call', 'request') ORDER BY id",
  )
    .bind(traceId)
    .all<AuditRow>();
  return rows.results;
}

let traceCounter = 0;
/** A fresh trace id per call, so each test finds exactly its own audit rows. */
export function traceId(label: string): string {
  return `gw-${label}-${Date.now().toString(36)}-${++traceCounter}`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
