/**
 * A finding's location names object keys, and a key can be the secret itself (keys of 8+ characters
 * are scanned, inspection.json.ts). In workerd, against the real fake provider and MCP upstream:
 * what a rule matches in a location is reported as `[ruleId]` (inspection.findings.ts
 * `reportedLocation`), so neither the refusal, the audit row (the whole row) nor the live event
 * holds the key:
 *   LLM          a tool_use input whose KEY is an AWS key, on a blocking connection: 403;
 *   LLM redact   an e-mail as an Anthropic tool input key reaches the provider renamed to its
 *                placeholder, and the row's location shows `[pii.email]`;
 *   MCP          a tools/call whose argument object has an AWS key as a key: the JSON-RPC error;
 *   passthrough  a Message Batch whose request has an AWS key as a key: 403 before the provider;
 *   A2A          a SendMessage data part keyed by an AWS key: the JSON-RPC error, before the agent.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACCEPT_BOTH, type AuditRow, auditFor, traceId } from './gateway.fixtures';
import { bootstrapDefault, call, hubEvents, putPolicy } from './helpers';
import { inspectedLlm, llmRow } from './llm.inspection.fixtures';
import { recordedUpstream } from './upstream.log';

const RUN = Date.now().toString(36);
const ANTH_BLOCK = `loc-ab-${RUN}`;
const ANTH_REDACT = `loc-ar-${RUN}`;
const MCP_BLOCK = `loc-mcp-${RUN}`;
const A2A_BLOCK = `loc-a2a-${RUN}`;

/** test/e2e/llm.fake-provider.split.ts FAKE_SPLIT_SECRET: an AWS key the built-in pack finds. */
const AWS_KEY = 'AKIAZ7Q4RXW2LM5PT3NB';
const EMAIL = 'jane.doe@example.com';
const BLOCK_SECRETS = { packs: ['secrets-default'], overrides: { categories: { secret: 'block' } } };
const ANTHROPIC = { 'anthropic-version': '2023-06-01', 'Content-Type': 'application/json' };

let orgId = '';

beforeAll(async () => {
  orgId = await bootstrapDefault();
  await inspectedLlm(ANTH_BLOCK, 'anthropic', BLOCK_SECRETS);
  await inspectedLlm(ANTH_REDACT, 'anthropic', { packs: ['llm-standard-security', 'llm-compliance-gdpr'] });
  const res = await call('POST', '/api/v1/connections', {
    body: {
      slug: MCP_BLOCK,
      name: MCP_BLOCK,
      upstreamUrl: recordedUpstream('/json'),
      authType: 'none',
      settings: { inspection: BLOCK_SECRETS },
    },
  });
  expect(res.status, await res.clone().text()).toBe(201);
  await putPolicy(MCP_BLOCK, [{ tool: '*', action: 'allow' }]);
  const agent = await call('POST', '/api/v1/connections', {
    body: {
      slug: A2A_BLOCK,
      name: A2A_BLOCK,
      type: 'a2a',
      agentCardUrl: env.A2A_AGENT_URL,
      credential: env.A2A_AGENT_CREDENTIAL,
      settings: { inspection: BLOCK_SECRETS },
    },
  });
  expect(agent.status, await agent.clone().text()).toBe(201);
  await putPolicy(A2A_BLOCK, [{ tool: '*', action: 'allow' }]);
});

/** The first audit row of a trace with findings (MCP and A2A rows). */
async function rowOf(trace: string): Promise<AuditRow> {
  for (let i = 0; i < 50; i++) {
    await auditFor(trace); // flushes the spools
    const rows = await env.DB.prepare('SELECT * FROM audit_events WHERE trace_id = ?')
      .bind(trace)
      .all<AuditRow>();
    const row = rows.results.find((r) => findingsOf(r).length > 0);
    if (row) return row;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no row with findings for ${trace}`);
}

type Detail = { location?: string; ruleId?: string };
const findingsOf = (row: AuditRow) =>
  (JSON.parse(row.details ?? '{}') as { findings?: Array<{ kind: string; detail: Detail }> }).findings ?? [];

/** The live events of the trace (the org's EventHub replay buffer), once one carries findings. */
async function eventsOf(trace: string): Promise<string[]> {
  for (let i = 0; i < 50; i++) {
    const mine = (await hubEvents(orgId)).filter((e) => e.includes(trace));
    if (mine.some((e) => e.includes('"findings"'))) return mine;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no event with findings for ${trace}`);
}

/** What a provider received carrying `marker`, raw. */
async function providerRaw(marker: string): Promise<string[]> {
  const res = await fetch(`${env.LLM_FAKE_URL}/__fake/requests`);
  return ((await res.json()) as Array<{ body: unknown; query?: Record<string, string> }>)
    .map((r) => JSON.stringify(r))
    .filter((r) => r.includes(marker));
}

/** The row, its events and the response hold no `secret`; the finding's location shows `marker`. */
async function expectClean(row: AuditRow, trace: string, secret: string, marker: string) {
  expect(JSON.stringify(row)).not.toContain(secret);
  const locations = findingsOf(row).map((f) => f.detail.location ?? '');
  expect(
    locations.some((l) => l.includes(marker)),
    JSON.stringify(locations),
  ).toBe(true);
  const events = await eventsOf(trace);
  for (const e of events) expect(e).not.toContain(secret);
  expect(events.join('\n')).toContain(marker);
}

describe('a secret used as an object key is not reported in its location', () => {
  it('LLM: a tool_use input keyed by an AWS key is refused; body, row and event hold no key', async () => {
    const trace = traceId('loc-llm');
    const body = {
      model: 'claude-x',
      max_tokens: 16,
      system: `Be brief. ${trace}`,
      messages: [
        { role: 'user', content: 'run it' },
        {
          role: 'assistant',
          content: [{ type: 'tool_use', id: 'toolu_1', name: 'run', input: { [AWS_KEY]: 1 } }],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'done' }] },
      ],
    };
    const res = await call('POST', `/llm/${ANTH_BLOCK}/v1/messages`, {
      body,
      headers: { ...ANTHROPIC, 'X-Igris-Trace-Id': trace },
    });
    const text = await res.text();
    expect(res.status, text).toBe(403);
    expect(text).not.toContain(AWS_KEY);
    const details = (JSON.parse(text) as { error: { details: Detail } }).error.details;
    expect(details.ruleId).toBe('secret.aws_access_key_id');
    expect(details.location).toBe('$.messages[1].content[0].input.[secret.aws_access_key_id]~key');
    expect(await providerRaw(trace)).toEqual([]);
    const row = await llmRow(trace, (r) => findingsOf(r).length > 0);
    expect(row.error_code).toBe('content_blocked');
    await expectClean(row, trace, AWS_KEY, '[secret.aws_access_key_id]~key');
  });

  it('LLM redact: an e-mail key reaches the provider as its placeholder; the row shows the rule', async () => {
    const trace = traceId('loc-redact');
    const body = `{"model":"claude-x","max_tokens":16,"system":"Be brief. ${trace}","messages":[
      {"role":"user","content":"who owns it?"},
      {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"owners","input":{"${EMAIL}":"owner"}}]},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"done"}]}]}`;
    const res = await call('POST', `/llm/${ANTH_REDACT}/v1/messages`, {
      rawBody: body,
      headers: { ...ANTHROPIC, 'X-Igris-Trace-Id': trace },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const [sent] = await providerRaw(trace);
    expect(sent).toContain('"input":{"[EMAIL_1]":"owner"}');
    expect(sent).not.toContain(EMAIL);
    const row = await llmRow(trace, (r) => findingsOf(r).some((f) => f.kind === 'pii.email'));
    expect(findingsOf(row).map((f) => f.detail.location)).toContain(
      '$.messages[1].content[0].input["[pii.email]"]~key',
    );
    await expectClean(row, trace, EMAIL, '[pii.email]');
  });

  it('MCP: a tools/call argument keyed by an AWS key is refused; error, row and event hold no key', async () => {
    const trace = traceId('loc-mcp');
    const res = await call('POST', `/v1/mcp/${MCP_BLOCK}`, {
      body: {
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'echo', arguments: { message: 'hi', env: { [AWS_KEY]: 'x' } } },
      },
      headers: { Accept: ACCEPT_BOTH, 'X-Igris-Trace-Id': trace },
    });
    const text = await res.text();
    expect(text).not.toContain(AWS_KEY);
    const error = (JSON.parse(text) as { error: { data: { code: string; details: Detail } } }).error;
    expect(error.data.code).toBe('content_blocked');
    expect(error.data.details.location).toBe('$.params.arguments.env.[secret.aws_access_key_id]~key');
    await expectClean(await rowOf(trace), trace, AWS_KEY, '[secret.aws_access_key_id]~key');
  });

  it('passthrough: a Message Batch whose request has an AWS key as a key is refused, row clean', async () => {
    const trace = traceId('loc-batch');
    const batch = {
      requests: [
        {
          custom_id: 'one',
          params: {
            model: 'claude-x',
            max_tokens: 16,
            metadata: { [AWS_KEY]: 'x' },
            messages: [{ role: 'user', content: `hello ${trace}` }],
          },
        },
      ],
    };
    const res = await call('POST', `/llm/${ANTH_BLOCK}/v1/messages/batches`, {
      body: batch,
      headers: { ...ANTHROPIC, 'X-Igris-Trace-Id': trace },
    });
    const text = await res.text();
    expect(res.status, text).toBe(403);
    expect(text).not.toContain(AWS_KEY);
    expect((JSON.parse(text) as { error: { details: Detail } }).error.details.location).toBe(
      '$.requests[0].params.metadata.[secret.aws_access_key_id]~key',
    );
    expect(await providerRaw(trace)).toEqual([]);
    const row = await llmRow(trace, (r) => findingsOf(r).length > 0);
    await expectClean(row, trace, AWS_KEY, '[secret.aws_access_key_id]~key');
  });

  it('A2A: a message data part keyed by an AWS key is refused; error, row and event hold no key', async () => {
    const trace = traceId('loc-a2a');
    const res = await call('POST', `/v1/a2a/${A2A_BLOCK}`, {
      body: {
        jsonrpc: '2.0',
        id: 1,
        method: 'SendMessage',
        params: {
          message: {
            messageId: `m-${trace}`,
            role: 'ROLE_USER',
            parts: [{ data: { config: { [AWS_KEY]: 'x' } } }],
            metadata: { skillId: 'echo' },
          },
        },
      },
      headers: { 'A2A-Version': '1.0', 'X-Igris-Trace-Id': trace },
    });
    const text = await res.text();
    expect(text).not.toContain(AWS_KEY);
    const error = (JSON.parse(text) as { error: { code: number; data: { details: Detail } } }).error;
    expect(error.code).toBe(-32014);
    expect(error.data.details.location).toBe(
      '$.params.message.parts[0].data.config.[secret.aws_access_key_id]~key',
    );
    const row = await rowOf(trace);
    expect(row.upstream_status).toBeNull(); // never forwarded
    await expectClean(row, trace, AWS_KEY, '[secret.aws_access_key_id]~key');
  });
});
