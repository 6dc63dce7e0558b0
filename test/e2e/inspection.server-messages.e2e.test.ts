/**
 * Content inspection of what an MCP server sends the client on its own (docs/detections.md), end to
 * end: the MCP SDK client (sampling capability, a log handler) through the local runtime against the
 * MCP SDK's server (rpc-error-upstream.ts `…/mcp-asks`), whose tool sends, on the call's SSE stream,
 * a `notifications/message` whose data holds an AWS key and a `sampling/createMessage` whose message
 * holds a card. Before, the stage read only results: both reached the client's log and model as sent.
 *
 *   mask   (redactResults on)  the client's log handler gets [SECRET_1], its model the prompt with
 *                              [CARD_1]; the call completes; the row records both at `$.params…`.
 *   block  (the rules `block`) the answer ends at the first such message with the gateway's
 *                              content_blocked (-32014): the client's model is never asked.
 *   GET    the same log notification sent on the session's GET stream (related to no request):
 *          masked there too, or the stream ended before it under a block rule.
 * No audit row holds the key or the card.
 */
import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  LoggingMessageNotificationSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEAKED_CARD, LEAKED_KEY } from './error-upstream.ts';
import { adminKey, createConnectionWithPolicy, gatewayUrl, waitForAudit } from './helpers';
import { type RpcErrorUpstream, startRpcErrorUpstream } from './rpc-error-upstream.ts';

const RUN = randomBytes(4).toString('hex');
const PACKS = ['secrets-default', 'pii-default'];
const slug = (name: string) => `srvmsg-${name}-${RUN}`;

let upstream: RpcErrorUpstream;

interface Row {
  id: string;
  errorCode: string | null;
  details: null | { findings?: Array<{ kind: string; detail?: { where?: string; location?: string } }> };
}

/** What the client saw: log lines, sampling prompts, and the result or error of a call to `tool`. */
async function ask(name: string, trace: string, tool = 'ask') {
  const seen = { logs: [] as unknown[], prompts: [] as unknown[] };
  const transport = new StreamableHTTPClientTransport(new URL(`${gatewayUrl()}/v1/mcp/${slug(name)}`), {
    requestInit: { headers: { Authorization: `Bearer ${adminKey()}`, 'X-Igris-Trace-Id': trace } },
  });
  const client = new Client({ name: 'srvmsg-e2e', version: '1.0.0' }, { capabilities: { sampling: {} } });
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void seen.logs.push(n.params));
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
    seen.prompts.push(request.params.messages);
    return { role: 'assistant', content: { type: 'text', text: 'a summary' }, model: 'local' };
  });
  await client.connect(transport);
  try {
    // `broadcast` logs on the GET stream, which the client opens once connected: give it time to.
    if (tool === 'broadcast') await new Promise((r) => setTimeout(r, 500));
    const outcome = await client.callTool({ name: tool, arguments: {} }).then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
    if (tool === 'broadcast') await new Promise((r) => setTimeout(r, 500));
    return { ...seen, ...outcome };
  } finally {
    await client.close().catch(() => undefined);
  }
}

async function rowOf(trace: string, predicate: (row: Row) => boolean): Promise<Row> {
  const rows = await waitForAudit<Row>(`traceId=${trace}`, (r) => r.some(predicate));
  expect(JSON.stringify(rows)).not.toContain(LEAKED_KEY);
  expect(JSON.stringify(rows)).not.toContain(LEAKED_CARD);
  return rows.find(predicate)!;
}

const located = (row: Row) =>
  (row.details?.findings ?? []).map((f) => `${f.kind} ${f.detail?.where} ${f.detail?.location}`).sort();

beforeAll(async () => {
  upstream = await startRpcErrorUpstream();
  const allow = [{ tool: '*', action: 'allow' }];
  const url = `${upstream.url}/mcp-asks`;
  await createConnectionWithPolicy(slug('mask'), url, allow, {
    inspection: { packs: PACKS, redactResults: true },
  });
  await createConnectionWithPolicy(slug('block'), url, allow, {
    inspection: { packs: PACKS, overrides: { rules: { 'secret.aws_access_key_id': 'block' } } },
  });
}, 120_000);

afterAll(() => upstream?.close());

describe('MCP: a server’s log notification and sampling request inside a tool call’s stream', () => {
  it('masks the key in the log line and the card in the sampling prompt; the call completes', async () => {
    const trace = `srvmsg-mask-${RUN}`;
    const seen = await ask('mask', trace);
    expect(seen).toHaveProperty('result');
    expect(seen.logs).toEqual([
      { level: 'info', logger: 'cache', data: { line: 'cache warmed with key [SECRET_1]' } },
    ]);
    expect(seen.prompts).toEqual([
      [{ role: 'user', content: { type: 'text', text: 'summarise the payment with card [CARD_1]' } }],
    ]);
    expect(JSON.stringify(seen)).not.toContain(LEAKED_KEY);
    expect(JSON.stringify(seen)).not.toContain(LEAKED_CARD);
    const row = await rowOf(trace, (r) => (r.details?.findings?.length ?? 0) >= 2);
    expect(located(row)).toEqual([
      'pii.credit_card result $.params.messages[0].content.text',
      'secret.aws_access_key_id result $.params.data.line',
    ]);
  });

  it('ends the answer with the gateway’s content_blocked under a block rule: the model is never asked', async () => {
    const trace = `srvmsg-block-${RUN}`;
    const seen = await ask('block', trace);
    expect(seen).toHaveProperty('error');
    const error = (seen as { error: unknown }).error;
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(-32014);
    expect(seen.logs).toEqual([]);
    expect(seen.prompts).toEqual([]);
    expect(`${(error as Error).message} ${JSON.stringify(error)}`).not.toContain(LEAKED_KEY);
    await rowOf(trace, (r) => r.errorCode === 'content_blocked');
  });
});

describe('MCP: a server’s log notification on the GET stream', () => {
  it('masks it there too, and under a block rule ends the stream before it reaches the client', async () => {
    const trace = `srvmsg-get-mask-${RUN}`;
    const masked = await ask('mask', trace, 'broadcast');
    expect(masked).toHaveProperty('result');
    expect(masked.logs).toEqual([
      { level: 'info', logger: 'cache', data: { line: 'cache warmed with key [SECRET_1]' } },
    ]);
    const row = await rowOf(trace, (r) => (r.details?.findings?.length ?? 0) >= 1);
    expect(located(row)).toEqual(['secret.aws_access_key_id result $.params.data.line']);
    const blockTrace = `srvmsg-get-block-${RUN}`;
    const blocked = await ask('block', blockTrace, 'broadcast');
    expect(blocked).toHaveProperty('result');
    expect(blocked.logs).toEqual([]);
    await rowOf(blockTrace, (r) => (r.details?.findings?.length ?? 0) >= 1);
  });
});
