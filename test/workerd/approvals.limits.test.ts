/**
 * How many approvals may wait (docs/policies.md#how-many-approvals-may-wait): a hold beyond the
 * caller's cap on a connection (`settings.approvals.maxPendingPerCaller`) or the organization's
 * (1,000) is refused with 429 `approvals_pending_limit` in every wire shape the approval path
 * serves, audited, and creates nothing; expired and decided approvals do not count; one caller
 * or organization at its cap leaves the others alone; concurrent holds do not overshoot.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  apiKeyIdOf,
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

const RUN = Date.now().toString(36);
const RULES = [
  { tool: 'add', action: 'approve', reason: 'every sum needs a human' },
  { tool: '*', action: 'allow' },
];

let owner: TestOrg;
let agentX: TestOrg;
let agentY: TestOrg;
let traceCounter = 0;

beforeAll(async () => {
  owner = await createOrg('owner');
  agentX = await addMember(owner.orgId, 'admin');
  agentY = await addMember(owner.orgId, 'admin');
});

async function capped(slug: string, maxPendingPerCaller: number, key = owner.key) {
  const res = await call('PATCH', `/api/v1/connections/${slug}`, {
    key,
    body: { settings: { approvals: { maxPendingPerCaller } } },
  });
  expect(res.status, await res.clone().text()).toBe(200);
}

async function mcpConnection(label: string, cap: number | null, org = owner) {
  const slug = `apr-cap-${label}-${RUN}`;
  const { id } = await createConnection(slug, { key: org.key });
  await putPolicy(slug, RULES, org.key);
  if (cap !== null) await capped(slug, cap, org.key);
  return { slug, id };
}

interface Held {
  status: number;
  code: string | undefined;
  rpc: number | undefined;
  approvalId: string | undefined;
  details: Record<string, unknown> | undefined;
  trace: string;
}

async function add(slug: string, a: number, key: string): Promise<Held> {
  const trace = `apr-cap-${RUN}-${++traceCounter}`;
  const res = await mcp(
    slug,
    'tools/call',
    { name: 'add', arguments: { a, b: 1 } },
    { key, headers: { 'X-Igris-Trace-Id': trace } },
  );
  const answer = await rpcResult(res);
  const data = answer.error?.data as {
    code?: string;
    approvalId?: string;
    details?: Record<string, unknown>;
  };
  return {
    status: res.status,
    code: data?.code,
    rpc: answer.error?.code,
    approvalId: data?.approvalId,
    details: data?.details,
    trace,
  };
}

async function pendingOf(connectionId: string, apiKeyId: string): Promise<number> {
  const row = await env.DB.prepare(
    "SELECT COUNT(*) AS n FROM approvals WHERE connection_id = ? AND api_key_id = ? AND status = 'pending'",
  )
    .bind(connectionId, apiKeyId)
    .first<{ n: number }>();
  return row!.n;
}

async function auditRow(trace: string) {
  await flushAudit();
  return env.DB.prepare('SELECT action, error_code, details FROM audit_events WHERE trace_id = ?')
    .bind(trace)
    .first<{ action: string; error_code: string | null; details: string | null }>();
}

describe('pending approvals per caller on a connection', () => {
  it('refuses a hold beyond the cap with 429 approvals_pending_limit, audited, nothing created', async () => {
    const { slug, id } = await mcpConnection('caller', 3);
    const keyX = await apiKeyIdOf(agentX.key);
    const held: string[] = [];
    for (const a of [1, 2, 3]) {
      const h = await add(slug, a, agentX.key);
      expect(h.code).toBe('approval_required');
      held.push(h.approvalId!);
    }
    const refused = await add(slug, 4, agentX.key);
    expect(refused).toMatchObject({
      status: 429,
      rpc: -32022,
      code: 'approvals_pending_limit',
      details: { scope: 'caller', limit: 3, tool: 'add' },
    });
    expect(await pendingOf(id, keyX)).toBe(3);
    const row = await auditRow(refused.trace);
    expect(row).toMatchObject({ action: 'error', error_code: 'approvals_pending_limit' });
    expect(row!.details).toContain('approval_limit');
    // A repeat of a call already waiting reuses its approval: not a creation, not refused.
    const again = await add(slug, 2, agentX.key);
    expect(again).toMatchObject({ code: 'approval_required', approvalId: held[1] });

    // Caller Y on the same connection is not held back by X's cap.
    expect((await add(slug, 4, agentY.key)).code).toBe('approval_required');
  });

  it('does not count expired or decided approvals', async () => {
    const { slug, id } = await mcpConnection('expiry', 2);
    const keyX = await apiKeyIdOf(agentX.key);
    const first = await add(slug, 1, agentX.key);
    const second = await add(slug, 2, agentX.key);
    expect([first.code, second.code]).toEqual(['approval_required', 'approval_required']);
    expect((await add(slug, 3, agentX.key)).code).toBe('approvals_pending_limit');

    // Expired but not yet marked so (status still 'pending'): no longer counts.
    await env.DB.prepare('UPDATE approvals SET expires_at = ? WHERE id = ?')
      .bind(Date.now() - 1, first.approvalId)
      .run();
    expect((await add(slug, 3, agentX.key)).code).toBe('approval_required');
    expect((await add(slug, 4, agentX.key)).code).toBe('approvals_pending_limit');

    // Decided: denying one frees its place.
    await expectJson(
      await call('POST', `/api/v1/approvals/${second.approvalId}/deny`, { key: owner.key, body: {} }),
      200,
    );
    expect((await add(slug, 4, agentX.key)).code).toBe('approval_required');
    expect(await pendingOf(id, keyX)).toBe(3); // two unexpired + the expired one nobody re-asked for
  });

  it('concurrent holds do not overshoot the cap', async () => {
    const { slug, id } = await mcpConnection('race', 3);
    const keyX = await apiKeyIdOf(agentX.key);
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => add(slug, 100 + i, agentX.key)));
    const codes = answers.map((a) => a.code);
    expect(codes.filter((c) => c === 'approval_required')).toHaveLength(3);
    expect(codes.filter((c) => c === 'approvals_pending_limit')).toHaveLength(9);
    expect(await pendingOf(id, keyX)).toBe(3);
  });

  it('is a setting of the connection, bounded by the organization cap', async () => {
    const slug = `apr-cap-setting-${RUN}`;
    await createConnection(slug, { key: owner.key });
    for (const bad of [0, 1001, 2.5]) {
      const res = await call('PATCH', `/api/v1/connections/${slug}`, {
        key: owner.key,
        body: { settings: { approvals: { maxPendingPerCaller: bad } } },
      });
      expect(res.status, String(bad)).toBe(400);
    }
    await capped(slug, 5);
    const got = await expectJson<{ settings: { approvals?: { maxPendingPerCaller?: number } } }>(
      await call('GET', `/api/v1/connections/${slug}`, { key: owner.key }),
      200,
    );
    expect(got.settings.approvals?.maxPendingPerCaller).toBe(5);
  });
});

describe('pending approvals per organization', () => {
  it('refuses every hold of an organization at 1,000 pending, and leaves another organization alone', async () => {
    const orgA = await createOrg('owner');
    const orgB = await createOrg('owner');
    // The default per-caller cap (100) is not what refuses here.
    const a = await mcpConnection('org-a', null, orgA);
    const b = await mcpConnection('org-b', null, orgB);
    // 1,000 unexpired pending approvals of another caller of organization A.
    const future = Date.now() + 3_600_000;
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
       INSERT INTO approvals (id, org_id, connection_id, connection_slug, protocol, api_key_id, user_id, tool,
         args_hash, binding, status, requested_at, expires_at)
       SELECT 'apr_seed_' || ?1 || '_' || i, ?2, ?3, ?4, 'mcp', 'key_seed', NULL, 'add', 'h', 'seed-' || ?1 || '-' || i,
         'pending', ?5, ?6 FROM n`,
    )
      .bind(RUN, orgA.orgId, a.id, a.slug, Date.now(), future)
      .run();

    const refused = await add(a.slug, 1, orgA.key);
    expect(refused).toMatchObject({
      status: 429,
      code: 'approvals_pending_limit',
      details: { scope: 'organization', limit: 1000 },
    });
    const count = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM approvals WHERE org_id = ? AND status = 'pending'",
    )
      .bind(orgA.orgId)
      .first<{ n: number }>();
    expect(count!.n).toBe(1000);
    expect(await auditRow(refused.trace)).toMatchObject({ error_code: 'approvals_pending_limit' });

    // Organization B, same caps, is unaffected.
    expect((await add(b.slug, 1, orgB.key)).code).toBe('approval_required');

    // One of A's approvals expires: A may hold one call again, and only one.
    await env.DB.prepare('UPDATE approvals SET expires_at = ? WHERE id = ?')
      .bind(Date.now() - 1, `apr_seed_${RUN}_1`)
      .run();
    expect((await add(a.slug, 1, orgA.key)).code).toBe('approval_required');
    expect((await add(a.slug, 2, orgA.key)).code).toBe('approvals_pending_limit');
  });
});

describe('the pending cap on LLM and A2A routes', () => {
  async function llmConnection(provider: 'openai-compatible' | 'anthropic') {
    const slug = `apr-cap-llm-${provider.slice(0, 4)}-${RUN}`;
    const created = await call('POST', '/api/v1/connections', {
      key: owner.key,
      body: {
        slug,
        name: slug,
        type: 'llm',
        upstreamUrl: `${env.LLM_FAKE_URL}/v1`,
        credential: env.LLM_FAKE_KEY,
        settings: { provider, approvals: { maxPendingPerCaller: 1 } },
      },
    });
    expect(created.status).toBe(201);
    await putPolicy(slug, [{ tool: '*', action: 'approve' }], owner.key);
    return slug;
  }

  it('answers 429 rate_limit_error in the OpenAI shape, not to be retried', async () => {
    const slug = await llmConnection('openai-compatible');
    const ask = (content: string) =>
      call('POST', `/llm/${slug}/v1/chat/completions`, {
        key: agentX.key,
        body: { model: 'fake-gpt', messages: [{ role: 'user', content }] },
      });
    expect((await ask('one')).status).toBe(403);
    const res = await ask('two');
    expect(res.status).toBe(429);
    expect(res.headers.get('x-should-retry')).toBe('false');
    expect(await res.json()).toMatchObject({
      error: {
        type: 'rate_limit_error',
        code: 'approvals_pending_limit',
        details: { scope: 'caller', limit: 1 },
      },
    });
  });

  it('answers 429 rate_limit_error in the Anthropic shape', async () => {
    const slug = await llmConnection('anthropic');
    const ask = (content: string) =>
      call('POST', `/llm/${slug}/v1/messages`, {
        key: agentX.key,
        body: { model: 'claude-x', max_tokens: 10, messages: [{ role: 'user', content }] },
      });
    expect((await ask('one')).status).toBe(403);
    const res = await ask('two');
    expect(res.status).toBe(429);
    expect(await res.json()).toMatchObject({
      type: 'error',
      error: {
        type: 'rate_limit_error',
        message: expect.stringContaining('Too many pending approvals'),
        details: { scope: 'caller', limit: 1 },
      },
    });
  });

  it('answers a JSON-RPC -32022 error on an A2A route', async () => {
    const slug = `apr-cap-a2a-${RUN}`;
    const created = await call('POST', '/api/v1/connections', {
      key: owner.key,
      body: {
        slug,
        name: slug,
        type: 'a2a',
        agentCardUrl: env.A2A_AGENT_URL,
        credential: env.A2A_AGENT_CREDENTIAL,
        settings: { approvals: { maxPendingPerCaller: 1 } },
      },
    });
    expect(created.status).toBe(201);
    await putPolicy(slug, [{ tool: '*', action: 'approve' }], owner.key);
    const send = async (text: string) => {
      const res = await call('POST', `/v1/a2a/${slug}`, {
        key: agentX.key,
        headers: { 'A2A-Version': '1.0' },
        body: {
          jsonrpc: '2.0',
          id: 1,
          method: 'SendMessage',
          params: {
            message: {
              messageId: `m-${crypto.randomUUID()}`,
              role: 'ROLE_USER',
              parts: [{ text }],
              metadata: { skillId: 'echo' },
            },
          },
        },
      });
      return {
        status: res.status,
        body: (await res.json()) as { error?: { code: number; data: { code: string } } },
      };
    };
    expect((await send('one')).body.error?.data.code).toBe('approval_required');
    const refused = await send('two');
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ code: -32022, data: { code: 'approvals_pending_limit' } });
  });
});
