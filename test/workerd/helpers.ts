/** Helpers for workerd integration tests: call the Worker, make organizations, flush audit spools. */
import { listDurableObjectIds, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { guardFor } from '../../durable-objects/do.client';
import type { EventHub } from '../../durable-objects/event-hub.do';
import { generateApiKey, hashApiKey } from '../../workers/auth/api-key.crypto';
import type { Role } from '../../workers/db/schema';
import { sendWaitingOutcomes } from '../../workers/gateway/gateway.outcome.batch';
import { randomId } from '../../workers/lib/ids';

export const BASE = 'http://gateway.test';
export const ADMIN_KEY = env.ADMIN_API_KEY;

export interface CallOptions {
  key?: string | null;
  body?: unknown;
  /** Sent as is: text, or bytes (a multipart upload with a binary file must not be decoded). */
  rawBody?: string | Uint8Array;
  headers?: Record<string, string>;
}

export async function call(method: string, path: string, options: CallOptions = {}): Promise<Response> {
  const headers = new Headers(options.headers);
  const key = options.key === undefined ? ADMIN_KEY : options.key;
  if (key) headers.set('Authorization', `Bearer ${key}`);
  let body: string | Uint8Array | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined && !headers.has('Content-Type')) headers.set('Content-Type', 'application/json');
  return exports.default.fetch(new Request(`${BASE}${path}`, { method, headers, body }));
}

export async function json<T = Record<string, unknown>>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

/** Makes sure the bootstrap organization exists (the first request creates it). */
export async function bootstrapDefault(): Promise<string> {
  await call('GET', '/api/v1/connections');
  const org = await env.DB.prepare("SELECT id FROM organizations WHERE slug = 'default'").first<{
    id: string;
  }>();
  return org!.id;
}

export interface TestOrg {
  orgId: string;
  userId: string;
  key: string;
}

/** A second (third, …) organization with one member of the given role and an API key. */
export async function createOrg(role: Role = 'owner', name = randomId('org')): Promise<TestOrg> {
  const orgId = randomId('org');
  const userId = randomId('usr');
  const { key, prefix } = generateApiKey();
  await env.DB.batch([
    env.DB.prepare('INSERT INTO organizations (id, slug, name) VALUES (?, ?, ?)').bind(orgId, name, name),
    env.DB.prepare('INSERT INTO users (id, email) VALUES (?, ?)').bind(userId, `${userId}@test.local`),
    env.DB.prepare('INSERT INTO members (id, org_id, user_id, role) VALUES (?, ?, ?, ?)').bind(
      randomId('mem'),
      orgId,
      userId,
      role,
    ),
    env.DB.prepare(
      'INSERT INTO api_keys (id, org_id, created_by, name, role, prefix, hash) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ).bind(randomId('key'), orgId, userId, 'test key', role, prefix, await hashApiKey(key)),
  ]);
  return { orgId, userId, key };
}

/** Adds a member with a role (and a key acting for them) to an existing organization. */
export async function addMember(orgId: string, role: Role): Promise<TestOrg> {
  const userId = randomId('usr');
  const { key, prefix } = generateApiKey();
  await env.DB.batch([
    env.DB.prepare('INSERT INTO users (id, email) VALUES (?, ?)').bind(userId, `${userId}@test.local`),
    env.DB.prepare('INSERT INTO members (id, org_id, user_id, role) VALUES (?, ?, ?, ?)').bind(
      randomId('mem'),
      orgId,
      userId,
      role,
    ),
    env.DB.prepare(
      'INSERT INTO api_keys (id, org_id, created_by, name, role, prefix, hash) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ).bind(randomId('key'), orgId, userId, `${role} key`, role, prefix, await hashApiKey(key)),
  ]);
  return { orgId, userId, key };
}

/** Runs every pending audit-spool alarm so spooled rows reach D1 now (outcomes waiting in the isolate first). */
export async function flushAudit(): Promise<void> {
  await sendWaitingOutcomes((orgId, connectionId) => guardFor(env, orgId, connectionId));
  for (const ns of [env.GUARD, env.AUDIT_SPOOL] as DurableObjectNamespace[]) {
    for (const id of await listDurableObjectIds(ns)) {
      await runDurableObjectAlarm(ns.get(id));
    }
  }
}

export async function createConnection(
  slug: string,
  options: {
    key?: string;
    upstreamPath?: string;
    credential?: string;
    authType?: 'bearer' | 'header' | 'none';
    authHeaderName?: string;
  } = {},
) {
  const authType = options.authType ?? 'bearer';
  const res = await call('POST', '/api/v1/connections', {
    key: options.key,
    body: {
      slug,
      name: slug,
      upstreamUrl: `${env.UPSTREAM_URL}${options.upstreamPath ?? '/stateless'}`,
      authType,
      ...(authType === 'header' ? { authHeaderName: options.authHeaderName ?? 'X-Api-Key' } : {}),
      ...(authType === 'none' ? {} : { credential: options.credential ?? `cred-${slug}-secret` }),
    },
  });
  if (res.status !== 201) throw new Error(`createConnection ${slug}: ${res.status} ${await res.text()}`);
  return json<{ id: string; slug: string; gatewayUrl: string }>(res);
}

export async function putPolicy(slug: string, rules: unknown[], key?: string) {
  const res = await call('PUT', `/api/v1/connections/${slug}/policy`, { key, body: { rules } });
  if (res.status !== 200) throw new Error(`putPolicy ${slug}: ${res.status} ${await res.text()}`);
  return json<{ version: number }>(res);
}

let rpcId = 0;

/** POSTs one JSON-RPC message to a connection's gateway URL (stateless upstream: no handshake needed). */
export async function mcp(
  slug: string,
  method: string,
  params: Record<string, unknown> = {},
  options: Omit<CallOptions, 'body'> = {},
): Promise<Response> {
  return call('POST', `/v1/mcp/${slug}`, {
    ...options,
    headers: { Accept: 'application/json, text/event-stream', ...options.headers },
    body: { jsonrpc: '2.0', id: ++rpcId, method, params },
  });
}

/** Reads a JSON-RPC answer from either a JSON body or an SSE stream (the last `message` event). */
export async function rpcResult(res: Response): Promise<{
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: Record<string, unknown> };
}> {
  const type = res.headers.get('Content-Type') ?? '';
  const text = await res.text();
  if (type.includes('text/event-stream')) {
    const datas = text
      .split('\n')
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).trim())
      .filter(Boolean);
    return JSON.parse(datas.at(-1) ?? '{}');
  }
  return JSON.parse(text);
}

// ---------------------------------------------------------------------------------------------
// Added for the management API tests (connections, API keys, organizations, tenancy, secrets).

export interface ApiErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> & { issues?: FieldIssue[] } };
}

export interface FieldIssue {
  location: string;
  path: string;
  message: string;
  rule?: string;
}

/** Reads a REST error and checks its status and code; returns the error object. */
export async function expectApiError(
  res: Response,
  status: number,
  code: string,
): Promise<ApiErrorBody['error']> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`expected ${status} ${code}, got ${res.status}: ${text}`);
  const body = JSON.parse(text) as ApiErrorBody;
  if (body.error?.code !== code) throw new Error(`expected code ${code}, got ${text}`);
  if (typeof body.error.message !== 'string' || body.error.message === '') {
    throw new Error(`error without a message: ${text}`);
  }
  return body.error;
}

/** Reads a JSON body after checking the status (the body is in the thrown message otherwise). */
export async function expectJson<T = Record<string, unknown>>(res: Response, status: number): Promise<T> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

export interface CreatedKey {
  id: string;
  name: string;
  role: Role;
  prefix: string;
  createdAt: string;
  key: string;
}

/** POST /api/v1/api-keys with the given key; throws unless 201. */
export async function createApiKeyVia(key: string, name: string, role?: Role): Promise<CreatedKey> {
  const res = await call('POST', '/api/v1/api-keys', { key, body: { name, ...(role ? { role } : {}) } });
  return expectJson<CreatedKey>(res, 201);
}

/** The members.id of a user in an organization. */
export async function memberIdOf(orgId: string, userId: string): Promise<string> {
  const row = await env.DB.prepare('SELECT id FROM members WHERE org_id = ? AND user_id = ?')
    .bind(orgId, userId)
    .first<{ id: string }>();
  if (!row) throw new Error(`no member ${userId} in ${orgId}`);
  return row.id;
}

/** The api_keys.id of a key. */
export async function apiKeyIdOf(key: string): Promise<string> {
  const row = await env.DB.prepare('SELECT id FROM api_keys WHERE hash = ?')
    .bind(await hashApiKey(key))
    .first<{ id: string }>();
  if (!row) throw new Error('no such key');
  return row.id;
}

/** Admin audit rows of an organization, oldest first, with details parsed. */
export async function adminAuditRows(orgId: string, action?: string) {
  const { results } = await env.DB.prepare(
    `SELECT * FROM audit_events WHERE org_id = ? AND type = 'admin'${action ? ' AND action = ?' : ''} ORDER BY created_at, id`,
  )
    .bind(...(action ? [orgId, action] : [orgId]))
    .all<Record<string, unknown>>();
  return results.map(
    (row): Record<string, unknown> => ({ ...row, details: JSON.parse(String(row.details ?? 'null')) }),
  );
}

/** The headers the real upstream received on a `whoami` call through the gateway. */
export async function whoami(slug: string, key?: string): Promise<Record<string, string>> {
  const res = await mcp(slug, 'tools/call', { name: 'whoami', arguments: {} }, { key });
  if (res.status !== 200) throw new Error(`whoami ${slug}: ${res.status} ${await res.text()}`);
  const body = await rpcResult(res);
  if (!body.result) throw new Error(`whoami ${slug}: ${JSON.stringify(body)}`);
  return JSON.parse((body.result.content as Array<{ text: string }>)[0]!.text) as Record<string, string>;
}

/** Every live event stored in an organization's EventHub (its replay buffer), oldest first. */
export async function hubEvents(orgId: string): Promise<string[]> {
  const stub = env.EVENT_HUB.getByName(orgId);
  return runInDurableObject(stub, async (instance: EventHub, state) => {
    // The hub writes its replay buffer in batches (event.replay.ts): read it once written.
    instance.flushReplay();
    return state.storage.sql
      .exec<{ body: string }>('SELECT body FROM events ORDER BY seq')
      .toArray()
      .map((r) => r.body);
  });
}
