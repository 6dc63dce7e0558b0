/**
 * Complete masking through the gateway, in workerd against the real upstreams
 * (docs/detections.md#redaction-is-complete): a scan reports at most 32 findings per rule, and a
 * prompt holding 40 addresses reached the provider with 8 of them in clear. Now:
 *   LLM  40 addresses in one message reach the fake provider as [EMAIL_1]…[EMAIL_40] (what it
 *        received, read back from it), and come back restored (`fake-echo` answers with the prompt);
 *        an address used as a tool input's key reaches it renamed to its placeholder, and a
 *        `__proto__` key reaches it as the caller sent it;
 *   MCP  a tools/call whose `echo` result carries 40 addresses: the client gets none in clear, JSON
 *        and SSE.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACCEPT_BOTH, messages, traceId } from './gateway.fixtures';
import { bootstrapDefault, call, putPolicy } from './helpers';
import { inspectedLlm } from './llm.inspection.fixtures';
import { recordedUpstream } from './upstream.log';

const RUN = Date.now().toString(36);
const LLM = `redact-all-llm-${RUN}`;
const ANTHROPIC = `redact-all-anth-${RUN}`;
const MCP_JSON = `redact-all-json-${RUN}`;
const MCP_SSE = `redact-all-sse-${RUN}`;

const EMAILS = Array.from({ length: 40 }, (_, i) => `colleague${i}.name@corp-example.com`);
const MANY = `Invite ${EMAILS.join(', ')} to the review.`;
const MASKED = `Invite ${EMAILS.map((_, i) => `[EMAIL_${i + 1}]`).join(', ')} to the review.`;

async function mcpConnection(slug: string, path: string) {
  const res = await call('POST', '/api/v1/connections', {
    body: {
      slug,
      name: slug,
      upstreamUrl: recordedUpstream(path),
      authType: 'none',
      settings: { inspection: { packs: ['mcp-advanced-security', 'pii-default'] } },
    },
  });
  expect(res.status, await res.clone().text()).toBe(201);
  await putPolicy(slug, [{ tool: '*', action: 'allow' }]);
}

beforeAll(async () => {
  await bootstrapDefault();
  const packs = { packs: ['llm-standard-security', 'llm-compliance-gdpr'] };
  await inspectedLlm(LLM, 'openai-compatible', packs);
  await inspectedLlm(ANTHROPIC, 'anthropic', packs);
  await mcpConnection(MCP_JSON, '/json');
  await mcpConnection(MCP_SSE, '/stateless');
});

/** The raw bodies the fake provider received carrying `marker` (it is shared: found by marker). */
async function providerRaw(marker: string): Promise<string[]> {
  const res = await fetch(`${env.LLM_FAKE_URL}/__fake/requests`);
  return ((await res.json()) as Array<{ body: unknown }>)
    .map((r) => JSON.stringify(r.body))
    .filter((body) => body.includes(marker));
}

describe('LLM prompts', () => {
  it('40 addresses in one message reach the provider as 40 placeholders, none in clear, and come back restored', async () => {
    const trace = traceId('redact-all');
    const res = await call('POST', `/llm/${LLM}/v1/chat/completions`, {
      body: {
        model: 'fake-echo',
        messages: [
          { role: 'system', content: `Be brief. ${trace}` },
          { role: 'user', content: MANY },
        ],
      },
      headers: { 'X-Igris-Trace-Id': trace },
    });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { choices: Array<{ message: { content: string } }> };
    expect(answer.choices[0]!.message.content).toBe(MANY);

    const [sent, ...more] = await providerRaw(trace);
    expect(more).toHaveLength(0);
    for (const e of EMAILS) expect(sent).not.toContain(e);
    expect(sent).not.toContain('@corp-example.com');
    expect(sent).toContain(JSON.stringify(MASKED));
  });

  it('an address as a tool input key reaches the provider renamed; a __proto__ key as sent', async () => {
    const trace = traceId('redact-key');
    // Raw JSON: a `__proto__` key written by JSON.stringify of an object literal would be lost here.
    const body = `{"model":"claude-x","max_tokens":16,"system":"Be brief. ${trace}","messages":[
      {"role":"user","content":"who owns it?"},
      {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"owners","input":{"${EMAILS[0]}":"owner","__proto__":{"note":"kept"}}}]},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"done"}]}]}`;
    const res = await call('POST', `/llm/${ANTHROPIC}/v1/messages`, {
      rawBody: body,
      headers: {
        'X-Igris-Trace-Id': trace,
        'anthropic-version': '2023-06-01',
        'Content-Type': 'application/json',
      },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const [sent] = await providerRaw(trace);
    expect(sent).toBeDefined();
    expect(sent).not.toContain(EMAILS[0]);
    expect(sent).toContain('"input":{"[EMAIL_1]":"owner","__proto__":{"note":"kept"}}');
  });
});

describe('MCP tool results', () => {
  for (const [label, slug] of [
    ['JSON', MCP_JSON],
    ['SSE', MCP_SSE],
  ] as const) {
    it(`a tools/call whose ${label} result echoes 40 addresses: the client gets none in clear`, async () => {
      const res = await call('POST', `/v1/mcp/${slug}`, {
        body: {
          jsonrpc: '2.0',
          id: 7,
          method: 'tools/call',
          params: { name: 'echo', arguments: { message: MANY } },
        },
        headers: { Accept: ACCEPT_BOTH },
      });
      const text = await res.clone().text();
      for (const e of EMAILS) expect(text).not.toContain(e);
      const [answer] = await messages(res);
      expect(answer!.result).toEqual({ content: [{ type: 'text', text: MASKED }] });
    });
  }
});
