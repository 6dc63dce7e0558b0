/**
 * One approval passes one call, also inside a JSON-RPC batch (workers/approvals/approval.gate.ts):
 * a batch of identical calls after one approval is held whole — the upstream, behind the recording
 * proxy (upstream.recorder.ts), receives none of them. Red-team finding: the per-request record of
 * spent approvals (kept so a call prepared again keeps its approval) let every item of the batch
 * with the same binding through on the one approval the first item spent.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { addMember, call, createOrg, expectJson, mcp, putPolicy, rpcResult, type TestOrg } from './helpers';
import { receivedBy, recordedUpstream, uniqueAgent } from './upstream.log';

const SLUG = `approve-batch-${Date.now().toString(36)}`;
const RULES = [
  { tool: 'add', action: 'approve' },
  { tool: '*', action: 'allow' },
];
const ADD = { name: 'add', arguments: { a: 5000, b: 1 } };

let owner: TestOrg;
let agent: TestOrg;

beforeAll(async () => {
  owner = await createOrg('owner');
  agent = await addMember(owner.orgId, 'admin');
  const created = await call('POST', '/api/v1/connections', {
    key: owner.key,
    body: { slug: SLUG, name: SLUG, upstreamUrl: recordedUpstream(), authType: 'none' },
  });
  expect(created.status).toBe(201);
  await putPolicy(SLUG, RULES, owner.key);
});

function approvalIdOf(answer: { error?: { data?: Record<string, unknown> } }): string {
  expect(answer.error?.data?.code).toBe('approval_required');
  return answer.error!.data!.approvalId as string;
}

type BatchAnswer = { id: number; result?: unknown; error?: { data: { code: string; approvalId?: string } } };

/** A batch's answers, whether refused (a JSON array) or forwarded (the upstream's SSE messages). */
async function batchAnswers(res: Response): Promise<BatchAnswer[]> {
  const text = await res.text();
  if (!(res.headers.get('Content-Type') ?? '').includes('text/event-stream')) return JSON.parse(text);
  const datas = text.split('\n').filter((l) => l.startsWith('data:'));
  return datas.flatMap((l) => JSON.parse(l.slice(5)) as BatchAnswer | BatchAnswer[]);
}

describe('an approval and a JSON-RPC batch', () => {
  it('a batch of three identical calls after one approval is held whole; the upstream runs none', async () => {
    const id = approvalIdOf(await rpcResult(await mcp(SLUG, 'tools/call', ADD, { key: agent.key })));
    await expectJson(
      await call('POST', `/api/v1/approvals/${id}/approve`, { key: owner.key, body: {} }),
      200,
    );

    const ua = uniqueAgent('approve-batch');
    const res = await call('POST', `/v1/mcp/${SLUG}`, {
      key: agent.key,
      headers: { Accept: 'application/json, text/event-stream', 'User-Agent': ua },
      body: [1, 2, 3].map((n) => ({ jsonrpc: '2.0', id: n, method: 'tools/call', params: ADD })),
    });
    const answers = await batchAnswers(res);
    // Item 1 spent the approval; items 2 and 3 have none of their own, so the batch is refused whole.
    expect(answers.map((a) => [a.id, a.result, a.error?.data.code])).toEqual([
      [1, undefined, 'bad_request'],
      [2, undefined, 'approval_required'],
      [3, undefined, 'approval_required'],
    ]);
    const held = answers[1]!.error!.data.approvalId;
    expect(held).toMatch(/^apr_/);
    expect(held).not.toBe(id);
    expect(answers[2]!.error!.data.approvalId).toBe(held);
    expect(await receivedBy(ua)).toEqual([]);
  });
});
