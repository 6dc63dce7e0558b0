/**
 * The set-up of the gateway policy test (gateway.policy.test.ts): the rules under test, the two
 * connections in the bootstrap organization, and sending one message with identity headers and
 * reading back its audit rows.
 */
import { expect } from 'vitest';
import { type AuditRow, auditFor, messages, post, traceId } from './gateway.fixtures';
import { bootstrapDefault, createConnection, putPolicy } from './helpers';

export const SLUG = 'policy-main';
export const STRICT = 'policy-strict';

export const RULES = [
  { tool: 'delete_*', action: 'deny', reason: 'destructive tools are blocked' },
  { tool: 'add', action: 'alert', reason: 'arithmetic is watched' },
  { tool: 'whoami', action: 'allow', conditions: { 'metadata.role': 'admin' } },
  { tool: 'echo', action: 'allow' },
  { tool: 'resource:file:///readme.md', action: 'allow' },
  { tool: 'prompt:greet', action: 'deny', conditions: { user: 'mallory' }, reason: 'not for mallory' },
  { tool: 'prompt:*', action: 'allow' },
];

// Live bindings: set by setUpGatewayPolicy, read by the test files after their beforeAll.
export let orgId: string;
export let version: number;

/** The bootstrap organization's two connections and their policies (the test file's beforeAll). */
export async function setUpGatewayPolicy(): Promise<void> {
  orgId = await bootstrapDefault();
  await createConnection(SLUG, { upstreamPath: '/stateless' });
  await createConnection(STRICT, { upstreamPath: '/stateless' });
  version = (await putPolicy(SLUG, RULES)).version;
  await putPolicy(STRICT, [{ tool: 'echo', action: 'allow' }]);
}

export interface Answer {
  id: unknown;
  result?: Record<string, unknown>;
  error?: {
    code: number;
    message: string;
    data?: { code: string; traceId?: string; details?: Record<string, unknown> };
  };
}

/** Sends one message with identity headers; returns the answer and the trace's audit rows. */
export async function send(
  body: unknown,
  identity: { user?: string; metadata?: string; slug?: string; headers?: Record<string, string> } = {},
) {
  const trace = traceId('pol');
  const headers: Record<string, string> = { 'X-Igris-Trace-Id': trace, ...identity.headers };
  if (identity.user) headers['X-Igris-User'] = identity.user;
  if (identity.metadata !== undefined) headers['X-Igris-Metadata'] = identity.metadata;
  const res = await post(identity.slug ?? SLUG, body, headers);
  const status = res.status;
  const answers = (await messages(res)).filter((m) => 'result' in m || 'error' in m) as unknown as Answer[];
  return { status, answers, answer: answers[0]!, rows: await auditFor(trace), trace };
}

export function expectIdentity(row: AuditRow, trace: string, user: string | null) {
  expect(row).toMatchObject({ org_id: orgId, trace_id: trace, user, connection_slug: SLUG });
  expect(row.api_key_id).toEqual(expect.any(String));
}
