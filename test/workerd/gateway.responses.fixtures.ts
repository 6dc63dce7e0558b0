/**
 * The shared set-up of the client-response tests (gateway.responses.test.ts,
 * gateway.responses.once.test.ts): two organizations, their connections to the real asking
 * upstream (scripts/demo-mcp-asking.ts) behind the recording proxy, and the calls both files make —
 * a tools/call whose answer carries a server request (`ask`), the client's answer to it (`answer`,
 * with what the upstream received and the audit rows).
 */
import { expect } from 'vitest';
import { ACCEPT_BOTH, type AuditRow, auditFor, messages, traceId } from './gateway.fixtures';
import { call, createOrg, type TestOrg } from './helpers';
import { receivedBy, recordedUpstream, uniqueAgent } from './upstream.log';

export const RUN = Date.now().toString(36);
export const AWS_KEY = 'AKIAZ7Q4RXW2LM5PT3NB';
export const ALLOW_ALL = [{ tool: '*', action: 'allow' }];

// Live bindings: set by setUpResponses, read by the test files after their beforeAll.
export let orgA: TestOrg;
export let orgB: TestOrg;

export const slugs = {
  sse: `resp-sse-${RUN}`,
  other: `resp-other-${RUN}`,
  strId: `resp-str-${RUN}`,
  json: `resp-json-${RUN}`,
  escaped: `resp-esc-${RUN}`,
  plain: `resp-plain-${RUN}`,
  longId: `resp-long-${RUN}`,
  loneLongId: `resp-lone-${RUN}`,
  loneBatchLongId: `resp-lonebatch-${RUN}`,
  glob: `resp-glob-${RUN}`,
  echoOnly: `resp-echo-${RUN}`,
  deny: `resp-deny-${RUN}`,
  dlp: `resp-dlp-${RUN}`,
  approve: `resp-approve-${RUN}`,
  taint: `resp-taint-${RUN}`,
  open: `resp-open-${RUN}`,
};

async function connection(
  org: TestOrg,
  slug: string,
  path: string,
  rules: unknown[],
  settings: Record<string, unknown> = {},
): Promise<void> {
  const res = await call('POST', '/api/v1/connections', {
    key: org.key,
    body: { slug, name: slug, upstreamUrl: recordedUpstream(path), authType: 'none', settings },
  });
  expect(res.status, await res.clone().text()).toBe(201);
  const policy = await call('PUT', `/api/v1/connections/${slug}/policy`, { key: org.key, body: { rules } });
  expect(policy.status, await policy.clone().text()).toBe(200);
}

/** Both organizations and every connection the response tests use (each file's beforeAll). */
export async function setUpResponses(): Promise<void> {
  orgA = await createOrg('owner');
  orgB = await createOrg('owner');
  await connection(orgA, slugs.sse, '/asking/sse', ALLOW_ALL);
  await connection(orgA, slugs.other, '/asking/sse', ALLOW_ALL);
  await connection(orgA, slugs.strId, `/asking/sse?sid=${encodeURIComponent('"s-1"')}`, ALLOW_ALL);
  await connection(orgA, slugs.json, '/asking/json?method=roots/list', ALLOW_ALL);
  await connection(orgA, slugs.escaped, '/asking/escaped?method=ping', ALLOW_ALL);
  await connection(orgA, slugs.plain, '/asking/plain', ALLOW_ALL);
  const longSid = encodeURIComponent(`"${'x'.repeat(300)}"`);
  await connection(orgA, slugs.longId, `/asking/sse?sid=${longSid}`, ALLOW_ALL);
  await connection(orgA, slugs.loneLongId, `/asking/lone?sid=${longSid}`, ALLOW_ALL);
  await connection(orgA, slugs.loneBatchLongId, `/asking/lonebatch?sid=${longSid}`, ALLOW_ALL);
  await connection(orgA, slugs.glob, '/asking/sse', [
    { tool: 'echo', action: 'allow' },
    { tool: 'response:*', action: 'allow' },
  ]);
  await connection(orgA, slugs.echoOnly, '/asking/sse', [{ tool: 'echo', action: 'allow' }]);
  await connection(orgA, slugs.deny, '/asking/sse', [
    { tool: 'response:sampling/createMessage', action: 'deny', reason: 'no sampling answers' },
    { tool: '*', action: 'allow' },
  ]);
  await connection(orgA, slugs.dlp, '/asking/sse', ALLOW_ALL, {
    inspection: { packs: ['secrets-default'], overrides: { rules: { 'secret.aws_access_key_id': 'block' } } },
  });
  // `approve` reaching responses through a glob (a `response:` rule cannot say approve: refused at save).
  await connection(orgA, slugs.approve, '/asking/sse', [
    { tool: 'echo', action: 'allow' },
    { tool: '*', action: 'approve', reason: 'everything else waits for a person' },
  ]);
  // Session taint asking for an approval (`onTaint: "approve"`) on the rule a response matches.
  await connection(orgA, slugs.taint, '/asking/sse', [
    { tool: 'echo', action: 'allow', labels: ['untrusted_input'] },
    { tool: 'response:*', action: 'allow', cleanOf: ['untrusted_input'], onTaint: 'approve' },
    { tool: '*', action: 'allow' },
  ]);
  await connection(orgA, slugs.open, '/asking/sse', ALLOW_ALL, { failMode: 'open' });
  // Another organization, with a connection of the same slug to the same upstream.
  await connection(orgB, slugs.sse, '/asking/sse', ALLOW_ALL);
}

export type Message = Record<string, unknown>;

export function headersFor(session: string | null, agent: string, trace: string): Record<string, string> {
  return {
    Accept: ACCEPT_BOTH,
    'User-Agent': agent,
    'X-Igris-Trace-Id': trace,
    ...(session ? { 'Mcp-Session-Id': session } : {}),
  };
}

/** A tools/call whose answer carries the upstream's server request; returns what the caller got. */
export async function ask(slug: string, session: string | null, org = orgA) {
  const trace = traceId('resp-ask');
  const res = await call('POST', `/v1/mcp/${slug}`, {
    key: org.key,
    body: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: {} } },
    headers: headersFor(session, uniqueAgent('resp-ask'), trace),
  });
  expect(res.status).toBe(200);
  const all = await messages(res);
  return { all, asked: all.find((m) => typeof m.method === 'string' && 'id' in m), trace };
}

/** The client's POST (a response, a batch, a notification); what the upstream received, and the rows. */
export async function answer(slug: string, body: unknown, session: string | null, org = orgA) {
  const agent = uniqueAgent('resp-answer');
  const trace = traceId('resp-answer');
  const res = await call('POST', `/v1/mcp/${slug}`, {
    key: org.key,
    body,
    headers: headersFor(session, agent, trace),
  });
  const text = await res.text();
  const received = (await receivedBy(agent)).map((r) => JSON.parse(r.body) as unknown);
  const rows: AuditRow[] = await auditFor(trace);
  return { status: res.status, text, received, rows };
}

export const sampled = (id: unknown, text = 'a fine answer') => ({
  jsonrpc: '2.0',
  id,
  result: { role: 'assistant', model: 'fake', content: { type: 'text', text } },
});
export const session = (label: string) => `sess-${label}-${RUN}-${Math.random().toString(36).slice(2)}`;

/** The `[method, originalId]` a minted id's payload carries (its nonce left out). */
export const requestIn = (minted: string) =>
  (JSON.parse(atob(minted.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as unknown[]).slice(0, 2);

export function expectMinted(id: unknown): asserts id is string {
  expect(typeof id).toBe('string');
  expect(id as string).toMatch(/^igsr2\.[A-Za-z0-9_-]+\.[0-9a-z]+\.[A-Za-z0-9_-]{24}$/);
}
