import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { inject } from 'vitest';

export const gatewayUrl = () => inject('gatewayUrl');
export const triggersUrl = () => inject('triggersUrl');
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

/**
 * Creates a connection with no upstream auth to `upstreamUrl` (a test's own local MCP server) and
 * publishes `rules` as its policy; throws unless the connection is new (its slug names the run).
 */
export async function createConnectionWithPolicy(
  slug: string,
  upstreamUrl: string,
  rules: unknown[],
  settings?: Record<string, unknown>,
): Promise<void> {
  const created = await api('POST', '/connections', {
    slug,
    name: slug,
    upstreamUrl,
    authType: 'none',
    ...(settings === undefined ? {} : { settings }),
  });
  if (created.status !== 201)
    throw new Error(`create ${slug}: ${created.status} ${JSON.stringify(created.body)}`);
  await setPolicy(slug, rules);
}

/** The official MCP SDK client, pointed at a connection's gateway URL with the given headers. */
/**
 * `count` denied `tools/call`s through a connection to the stateless upstream (created if needed,
 * policy deny-all): audit rows on the connection's chain without anything reaching the upstream.
 */
export async function deniedCalls(slug: string, count: number): Promise<void> {
  await ensureConnection(slug, `${inject('upstreamUrl')}/stateless`, null);
  await setPolicy(slug, [{ tool: '*', action: 'deny' }]);
  for (let i = 0; i < count; i++) await echoCall(slug, i);
}

/** One `tools/call echo` through the gateway with the admin key; the answer's status and body text. */
export async function echoCall(slug: string, id = 1): Promise<{ status: number; text: string }> {
  const res = await fetch(`${gatewayUrl()}/v1/mcp/${slug}`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${adminKey()}`,
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name: 'echo', arguments: {} },
    }),
  });
  return { status: res.status, text: await res.text() };
}

export async function connectClient(slug: string, headers: Record<string, string> = {}, key = adminKey()) {
  const transport = new StreamableHTTPClientTransport(new URL(`${gatewayUrl()}/v1/mcp/${slug}`), {
    requestInit: { headers: { Authorization: `Bearer ${key}`, ...headers } },
  });
  const client = new Client({ name: 'igris-e2e', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

/** Polls the audit API until `predicate` holds (the spool flushes to D1 a second after a call's outcome). */
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

/**
 * Runs SQL on the running stack's local D1 (`wrangler d1 execute --local`), for what the API does not
 * offer on purpose: a second organization, or a rewrite of the audit chain as an attacker with D1
 * access would do it. Returns the rows of the last statement. Asynchronous on purpose: the command
 * takes seconds, and a blocked event loop would miss the stack closing idle kept-alive sockets.
 */
export async function d1Local<T = Record<string, unknown>>(sql: string): Promise<T[]> {
  const root = path.resolve(import.meta.dirname, '..', '..');
  const child = spawn(
    path.join(root, 'node_modules', '.bin', 'wrangler'),
    ['d1', 'execute', 'DB', '--local', '--persist-to', inject('persistTo'), '--json', '--command', sql],
    { cwd: root, env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' } },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (status !== 0) throw new Error(`wrangler d1 execute failed:\n${stdout}\n${stderr}`);
  const out = JSON.parse(stdout) as Array<{ results: T[] }>;
  return out.at(-1)?.results ?? [];
}

/**
 * An organization with an owner and an API key, inserted straight into the local D1. A call with the
 * admin key comes first: the stack bootstraps its admin organization on its first call, and only
 * while no organization exists.
 */
export async function createOrgInD1(label: string): Promise<{ orgId: string; key: string }> {
  await api('GET', '/connections');
  const orgId = d1Id('org');
  const member = memberInserts(orgId, 'owner', 'e2e');
  await d1Local(
    [
      `INSERT INTO organizations (id, slug, name) VALUES ('${orgId}', '${label}-${orgId.slice(-8)}', '${label}')`,
      ...member.sql,
    ].join('; '),
  );
  return { orgId, key: member.key };
}

/** A new person made a `role` member of `orgId` in the local D1, with an API key of their own. */
export async function addMemberInD1(orgId: string, role: string, keyName: string): Promise<string> {
  const member = memberInserts(orgId, role, keyName);
  await d1Local(member.sql.join('; '));
  return member.key;
}

/** The organization of the admin key (the one the stack bootstrapped). */
export async function adminOrgId(): Promise<string> {
  const hash = createHash('sha256').update(adminKey()).digest('hex');
  const [row] = await d1Local<{ org_id: string }>(`SELECT org_id FROM api_keys WHERE hash = '${hash}'`);
  if (!row) throw new Error('the admin key is not in the local D1');
  return row.org_id;
}

const d1Id = (prefix: string) => `${prefix}_e2e${randomBytes(8).toString('hex')}`;

/** The rows of a user, their membership of `orgId` as `role`, and their API key; and that key. */
function memberInserts(orgId: string, role: string, keyName: string): { sql: string[]; key: string } {
  const userId = d1Id('usr');
  const key = `ig_${randomBytes(32).toString('base64url')}`;
  const hash = createHash('sha256').update(key).digest('hex');
  return {
    key,
    sql: [
      `INSERT INTO users (id, email) VALUES ('${userId}', '${userId}@e2e.local')`,
      `INSERT INTO members (id, org_id, user_id, role) VALUES ('${d1Id('mem')}', '${orgId}', '${userId}', '${role}')`,
      `INSERT INTO api_keys (id, org_id, created_by, name, role, prefix, hash) VALUES ('${d1Id('key')}', '${orgId}', '${userId}', '${keyName}', '${role}', '${key.slice(0, 10)}', '${hash}')`,
    ],
  };
}
