/**
 * Shared by the LLM content-inspection tests (inspection.answers, inspection.hold,
 * inspection.hold.gaps, inspection.streams, inspection.passthrough, llm.inspection.passthrough,
 * llm.inspection.transcriptions): an LLM connection on the real fake provider, inspected or not,
 * every call allowed, and the audit row of an answer once its findings are in.
 */
import { env } from 'cloudflare:workers';
import { expect } from 'vitest';
import { type AuditRow, auditFor } from './gateway.fixtures';
import { call, putPolicy } from './helpers';

/** POST /api/v1/connections for an LLM connection `slug` on the fake provider with `settings` (the answer). */
function createLlm(slug: string, settings: Record<string, unknown>) {
  return call('POST', '/api/v1/connections', {
    body: {
      slug,
      name: slug,
      type: 'llm',
      upstreamUrl: `${env.LLM_FAKE_URL}/v1`,
      credential: env.LLM_FAKE_KEY,
      settings,
    },
  });
}

/** POST /api/v1/connections for an LLM connection `slug` with `inspection` settings (the answer). */
export function createInspectedLlm(slug: string, provider: string, inspection: Record<string, unknown>) {
  return createLlm(slug, { provider, inspection });
}

/** An LLM connection `slug` with `settings`, created (201) with an allow-all policy. */
export async function allowedLlm(slug: string, settings: Record<string, unknown>) {
  const res = await createLlm(slug, settings);
  expect(res.status, await res.clone().text()).toBe(201);
  await putPolicy(slug, [{ tool: '*', action: 'allow' }]);
}

/** An inspected LLM connection `slug`, created (201) with an allow-all policy. */
export function inspectedLlm(slug: string, provider: string, inspection: Record<string, unknown>) {
  return allowedLlm(slug, { provider, inspection });
}

/** The LLM row of a trace once `done` holds for it (an SSE answer's findings come after its outcome). */
export async function llmRow(trace: string, done: (row: AuditRow) => boolean): Promise<AuditRow> {
  let row: AuditRow | null = null;
  for (let i = 0; i < 50; i++) {
    await auditFor(trace); // flushes the spools
    row = await env.DB.prepare("SELECT * FROM audit_events WHERE trace_id = ? AND type = 'llm_call'")
      .bind(trace)
      .first<AuditRow>();
    if (row && done(row)) return row;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no row for ${trace} as expected: ${JSON.stringify(row)}`);
}
