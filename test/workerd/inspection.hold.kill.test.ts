/**
 * A held stream (`settings.inspection.streamMode: "hold"`, docs/detections.md#held-streams-streammode-hold)
 * is watched for kill switches while it is read, as a passing stream is relayed under a watch
 * (killswitch.stream.ts `watchWhileRead`): a connection kill switch pulled while the model is still
 * answering refuses the answer — the caller gets the provider-shaped `session_suspended` error
 * instead of the answer (held, it would have come whole once the model finished), and nothing of
 * it is sent. The fake provider's `fake-fail-stall` model sends its first event, then waits 8 s.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { type AuditRow, auditFor, traceId } from './gateway.fixtures';
import { bootstrapDefault, call, json, putPolicy } from './helpers';

const RUN = Date.now().toString(36);
const SLUG = `hold-kill-${RUN}`;

beforeAll(async () => {
  await bootstrapDefault();
  const res = await call('POST', '/api/v1/connections', {
    body: {
      slug: SLUG,
      name: SLUG,
      type: 'llm',
      upstreamUrl: `${env.LLM_FAKE_URL}/v1`,
      credential: env.LLM_FAKE_KEY,
      settings: {
        provider: 'openai-compatible',
        inspection: { packs: ['llm-standard-security'], streamMode: 'hold' },
      },
    },
  });
  expect(res.status, await res.clone().text()).toBe(201);
  await putPolicy(SLUG, [{ tool: '*', action: 'allow' }]);
});

async function rowOf(trace: string): Promise<AuditRow> {
  for (let i = 0; i < 50; i++) {
    await auditFor(trace);
    const row = await env.DB.prepare("SELECT * FROM audit_events WHERE trace_id = ? AND type = 'llm_call'")
      .bind(trace)
      .first<AuditRow>();
    if (row?.error_code) return row;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no finished row for ${trace}`);
}

describe('a held stream under a kill switch', () => {
  it('is refused with session_suspended when a switch is pulled while the answer is read', async () => {
    const trace = traceId('hold-kill');
    const pending = call('POST', `/llm/${SLUG}/v1/chat/completions`, {
      body: { model: 'fake-fail-stall', stream: true, messages: [{ role: 'user', content: 'hello' }] },
      headers: { 'X-Igris-Trace-Id': trace },
    });
    // The answer is being held (its first event arrived, the rest is STALL_MS away): pull the switch.
    await new Promise((r) => setTimeout(r, 500));
    const kill = await call('POST', '/api/v1/kill-switch', {
      body: { scope: 'connection', target: SLUG, reason: 'hold test' },
    });
    expect(kill.status).toBe(201);
    const { id } = await json<{ id: string }>(kill);

    const res = await pending;
    const text = await res.text();
    expect(res.status).toBe(503);
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(text).not.toContain('data:');
    expect(JSON.parse(text).error).toMatchObject({ code: 'session_suspended' });
    const row = await rowOf(trace);
    expect(row).toMatchObject({ action: 'allow', error_code: 'session_suspended' });

    // Released: the next held answer is read to its end and delivered (the cut left nothing behind).
    const released = await call('DELETE', `/api/v1/kill-switch/${id}`);
    expect(released.status).toBeLessThan(300);
    await released.text();
    const next = await call('POST', `/llm/${SLUG}/v1/chat/completions`, {
      body: { model: 'fake-gpt', stream: true, messages: [{ role: 'user', content: 'hello' }] },
    });
    expect(next.status).toBe(200);
    expect(await next.text()).toContain('data: [DONE]');
  });
});
