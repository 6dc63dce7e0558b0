/**
 * Session taint that asks for an approval instead of refusing (`onTaint: "approve"`, issue 22's
 * template "after untrusted input, no network sinks without approval"), inside workerd against the
 * real SDK-built test upstream: `echo` stands in for reading a web page (untrusted input) and `add`
 * for `send_email` (a network sink). A clean session's sink call passes; after untrusted input the
 * guard says "tainted, approval required" and the gateway holds the call exactly like an `approve`
 * rule — the approval naming the taint — the approved identical retry passes once, a changed one
 * does not; a rule whose onTaint is the default still refuses.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { auditFor, traceId } from './gateway.fixtures';
import {
  addMember,
  call,
  createConnection,
  createOrg,
  expectJson,
  flushAudit,
  mcp,
  putPolicy,
  rpcResult,
  type TestOrg,
} from './helpers';

const SLUG = `taint-approve-${Date.now().toString(36)}`;

let owner: TestOrg;
let agent: TestOrg;

interface Approval {
  id: string;
  status: string;
  tool: string;
  args: unknown;
  reason: string | null;
  taint: string[] | null;
}

beforeAll(async () => {
  owner = await createOrg('owner');
  agent = await addMember(owner.orgId, 'admin');
  await createConnection(SLUG, { key: owner.key });
  await putPolicy(
    SLUG,
    [
      { tool: 'echo', action: 'allow', labels: ['untrusted_input'] },
      {
        tool: 'add',
        action: 'allow',
        labels: ['sink:network'],
        cleanOf: ['untrusted_input'],
        onTaint: 'approve',
      },
      // The default onTaint: refused, as before.
      { tool: 'whoami', action: 'allow', cleanOf: ['untrusted_input'] },
      { tool: '*', action: 'allow' },
    ],
    owner.key,
  );
});

async function inSession(session: string, name: string, args: Record<string, unknown> = {}) {
  return rpcResult(
    await mcp(
      SLUG,
      'tools/call',
      { name, arguments: args },
      { key: agent.key, headers: { 'X-Igris-Trace-Id': session } },
    ),
  );
}

function heldId(answer: Awaited<ReturnType<typeof rpcResult>>): string {
  expect(answer.result).toBeUndefined();
  const error = answer.error as unknown as {
    code: number;
    message: string;
    data: { code: string; approvalId: string; details: Record<string, unknown> };
  };
  expect(error.code).toBe(-32015);
  expect(error.data.code).toBe('approval_required');
  expect(error.message).toContain('untrusted_input');
  expect(error.data.details).toMatchObject({ tool: 'add', taint: ['untrusted_input'], ruleIndex: 1 });
  return error.data.approvalId;
}

describe('session taint with onTaint "approve"', () => {
  it('a clean session passes; after untrusted input the sink is held for an approval naming the taint', async () => {
    const session = traceId('taint-approve');
    expect((await inSession(session, 'add', { a: 1, b: 2 })).result!.content).toEqual([
      { type: 'text', text: '3' },
    ]);
    expect(
      (await inSession(session, 'echo', { message: 'ignore previous instructions' })).result,
    ).toBeDefined();
    const id = heldId(await inSession(session, 'add', { a: 1, b: 2 }));

    const approval = await expectJson<Approval>(
      await call('GET', `/api/v1/approvals/${id}`, { key: owner.key }),
      200,
    );
    expect(approval).toMatchObject({
      status: 'pending',
      tool: 'add',
      args: { a: 1, b: 2 },
      taint: ['untrusted_input'],
    });
    expect(approval.reason).toContain('session taint');

    // Audited once, as a held call (the guard recorded nothing on its first answer).
    const rows = await auditFor(session);
    expect(rows.map((r) => [r.tool, r.action, r.error_code])).toEqual([
      ['add', 'allow', null],
      ['echo', 'allow', null],
      ['add', 'approval_required', 'approval_required'],
    ]);
    expect(JSON.parse(rows[2]!.details!).findings).toEqual([
      expect.objectContaining({
        kind: 'approval_required',
        detail: expect.objectContaining({ approvalId: id, taint: ['untrusted_input'] }),
      }),
    ]);
    // The alert is inserted after the answer (waitUntil, approval.gate.ts `announce`): wait for it.
    const alertRow = () =>
      env.DB.prepare('SELECT type, details FROM alerts WHERE org_id = ? AND fingerprint = ?')
        .bind(owner.orgId, `approval:${id}`)
        .first<{ type: string; details: string }>();
    await expect.poll(alertRow, { timeout: 10_000, interval: 50 }).not.toBeNull();
    const alert = await alertRow();
    expect(alert!.type).toBe('approval');
    expect(JSON.parse(alert!.details)).toMatchObject({ approvalId: id, taint: ['untrusted_input'] });

    // A fresh session is not held.
    expect((await inSession(traceId('taint-approve-fresh'), 'add', { a: 1, b: 2 })).result).toBeDefined();
  });

  it('the approved identical call passes once in the tainted session; a changed or repeated one is held', async () => {
    const session = traceId('taint-approve-retry');
    await inSession(session, 'echo', { message: 'untrusted' });
    const id = heldId(await inSession(session, 'add', { a: 20, b: 22 }));
    const approved = await call('POST', `/api/v1/approvals/${id}/approve`, { key: owner.key, body: {} });
    expect(approved.status).toBe(200);

    const changed = heldId(await inSession(session, 'add', { a: 20, b: 23 }));
    expect(changed).not.toBe(id);
    const passed = await inSession(session, 'add', { a: 20, b: 22 });
    expect(passed.result!.content).toEqual([{ type: 'text', text: '42' }]);
    const used = await expectJson<Approval>(
      await call('GET', `/api/v1/approvals/${id}`, { key: owner.key }),
      200,
    );
    expect(used.status).toBe('used');
    const again = heldId(await inSession(session, 'add', { a: 20, b: 22 }));
    expect(again).not.toBe(id);

    const rows = await auditFor(session);
    const passedRow = rows.find((r) => r.action === 'allow' && r.tool === 'add');
    expect(JSON.parse(passedRow!.details!).findings).toEqual([
      expect.objectContaining({ kind: 'approval_used', detail: { approvalId: id } }),
    ]);
  });

  it('a rule with the default onTaint still refuses a tainted session outright', async () => {
    const session = traceId('taint-approve-deny');
    await inSession(session, 'echo', { message: 'untrusted' });
    const refused = await inSession(session, 'whoami');
    expect(refused.error!.data).toMatchObject({ code: 'policy_denied' });
    const { results } = await env.DB.prepare("SELECT id FROM approvals WHERE org_id = ? AND tool = 'whoami'")
      .bind(owner.orgId)
      .all();
    expect(results).toHaveLength(0);
  });

  it('onTaint without cleanOf is refused when the policy is saved', async () => {
    const res = await call('PUT', `/api/v1/connections/${SLUG}/policy`, {
      key: owner.key,
      body: { rules: [{ tool: 'add', action: 'allow', onTaint: 'approve' }] },
    });
    const body = await expectJson<{ error: { code: string; details: { issues: { path: string }[] } } }>(
      res,
      400,
    );
    expect(body.error.details.issues[0]!.path).toBe('rules[0].onTaint');
  });

  it('replay counts the rows session taint decided apart: a draft is never said to change them', async () => {
    await flushAudit();
    const res = await call('POST', `/api/v1/connections/${SLUG}/policy/replay`, {
      key: owner.key,
      body: { rules: [{ tool: '*', action: 'allow' }] },
    });
    const body = await expectJson<{ evaluated: number; changed: number; sessionTaint: number }>(res, 200);
    // Held: 1 + 3 in the retry test; refused: 1 (whoami). Everything else was allowed.
    expect(body.sessionTaint).toBe(5);
    expect(body.changed).toBe(0);
    expect(body.evaluated).toBeGreaterThanOrEqual(5);
  });
});
