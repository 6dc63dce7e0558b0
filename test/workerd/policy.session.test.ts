/**
 * Session conditions and cross-connection agent sessions (issue 22) through the gateway, inside
 * workerd, against the real SDK-built test upstream:
 *   - `session.called` refuses a tool once the session called a matching one (the guard decides it
 *     in the admit round trip); a fresh session is not refused;
 *   - tool labels set per connection (`settings.toolLabels`) taint the session like a rule's labels;
 *   - facts recorded on connection A are seen on connection B for the same key + X-Igris-Trace-Id
 *     (the organization's SessionFacts store), not for another trace id, and never in another
 *     organization (tenancy).
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { sessionFactsFor } from '../../durable-objects/do.client';
import { patchSettings, traceId } from './gateway.fixtures';
import {
  ADMIN_KEY,
  addMember,
  apiKeyIdOf,
  bootstrapDefault,
  call,
  createConnection,
  createOrg,
  mcp,
  putPolicy,
  rpcResult,
} from './helpers';

const RUN = Date.now().toString(36);
const CALLED = `ses-called-${RUN}`;
const SOURCE = `ses-src-${RUN}`;
const SINK = `ses-sink-${RUN}`;
let orgId: string;

beforeAll(async () => {
  orgId = await bootstrapDefault();
  await createConnection(CALLED);
  await putPolicy(CALLED, [
    {
      tool: 'add',
      action: 'deny',
      conditions: { 'session.called': ['delete_*'] },
      reason: 'no math after deletes',
    },
    { tool: '*', action: 'allow' },
  ]);
  // A: allows everything; its echo tool is labelled untrusted_input by the connection's settings.
  await createConnection(SOURCE);
  await putPolicy(SOURCE, [{ tool: '*', action: 'allow' }]);
  await patchSettings(SOURCE, { toolLabels: { echo: ['untrusted_input'] } });
  // B: add is refused for a session that touched untrusted input (on any connection).
  await createConnection(SINK);
  await putPolicy(SINK, [
    { tool: 'add', action: 'deny', conditions: { 'session.touched': ['untrusted_input'] } },
    { tool: '*', action: 'allow' },
  ]);
});

async function on(
  slug: string,
  session: string,
  name: string,
  args: Record<string, unknown> = {},
  key?: string,
) {
  return rpcResult(
    await mcp(
      slug,
      'tools/call',
      { name, arguments: args },
      { key, headers: { 'X-Igris-Trace-Id': session } },
    ),
  );
}

/** Waits until the organization's store holds `label` for the session (guards share it off the call's path). */
async function shared(org: string, key: string, session: string, label: string): Promise<void> {
  const stub = sessionFactsFor(env, org, `${await apiKeyIdOf(key)}|trace:${session}`);
  for (let i = 0; i < 200; i++) {
    if ((await stub.facts()).labels.includes(label)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${label} never reached the session store`);
}

describe('session.called', () => {
  it('refuses a tool after the session called a matching one; a fresh session is not refused', async () => {
    const session = traceId('called');
    expect((await on(CALLED, session, 'add', { a: 1, b: 2 })).result).toBeDefined();
    expect((await on(CALLED, session, 'delete_records', { table: 't' })).result).toBeDefined();
    const refused = await on(CALLED, session, 'add', { a: 1, b: 2 });
    expect(refused.error!.data).toMatchObject({ code: 'policy_denied' });
    expect(refused.error!.data!.details).toMatchObject({ taint: ['called:delete_records'], ruleIndex: 0 });
    expect((await on(CALLED, traceId('called-fresh'), 'add', { a: 1, b: 2 })).result).toBeDefined();
  });
});

describe('agent sessions across connections', () => {
  it('a label touched on A refuses the sink on B for the same key and trace id, not for another', async () => {
    const session = traceId('cross');
    // Same connection, label from settings: nothing on B yet.
    expect((await on(SINK, session, 'add', { a: 1, b: 1 })).result).toBeDefined();
    expect((await on(SOURCE, session, 'echo', { message: 'untrusted page' })).result).toBeDefined();
    await shared(orgId, ADMIN_KEY, session, 'untrusted_input');
    const refused = await on(SINK, session, 'add', { a: 1, b: 1 });
    expect(refused.error!.data).toMatchObject({ code: 'policy_denied' });
    expect(refused.error!.message).toContain('untrusted_input');
    expect((await on(SINK, traceId('cross-other'), 'add', { a: 1, b: 1 })).result).toBeDefined();
  });

  it("another organization's facts never reach this one, even with the same trace id", async () => {
    const other = await createOrg('owner');
    const slugA = `ses-ten-a-${RUN}`;
    const slugB = `ses-ten-b-${RUN}`;
    await createConnection(slugA, { key: other.key });
    await putPolicy(slugA, [{ tool: '*', action: 'allow' }], other.key);
    await createConnection(slugB);
    await putPolicy(slugB, [
      { tool: 'add', action: 'deny', conditions: { 'session.touched': ['untrusted_input'] } },
      { tool: '*', action: 'allow' },
    ]);
    const res = await mcp(
      slugA,
      'tools/call',
      { name: 'echo', arguments: { message: 'x' } },
      {
        key: other.key,
        headers: { 'X-Igris-Trace-Id': 'shared-trace' },
      },
    );
    expect(res.status).toBe(200);
    // Facts of the other organization's store, and the same session id under this organization.
    const theirs = sessionFactsFor(env, other.orgId, `${await apiKeyIdOf(other.key)}|trace:shared-trace`);
    await theirs.record({ labels: ['untrusted_input'], called: ['echo'] });
    await sessionFactsFor(env, other.orgId, `${await apiKeyIdOf(ADMIN_KEY)}|trace:shared-trace`).record({
      labels: ['untrusted_input'],
      called: [],
    });
    expect((await on(slugB, 'shared-trace', 'add', { a: 2, b: 2 })).result).toBeDefined();
    expect(
      (await sessionFactsFor(env, orgId, `${await apiKeyIdOf(ADMIN_KEY)}|trace:shared-trace`).facts()).labels,
    ).toEqual([]);
  });
});

describe('an approve rule with session conditions', () => {
  it('holds the call once the session matches; the approved identical call passes once', async () => {
    const owner = await createOrg('owner');
    const agent = await addMember(owner.orgId, 'admin');
    const slug = `ses-approve-${RUN}`;
    await createConnection(slug, { key: owner.key });
    await putPolicy(
      slug,
      [
        { tool: 'add', action: 'approve', conditions: { 'session.called': ['echo'] } },
        { tool: '*', action: 'allow', reason: 'the fallback rule' },
      ],
      owner.key,
    );
    const session = traceId('approve-gate');
    expect((await on(slug, session, 'add', { a: 1, b: 2 }, agent.key)).result).toBeDefined();
    expect((await on(slug, session, 'echo', { message: 'x' }, agent.key)).result).toBeDefined();
    const held = await on(slug, session, 'add', { a: 1, b: 2 }, agent.key);
    expect(held.error!.code).toBe(-32015);
    expect(held.error!.data).toMatchObject({
      code: 'approval_required',
      // The gate rule (0) holds the call, not the fallback rule (1) it matches otherwise.
      details: { taint: ['called:echo'], ruleIndex: 0 },
    });
    const id = (held.error!.data as { approvalId: string }).approvalId;
    const opened = await call('GET', `/api/v1/approvals/${id}`, { key: owner.key });
    const approval = (await opened.json()) as { ruleIndex: number; reason: string };
    expect(approval).toMatchObject({ ruleIndex: 0, taint: ['called:echo'], status: 'pending' });
    expect(approval.reason).toContain('session taint');
    const approved = await call('POST', `/api/v1/approvals/${id}/approve`, { key: owner.key, body: {} });
    expect(approved.status).toBe(200);
    expect((await on(slug, session, 'add', { a: 1, b: 2 }, agent.key)).result!.content).toEqual([
      { type: 'text', text: '3' },
    ]);
    // Single use: the same call is held again.
    expect((await on(slug, session, 'add', { a: 1, b: 2 }, agent.key)).error!.code).toBe(-32015);
  });
});
