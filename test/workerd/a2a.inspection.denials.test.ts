/**
 * An A2A content block is recorded as a denial, as the same block is on an MCP or LLM call
 * (gateway.decide.ts DENIALS, llm.stages.ts llmAuditRow): inside workerd, against the real agent
 * built with the official `@a2a-js/sdk` server (test/e2e/a2a.agent.ts), the audit row in D1 and
 * the live event say `deny` / `content_blocked` — what the dashboard's deny counters and the
 * deny_spike alert count (dashboard/src/observe/observe.store.ts, durable-objects/alert.rules.ts).
 *
 *   request side   a `block` rule on the message sent refuses SendMessage and
 *                  SendStreamingMessage before the agent: action `deny`, outcome `refused`;
 *   answer side    a `block` rule on what the agent answers replaces the answer (JSON) or the
 *                  event (SSE) with the JSON-RPC error. The call was forwarded and answered, so, as
 *                  for an MCP result the same rule blocks (inspection.mcp.stage.ts), the row keeps
 *                  its verdict (`allow`) and the upstream's status, and carries the `block` finding.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { LEAKED } from '../e2e/a2a.agent';
import { SseFrameReader } from '../shared/sse.frames';
import { call, createOrg, expectJson, flushAudit, hubEvents, putPolicy, type TestOrg } from './helpers';

const RUN = Date.now().toString(36);
const AWS_KEY = 'AKIAZ7Q4RXW2LM5PT3NB';
const SLUG = `a2a-deny-${RUN}`;
const INSPECTION = {
  packs: ['secrets-default'],
  overrides: { rules: { 'secret.aws_access_key_id': 'block' } },
};

let org: TestOrg;

beforeAll(async () => {
  org = await createOrg('owner');
  await expectJson(
    await call('POST', '/api/v1/connections', {
      key: org.key,
      body: {
        slug: SLUG,
        name: SLUG,
        type: 'a2a',
        agentCardUrl: env.A2A_AGENT_URL,
        credential: env.A2A_AGENT_CREDENTIAL,
        settings: { inspection: INSPECTION },
      },
    }),
    201,
  );
  await putPolicy(SLUG, [{ tool: '*', action: 'allow' }], org.key);
});

function send(text: string, stream: boolean) {
  return {
    jsonrpc: '2.0',
    id: 1,
    method: stream ? 'SendStreamingMessage' : 'SendMessage',
    params: {
      message: {
        messageId: `m-${crypto.randomUUID()}`,
        role: 'ROLE_USER',
        parts: [{ text }],
        metadata: { skillId: 'echo' },
      },
    },
  };
}

type RpcAnswer = { result?: unknown; error?: { code: number; data: { code: string } } };

/** The JSON-RPC answers of one call: the JSON body, or each SSE event's data. */
async function rpc(text: string, stream: boolean, trace: string): Promise<RpcAnswer[]> {
  const res = await call('POST', `/v1/a2a/${SLUG}`, {
    key: org.key,
    body: send(text, stream),
    headers: {
      'A2A-Version': '1.0',
      'X-Igris-Trace-Id': trace,
      ...(stream ? { Accept: 'text/event-stream' } : {}),
    },
  });
  if (!res.headers.get('Content-Type')?.startsWith('text/event-stream')) return [await res.json()];
  const frames = new SseFrameReader(res.body!.getReader());
  const out: RpcAnswer[] = [];
  for (;;) {
    const frame = await frames.frame(30_000).catch((err: Error) => {
      if (err.message === 'SSE stream ended') return null;
      throw err;
    });
    if (!frame) return out;
    if (frame.data !== null) out.push(JSON.parse(frame.data) as RpcAnswer);
  }
}

interface Row {
  action: string;
  error_code: string | null;
  upstream_status: number | null;
  details: string | null;
}

/** The call's row once its outcome (if any) is in: `ready` says when. */
async function rowOf(trace: string, ready: (row: Row) => boolean): Promise<Row> {
  for (let i = 0; i < 100; i++) {
    await flushAudit();
    const row = await env.DB.prepare(
      "SELECT action, error_code, upstream_status, details FROM audit_events WHERE trace_id = ? AND type = 'a2a_call'",
    )
      .bind(trace)
      .first<Row>();
    if (row && ready(row)) return row;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no finished row for ${trace}`);
}

/** The call's live event (the organization's EventHub replay buffer). */
async function eventOf(
  trace: string,
): Promise<{ action: string; outcome: string | null; errorCode: string | null }> {
  for (let i = 0; i < 100; i++) {
    const mine = (await hubEvents(org.orgId))
      .map((e) => JSON.parse(e) as { type: string; traceId?: string })
      .find((e) => e.type === 'tool_call' && e.traceId === trace);
    if (mine) return mine as never;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no live event for ${trace}`);
}

const blockFindings = (row: Row) =>
  (
    (JSON.parse(row.details ?? '{}') as { findings?: { detail?: { action?: string } }[] }).findings ?? []
  ).filter((f) => f.detail?.action === 'block');

describe('an A2A content block is recorded as a denial', () => {
  for (const stream of [false, true]) {
    const label = stream ? 'SendStreamingMessage' : 'SendMessage';

    it(`request side, ${label}: row and live event say deny / content_blocked, outcome refused`, async () => {
      const trace = `a2a-deny-req-${stream ? 's' : 'j'}-${RUN}`;
      const answers = await rpc(`my key is ${AWS_KEY}`, stream, trace);
      expect(answers.at(-1)?.error).toMatchObject({ code: -32014, data: { code: 'content_blocked' } });
      const row = await rowOf(trace, () => true);
      expect(row).toMatchObject({ action: 'deny', error_code: 'content_blocked', upstream_status: null });
      expect(blockFindings(row)).toHaveLength(1);
      expect(await eventOf(trace)).toMatchObject({
        action: 'deny',
        outcome: 'refused',
        errorCode: 'content_blocked',
      });
    });

    it(`answer side, ${label}: the answer is replaced; the row keeps its verdict, as MCP's does`, async () => {
      const trace = `a2a-deny-res-${stream ? 's' : 'j'}-${RUN}`;
      const answers = await rpc('leak it', stream, trace);
      expect(JSON.stringify(answers)).not.toContain(AWS_KEY);
      expect(JSON.stringify(answers)).not.toContain(LEAKED);
      expect(answers.some((a) => a.error?.data.code === 'content_blocked')).toBe(true);
      const row = await rowOf(trace, (r) => r.upstream_status !== null);
      expect(row).toMatchObject({ action: 'allow', error_code: null, upstream_status: 200 });
      expect(row.action).not.toBe('error');
      expect(blockFindings(row).length).toBeGreaterThan(0);
      expect((await eventOf(trace)).action).toBe('allow');
    });
  }
});
