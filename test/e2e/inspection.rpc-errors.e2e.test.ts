/**
 * Content inspection of a JSON-RPC error inside a 2xx answer, end to end
 * (docs/detections.md#error-answers): the MCP SDK client and the @a2a-js/sdk client through the
 * local runtime against real local upstreams (rpc-error-upstream.ts) whose error's `message` and
 * `data` carry an AWS key and a card — an MCP server's answer as JSON, as SSE (read whole, and
 * relayed), a JSON-RPC batch, an A2A agent's answer plain and streamed. Before, the stages read
 * only `result`: every "never the key" below failed.
 *
 *   mask   (redactResults on)  the SDK's error carries [SECRET_1] / [CARD_1] in its message and
 *                              data, the code as the upstream sent it; the row records each finding
 *                              at its path (`$.error.message`, `$.error.data.detail`,
 *                              `$.error.data.trace[1]`), never the values.
 *   block  (the rules `block`) the SDK gets the gateway's own content_blocked (-32014) instead.
 *   clean  an error with nothing to find passes as it came.
 * No audit row and no live event of these calls holds the key or the card.
 */
import { randomBytes } from 'node:crypto';
import {
  type Client,
  ClientFactory,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
} from '@a2a-js/sdk/client';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyedFetch } from './a2a.gateway.fixtures.ts';
import { LEAKED_CARD, LEAKED_KEY } from './error-upstream.ts';
import {
  adminKey,
  api,
  connectClient,
  createConnectionWithPolicy,
  gatewayUrl,
  setPolicy,
  waitForAudit,
} from './helpers';
import { BENIGN_MESSAGE, type RpcErrorUpstream, startRpcErrorUpstream } from './rpc-error-upstream.ts';
import { dataOf, SseClient, type SseFrame } from './sse.client.ts';

const RUN = randomBytes(4).toString('hex');
const PACKS = ['secrets-default', 'pii-default'];
const MASK = { packs: PACKS, redactResults: true };
const BLOCK = {
  packs: PACKS,
  overrides: { rules: { 'secret.aws_access_key_id': 'block', 'pii.credit_card': 'block' } },
};
const slug = (name: string) => `rpcerr-${name}-${RUN}`;
const trace = (name: string) => `rpcerr-${name}-${RUN}`;
const MASKED_FINDINGS = [
  { kind: 'pii.credit_card', location: '$.error.data.detail' },
  { kind: 'secret.aws_access_key_id', location: '$.error.data.trace[1]' },
  { kind: 'secret.aws_access_key_id', location: '$.error.message' },
];

let upstream: RpcErrorUpstream;
let events: SseClient;
let collected: Promise<SseFrame[]>;

interface Row {
  id: string;
  errorCode: string | null;
  details: null | {
    findings?: Array<{ kind: string; detail?: { where?: string; location?: string; action?: string } }>;
  };
}

/** The row of `traceId` once `predicate` holds; no row of the trace holds the key or the card. */
async function rowOf(traceId: string, predicate: (row: Row) => boolean): Promise<Row> {
  const rows = await waitForAudit<Row>(`traceId=${traceId}`, (r) => r.some(predicate));
  expectNoLeak(rows);
  return rows.find(predicate)!;
}

/** Each finding as kind and location, sorted; every one `where: result`. */
function findingsOf(row: Row) {
  const found = (row.details?.findings ?? []).filter((f) => f.kind !== 'truncated');
  for (const f of found) expect(f.detail?.where).toBe('result');
  return found
    .map((f) => ({ kind: f.kind, location: f.detail?.location }))
    .sort((a, b) => `${a.kind}${a.location}`.localeCompare(`${b.kind}${b.location}`));
}

function expectNoLeak(value: unknown) {
  const text =
    value instanceof Error
      ? `${value.message} ${JSON.stringify(value)} ${JSON.stringify((value as { data?: unknown }).data)}`
      : JSON.stringify(value);
  expect(text).not.toContain(LEAKED_KEY);
  expect(text).not.toContain(LEAKED_CARD);
}

/** What a call threw (it must throw). */
async function thrown(call: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  const out = await call.then(
    (result) => ({ result }),
    (err: unknown) => ({ err }),
  );
  expect('err' in out, JSON.stringify(out)).toBe(true);
  return (out as { err: Error & Record<string, unknown> }).err;
}

async function mcpCall(name: string, traceId: string, scenario: string) {
  const { client } = await connectClient(slug(name), { 'X-Igris-Trace-Id': traceId });
  try {
    return await thrown(client.callTool({ name: 'lookup', arguments: { q: `scenario-${scenario}` } }));
  } finally {
    await client.close().catch(() => undefined);
  }
}

async function a2aConnection(name: string, inspection: Record<string, unknown>): Promise<void> {
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

async function a2aClient(name: string, traceId: string): Promise<Client> {
  const base = keyedFetch(adminKey());
  const fetchImpl: typeof fetch = (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('X-Igris-Trace-Id', traceId);
    return base(input, { ...init, headers });
  };
  const factory = new ClientFactory({
    transports: [new JsonRpcTransportFactory({ fetchImpl })],
    cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
  });
  return factory.createFromUrl(`${gatewayUrl()}/v1/a2a/${slug(name)}/`);
}

const a2aMessage = (scenario: string) =>
  ({
    message: {
      messageId: randomBytes(8).toString('hex'),
      role: 1,
      parts: [{ content: { $case: 'text', value: `scenario-${scenario}` } }],
      metadata: { skillId: 'echo' },
    },
  }) as never;

async function a2aStream(client: Client, scenario: string): Promise<void> {
  for await (const _event of client.sendMessageStream(a2aMessage(scenario))) {
    // The agent's only event is its error: the SDK throws on it.
  }
}

beforeAll(async () => {
  upstream = await startRpcErrorUpstream();
  events = await SseClient.open(`${gatewayUrl()}/api/v1/events`, adminKey());
  collected = events.drainUntilBroken((f) => f.data !== null);
  const allow = [{ tool: '*', action: 'allow' }];
  for (const [name, path, inspection] of [
    ['json-mask', 'mcp-json', MASK],
    ['json-block', 'mcp-json', BLOCK],
    ['sse-mask', 'mcp-sse', MASK],
    ['sse-block', 'mcp-sse', BLOCK],
    ['batch-mask', 'mcp-batch', MASK],
    ['batch-block', 'mcp-batch', BLOCK],
  ] as const)
    await createConnectionWithPolicy(slug(name), `${upstream.url}/${path}`, allow, { inspection });
  await a2aConnection('a2a-mask', MASK);
  await a2aConnection('a2a-block', BLOCK);
}, 120_000);

afterAll(async () => {
  events?.close();
  await upstream?.close();
});

describe('MCP (the MCP SDK client): a JSON-RPC error in a 200 answer', () => {
  for (const [transport, name, scenario] of [
    ['JSON', 'json', 'leak'],
    ['SSE read whole', 'sse', 'leak'],
    ['SSE relayed', 'sse', 'slow'],
  ] as const) {
    it(`${transport}: masks the key and the card in the error's message and data`, async () => {
      const traceId = trace(`${name}-${scenario}-mask`);
      const err = await mcpCall(`${name}-mask`, traceId, scenario);
      expect(err).toBeInstanceOf(McpError);
      expect((err as unknown as McpError).code).toBe(-32603);
      expect(err.message).toContain('lookup failed for key [SECRET_1]');
      expect((err as unknown as McpError).data).toEqual({
        detail: 'card [CARD_1] declined',
        trace: ['at lookup()', 'key=[SECRET_1]'],
        status: 402,
      });
      expectNoLeak(err);
      const row = await rowOf(traceId, (r) => (r.details?.findings?.length ?? 0) >= 3);
      expect(findingsOf(row)).toEqual(MASKED_FINDINGS);
    });

    it(`${transport}: refuses it under a block rule with the gateway's -32014`, async () => {
      const traceId = trace(`${name}-${scenario}-block`);
      const err = await mcpCall(`${name}-block`, traceId, scenario);
      expect(err).toBeInstanceOf(McpError);
      expect((err as unknown as McpError).code).toBe(-32014);
      expect(err.message).toContain('Blocked by content inspection');
      expectNoLeak(err);
      const row = await rowOf(traceId, (r) => (r.details?.findings?.length ?? 0) >= 3);
      expect(findingsOf(row)).toEqual(MASKED_FINDINGS);
    });
  }

  it('passes an error with nothing to find as it came', async () => {
    const err = await mcpCall('json-mask', trace('json-benign'), 'benign');
    expect((err as unknown as McpError).code).toBe(-32603);
    expect(err.message).toContain(BENIGN_MESSAGE);
    expect((err as unknown as McpError).data).toEqual({ detail: 'locked', status: 423 });
  });
});

describe('MCP: a batch answer of JSON-RPC errors, every item', () => {
  const batch = (name: string, traceId: string) =>
    fetch(`${gatewayUrl()}/v1/mcp/${slug(name)}`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${adminKey()}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        'X-Igris-Trace-Id': traceId,
      },
      body: JSON.stringify(
        [1, 2].map((id) => ({
          jsonrpc: '2.0',
          id,
          method: 'tools/call',
          params: { name: 'lookup', arguments: { q: 'scenario-leak' } },
        })),
      ),
    });

  it('masks each item, each item’s findings on its own row', async () => {
    const traceId = trace('batch-mask');
    const res = await batch('batch-mask', traceId);
    expect(res.status).toBe(200);
    const items = (await res.json()) as Array<{
      id: number;
      error: { code: number; message: string; data: unknown };
    }>;
    expect(items.map((i) => i.id)).toEqual([1, 2]);
    for (const item of items) {
      expect(item.error.code).toBe(-32603);
      expect(item.error.message).toBe('lookup failed for key [SECRET_1]');
      expect(item.error.data).toEqual({
        detail: 'card [CARD_1] declined',
        trace: ['at lookup()', 'key=[SECRET_1]'],
        status: 402,
      });
    }
    const rows = await waitForAudit<Row>(
      `traceId=${traceId}`,
      (r) => r.filter((row) => (row.details?.findings?.length ?? 0) >= 3).length === 2,
    );
    expectNoLeak(rows);
    for (const row of rows) expect(findingsOf(row)).toEqual(MASKED_FINDINGS);
  });

  it('refuses each item under a block rule', async () => {
    const traceId = trace('batch-block');
    const res = await batch('batch-block', traceId);
    const text = await res.text();
    expect(text).not.toContain(LEAKED_KEY);
    expect(text).not.toContain(LEAKED_CARD);
    const items = JSON.parse(text) as Array<{ id: number; error: { code: number } }>;
    expect(items.map((i) => [i.id, i.error.code])).toEqual([
      [1, -32014],
      [2, -32014],
    ]);
    await rowOf(traceId, (r) => (r.details?.findings?.length ?? 0) >= 3);
  });
});

describe('A2A (the @a2a-js/sdk client): a JSON-RPC error in a 200 answer', () => {
  it('SendMessage: masks the key and the card in the error, refuses it under a block rule', async () => {
    const traceId = trace('a2a-mask');
    const masked = await thrown((await a2aClient('a2a-mask', traceId)).sendMessage(a2aMessage('leak')));
    expect(masked.message).toBe('lookup failed for key [SECRET_1]');
    expect(masked.data).toEqual({
      detail: 'card [CARD_1] declined',
      trace: ['at lookup()', 'key=[SECRET_1]'],
      status: 402,
    });
    expectNoLeak(masked);
    const row = await rowOf(traceId, (r) => (r.details?.findings?.length ?? 0) >= 3);
    expect(findingsOf(row)).toEqual(MASKED_FINDINGS);
    const blockTrace = trace('a2a-block');
    const blocked = await thrown((await a2aClient('a2a-block', blockTrace)).sendMessage(a2aMessage('leak')));
    expect(blocked.message).toContain('Blocked by content inspection');
    expectNoLeak(blocked);
    await rowOf(blockTrace, (r) => (r.details?.findings?.length ?? 0) >= 3);
  });

  it('SendStreamingMessage: the streamed error event is masked, and refused under a block rule', async () => {
    const traceId = trace('a2a-stream-mask');
    const masked = await thrown(a2aStream(await a2aClient('a2a-mask', traceId), 'leak'));
    expect(masked.message).toContain('lookup failed for key [SECRET_1]');
    expect(masked.message).toContain('card [CARD_1] declined');
    expectNoLeak(masked);
    expectNoLeak(masked.cause);
    const row = await rowOf(traceId, (r) => (r.details?.findings?.length ?? 0) >= 3);
    expect(findingsOf(row)).toEqual(MASKED_FINDINGS);
    const blockTrace = trace('a2a-stream-block');
    const blocked = await thrown(a2aStream(await a2aClient('a2a-block', blockTrace), 'leak'));
    expect(blocked.message).toContain('Blocked by content inspection');
    expectNoLeak(blocked);
    await rowOf(blockTrace, (r) => (r.details?.findings?.length ?? 0) >= 3);
  });
});

describe('live events', () => {
  it('carry the findings of these calls and never the key or the card', async () => {
    // Let the last calls' events arrive, then end the subscription.
    await new Promise((r) => setTimeout(r, 1500));
    events.close();
    const frames = await collected;
    const ours = frames.filter((f) => JSON.stringify(dataOf(f)).includes(`-${RUN}`));
    expect(ours.some((f) => JSON.stringify(dataOf(f)).includes('$.error.message'))).toBe(true);
    for (const f of frames) {
      expect(f.data).not.toContain(LEAKED_KEY);
      expect(f.data).not.toContain(LEAKED_CARD);
    }
  });
});
