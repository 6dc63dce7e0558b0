/**
 * Content inspection of upstream error answers, end to end (docs/detections.md#error-answers): the
 * official SDK clients (openai, @anthropic-ai/sdk, the MCP SDK, @a2a-js/sdk) through the local
 * runtime against a real local upstream that answers 4xx/5xx with a key and a card in the body
 * (error-upstream.ts). Before, an error answer reached the caller uninspected: every "never the
 * key" below failed.
 *
 *   mask   (redactResults on)  the key and the card reach the SDK's error as [SECRET_1] / [CARD_1],
 *                              with the upstream's status; the row records both findings at
 *                              `$.error.message`, never the values.
 *   block  (the rules `block`) the SDK gets the gateway's own content_blocked in its protocol's shape
 *                              (403 PermissionDeniedError for LLMs, JSON-RPC -32014 for MCP and A2A).
 *   clean  an error with nothing to find passes byte for byte (status, type, bytes).
 *   text   an HTML error page is masked in place; a binary error body is refused (content_blocked,
 *          reason not_text); one over the 64 KiB error cap is refused (upstream_too_large).
 */
import { randomBytes } from 'node:crypto';
import {
  type Client,
  ClientFactory,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
} from '@a2a-js/sdk/client';
import Anthropic from '@anthropic-ai/sdk';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyedFetch } from './a2a.gateway.fixtures.ts';
import {
  type ErrorUpstream,
  errorBody,
  LEAKED_CARD,
  LEAKED_KEY,
  startErrorUpstream,
} from './error-upstream.ts';
import {
  adminKey,
  api,
  connectClient,
  createConnectionWithPolicy,
  gatewayUrl,
  setPolicy,
  waitForAudit,
} from './helpers';
import { anthropicClient, createLlmConnection, openaiClient } from './llm.fixtures.ts';

const RUN = randomBytes(4).toString('hex');
const PACKS = ['secrets-default', 'pii-default'];
const MASK = { packs: PACKS, redactResults: true };
const BLOCK = {
  packs: PACKS,
  overrides: { rules: { 'secret.aws_access_key_id': 'block', 'pii.credit_card': 'block' } },
};
const slug = (name: string) => `errinsp-${name}-${RUN}`;

let upstream: ErrorUpstream;

interface Row {
  id: string;
  errorCode: string | null;
  upstreamStatus: number | null;
  details: {
    findings?: Array<{ kind: string; detail?: { where?: string; location?: string; action?: string } }>;
  };
}

/** The row of `trace` once `predicate` holds; no row of the trace holds the key or the card. */
async function rowOf(trace: string, predicate: (row: Row) => boolean): Promise<Row> {
  const rows = await waitForAudit<Row>(`traceId=${trace}`, (r) => r.some(predicate));
  expect(JSON.stringify(rows)).not.toContain(LEAKED_KEY);
  expect(JSON.stringify(rows)).not.toContain(LEAKED_CARD);
  return rows.find(predicate)!;
}

const kinds = (row: Row) => (row.details.findings ?? []).map((f) => f.kind).sort();

/** What a call threw (it must throw). */
async function thrown(call: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  const out = await call.then(
    (result) => ({ result }),
    (err: unknown) => ({ err }),
  );
  expect('err' in out, JSON.stringify(out)).toBe(true);
  return (out as { err: Error & Record<string, unknown> }).err;
}

function expectNoLeak(value: unknown) {
  const text = value instanceof Error ? `${value.message} ${JSON.stringify(value)}` : JSON.stringify(value);
  expect(text).not.toContain(LEAKED_KEY);
  expect(text).not.toContain(LEAKED_CARD);
}

const llm = (name: string, provider: string, inspection: Record<string, unknown>) =>
  createLlmConnection(slug(name), {
    upstreamUrl: `${upstream.url}/v1`,
    credential: `sk-upstream-${RUN}`,
    settings: { provider, inspection },
  });
const openaiFor = (name: string, trace: string) =>
  openaiClient(slug(name), { defaultHeaders: { 'X-Igris-Trace-Id': trace } });
const anthropicFor = (name: string, trace: string) =>
  anthropicClient(slug(name), { defaultHeaders: { 'X-Igris-Trace-Id': trace } });
const chat = (client: OpenAI, scenario: string) =>
  client.chat.completions.create({
    model: 'fake-gpt',
    messages: [{ role: 'user', content: `scenario-${scenario}` }],
  });
const message = (client: Anthropic, scenario: string) =>
  client.messages.create({
    model: 'fake-claude',
    max_tokens: 16,
    messages: [{ role: 'user', content: `scenario-${scenario}` }],
  });

async function a2a(name: string, inspection: Record<string, unknown>): Promise<void> {
  const created = await api('POST', '/connections', {
    slug: slug(name),
    name: slug(name),
    type: 'a2a',
    agentCardUrl: upstream.url,
    credential: `agent-${RUN}`,
    settings: { inspection },
  });
  if (created.status !== 201) throw new Error(`create: ${created.status} ${JSON.stringify(created.body)}`);
  await setPolicy(slug(name), [{ tool: '*', action: 'allow' }]);
}

async function a2aClient(name: string, trace: string): Promise<Client> {
  const base = keyedFetch(adminKey());
  const fetchImpl: typeof fetch = (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('X-Igris-Trace-Id', trace);
    return base(input, { ...init, headers });
  };
  const factory = new ClientFactory({
    transports: [new JsonRpcTransportFactory({ fetchImpl })],
    cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
  });
  return factory.createFromUrl(`${gatewayUrl()}/v1/a2a/${slug(name)}/`);
}

const a2aSend = (client: Client, scenario: string) =>
  client.sendMessage({
    message: {
      messageId: randomBytes(8).toString('hex'),
      role: 1,
      parts: [{ content: { $case: 'text', value: `scenario-${scenario}` } }],
      metadata: { skillId: 'echo' },
    },
  } as never);

beforeAll(async () => {
  upstream = await startErrorUpstream();
  await llm('oai-mask', 'openai-compatible', MASK);
  await llm('oai-block', 'openai-compatible', BLOCK);
  await llm('ant-mask', 'anthropic', MASK);
  await llm('ant-block', 'anthropic', BLOCK);
  for (const [name, inspection] of [
    ['mcp-mask', MASK],
    ['mcp-block', BLOCK],
  ] as const)
    await createConnectionWithPolicy(slug(name), `${upstream.url}/mcp`, [{ tool: '*', action: 'allow' }], {
      inspection,
    });
  await a2a('a2a-mask', MASK);
  await a2a('a2a-block', BLOCK);
}, 120_000);
afterAll(() => upstream?.close());

describe('LLM, governed path (openai and @anthropic-ai/sdk)', () => {
  it('masks a key and a card in a 500 error: the SDK error carries placeholders, the row both findings', async () => {
    const trace = `errinsp-oai-mask-${RUN}`;
    const err = await thrown(chat(openaiFor('oai-mask', trace), 'leak'));
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect(err.status).toBe(500);
    expect(err.message).toContain('key [SECRET_1] for card [CARD_1] was refused');
    expectNoLeak(err);
    const row = await rowOf(trace, (r) => (r.details.findings?.length ?? 0) >= 2);
    expect(row.upstreamStatus).toBe(500);
    expect(kinds(row)).toEqual(['pii.credit_card', 'secret.aws_access_key_id']);
    for (const f of row.details.findings ?? [])
      expect(f.detail).toMatchObject({ where: 'completion', location: '$.error.message' });
  });

  it('refuses an error with a block rule match: PermissionDeniedError, content_blocked, never the value', async () => {
    const trace = `errinsp-oai-block-${RUN}`;
    const err = await thrown(chat(openaiFor('oai-block', trace), 'leak'));
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(err.code).toBe('content_blocked');
    expectNoLeak(err);
    const row = await rowOf(trace, (r) => r.errorCode === 'content_blocked');
    expect(kinds(row)).toContain('secret.aws_access_key_id');
  });

  it('Anthropic: masks the key in a 500 error, refuses it under a block rule', async () => {
    const masked = await thrown(message(anthropicFor('ant-mask', `errinsp-ant-mask-${RUN}`), 'leak'));
    expect(masked).toBeInstanceOf(Anthropic.InternalServerError);
    expect(masked.message).toContain('[SECRET_1]');
    expectNoLeak(masked);
    const trace = `errinsp-ant-block-${RUN}`;
    const blocked = await thrown(message(anthropicFor('ant-block', trace), 'leak'));
    expect(blocked).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expectNoLeak(blocked);
    await rowOf(trace, (r) => r.errorCode === 'content_blocked');
  });

  it('passes an error with nothing to find byte for byte', async () => {
    const err = await thrown(chat(openaiFor('oai-mask', `errinsp-oai-clean-${RUN}`), 'benign'));
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.message).toContain('model is overloaded');
    const res = await fetch(`${gatewayUrl()}/llm/${slug('oai-mask')}/v1/chat/completions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${adminKey()}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'fake-gpt', messages: [{ role: 'user', content: 'scenario-benign' }] }),
    });
    const sent = errorBody('benign', 'openai');
    expect(res.status).toBe(sent.status);
    expect(res.headers.get('Content-Type')).toBe(sent.type);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(sent.body);
  });

  it('masks an HTML error page in place, keeping its status and type', async () => {
    const res = await fetch(`${gatewayUrl()}/llm/${slug('oai-mask')}/v1/chat/completions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${adminKey()}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'fake-gpt', messages: [{ role: 'user', content: 'scenario-html' }] }),
    });
    expect(res.status).toBe(502);
    expect(res.headers.get('Content-Type')).toBe('text/html; charset=utf-8');
    const text = await res.text();
    expect(text).toBe(
      new TextDecoder()
        .decode(errorBody('html', 'openai').body)
        .replace(LEAKED_KEY, '[SECRET_1]')
        .replace(LEAKED_CARD, '[CARD_1]'),
    );
  });

  it('refuses a binary error body (not_text) and one over the 64 KiB error cap (upstream_too_large)', async () => {
    const binary = await thrown(chat(openaiFor('oai-mask', `errinsp-oai-bin-${RUN}`), 'binary'));
    expect(binary).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(binary.code).toBe('content_blocked');
    expect(binary.message).toContain('not text');
    const trace = `errinsp-oai-big-${RUN}`;
    const big = await thrown(chat(openaiFor('oai-mask', trace), 'big'));
    expect(big).toBeInstanceOf(OpenAI.APIError);
    expect(big.status).toBe(502);
    expect(big.code).toBe('upstream_too_large');
    expectNoLeak(big);
    await rowOf(trace, (r) => r.errorCode === 'upstream_too_large');
  });
});

describe('LLM, passthrough path (@anthropic-ai/sdk Message Batches)', () => {
  const batch = (client: Anthropic, scenario: string) =>
    client.messages.batches.create({
      requests: [
        {
          custom_id: 'one',
          params: {
            model: 'fake-claude',
            max_tokens: 16,
            messages: [{ role: 'user', content: `scenario-${scenario}` }],
          },
        },
      ],
    });

  it('masks the key in the error of a passthrough call, refuses it under a block rule', async () => {
    const trace = `errinsp-pt-mask-${RUN}`;
    const masked = await thrown(batch(anthropicFor('ant-mask', trace), 'leak'));
    expect(masked).toBeInstanceOf(Anthropic.InternalServerError);
    expect(masked.message).toContain('key [SECRET_1] for card [CARD_1]');
    expectNoLeak(masked);
    const row = await rowOf(trace, (r) => (r.details.findings?.length ?? 0) >= 2);
    expect(kinds(row)).toEqual(['pii.credit_card', 'secret.aws_access_key_id']);
    const blocked = await thrown(batch(anthropicFor('ant-block', `errinsp-pt-block-${RUN}`), 'leak'));
    expect(blocked).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expectNoLeak(blocked);
  });
});

describe('MCP (the MCP SDK client)', () => {
  const callLeak = async (name: string, trace: string) => {
    const { client } = await connectClient(slug(name), { 'X-Igris-Trace-Id': trace });
    try {
      return await thrown(client.callTool({ name: 'echo', arguments: { message: 'scenario-leak' } }));
    } finally {
      await client.close().catch(() => undefined);
    }
  };

  it('masks the key and the card in a server’s HTTP 500: the SDK’s error quotes the masked body', async () => {
    const trace = `errinsp-mcp-mask-${RUN}`;
    const err = await callLeak('mcp-mask', trace);
    expect(err.code).toBe(500);
    expect(err.message).toContain('key [SECRET_1] for card [CARD_1] was refused');
    expectNoLeak(err);
    const row = await rowOf(trace, (r) => (r.details.findings?.length ?? 0) >= 2);
    expect(row.upstreamStatus).toBe(500);
    expect(kinds(row)).toEqual(['pii.credit_card', 'secret.aws_access_key_id']);
    for (const f of row.details.findings ?? [])
      expect(f.detail).toMatchObject({ where: 'result', location: '$.error.message' });
  });

  it('refuses it under a block rule with the JSON-RPC error -32014 the SDK raises as McpError', async () => {
    const trace = `errinsp-mcp-block-${RUN}`;
    const err = await callLeak('mcp-block', trace);
    expect(err).toBeInstanceOf(McpError);
    expect((err as unknown as McpError).code).toBe(-32014);
    expectNoLeak(err);
    await rowOf(trace, (r) => r.errorCode === 'content_blocked');
  });

  it('passes an error with nothing to find byte for byte', async () => {
    const body = {
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: { name: 'echo', arguments: { message: 'scenario-benign' } },
    };
    const res = await fetch(`${gatewayUrl()}/v1/mcp/${slug('mcp-mask')}`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${adminKey()}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify(body),
    });
    const sent = errorBody('benign', 'jsonrpc', 7);
    expect(res.status).toBe(sent.status);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(sent.body);
  });
});

describe('A2A (the @a2a-js/sdk client)', () => {
  it('masks the key and the card in an agent’s HTTP 500, refuses it under a block rule', async () => {
    const trace = `errinsp-a2a-mask-${RUN}`;
    const masked = await thrown(a2aSend(await a2aClient('a2a-mask', trace), 'leak'));
    expect(masked.message).toContain('key [SECRET_1] for card [CARD_1] was refused');
    expectNoLeak(masked);
    const row = await rowOf(trace, (r) => (r.details.findings?.length ?? 0) >= 2);
    expect(row.upstreamStatus).toBe(500);
    expect(kinds(row)).toEqual(['pii.credit_card', 'secret.aws_access_key_id']);
    const blockTrace = `errinsp-a2a-block-${RUN}`;
    const blocked = await thrown(a2aSend(await a2aClient('a2a-block', blockTrace), 'leak'));
    expect(blocked.message).toContain('Blocked by content inspection');
    expectNoLeak(blocked);
    await rowOf(blockTrace, (r) => r.errorCode === 'content_blocked');
  });
});
