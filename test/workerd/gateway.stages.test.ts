/**
 * The call core's response stages (workers/gateway/gateway.stages.ts): a throwaway stage, added
 * through the shared stage list for this file only, sees every message of JSON, SSE and batch
 * answers, can rewrite them, and its findings land in the audit row and the live event.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ResponseStage,
  type ResponseStageFactory,
  SHARED_RESPONSE_STAGES,
  type StageCall,
} from '../../workers/gateway/gateway.stages';
import { ACCEPT_BOTH, type AuditRow, auditFor, messages, post, traceId } from './gateway.fixtures';
import { bootstrapDefault, createConnection, hubEvents, putPolicy } from './helpers';

const RUN = Date.now().toString(36);
const JSON_SLUG = `stg-json-${RUN}`;
const SSE_SLUG = `stg-sse-${RUN}`;

/** What the probe saw, per trace id. */
const seen = new Map<string, unknown[]>();

/**
 * The probe: records every message, marks each tools/list result (a rewrite the caller must see),
 * and records one finding per list answer. It never sees the request's trace otherwise, so the
 * factory keys what it saw by the call's X-Igris-Trace-Id.
 */
const probe: ResponseStageFactory = (call: StageCall) => {
  const stage: ResponseStage = {
    name: 'probe',
    onMessage(message) {
      const list = seen.get(call.identity.traceId) ?? [];
      list.push(message);
      seen.set(call.identity.traceId, list);
      // A progress notification: the stream goes on after it (it is relayed, not read whole).
      if ((message as { method?: unknown }).method === 'notifications/progress') {
        call.findings.push({ stage: 'probe', kind: 'saw_progress', severity: 'info', detail: {} });
        return undefined;
      }
      const result = (message as { result?: { tools?: unknown[] } }).result;
      if (!Array.isArray(result?.tools)) return undefined;
      call.findings.push({
        stage: 'probe',
        kind: 'saw_tools',
        severity: 'info',
        detail: { count: result.tools.length },
      });
      return { ...(message as object), result: { ...result, probed: true } };
    },
  };
  return stage;
};

let orgId: string;

beforeAll(async () => {
  orgId = await bootstrapDefault();
  await createConnection(JSON_SLUG, { upstreamPath: '/json' });
  await createConnection(SSE_SLUG, { upstreamPath: '/stateless' });
  for (const slug of [JSON_SLUG, SSE_SLUG]) await putPolicy(slug, [{ tool: '*', action: 'allow' }]);
  SHARED_RESPONSE_STAGES.push(probe);
});

afterAll(() => {
  SHARED_RESPONSE_STAGES.splice(SHARED_RESPONSE_STAGES.indexOf(probe), 1);
});

const list = (id: string | number) => ({ jsonrpc: '2.0', id, method: 'tools/list', params: {} });

function findingsOf(row: AuditRow | undefined): unknown[] {
  return (JSON.parse(row?.details ?? 'null') as { findings?: unknown[] } | null)?.findings ?? [];
}

/** The live events of a trace (the hub's replay buffer), parsed. */
async function eventsOf(trace: string): Promise<Array<Record<string, unknown>>> {
  for (let i = 0; i < 50; i++) {
    const events = (await hubEvents(orgId))
      .map((body) => JSON.parse(body) as Record<string, unknown>)
      .filter((e) => e.traceId === trace);
    if (events.some((e) => Array.isArray(e.findings))) return events;
    await new Promise((r) => setTimeout(r, 100));
  }
  return [];
}

const PROBE_FINDING = { stage: 'probe', kind: 'saw_tools', severity: 'info' };

describe('response stages', () => {
  it('see a JSON answer, rewrite it, and put their findings in the row and the tool_call event', async () => {
    const trace = traceId('stage-json');
    const res = await post(JSON_SLUG, list(1), { 'X-Igris-Trace-Id': trace });
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
    const [answer] = await messages(res);
    expect((answer!.result as { probed?: boolean }).probed).toBe(true);
    expect(seen.get(trace)).toHaveLength(1);

    const [row] = await auditFor(trace);
    expect(findingsOf(row)).toEqual([expect.objectContaining(PROBE_FINDING)]);
    const events = await eventsOf(trace);
    expect(events.find((e) => e.type === 'tool_call')?.findings).toEqual([
      expect.objectContaining(PROBE_FINDING),
    ]);
  });

  it('see a short SSE answer (one event, then the end) read whole: findings in the row and the tool_call event', async () => {
    // Read whole before it is handed over (gateway.answer.ts), like a JSON answer: its findings
    // are known with the outcome, so they ride the call's own event rather than a late one.
    const trace = traceId('stage-sse');
    const res = await post(SSE_SLUG, list(2), { 'X-Igris-Trace-Id': trace, Accept: ACCEPT_BOTH });
    expect(res.headers.get('Content-Type')).toMatch(/^text\/event-stream/);
    const [answer] = await messages(res);
    expect((answer!.result as { probed?: boolean }).probed).toBe(true);
    expect(seen.get(trace)?.length).toBeGreaterThanOrEqual(1);

    const [row] = await auditFor(trace);
    expect(findingsOf(row)).toEqual([expect.objectContaining(PROBE_FINDING)]);
    expect(row!.upstream_status).toBe(200);
    const events = await eventsOf(trace);
    expect(events.find((e) => e.type === 'tool_call')?.findings).toEqual([
      expect.objectContaining(PROBE_FINDING),
    ]);
  });

  it('see a stream that goes on event by event; late findings reach the row and a findings event', async () => {
    const trace = traceId('stage-sse-long');
    const progress = {
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/call',
      params: { name: 'progress', arguments: { steps: 2 }, _meta: { progressToken: 'p-3' } },
    };
    const res = await post(SSE_SLUG, progress, { 'X-Igris-Trace-Id': trace, Accept: ACCEPT_BOTH });
    expect(res.headers.get('Content-Type')).toMatch(/^text\/event-stream/);
    const got = await messages(res);
    expect(got.filter((m) => m.method === 'notifications/progress')).toHaveLength(2);
    expect(got.at(-1)).toMatchObject({ id: 3, result: { content: [{ text: 'done after 2 steps' }] } });
    const SAW_PROGRESS = { stage: 'probe', kind: 'saw_progress', severity: 'info' };

    let row: AuditRow | undefined;
    for (let i = 0; i < 50 && findingsOf(row).length < 2; i++) {
      [row] = await auditFor(trace);
      if (findingsOf(row).length < 2) await new Promise((r) => setTimeout(r, 100));
    }
    expect(findingsOf(row)).toEqual([
      expect.objectContaining(SAW_PROGRESS),
      expect.objectContaining(SAW_PROGRESS),
    ]);
    expect(row!.upstream_status).toBe(200);
    const events = await eventsOf(trace);
    expect(events.find((e) => e.type === 'findings')?.findings).toEqual(
      expect.arrayContaining([expect.objectContaining(SAW_PROGRESS)]),
    );
  });

  it('see each item of a batch answer on its own', async () => {
    const trace = traceId('stage-batch');
    const res = await post(JSON_SLUG, [list('a'), { jsonrpc: '2.0', id: 'b', method: 'ping' }], {
      'X-Igris-Trace-Id': trace,
    });
    const answers = await messages(res);
    expect(answers).toHaveLength(2);
    expect(seen.get(trace)).toHaveLength(2);
    const listed = answers.find((a) => a.id === 'a');
    expect((listed!.result as { probed?: boolean }).probed).toBe(true);
    const rows = await auditFor(trace);
    expect(rows).toHaveLength(2);
    expect(findingsOf(rows[0])).toEqual([expect.objectContaining(PROBE_FINDING)]);
  });

  it('leave the answer untouched when no stage is listed', async () => {
    SHARED_RESPONSE_STAGES.splice(SHARED_RESPONSE_STAGES.indexOf(probe), 1);
    try {
      const trace = traceId('stage-none');
      const [answer] = await messages(await post(JSON_SLUG, list(3), { 'X-Igris-Trace-Id': trace }));
      expect((answer!.result as { probed?: boolean }).probed).toBeUndefined();
      expect(seen.has(trace)).toBe(false);
      const [row] = await auditFor(trace);
      expect(findingsOf(row)).toEqual([]);
    } finally {
      SHARED_RESPONSE_STAGES.push(probe);
    }
  });
});
