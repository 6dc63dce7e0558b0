/**
 * Approvals bound to one exact call (`action: "approve"`, workers/approvals/) inside workerd, against
 * the real SDK-built test upstream: `add` with `a` over 1000 stands in for a transfer over a limit.
 * A held call answers a JSON-RPC error naming its approval, is audited `approval_required`, raises
 * an alert and an `approval_requested` event; repeats reuse the pending approval; an approved call
 * passes exactly once; changed arguments, an expired or a denied approval pass nothing; the
 * requester's key cannot approve itself; another organization sees 404; LLM routes answer a 403 in
 * the provider's shape.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { auditFor, traceId } from './gateway.fixtures';
import {
  addMember,
  apiKeyIdOf,
  call,
  createConnection,
  createOrg,
  expectJson,
  hubEvents,
  mcp,
  putPolicy,
  rpcResult,
  type TestOrg,
} from './helpers';

const RUN = Date.now().toString(36);
const SLUG = `approve-${RUN}`;
/** How long work done after the answer (waitUntil) may take to land on a loaded machine. */
const OFF_THE_HOT_PATH = { timeout: 10_000, interval: 50 };

const RULES = [
  { tool: 'add', action: 'approve', conditions: { 'args.a': { gt: 1000 } }, reason: 'amount over the limit' },
  { tool: '*', action: 'allow' },
];

/** The owner (approver) and an admin key standing for the agent that makes the calls. */
let owner: TestOrg;
let agent: TestOrg;
let other: TestOrg;

interface Approval {
  id: string;
  status: string;
  tool: string;
  argsHash: string;
  args: unknown;
  apiKeyId: string | null;
  decidedBy: string | null;
  expiresAt: string;
}

beforeAll(async () => {
  owner = await createOrg('owner');
  agent = await addMember(owner.orgId, 'admin');
  other = await createOrg('owner');
  await createConnection(SLUG, { key: owner.key });
  await putPolicy(SLUG, RULES, owner.key);
});

async function transfer(a: number, b = 1, key = agent.key) {
  const trace = traceId('approve');
  const answer = await rpcResult(
    await mcp(
      SLUG,
      'tools/call',
      { name: 'add', arguments: { a, b } },
      { key, headers: { 'X-Igris-Trace-Id': trace } },
    ),
  );
  return { answer, trace };
}

function heldId(answer: Awaited<ReturnType<typeof rpcResult>>): string {
  expect(answer.result).toBeUndefined();
  const error = answer.error as unknown as { code: number; data: { code: string; approvalId: string } };
  expect(error.data.code).toBe('approval_required');
  return error.data.approvalId;
}

function decide(id: string, verdict: 'approve' | 'deny', key = owner.key) {
  return call('POST', `/api/v1/approvals/${id}/${verdict}`, { key, body: {} });
}

describe('a call under an approve rule', () => {
  it('is held: a JSON-RPC error with the approval id and URL, an audit row, an alert and a live event', async () => {
    const { answer, trace } = await transfer(5000);
    const error = answer.error as { code: number; message: string; data: Record<string, unknown> };
    expect(error.code).toBe(-32015);
    expect(error.message).toContain('Approval required: amount over the limit');
    const id = error.data.approvalId as string;
    expect(id).toMatch(/^apr_[a-z0-9]{20}$/);
    expect(error.data.approvalUrl).toBe(`http://gateway.test/approvals/${id}`);
    expect(error.data).toMatchObject({ code: 'approval_required', traceId: trace });

    const rows = await auditFor(trace);
    expect(rows).toEqual([
      expect.objectContaining({
        tool: 'add',
        action: 'approval_required',
        error_code: 'approval_required',
        rule_index: 0,
      }),
    ]);
    expect(JSON.parse(rows[0]!.details!).findings).toEqual([
      expect.objectContaining({
        stage: 'approval',
        kind: 'approval_required',
        detail: expect.objectContaining({ approvalId: id }),
      }),
    ]);

    const approval = await expectJson<Approval>(
      await call('GET', `/api/v1/approvals/${id}`, { key: owner.key }),
      200,
    );
    expect(approval).toMatchObject({
      status: 'pending',
      tool: 'add',
      args: { a: 5000, b: 1 },
      apiKeyId: await apiKeyIdOf(agent.key),
    });
    expect(approval.argsHash).toMatch(/^[0-9a-f]{64}$/);
    const expiresIn = Date.parse(approval.expiresAt) - Date.now();
    expect(expiresIn).toBeGreaterThan(14 * 60_000);
    expect(expiresIn).toBeLessThanOrEqual(15 * 60_000);

    // The alert and the live event are written off the hot path (waitUntil, approval.gate.ts
    // `announce`): nothing orders them before the answer, so wait for them (bounded by time, not
    // by a count of short sleeps that a loaded machine runs through in a second).
    const alert = () =>
      env.DB.prepare('SELECT type, status FROM alerts WHERE org_id = ? AND fingerprint = ?')
        .bind(owner.orgId, `approval:${id}`)
        .first();
    await expect.poll(alert, OFF_THE_HOT_PATH).toEqual({ type: 'approval', status: 'open' });
    // Found by its type: the call's own tool_call event names the approval too, and it comes from
    // the guard, so either may reach the hub first.
    const event = async () =>
      (await hubEvents(owner.orgId))
        .map((body) => JSON.parse(body) as Record<string, unknown>)
        .find((e) => e.type === 'approval_requested' && e.approvalId === id);
    await expect.poll(event, OFF_THE_HOT_PATH).toMatchObject({ approvalId: id, toolName: 'add' });
  });

  it('repeats of the identical held call reuse the pending approval; a call under the limit is not held', async () => {
    const first = heldId((await transfer(6000)).answer);
    const again = heldId((await transfer(6000)).answer);
    expect(again).toBe(first);
    const { results } = await env.DB.prepare(
      "SELECT id FROM approvals WHERE org_id = ? AND args LIKE '%6000%'",
    )
      .bind(owner.orgId)
      .all();
    expect(results).toHaveLength(1);
    const small = await transfer(10);
    expect(small.answer.result!.content).toEqual([{ type: 'text', text: '11' }]);
  });

  it('a held notification (no id) gets no JSON-RPC answer: 403, like a denial; a held batch item refuses its batch', async () => {
    const notification = await call('POST', `/v1/mcp/${SLUG}`, {
      key: agent.key,
      headers: { Accept: 'application/json, text/event-stream' },
      body: { jsonrpc: '2.0', method: 'tools/call', params: { name: 'add', arguments: { a: 3000, b: 0 } } },
    });
    expect(notification.status).toBe(403);
    expect(await notification.text()).toBe('');
    const batch = await call('POST', `/v1/mcp/${SLUG}`, {
      key: agent.key,
      headers: { Accept: 'application/json, text/event-stream' },
      body: [
        { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'add', arguments: { a: 1, b: 1 } } },
        {
          jsonrpc: '2.0',
          id: 2,
          method: 'tools/call',
          params: { name: 'add', arguments: { a: 3001, b: 0 } },
        },
      ],
    });
    const answers = (await batch.json()) as Array<{ id: number; error?: { data: { code: string } } }>;
    expect(answers.map((a) => [a.id, a.error?.data.code])).toEqual([
      [1, 'bad_request'],
      [2, 'approval_required'],
    ]);
  });

  it('once approved, the identical call passes exactly once; the next identical call is held again', async () => {
    const id = heldId((await transfer(7000)).answer);
    const approved = await expectJson<Approval>(await decide(id, 'approve'), 200);
    expect(approved).toMatchObject({ status: 'approved', decidedBy: `key:${await apiKeyIdOf(owner.key)}` });

    const passed = await transfer(7000);
    expect(passed.answer.result!.content).toEqual([{ type: 'text', text: '7001' }]);
    const rows = await auditFor(passed.trace);
    expect(rows).toEqual([expect.objectContaining({ action: 'approve', error_code: null })]);
    expect(JSON.parse(rows[0]!.details!).findings).toEqual([
      expect.objectContaining({ kind: 'approval_used', detail: { approvalId: id } }),
    ]);
    const used = await expectJson<Approval>(
      await call('GET', `/api/v1/approvals/${id}`, { key: owner.key }),
      200,
    );
    expect(used.status).toBe('used');

    const next = heldId((await transfer(7000)).answer);
    expect(next).not.toBe(id);

    const audit = await env.DB.prepare(
      "SELECT actor, details FROM audit_events WHERE org_id = ? AND action = 'approval_approved' AND details LIKE ?",
    )
      .bind(owner.orgId, `%${id}%`)
      .first<{ actor: string; details: string }>();
    expect(audit!.actor).toBe(`key:${await apiKeyIdOf(owner.key)}`);
    expect(JSON.parse(audit!.details)).toMatchObject({ approvalId: id, tool: 'add' });
  });

  it('identical calls racing for one approval: exactly one passes', async () => {
    const id = heldId((await transfer(7500)).answer);
    await expectJson(await decide(id, 'approve'), 200);
    const answers = await Promise.all([transfer(7500), transfer(7500), transfer(7500)]);
    const passed = answers.filter(({ answer }) => answer.result !== undefined);
    expect(passed).toHaveLength(1);
    expect(passed[0]!.answer.result!.content).toEqual([{ type: 'text', text: '7501' }]);
    for (const { answer } of answers.filter(({ answer }) => answer.result === undefined)) {
      expect(heldId(answer)).not.toBe(id);
    }
  });

  it('a changed argument is another call: held with a new approval, the approved one left unspent', async () => {
    const id = heldId((await transfer(8000, 1)).answer);
    await expectJson(await decide(id, 'approve'), 200);
    const changed = heldId((await transfer(8000, 2)).answer);
    expect(changed).not.toBe(id);
    const still = await expectJson<Approval>(
      await call('GET', `/api/v1/approvals/${id}`, { key: owner.key }),
      200,
    );
    expect(still.status).toBe('approved');
    // Another caller's identical call is another call too.
    const someoneElse = await addMember(owner.orgId, 'admin');
    expect(heldId((await transfer(8000, 1, someoneElse.key)).answer)).not.toBe(id);
  });

  it('an expired approval passes nothing: the call is held with a new approval', async () => {
    const id = heldId((await transfer(9000)).answer);
    await expectJson(await decide(id, 'approve'), 200);
    await env.DB.prepare('UPDATE approvals SET expires_at = ? WHERE id = ?')
      .bind(Date.now() - 1, id)
      .run();
    const listed = await expectJson<{ approvals: Approval[] }>(
      await call('GET', '/api/v1/approvals?status=expired', { key: owner.key }),
      200,
    );
    expect(listed.approvals.map((a) => a.id)).toContain(id);
    const again = heldId((await transfer(9000)).answer);
    expect(again).not.toBe(id);
    const row = await env.DB.prepare('SELECT status FROM approvals WHERE id = ?').bind(id).first();
    expect(row).toEqual({ status: 'expired' });
    // Deciding an expired approval is a conflict.
    expect((await decide(id, 'approve')).status).toBe(409);
  });

  it('a denied call is refused, never forwarded, until its approval would have expired', async () => {
    const id = heldId((await transfer(9500)).answer);
    expect((await expectJson<Approval>(await decide(id, 'deny'), 200)).status).toBe('denied');
    const { answer, trace } = await transfer(9500);
    expect(answer.result).toBeUndefined();
    expect(answer.error!.data).toMatchObject({
      code: 'policy_denied',
      details: { reason: 'approval denied', approvalId: id },
    });
    expect(await auditFor(trace)).toEqual([expect.objectContaining({ action: 'deny' })]);
    expect((await decide(id, 'approve')).status).toBe(409);
  });
});

describe('who may decide', () => {
  it('the key that made the call cannot approve it', async () => {
    const id = heldId((await transfer(10_001)).answer);
    const res = await decide(id, 'approve', agent.key);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({
      error: { code: 'forbidden', details: { reason: 'self_approval' } },
    });
  });

  it('developers and auditors cannot decide by default; approverRole: developer lets a connection’s developer', async () => {
    const id = heldId((await transfer(10_002)).answer);
    for (const role of ['developer', 'auditor'] as const) {
      const member = await addMember(owner.orgId, role);
      expect((await decide(id, 'approve', member.key)).status).toBe(role === 'auditor' ? 403 : 404);
    }
    const devSlug = `approve-dev-${RUN}`;
    const dev = await addMember(owner.orgId, 'developer');
    await createConnection(devSlug, { key: dev.key });
    await putPolicy(devSlug, RULES, dev.key);
    const patched = await call('PATCH', `/api/v1/connections/${devSlug}`, {
      key: dev.key,
      body: { settings: { approvals: { approverRole: 'developer' } } },
    });
    expect(patched.status).toBe(200);
    const held = await rpcResult(
      await mcp(devSlug, 'tools/call', { name: 'add', arguments: { a: 2000, b: 0 } }, { key: agent.key }),
    );
    const devId = heldId(held);
    expect((await expectJson<Approval>(await decide(devId, 'approve', dev.key), 200)).status).toBe(
      'approved',
    );
  });

  it('another organization sees 404 for an approval, cannot decide it, and does not list it', async () => {
    const id = heldId((await transfer(10_003)).answer);
    expect((await call('GET', `/api/v1/approvals/${id}`, { key: other.key })).status).toBe(404);
    expect((await decide(id, 'approve', other.key)).status).toBe(404);
    expect((await decide(id, 'deny', other.key)).status).toBe(404);
    const listed = await expectJson<{ approvals: Approval[] }>(
      await call('GET', '/api/v1/approvals', { key: other.key }),
      200,
    );
    expect(listed.approvals).toEqual([]);
    const mine = await expectJson<{ approvals: Approval[] }>(
      await call('GET', '/api/v1/approvals?status=pending', { key: owner.key }),
      200,
    );
    expect(mine.approvals.map((a) => a.id)).toContain(id);
    expect(mine.approvals.every((a) => a.status === 'pending')).toBe(true);
  });

  it('validates the status filter and the decision body', async () => {
    expect((await call('GET', '/api/v1/approvals?status=maybe', { key: owner.key })).status).toBe(400);
    const id = heldId((await transfer(10_004)).answer);
    const res = await call('POST', `/api/v1/approvals/${id}/approve`, {
      key: owner.key,
      body: { extra: true },
    });
    expect(res.status).toBe(400);
  });
});

describe('approve on LLM routes', () => {
  it('answers 403 in the OpenAI and Anthropic error shapes, naming the approval', async () => {
    for (const [provider, path, body] of [
      [
        'openai-compatible',
        '/v1/chat/completions',
        { model: 'fake-gpt', messages: [{ role: 'user', content: 'hi' }] },
      ],
      [
        'anthropic',
        '/v1/messages',
        { model: 'claude-x', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] },
      ],
    ] as const) {
      const slug = `approve-llm-${provider.slice(0, 4)}-${RUN}`;
      const created = await call('POST', '/api/v1/connections', {
        key: owner.key,
        body: {
          slug,
          name: slug,
          type: 'llm',
          upstreamUrl: `${env.LLM_FAKE_URL}/v1`,
          credential: env.LLM_FAKE_KEY,
          settings: { provider },
        },
      });
      expect(created.status).toBe(201);
      await putPolicy(
        slug,
        [{ tool: '*', action: 'approve', reason: 'every model call needs a human' }],
        owner.key,
      );
      const res = await call('POST', `/llm/${slug}${path}`, { key: agent.key, body });
      expect(res.status).toBe(403);
      const answer = (await res.json()) as { error: { message: string } };
      if (provider === 'anthropic') {
        expect(answer).toMatchObject({
          type: 'error',
          error: {
            type: 'permission_error',
            message: expect.stringContaining('Approval required'),
            details: { approvalId: expect.stringMatching(/^apr_/) },
          },
        });
      } else {
        expect(answer).toMatchObject({
          error: {
            type: 'permission_error',
            code: 'approval_required',
            details: { approvalId: expect.stringMatching(/^apr_/) },
          },
        });
      }
    }
  });
});
