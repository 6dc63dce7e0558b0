/**
 * The rows of one batch share their created_at (one decision, one `now`), so every ordered read of
 * the trail — a trace oldest first, the event list newest first, `ORDER BY id` — falls back on the
 * row ids to put them in order. Those ids are the call's id with the item's index appended, and
 * must sort as the items were sent for any batch the gateway accepts, not only for the first ten
 * (workers/lib/ids.unit.test.ts covers every index up to MAX_BATCH_MESSAGES_LIMIT).
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_BATCH_MESSAGES } from '../../workers/shared/connection.settings';
import { auditFor, post, traceId } from './gateway.fixtures';
import { call, createConnection, expectJson, flushAudit, putPolicy } from './helpers';

const SLUG = `order-${Date.now().toString(36)}`;

beforeAll(async () => {
  await createConnection(SLUG);
  await putPolicy(SLUG, [{ tool: '*', action: 'allow' }]);
});

/** A batch of `n` tools/call items whose tool names say their position (the upstream knows none of them). */
async function batchOf(n: number): Promise<{ trace: string; names: string[] }> {
  const trace = traceId('batch-order');
  const names = Array.from({ length: n }, (_, i) => `step_${String(i).padStart(4, '0')}`);
  const res = await post(
    SLUG,
    names.map((name, i) => ({
      jsonrpc: '2.0',
      id: i + 1,
      method: 'tools/call',
      params: { name, arguments: {} },
    })),
    { 'X-Igris-Trace-Id': trace },
  );
  expect(res.status, await res.clone().text()).toBe(200);
  await res.text();
  return { trace, names };
}

describe('the audit rows of one batch keep the order of its items', () => {
  it('in the trace (oldest first), the event list (newest first) and by id, past ten items', async () => {
    const { trace, names } = await batchOf(12);
    expect((await auditFor(trace)).map((r) => r.tool)).toEqual(names);

    const traced = await expectJson<{ events: Array<{ tool: string | null }> }>(
      await call('GET', `/api/v1/traces/${trace}`),
      200,
    );
    expect(traced.events.map((e) => e.tool)).toEqual(names);

    const listed = await expectJson<{ events: Array<{ tool: string | null }> }>(
      await call('GET', `/api/v1/audit-events?traceId=${trace}&limit=100`),
      200,
    );
    expect(listed.events.map((e) => e.tool)).toEqual([...names].reverse());
  });

  it('for a batch of the default largest size', async () => {
    const { trace, names } = await batchOf(DEFAULT_MAX_BATCH_MESSAGES);
    await flushAudit();
    const { results } = await env.DB.prepare(
      "SELECT tool FROM audit_events WHERE trace_id = ? AND type = 'tool_call' ORDER BY created_at, id",
    )
      .bind(trace)
      .all<{ tool: string }>();
    expect(results.map((r) => r.tool)).toEqual(names);
  });
});
