/**
 * Glued values through the gateway, in workerd, against the real upstreams
 * (docs/detections.md#glued-values): e-mail addresses, phone numbers and keys glued to each other
 * come back from an MCP tool masked whole — no fragment of any of them in the answer the client
 * reads, JSON or SSE, nor in the audit row — and reach an LLM provider masked whole, restored in
 * the answer. Before, `jane.doe@example.comops+alerts@corp.example.net` came back as
 * `[EMAIL_1]+alerts@corp.example.net`.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACCEPT_BOTH, type AuditRow, auditFor, messages, traceId } from './gateway.fixtures';
import { bootstrapDefault, call, putPolicy } from './helpers';
import { recordedUpstream } from './upstream.log';

const RUN = Date.now().toString(36);
const MCP_JSON = `glued-json-${RUN}`;
const MCP_SSE = `glued-sse-${RUN}`;
const LLM = `glued-llm-${RUN}`;

const ADDRESSES = ['jane.doe@example.com', 'ops+alerts@corp.example.net'];
const PHONES = ['+14155550123', '+14155550124'];
const TOKENS = ['ghp_ZNPMgTZ4hyW40P9BHK2z9cRcTA6g5SpU8qxr', 'ghp_NktozuPiz02n6o0Wh0tDM26A7czMK3rtEOSp'];
const GLUED = `Notify jane.doe@example.comops+alerts@corp.example.net or call ${PHONES.join('')}, token ${TOKENS.join('')} now.`;
const MASKED = 'Notify [EMAIL_1] or call [PHONE_1], token [SECRET_1] now.';

/** Fails when a run of 3+ letters or digits of any glued value is readable in `text`. */
function expectNoFragment(text: string) {
  const readable = text.replace(/\[[A-Z]{2,16}_\d+\]/g, ' ');
  for (const value of [...ADDRESSES, ...PHONES, ...TOKENS])
    for (const piece of value.match(/[A-Za-z0-9]{3,}/g) ?? [])
      expect(readable, `"${piece}" of ${value}`).not.toContain(piece);
}

async function connection(slug: string, body: Record<string, unknown>) {
  const res = await call('POST', '/api/v1/connections', { body: { slug, name: slug, ...body } });
  expect(res.status, await res.clone().text()).toBe(201);
  await putPolicy(slug, [{ tool: '*', action: 'allow' }]);
}

const PACKS = ['mcp-advanced-security', 'pii-default'];

beforeAll(async () => {
  // What the tests send glues what they say it glues.
  expect(GLUED).toContain('jane.doe@example.comops+alerts@corp.example.net');
  expect(GLUED).toContain(PHONES.join(''));
  expect(GLUED).toContain(TOKENS.join(''));
  await bootstrapDefault();
  for (const [slug, path] of [
    [MCP_JSON, '/json'],
    [MCP_SSE, '/stateless'],
  ])
    await connection(slug!, {
      upstreamUrl: recordedUpstream(path),
      authType: 'none',
      settings: { inspection: { packs: PACKS } },
    });
  await connection(LLM, {
    type: 'llm',
    upstreamUrl: `${env.LLM_FAKE_URL}/v1`,
    credential: env.LLM_FAKE_KEY,
    settings: {
      provider: 'openai-compatible',
      inspection: { packs: ['llm-standard-security', 'llm-compliance-gdpr'] },
    },
  });
});

describe('MCP tool result', () => {
  for (const [label, slug, type] of [
    ['JSON', MCP_JSON, 'application/json'],
    ['SSE', MCP_SSE, 'text/event-stream'],
  ] as const)
    it(`masks glued values whole in a ${label} answer: no fragment reaches the client`, async () => {
      const trace = traceId('glued-mcp');
      const res = await call('POST', `/v1/mcp/${slug}`, {
        body: {
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'echo', arguments: { message: GLUED } },
        },
        headers: { Accept: ACCEPT_BOTH, 'X-Igris-Trace-Id': trace },
      });
      expect(res.headers.get('Content-Type')).toContain(type);
      const raw = await res.clone().text();
      expectNoFragment(raw);
      const [answer] = await messages(res);
      expect(answer!.result).toEqual({ content: [{ type: 'text', text: MASKED }] });

      let row: AuditRow | undefined;
      for (let i = 0; i < 50 && !row?.details?.includes('pii.email'); i++) {
        [row] = await auditFor(trace);
        if (!row?.details?.includes('pii.email')) await new Promise((r) => setTimeout(r, 100));
      }
      expect(row!.details).toContain('pii.email');
      expectNoFragment(row!.details ?? '');
    });
});

describe('LLM prompt', () => {
  it('sends glued values to the provider masked whole and restores them in the answer', async () => {
    const marker = traceId('glued-llm');
    const res = await call('POST', `/llm/${LLM}/v1/chat/completions`, {
      body: {
        model: 'fake-echo',
        messages: [
          { role: 'system', content: `You are terse. ${marker}` },
          { role: 'user', content: GLUED },
        ],
      },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { choices: Array<{ message: { content: string } }> };
    expect(body.choices[0]!.message.content).toBe(GLUED);

    const received = await fetch(`${env.LLM_FAKE_URL}/__fake/requests`);
    const sent = ((await received.json()) as Array<{ body: { messages: Array<{ content: string }> } }>)
      .map((r) => r.body)
      .filter((b) => JSON.stringify(b).includes(marker));
    expect(sent).toHaveLength(1);
    expect(sent[0]!.messages[1]!.content).toBe(MASKED);
    expectNoFragment(JSON.stringify(sent[0]));
  });
});
