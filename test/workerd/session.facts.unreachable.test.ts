/**
 * Session facts fail closed (issue 22, workers/gateway/gateway.session.ts): a call whose matched
 * rule needs a linked session's facts (a `session.touched` gate) and whose organization's
 * SessionFacts store cannot be reached is refused with 503 `guard_unavailable` — even on a
 * connection with `failMode: "open"`, because a toxic-flow check that cannot run must not pass.
 *
 * The real Worker is called (its whole request path) with an env whose SESSION_FACTS binding
 * throws, as a deployment with the object unreachable would see it; everything else is real.
 * Calls that need no shared facts (no gate, or an unlinked session) never touch the binding and
 * pass through the same broken env.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import worker from '../../workers/index';
import { patchSettings, traceId } from './gateway.fixtures';
import { ADMIN_KEY, BASE, bootstrapDefault, createConnection, putPolicy, rpcResult } from './helpers';

const SLUG = `ses-down-${Date.now().toString(36)}`;

/** SessionFacts as if its objects could not be reached: every stub's call rejects. */
const unreachable = {
  getByName: () => ({
    facts: () => Promise.reject(new Error('SessionFacts unreachable')),
    record: () => Promise.reject(new Error('SessionFacts unreachable')),
  }),
} as unknown as Env['SESSION_FACTS'];

let rpcId = 0;

/** A tools/call through the real Worker with SESSION_FACTS unreachable. */
async function callWithFactsDown(name: string, args: Record<string, unknown>, trace?: string) {
  const request = new Request(`${BASE}/v1/mcp/${SLUG}`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${ADMIN_KEY}`,
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      ...(trace ? { 'X-Igris-Trace-Id': trace } : {}),
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: ++rpcId,
      method: 'tools/call',
      params: { name, arguments: args },
    }),
  });
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, { ...env, SESSION_FACTS: unreachable }, ctx);
  const body = await rpcResult(res);
  await waitOnExecutionContext(ctx);
  return { status: res.status, body };
}

beforeAll(async () => {
  await bootstrapDefault();
  await createConnection(SLUG);
  await putPolicy(SLUG, [
    { tool: 'add', action: 'deny', conditions: { 'session.touched': ['untrusted_input'] } },
    { tool: '*', action: 'allow' },
  ]);
  // Availability over checks for this connection — which session facts must not honour.
  await patchSettings(SLUG, { failMode: 'open' });
});

describe('SessionFacts unreachable', () => {
  it('refuses a linked call whose rule needs session facts with 503 guard_unavailable, failMode open or not', async () => {
    const refused = await callWithFactsDown('add', { a: 1, b: 2 }, traceId('facts-down'));
    expect(refused.status).toBe(503);
    expect(refused.body.result).toBeUndefined();
    expect(refused.body.error!.data).toMatchObject({ code: 'guard_unavailable' });
  });

  it('passes calls that need no shared facts through the same env', async () => {
    // No session rule matches echo: nothing is read from the store.
    const echo = await callWithFactsDown('echo', { message: 'hi' }, traceId('facts-down-echo'));
    expect(echo.status).toBe(200);
    expect(echo.body.result).toBeDefined();
    // An unlinked session (no trace id of the caller's, no MCP session) has no shared facts to read.
    const unlinked = await callWithFactsDown('add', { a: 1, b: 2 });
    expect(unlinked.status).toBe(200);
    expect(unlinked.body.result!.content).toEqual([{ type: 'text', text: '3' }]);
  });
});
