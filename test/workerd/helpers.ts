/** Helpers for workerd integration tests: call the Worker, make organizations, flush audit spools. */
import { listDurableObjectIds, runDurableObjectAlarm } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { generateApiKey, hashApiKey } from '../../workers/auth/api-key.crypto';
import type { Role } from '../../workers/db/schema';
import { randomId } from '../../workers/lib/ids';

export const BASE = 'http://gateway.test';
export const ADMIN_KEY = env.ADMIN_API_KEY;

export interface CallOptions {
  key?: string | null;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

export async function call(method: string, path: string, options: CallOptions = {}): Promise<Response> {
  const headers = new Headers(options.headers);
  const key = options.key === undefined ? ADMIN_KEY : options.key;
  if (key) headers.set('Authorization', `Bearer ${key}`);
  let body: string | undefined;
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

/** Runs every pending audit-spool alarm so spooled rows reach D1 now. */
export async function flushAudit(): Promise<void> {
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
