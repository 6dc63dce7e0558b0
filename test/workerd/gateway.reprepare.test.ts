/**
 * A call prepared again (the guard answered `stale`: a management change newer than the data the
 * call was decided on) is decided on what the caller sent, not on the first preparation's result.
 * Content inspection's redact masks the body in place; before this fix the second preparation
 * scanned the masked body, so (1) the redact finding was missing from the audit row, and (2) a
 * detection changed from redact to block was not applied: the value it blocks had already been
 * masked under the stale configuration, and the placeholder was forwarded.
 *
 * The stale path is forced as config.epoch.test.ts forces it: the isolate caches the connection
 * (one call), then the change is written to D1 and announced as another isolate's API would (epoch
 * bumped in D1 and pushed to the guards), so this isolate's next call is first prepared on its cache.
 */
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { bumpConfigEpoch, pushConfigEpoch } from '../../workers/config/config.epoch';
import { type AuditRow, auditFor, traceId } from './gateway.fixtures';
import { addMember, call, createOrg, expectJson, putPolicy, type TestOrg } from './helpers';

const EMAIL = 'jane.roe@example.org';
const PROMPT = `Write to ${EMAIL} today.`;
const GDPR = { packs: ['llm-compliance-gdpr'] };

let org: TestOrg;
let slug: string;
let connectionId: string;

beforeEach(async () => {
  org = await createOrg('owner');
  slug = `reprep-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  const res = await call('POST', '/api/v1/connections', {
    key: org.key,
    body: {
      slug,
      name: slug,
      type: 'llm',
      upstreamUrl: `${env.LLM_FAKE_URL}/v1`,
      credential: env.LLM_FAKE_KEY,
      settings: { provider: 'openai-compatible', inspection: GDPR },
    },
  });
  connectionId = (await expectJson<{ id: string }>(res, 201)).id;
  await putPolicy(slug, [{ tool: '*', action: 'allow' }], org.key);
});

function chat(trace: string, content: string) {
  return call('POST', `/llm/${slug}/v1/chat/completions`, {
    key: org.key,
    headers: { 'X-Igris-Trace-Id': trace },
    body: {
      model: 'fake-echo',
      messages: [
        { role: 'system', content: `Be terse. ${trace}` },
        { role: 'user', content },
      ],
    },
  });
}

/** The same as through the `@slug/model` route, whose body the route itself reads and parses. */
function addressed(trace: string, content: string) {
  return call('POST', '/v1/chat/completions', {
    key: org.key,
    headers: { 'X-Igris-Trace-Id': trace },
    body: {
      model: `@${slug}/fake-echo`,
      messages: [
        { role: 'system', content: `Be terse. ${trace}` },
        { role: 'user', content },
      ],
    },
  });
}

/** Warms the isolate's caches for this connection (its configuration from here on is cached). */
async function warm(): Promise<void> {
  const res = await chat(traceId('reprep-warm'), 'hello');
  expect(res.status).toBe(200);
  await res.text();
}

/** As another isolate's API does after committing a change: epoch bumped in D1, pushed to the guard. */
async function announceElsewhere(): Promise<void> {
  const epoch = await bumpConfigEpoch(env.DB, org.orgId);
  await pushConfigEpoch(env, org.orgId, epoch!, [connectionId]);
}

/** What the fake provider received carrying `marker` (shared with other files: found by marker). */
async function providerBodies(marker: string): Promise<Array<Record<string, unknown>>> {
  const res = await fetch(`${env.LLM_FAKE_URL}/__fake/requests`);
  return ((await res.json()) as Array<{ body: Record<string, unknown> }>)
    .map((r) => r.body)
    .filter((body) => JSON.stringify(body).includes(marker));
}

/** The call's LLM row once its findings arrived (patched in by the outcome, off the hot path). */
async function llmRow(trace: string, withFindings: boolean): Promise<AuditRow> {
  for (let i = 0; i < 50; i++) {
    await auditFor(trace); // flushes the spools
    const row = await env.DB.prepare("SELECT * FROM audit_events WHERE trace_id = ? AND type = 'llm_call'")
      .bind(trace)
      .first<AuditRow>();
    if (row && (!withFindings || row.details?.includes('"findings"'))) return row;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no row${withFindings ? ' with findings' : ''} for ${trace}`);
}

function kinds(row: AuditRow): string[] {
  const details = JSON.parse(row.details ?? '{}') as { findings?: Array<{ kind: string }> };
  return (details.findings ?? []).map((f) => f.kind);
}

describe('a call prepared again after a stale guard decides on what the caller sent', () => {
  for (const [route, send] of [
    ['/llm/<slug>', chat],
    ['@slug/model', addressed],
  ] as const) {
    it(`${route}: the redact finding is on the row, the value is masked upstream and restored`, async () => {
      await warm();
      await announceElsewhere(); // nothing changed but the epoch: the call is prepared twice
      const trace = traceId('reprep-redact');
      const res = await send(trace, PROMPT);
      expect(res.status).toBe(200);
      const answer = (await res.json()) as { choices: Array<{ message: { content: string } }> };
      expect(answer.choices[0]!.message.content, 'the restore map is the final attempt’s').toBe(PROMPT);

      const [sent, ...more] = await providerBodies(trace);
      expect(more).toEqual([]);
      const prompt = JSON.stringify(sent!.messages);
      expect(prompt).toContain('[EMAIL_1]');
      expect(prompt).not.toContain(EMAIL);

      const row = await llmRow(trace, true);
      expect(kinds(row)).toContain('pii.email');
      expect(JSON.stringify(row)).not.toContain(EMAIL);
    });

    it(`${route}: a detection changed from redact to block applies to the call prepared again`, async () => {
      await warm();
      // Written as another isolate would: this isolate's cache still says redact.
      const settings = {
        provider: 'openai-compatible',
        inspection: { ...GDPR, overrides: { rules: { 'pii.email': 'block' } } },
      };
      await env.DB.prepare('UPDATE connections SET settings = ? WHERE id = ?')
        .bind(JSON.stringify(settings), connectionId)
        .run();
      await announceElsewhere();
      const trace = traceId('reprep-block');
      const res = await send(trace, PROMPT);
      const text = await res.text();
      expect(res.status, text).toBe(403);
      expect(text).not.toContain(EMAIL);
      expect((JSON.parse(text) as { error: { code: string } }).error.code).toBe('content_blocked');
      expect(await providerBodies(trace)).toEqual([]);

      const row = await llmRow(trace, false);
      expect(row).toMatchObject({ action: 'deny', error_code: 'content_blocked' });
      expect(JSON.stringify(row)).not.toContain(EMAIL);
    });
  }
});

/**
 * Session taint under `onTaint: "approve"` also prepares the call a second time (the guard answers
 * `tainted` with an approval; the call is held, or spends its approval, on the second pass). The
 * held call's row keeps the redact finding of the caller's text, and the approved retry reaches
 * the provider masked, its answer restored.
 */
describe('a call prepared again for a session-taint approval decides on what the caller sent', () => {
  it('the held row has the redact finding; the approved retry is forwarded masked and restored', async () => {
    await putPolicy(
      slug,
      [
        { tool: 'fake-gpt', action: 'allow', labels: ['untrusted_input'] },
        { tool: 'fake-echo', action: 'allow', cleanOf: ['untrusted_input'], onTaint: 'approve' },
      ],
      org.key,
    );
    const agent = await addMember(org.orgId, 'admin');
    const session = traceId('reprep-taint');
    const ask = (model: string, content: string) =>
      call('POST', `/llm/${slug}/v1/chat/completions`, {
        key: agent.key,
        headers: { 'X-Igris-Trace-Id': session },
        body: { model, messages: [{ role: 'user', content: `${content} ${session}` }] },
      });
    const untrusted = await ask('fake-gpt', 'read this page');
    expect(untrusted.status, await untrusted.text()).toBe(200);

    const held = await ask('fake-echo', PROMPT);
    const text = await held.text();
    expect(held.status, text).toBe(403);
    expect(text).not.toContain(EMAIL);
    const refused = JSON.parse(text) as { error: { code: string; details: { approvalId: string } } };
    expect(refused.error.code).toBe('approval_required');
    const { approvalId } = refused.error.details;
    await auditFor(session); // flushes the spools
    const row = await env.DB.prepare(
      "SELECT * FROM audit_events WHERE trace_id = ? AND type = 'llm_call' AND action = 'approval_required'",
    )
      .bind(session)
      .first<AuditRow>();
    expect(kinds(row!)).toContain('pii.email');
    expect(JSON.stringify(row)).not.toContain(EMAIL);

    const approved = await call('POST', `/api/v1/approvals/${approvalId}/approve`, {
      key: org.key,
      body: {},
    });
    expect(approved.status).toBe(200);
    const retried = await ask('fake-echo', PROMPT);
    expect(retried.status, await retried.clone().text()).toBe(200);
    const answer = (await retried.json()) as { choices: Array<{ message: { content: string } }> };
    expect(answer.choices[0]!.message.content).toContain(PROMPT);
    const sent = (await providerBodies(session)).filter((b) => b.model === 'fake-echo');
    expect(sent).toHaveLength(1);
    expect(JSON.stringify(sent[0]!.messages)).toContain('[EMAIL_1]');
    expect(JSON.stringify(sent[0]!.messages)).not.toContain(EMAIL);
  });
});
