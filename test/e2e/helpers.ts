import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { inject } from 'vitest';

export const gatewayUrl = () => inject('gatewayUrl');
export const adminKey = () => inject('adminApiKey');

export async function api<T = unknown>(
  method: string,
  path: string,
  body?: unknown,
  key = adminKey(),
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${gatewayUrl()}/api/v1${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

export async function ensureConnection(
  slug: string,
  upstreamUrl: string,
  credential: string | null = `cred-${slug}`,
) {
  const existing = await api('GET', `/connections/${slug}`);
  if (existing.status === 200) return existing.body;
  const created = await api('POST', '/connections', {
    slug,
    name: slug,
    upstreamUrl,
    ...(credential === null ? { authType: 'none' } : { authType: 'bearer', credential }),
  });
  if (created.status !== 201)
    throw new Error(`create ${slug}: ${created.status} ${JSON.stringify(created.body)}`);
  return created.body;
}

export async function setPolicy(slug: string, rules: unknown[]) {
  const res = await api('PUT', `/connections/${slug}/policy`, { rules });
  if (res.status !== 200) throw new Error(`policy ${slug}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { version: number };
}

/** The official MCP SDK client, pointed at a connection's gateway URL with the given headers. */
export async function connectClient(slug: string, headers: Record<string, string> = {}, key = adminKey()) {
  const transport = new StreamableHTTPClientTransport(new URL(`${gatewayUrl()}/v1/mcp/${slug}`), {
    requestInit: { headers: { Authorization: `Bearer ${key}`, ...headers } },
  });
  const client = new Client({ name: 'igris-e2e', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

/** Polls the audit API until `predicate` holds (the spool flushes to D1 within about a second). */
export async function waitForAudit<T extends { id: string }>(
  query: string,
  predicate: (rows: T[]) => boolean,
  timeoutMs = 15_000,
): Promise<T[]> {
  const deadline = Date.now() + timeoutMs;
  let rows: T[] = [];
  while (Date.now() < deadline) {
    const res = await api<{ events: T[] }>('GET', `/audit-events?${query}`);
    rows = res.status === 200 ? res.body.events : [];
    if (predicate(rows)) return rows;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`audit condition not met for ${query}; last rows: ${JSON.stringify(rows).slice(0, 2000)}`);
}
