/**
 * The client's JSON-RPC responses to server requests, continued (set-up shared with
 * gateway.responses.test.ts in gateway.responses.fixtures.ts):
 *   - each minted id is answered once (a second answer, a cancelled one, an expired one refused);
 *   - `approve` does not apply to responses (refused at save time, a glob or onTaint match refused);
 *   - client-hosted tasks: a task handle in an admitted answer becomes its caller's;
 *   - with the guard unreachable on a fail-open connection, an answer is refused (503).
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { mintServerId, SERVER_ID_LIFETIME_MS, serverIdKeys } from '../../workers/gateway/mcp.server-ids';
import worker from '../../workers/index';
import { traceId } from './gateway.fixtures';
import {
  answer,
  ask,
  expectMinted,
  headersFor,
  orgA,
  orgB,
  RUN,
  sampled,
  session,
  setUpResponses,
  slugs,
} from './gateway.responses.fixtures';
import { call, createApiKeyVia } from './helpers';
import { receivedBy, uniqueAgent } from './upstream.log';

beforeAll(setUpResponses);

describe('each minted id is answered once', () => {
  const refusedAs = (
    result: Awaited<ReturnType<typeof answer>>,
    reason: 'answered' | 'expired',
    rows = 1,
  ) => {
    expect(result.status).toBe(400);
    expect(result.text).toBe('');
    expect(result.received).toEqual([]);
    expect(result.rows).toHaveLength(rows);
    for (const row of result.rows) {
      expect(row).toMatchObject({ action: 'error', error_code: 'unsolicited_response' });
      const details = JSON.parse(row.details!) as { refusal: string; reason?: string };
      expect(details.refusal).toMatch(/^Not forwarded: /);
      expect(details.refusal).toContain(
        reason === 'answered' ? 'already answered or cancelled' : 'its id expired',
      );
    }
  };

  it('a second POST of the same response is refused like an unsolicited one, never forwarded', async () => {
    const sess = session('replay');
    const { asked } = await ask(slugs.sse, sess);
    const first = await answer(slugs.sse, sampled(asked!.id), sess);
    expect(first.status).toBe(202);
    expect(first.received).toEqual([sampled(7)]);
    const again = await answer(slugs.sse, sampled(asked!.id, 'a different answer'), sess);
    refusedAs(again, 'answered');
    expect(again.rows[0]).toMatchObject({ method: 'response', tool: 'response:sampling/createMessage' });
    expect(JSON.parse(again.rows[0]!.details!).reason).toBe('answered');
  });

  it('two copies POSTed at once: exactly one reaches the upstream (the guard serializes them)', async () => {
    const sess = session('race');
    const { asked } = await ask(slugs.sse, sess);
    const both = await Promise.all([
      answer(slugs.sse, sampled(asked!.id), sess),
      answer(slugs.sse, sampled(asked!.id), sess),
    ]);
    expect(both.map((r) => r.status).sort()).toEqual([202, 400]);
    expect(both.flatMap((r) => r.received)).toEqual([sampled(7)]);
    refusedAs(both.find((r) => r.status === 400)!, 'answered');
  });

  it('a batch answering the same id twice is refused whole; the id is not spent by it', async () => {
    const sess = session('batch-twice');
    const { asked } = await ask(slugs.sse, sess);
    const twice = await answer(slugs.sse, [sampled(asked!.id), sampled(asked!.id, 'again')], sess);
    refusedAs(twice, 'answered', 2);
    // Nothing was forwarded, so nothing was answered: the single response still passes, once.
    expect((await answer(slugs.sse, sampled(asked!.id), sess)).received).toEqual([sampled(7)]);
    refusedAs(await answer(slugs.sse, [sampled(asked!.id)], sess), 'answered');
  });

  it('a cancelled server request cannot be answered, nor cancelled again', async () => {
    const sess = session('cancel-once');
    const { asked } = await ask(slugs.sse, sess);
    const cancel = (requestId: unknown) => ({
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId, reason: 'user closed it' },
    });
    expect((await answer(slugs.sse, cancel(asked!.id), sess)).received).toEqual([cancel(7)]);
    refusedAs(await answer(slugs.sse, sampled(asked!.id), sess), 'answered');
    const twice = await answer(slugs.sse, cancel(asked!.id), sess);
    expect(twice.status).toBe(400);
    expect(twice.received).toEqual([]);
    expect(twice.rows[0]).toMatchObject({
      method: 'notifications/cancelled',
      error_code: 'unsolicited_response',
    });
  });

  it('other sessions and callers are unaffected: their ids for the same server request id still answer', async () => {
    const mine = session('once-mine');
    const theirs = session('once-theirs');
    const { asked } = await ask(slugs.sse, mine);
    const { asked: other } = await ask(slugs.sse, theirs);
    const { asked: sessionless } = await ask(slugs.sse, null);
    expect((await answer(slugs.sse, sampled(asked!.id), mine)).received).toEqual([sampled(7)]);
    expect((await answer(slugs.sse, sampled(other!.id), theirs)).received).toEqual([sampled(7)]);
    expect((await answer(slugs.sse, sampled(sessionless!.id), null)).received).toEqual([sampled(7)]);
    // Another organization's connection of the same slug keeps its own record.
    const { asked: orgBs } = await ask(slugs.sse, mine, orgB);
    expect((await answer(slugs.sse, sampled(orgBs!.id), mine, orgB)).received).toEqual([sampled(7)]);
    refusedAs(await answer(slugs.sse, sampled(asked!.id), mine), 'answered');
  });

  it('two sessionless calls in the same second, whose server requests share an id, are two answerable ids', async () => {
    // A sessionless upstream numbers each call's server requests afresh (the demo's is always 7):
    // minted in the same second, the two ids were one, and the second answer was refused.
    const issued = (id: string) => id.split('.')[2];
    let pair: [string, string] | undefined;
    for (let attempt = 0; attempt < 5 && !pair; attempt++) {
      const { asked: first } = await ask(slugs.sse, null);
      const { asked: second } = await ask(slugs.sse, null);
      expectMinted(first!.id);
      expectMinted(second!.id);
      if (issued(first!.id) === issued(second!.id)) pair = [first!.id, second!.id];
    }
    expect(pair, 'no two asks landed in the same second in 5 tries').toBeDefined();
    expect(pair![0]).not.toBe(pair![1]);
    expect((await answer(slugs.sse, sampled(pair![0]), null)).received).toEqual([sampled(7)]);
    expect((await answer(slugs.sse, sampled(pair![1]), null)).received).toEqual([sampled(7)]);
    refusedAs(await answer(slugs.sse, sampled(pair![1]), null), 'answered');
  });

  it('an id older than its lifetime is refused as expired; one issued now by the same key passes', async () => {
    const sess = session('expired');
    const connectionId = await env.DB.prepare('SELECT id FROM connections WHERE org_id = ? AND slug = ?')
      .bind(orgA.orgId, slugs.sse)
      .first<string>('id');
    const keyId = await env.DB.prepare('SELECT id FROM api_keys WHERE org_id = ?')
      .bind(orgA.orgId)
      .first<string>('id');
    const binding = {
      orgId: orgA.orgId,
      connectionId: connectionId!,
      sessionId: sess,
      caller: `key:${keyId}`,
    };
    const [key] = serverIdKeys(env);
    const old = mintServerId(
      key!,
      binding,
      'sampling/createMessage',
      7,
      Date.now() - SERVER_ID_LIFETIME_MS - 1000,
    );
    const future = mintServerId(key!, binding, 'sampling/createMessage', 7, Date.now() + 10 * 60_000);
    const fresh = mintServerId(key!, binding, 'sampling/createMessage', 7);
    refusedAs(await answer(slugs.sse, sampled(old), sess), 'expired');
    refusedAs(await answer(slugs.sse, sampled(future), sess), 'expired');
    const ok = await answer(slugs.sse, sampled(fresh), sess);
    expect(ok.status).toBe(202);
    expect(ok.received).toEqual([sampled(7)]);
  });
});

describe('approve does not apply to responses (docs/policies.md): refused clearly, never held', () => {
  it('a policy with approve on response:<method> is refused at save time, naming why', async () => {
    for (const tool of ['response:elicitation/create', 'response:sampling/createMessage', 'Response:*']) {
      const res = await call('PUT', `/api/v1/connections/${slugs.approve}/policy`, {
        key: orgA.key,
        body: { rules: [{ tool, action: 'approve' }] },
      });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('does not apply to response:<method>');
    }
  });

  it('a response an approve glob matches is refused (403, no body), as a deny naming why; no approval is made', async () => {
    const sess = session('approve');
    const { asked } = await ask(slugs.approve, sess);
    expectMinted(asked!.id);
    const held = await answer(slugs.approve, sampled(asked!.id), sess);
    expect(held.status).toBe(403);
    expect(held.text).toBe('');
    expect(held.received).toEqual([]);
    expect(held.rows[0]).toMatchObject({
      method: 'response',
      tool: 'response:sampling/createMessage',
      action: 'deny',
      error_code: 'policy_denied',
      rule_index: 1,
    });
    expect(JSON.parse(held.rows[0]!.details!).reason).toMatch(/^approve does not apply to a response/);
    const approvals = await call('GET', '/api/v1/approvals?status=pending', { key: orgA.key });
    expect(approvals.status).toBe(200);
    expect(((await approvals.json()) as { approvals: unknown[] }).approvals).toEqual([]);
    // Refused, so not spent: under a policy that allows it, the same answer would still pass.
  });

  it('a tainted session refuses a response whose rule says onTaint "approve", rather than holding it', async () => {
    const sess = session('taint');
    // The asking tool call (`echo`) labels the session untrusted_input; its answer carries the request.
    const { asked } = await ask(slugs.taint, sess);
    expectMinted(asked!.id);
    const refused = await answer(slugs.taint, sampled(asked!.id), sess);
    expect(refused.status).toBe(403);
    expect(refused.text).toBe('');
    expect(refused.received).toEqual([]);
    expect(refused.rows[0]).toMatchObject({
      method: 'response',
      tool: 'response:sampling/createMessage',
      action: 'deny',
      error_code: 'policy_denied',
    });
    expect(JSON.parse(refused.rows[0]!.details!)).toMatchObject({ taint: ['untrusted_input'] });
    const approvals = await call('GET', '/api/v1/approvals?status=pending', { key: orgA.key });
    expect(((await approvals.json()) as { approvals: unknown[] }).approvals).toEqual([]);
  });
});

describe('client-hosted tasks: a task-augmented server request answered with a task handle', () => {
  it("makes the task its caller's: their status notifications pass, another caller's and unknown ids do not", async () => {
    const sess = session('client-task');
    const { asked } = await ask(slugs.sse, sess);
    const taskId = `ct-${RUN}-${Math.random().toString(36).slice(2)}`;
    const at = new Date().toISOString();
    const task = { taskId, status: 'working', createdAt: at, lastUpdatedAt: at, ttl: 60_000 };
    const created = await answer(slugs.sse, { jsonrpc: '2.0', id: asked!.id, result: { task } }, sess);
    expect(created.status).toBe(202);
    expect(created.received).toEqual([{ jsonrpc: '2.0', id: 7, result: { task } }]);

    const status = (id: string) => ({
      jsonrpc: '2.0',
      method: 'notifications/tasks/status',
      params: { ...task, taskId: id, status: 'completed' },
    });
    const mine = await answer(slugs.sse, status(taskId), sess);
    expect(mine.status).toBe(202);
    expect(mine.received).toEqual([status(taskId)]);

    // Another key of the same organization, same connection and session: refused, never forwarded.
    const other = await createApiKeyVia(orgA.key, `resp-ct-${RUN}`, 'admin');
    const theirs = await answer(slugs.sse, status(taskId), sess, { ...orgA, key: other.key });
    expect([theirs.status, theirs.text, theirs.received]).toEqual([400, '', []]);
    expect(theirs.rows[0]).toMatchObject({ action: 'deny', error_code: 'task_not_found' });
    const nowhere = await answer(slugs.sse, status(`no-such-${taskId}`), sess);
    expect([nowhere.status, nowhere.received]).toEqual([400, []]);
    // A client-hosted task is not a server task of its caller: tasks/get naming it is refused.
    const get = await answer(
      slugs.sse,
      { jsonrpc: '2.0', id: 9, method: 'tasks/get', params: { taskId } },
      sess,
    );
    expect(get.received).toEqual([]);
    expect(get.rows[0]).toMatchObject({ error_code: 'task_not_found' });
  });

  it('a refused answer (denied by policy) records no task', async () => {
    const sess = session('client-task-denied');
    const { asked } = await ask(slugs.deny, sess);
    const at = new Date().toISOString();
    const taskId = `ct-denied-${RUN}`;
    const task = { taskId, status: 'working', createdAt: at, lastUpdatedAt: at, ttl: 60_000 };
    const denied = await answer(slugs.deny, { jsonrpc: '2.0', id: asked!.id, result: { task } }, sess);
    expect(denied.status).toBe(403);
    const status = {
      jsonrpc: '2.0',
      method: 'notifications/tasks/status',
      params: { ...task, status: 'completed' },
    };
    const refused = await answer(slugs.deny, status, sess);
    expect([refused.status, refused.received]).toEqual([400, []]);
  });
});

describe('the guard unreachable, on a fail-open connection', () => {
  /** ConnectionGuard as if its objects could not be reached: every stub's call rejects. */
  const down = () => Promise.reject(new Error('guard unreachable'));
  const unreachable = {
    idFromName: (name: string) => env.GUARD.idFromName(name),
    get: () => ({ admit: down, complete: down, completeMany: down, watchKill: down, unwatch: down }),
  } as unknown as Env['GUARD'];

  async function postGuardDown(body: unknown, sess: string) {
    const agent = uniqueAgent('resp-open');
    const request = new Request(`http://localhost/v1/mcp/${slugs.open}`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${orgA.key}`,
        'Content-Type': 'application/json',
        ...headersFor(sess, agent, traceId('resp-open')),
      },
      body: JSON.stringify(body),
    });
    const ctx = createExecutionContext();
    const res = await worker.fetch(request, { ...env, GUARD: unreachable }, ctx);
    const text = await res.text();
    await waitOnExecutionContext(ctx);
    return { status: res.status, text, received: await receivedBy(agent) };
  }

  it('an answer to a server request is refused (503): only the guard knows it was not answered before', async () => {
    const sess = session('open');
    const { asked } = await ask(slugs.open, sess);
    expectMinted(asked!.id);
    const refused = await postGuardDown(sampled(asked!.id), sess);
    expect(refused.status).toBe(503);
    expect(refused.received).toEqual([]);
    // Fail-open still holds for a call that answers nothing.
    const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: {} } };
    const passed = await postGuardDown(call, sess);
    expect(passed.status).toBe(200);
    expect(passed.received).toHaveLength(1);
  });
});
