/**
 * Caller text an error echoes carries no secret (lib/echo.safe.ts, docs/architecture.md#errors-never-echo-a-secret).
 * A caller puts a real-looking credential — an OpenAI `sk-proj-…` key, an AWS `AKIA…` key id, a
 * GitHub `ghp_…` token, shapes the built-in detectors know — where the gateway quotes what was
 * wrong: a JSON key, a record key in a path, a JSON-RPC method, a tool or skill name, a model.
 * Each request still gets its typed error (status, code, where), and the credential is absent from
 * the answer, from the audit row in D1 and from the organization's live events (the EventHub's
 * replay buffer). Through the REST API,
 * MCP (/v1/mcp/:slug), LLM (/llm/:slug, OpenAI and Anthropic wire shapes) and A2A (/v1/a2a/:slug),
 * against the real local upstreams. None of these 4xx refusals writes a log line (lib/log.ts
 * levelForError); that every log line is cleared of credentials is workers/lib/log.unit.test.ts.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { auditFor, traceId } from './gateway.fixtures';
import { call, createOrg, expectJson, flushAudit, hubEvents, putPolicy, type TestOrg } from './helpers';
import { recordedUpstream } from './upstream.log';

const RUN = Date.now().toString(36);
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function random(alphabet: string, n: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

// Fresh per run, so a match can only be this run's echo (never a fixture's).
const OPENAI_KEY = `sk-proj-${random(ALNUM, 56)}`;
const AWS_KEY = `AKIA${random(UPPER, 16)}`;
const GITHUB_TOKEN = `ghp_${random(ALNUM, 36)}`;
const SECRETS = [OPENAI_KEY, AWS_KEY, GITHUB_TOKEN];

/** No secret whole, and none of the random part of any (a cut-off echo is a leak too). */
function expectNoSecret(text: string): void {
  for (const secret of SECRETS) {
    expect(text).not.toContain(secret);
    expect(text).not.toContain(secret.slice(-16));
  }
}

let org: TestOrg;

const MCP_SLUG = `echo-mcp-${RUN}`;
const OPENAI_SLUG = `echo-oa-${RUN}`;
const ANTHROPIC_SLUG = `echo-an-${RUN}`;
const A2A_SLUG = `echo-a2a-${RUN}`;

async function llmConnection(slug: string, provider: string): Promise<void> {
  await expectJson(
    await call('POST', '/api/v1/connections', {
      key: org.key,
      body: {
        slug,
        name: slug,
        type: 'llm',
        upstreamUrl: `${env.LLM_FAKE_URL}/v1`,
        credential: env.LLM_FAKE_KEY,
        settings: { provider, allowedModels: ['gpt-4o-mini', 'claude-3-5-haiku-*'] },
      },
    }),
    201,
  );
  await putPolicy(slug, [{ tool: '*', action: 'allow' }], org.key);
}

beforeAll(async () => {
  org = await createOrg('owner');
  await expectJson(
    await call('POST', '/api/v1/connections', {
      key: org.key,
      body: { slug: MCP_SLUG, name: MCP_SLUG, upstreamUrl: recordedUpstream(), authType: 'none' },
    }),
    201,
  );
  await putPolicy(MCP_SLUG, [{ tool: 'echo', action: 'allow' }], org.key);
  await llmConnection(OPENAI_SLUG, 'openai-compatible');
  await llmConnection(ANTHROPIC_SLUG, 'anthropic');
  await expectJson(
    await call('POST', '/api/v1/connections', {
      key: org.key,
      body: {
        slug: A2A_SLUG,
        name: A2A_SLUG,
        type: 'a2a',
        agentCardUrl: env.A2A_AGENT_URL,
        credential: env.A2A_AGENT_CREDENTIAL,
      },
    }),
    201,
  );
  await putPolicy(A2A_SLUG, [{ tool: 'SendMessage', action: 'allow' }], org.key);
});

/** The live events of the organization that name `trace`, as stored (replay buffer). */
async function eventsOf(trace: string): Promise<string[]> {
  return (await hubEvents(org.orgId)).filter((e) => e.includes(trace));
}

/** The audit rows of `trace`, any type (flushed first). */
async function rowsOf(trace: string): Promise<Array<Record<string, unknown>>> {
  await flushAudit();
  const rows = await env.DB.prepare('SELECT * FROM audit_events WHERE trace_id = ?')
    .bind(trace)
    .all<Record<string, unknown>>();
  return rows.results;
}

describe('REST API: a key the caller chose is not echoed', () => {
  it('an unknown top-level key named like a credential: 400 validation_failed, shown as [key]', async () => {
    const res = await call('POST', '/api/v1/connections', {
      key: org.key,
      body: {
        slug: `x-${RUN}`,
        name: 'x',
        upstreamUrl: recordedUpstream(),
        authType: 'none',
        [OPENAI_KEY]: 1,
      },
    });
    const text = await res.text();
    expect(res.status).toBe(400);
    const body = JSON.parse(text) as {
      error: { code: string; details: { issues: Array<{ message: string }> } };
    };
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.details.issues.some((i) => i.message === 'Unrecognized key: "[key]"')).toBe(true);
    expectNoSecret(text);
  });

  it('a record key in the issue path (inspection overrides): the path keeps its shape, the key is [key]', async () => {
    const res = await call('POST', '/api/v1/connections', {
      key: org.key,
      body: {
        slug: `y-${RUN}`,
        name: 'y',
        upstreamUrl: recordedUpstream(),
        authType: 'none',
        settings: {
          inspection: { packs: ['secrets-default'], overrides: { rules: { [GITHUB_TOKEN]: 'explode' } } },
        },
      },
    });
    const text = await res.text();
    expect(res.status).toBe(400);
    const body = JSON.parse(text) as {
      error: { code: string; details: { issues: Array<{ location: string; path: string }> } };
    };
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.details.issues).toContainEqual(
      expect.objectContaining({ location: 'body', path: 'settings.inspection.overrides.rules.[key]' }),
    );
    expectNoSecret(text);
  });
});

describe('MCP: a method or tool name the caller chose is not echoed', () => {
  async function mcpCall(body: unknown, trace: string): Promise<{ status: number; text: string }> {
    const res = await call('POST', `/v1/mcp/${MCP_SLUG}`, {
      key: org.key,
      body,
      headers: { Accept: 'application/json, text/event-stream', 'X-Igris-Trace-Id': trace },
    });
    return { status: res.status, text: await res.text() };
  }

  it('an unknown method that is a credential: -32601 method_not_found; answer, row and event without it', async () => {
    const trace = traceId('echo-method');
    const { status, text } = await mcpCall({ jsonrpc: '2.0', id: 1, method: AWS_KEY, params: {} }, trace);
    expect(status).toBe(200);
    const body = JSON.parse(text) as { error: { code: number; data: { code: string; details: unknown } } };
    expect(body.error.code).toBe(-32601);
    expect(body.error.data).toMatchObject({
      code: 'method_not_found',
      details: { location: 'body', path: 'method', method: '[redacted]' },
    });
    expectNoSecret(text);
    const rows = await auditFor(trace);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ method: '[redacted]', action: 'error', error_code: 'method_not_found' });
    expectNoSecret(JSON.stringify(await rowsOf(trace)));
    expectNoSecret(JSON.stringify(await eventsOf(trace)));
  });

  it('a secret hidden after a known prefix (`tools/<token>`) is masked too; a real method stays readable', async () => {
    const trace = traceId('echo-prefix');
    const { text } = await mcpCall(
      [
        { jsonrpc: '2.0', id: 1, method: `tools/${GITHUB_TOKEN}`, params: {} },
        { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: {} } },
      ],
      trace,
    );
    expectNoSecret(text);
    const rows = await auditFor(trace);
    expect(rows.map((r) => r.method)).toEqual(['[redacted]', 'tools/call']);
    expectNoSecret(JSON.stringify(await rowsOf(trace)));
    expectNoSecret(JSON.stringify(await eventsOf(trace)));
  });

  it('a denied tool named like a credential: policy_denied, details.tool and the row tool are [redacted]', async () => {
    const trace = traceId('echo-tool');
    const { text } = await mcpCall(
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: OPENAI_KEY, arguments: {} } },
      trace,
    );
    const body = JSON.parse(text) as { error: { code: number; data: { code: string; details: unknown } } };
    expect(body.error.code).toBe(-32006);
    expect(body.error.data).toMatchObject({ code: 'policy_denied', details: { tool: '[redacted]' } });
    expectNoSecret(text);
    const rows = await auditFor(trace);
    expect(rows[0]).toMatchObject({ method: 'tools/call', tool: '[redacted]', action: 'deny' });
    const events = await eventsOf(trace);
    expect(events.length).toBeGreaterThan(0);
    expectNoSecret(JSON.stringify(events));
    expectNoSecret(JSON.stringify(await rowsOf(trace)));
  });
});

describe('identity headers: a credential sent as a trace id or user is not recorded', () => {
  it('X-Igris-Trace-Id and X-Igris-User holding credentials: a generated trace id, no user, the reason recorded', async () => {
    const res = await call('POST', `/v1/mcp/${MCP_SLUG}`, {
      key: org.key,
      body: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: {} } },
      headers: {
        Accept: 'application/json, text/event-stream',
        'X-Igris-Trace-Id': AWS_KEY,
        'X-Igris-User': `user ${GITHUB_TOKEN}`,
      },
    });
    const text = await res.text();
    const trace = res.headers.get('X-Igris-Trace-Id')!;
    expect(trace).toMatch(/^ig_trace_[0-9a-f]{32}$/);
    expectNoSecret(text);
    const rows = await rowsOf(trace);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ tool: 'echo', user: null });
    expect(String(rows[0]!.metadata_error)).toContain('X-Igris-Trace-Id ignored: it looks like a credential');
    expect(String(rows[0]!.metadata_error)).toContain('X-Igris-User ignored: it looks like a credential');
    expectNoSecret(JSON.stringify(rows));
    expectNoSecret(JSON.stringify(await eventsOf(trace)));
  });
});

describe('LLM: a model the caller chose is not echoed, in either wire shape', () => {
  it('OpenAI chat completions with an sk-proj key as the model: 403 policy_denied, the key nowhere', async () => {
    const trace = `echo-llm-oa-${RUN}`;
    const res = await call('POST', `/llm/${OPENAI_SLUG}/v1/chat/completions`, {
      key: org.key,
      body: { model: OPENAI_KEY, messages: [{ role: 'user', content: 'hi' }] },
      headers: { 'X-Igris-Trace-Id': trace },
    });
    const text = await res.text();
    expect(res.status).toBe(403);
    const body = JSON.parse(text) as {
      error: { code: string; type: string; message: string; details: unknown };
    };
    expect(body.error).toMatchObject({
      code: 'policy_denied',
      type: 'permission_error',
      details: { model: '[redacted]' },
    });
    expect(body.error.message).toContain(`model "[redacted]" is not in this connection's allowedModels`);
    expectNoSecret(text);
    const rows = await rowsOf(trace);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      type: 'llm_call',
      model: '[redacted]',
      tool: '[redacted]',
      action: 'deny',
    });
    expectNoSecret(JSON.stringify(rows));
    expectNoSecret(JSON.stringify(await eventsOf(trace)));
  });

  it('Anthropic messages with an AWS key as the model: 403 in the Anthropic shape, the key nowhere', async () => {
    const trace = `echo-llm-an-${RUN}`;
    const res = await call('POST', `/llm/${ANTHROPIC_SLUG}/v1/messages`, {
      key: org.key,
      body: { model: AWS_KEY, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] },
      headers: { 'X-Igris-Trace-Id': trace, 'anthropic-version': '2023-06-01' },
    });
    const text = await res.text();
    expect(res.status).toBe(403);
    const body = JSON.parse(text) as { type: string; error: { type: string; details: unknown } };
    expect(body).toMatchObject({
      type: 'error',
      error: { type: 'permission_error', details: { model: '[redacted]' } },
    });
    expectNoSecret(text);
    const rows = await rowsOf(trace);
    expect(rows[0]).toMatchObject({ model: '[redacted]', action: 'deny' });
    expectNoSecret(JSON.stringify(rows));
    expectNoSecret(JSON.stringify(await eventsOf(trace)));
  });

  it('a model retrieval (`GET /models/<id>`) of a credential: 404 not_found, the id not quoted', async () => {
    const trace = `echo-llm-get-${RUN}`;
    const res = await call('GET', `/llm/${OPENAI_SLUG}/v1/models/${GITHUB_TOKEN}`, {
      key: org.key,
      headers: { 'X-Igris-Trace-Id': trace },
    });
    const text = await res.text();
    expect(res.status).toBe(404);
    expect(JSON.parse(text)).toMatchObject({ error: { type: 'not_found_error' } });
    expectNoSecret(text);
    expectNoSecret(JSON.stringify(await rowsOf(trace)));
    expectNoSecret(JSON.stringify(await eventsOf(trace)));
  });
});

describe('A2A: a method or skill the caller chose is not echoed', () => {
  async function a2a(method: string, params: unknown, trace: string): Promise<string> {
    const res = await call('POST', `/v1/a2a/${A2A_SLUG}`, {
      key: org.key,
      body: { jsonrpc: '2.0', id: 1, method, params },
      headers: { 'A2A-Version': '1.0', 'X-Igris-Trace-Id': trace },
    });
    expect(res.status).toBe(200);
    return res.text();
  }

  it('an unknown method that is a credential: method_not_found, [redacted] in the answer and the row', async () => {
    const trace = `echo-a2a-m-${RUN}`;
    const text = await a2a(GITHUB_TOKEN, {}, trace);
    const body = JSON.parse(text) as { error: { data: { code: string; details: unknown } } };
    expect(body.error.data).toMatchObject({ code: 'method_not_found', details: { method: '[redacted]' } });
    expectNoSecret(text);
    const rows = await rowsOf(trace);
    expect(rows[0]).toMatchObject({ method: '[redacted]', action: 'error' });
    expectNoSecret(JSON.stringify(rows));
    expectNoSecret(JSON.stringify(await eventsOf(trace)));
  });

  it('a send naming a skill that is a credential: policy_denied, the skill [redacted] in answer, row and event', async () => {
    const trace = `echo-a2a-s-${RUN}`;
    const text = await a2a(
      'SendMessage',
      {
        message: { messageId: `m-${RUN}`, role: 'ROLE_USER', parts: [{ text: 'hi' }] },
        metadata: { skillId: OPENAI_KEY },
      },
      trace,
    );
    const body = JSON.parse(text) as { error: { data: { code: string; details: unknown } } };
    expect(body.error.data).toMatchObject({ code: 'policy_denied', details: { skill: '[redacted]' } });
    expectNoSecret(text);
    const rows = await rowsOf(trace);
    expect(rows[0]).toMatchObject({
      type: 'a2a_call',
      method: 'SendMessage',
      tool: '[redacted]',
      action: 'deny',
    });
    expectNoSecret(JSON.stringify(rows));
    expectNoSecret(JSON.stringify(await eventsOf(trace)));
  });
});
