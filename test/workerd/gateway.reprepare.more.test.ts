/**
 * gateway.reprepare.test.ts's cases for the other bodies content inspection masks in place: an LLM
 * passthrough form (re-encoded with its placeholders) and JSON body, and an A2A message. A call
 * prepared again after a `stale` guard must be inspected on what the caller sent: (1) the redact
 * finding is on the row and the upstream gets the placeholder; (2) a detection changed from redact
 * to block (written as another isolate would, then announced) refuses the call and nothing is forwarded.
 * The JSON body and the A2A message fail on the old code; the multipart form passed there too (its
 * masking builds a new form rather than changing the parsed one) and is kept as a guard of that.
 */
import { env, exports } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { bumpConfigEpoch, pushConfigEpoch } from '../../workers/config/config.epoch';
import { BASE, call, createOrg, expectJson, flushAudit, putPolicy, type TestOrg } from './helpers';
import { llmRow } from './llm.inspection.fixtures';

const EMAIL = 'jane.roe@example.org';
const PII_BLOCKED = { categories: { pii: 'block' } };

let org: TestOrg;
let n = 0;
const marker = () => `rpm${Date.now().toString(36)}x${++n}`;

beforeEach(async () => {
  org = await createOrg('owner');
});

async function connection(body: Record<string, unknown>): Promise<{ id: string; slug: string }> {
  const slug = `reprep-${marker()}`;
  const res = await call('POST', '/api/v1/connections', {
    key: org.key,
    body: { slug, name: slug, ...body },
  });
  const { id } = await expectJson<{ id: string }>(res, 201);
  await putPolicy(slug, [{ tool: '*', action: 'allow' }], org.key);
  return { id, slug };
}

/** As another isolate's API would: the settings written to D1, the epoch bumped and pushed to the guard. */
async function changeElsewhere(connectionId: string, overrides?: Record<string, unknown>): Promise<void> {
  if (overrides) {
    const row = await env.DB.prepare('SELECT settings FROM connections WHERE id = ?')
      .bind(connectionId)
      .first<{ settings: string }>();
    const settings = JSON.parse(row!.settings) as { inspection: Record<string, unknown> };
    settings.inspection.overrides = overrides;
    await env.DB.prepare('UPDATE connections SET settings = ? WHERE id = ?')
      .bind(JSON.stringify(settings), connectionId)
      .run();
  }
  const epoch = await bumpConfigEpoch(env.DB, org.orgId);
  await pushConfigEpoch(env, org.orgId, epoch!, [connectionId]);
}

const findingKinds = (row: { details: string | null }) =>
  ((JSON.parse(row.details ?? '{}') as { findings?: Array<{ kind: string }> }).findings ?? []).map(
    (f) => f.kind,
  );

describe('LLM passthrough bodies prepared again', () => {
  /** POSTs to `/llm/<slug>/v1<path>`; `seen` is what reached the fake provider from this call. */
  async function send(slug: string, path: string, body: BodyInit, type?: string) {
    const mark = marker();
    const trace = `ig_trace_reprep_${mark}`;
    const headers: Record<string, string> = { Authorization: `Bearer ${org.key}`, 'X-Igris-Trace-Id': trace };
    if (type) headers['Content-Type'] = type;
    const res = await exports.default.fetch(
      new Request(`${BASE}/llm/${slug}/v1${path}?reprep=${mark}`, { method: 'POST', headers, body }),
    );
    const text = await res.text();
    const all = (await (await fetch(`${env.LLM_FAKE_URL}/__fake/requests`)).json()) as Array<{
      query?: Record<string, string>;
    }>;
    return { status: res.status, text, trace, seen: all.filter((r) => r.query?.reprep === mark) };
  }

  const bodies: Array<[string, string, () => [BodyInit, string?]]> = [
    [
      'a multipart form',
      '/files',
      () => {
        const form = new FormData();
        form.append('purpose', 'fine-tune');
        form.append('note', `write to ${EMAIL}`);
        form.append('file', new Blob(['{"prompt":"hi"}\n'], { type: 'application/jsonl' }), 'train.jsonl');
        return [form];
      },
    ],
    [
      'a JSON body (an Anthropic Message Batch)',
      '/messages/batches',
      () => [
        JSON.stringify({
          requests: [
            {
              custom_id: 'one',
              params: {
                model: 'claude-x',
                max_tokens: 16,
                messages: [{ role: 'user', content: `write to ${EMAIL}` }],
              },
            },
          ],
        }),
        'application/json',
      ],
    ],
  ];

  for (const [what, path, body] of bodies) {
    it(`${what}: the redact finding is on the row and the provider gets the placeholder`, async () => {
      const conn = await connection(llmBody(path === '/files' ? 'openai-compatible' : 'anthropic'));
      const warmed = await send(conn.slug, path, ...body());
      expect(warmed.seen, warmed.text).toHaveLength(1); // warm
      await changeElsewhere(conn.id);
      const res = await send(conn.slug, path, ...body());
      expect(res.seen).toHaveLength(1);
      const seen = JSON.stringify(res.seen[0]);
      expect(seen).toContain('[EMAIL_1]');
      expect(seen).not.toContain(EMAIL);
      const row = await llmRow(res.trace, (r) => findingKinds(r).length > 0);
      expect(findingKinds(row)).toContain('pii.email');
      expect(JSON.stringify(row)).not.toContain(EMAIL);
    });

    it(`${what}: a detection changed from redact to block refuses it before the provider`, async () => {
      const conn = await connection(llmBody(path === '/files' ? 'openai-compatible' : 'anthropic'));
      const warmed = await send(conn.slug, path, ...body());
      expect(warmed.seen, warmed.text).toHaveLength(1); // warm
      await changeElsewhere(conn.id, PII_BLOCKED);
      const res = await send(conn.slug, path, ...body());
      expect(res.status, res.text).toBe(403);
      // In the provider's own shape (Anthropic's names no code); the row names it.
      expect(res.text).toContain('permission_error');
      expect(res.text).not.toContain(EMAIL);
      expect(res.seen).toEqual([]);
      const row = await llmRow(res.trace, () => true);
      expect(row).toMatchObject({ action: 'deny', error_code: 'content_blocked' });
      expect(JSON.stringify(row)).not.toContain(EMAIL);
    });
  }

  function llmBody(provider: string) {
    return {
      type: 'llm',
      upstreamUrl: `${env.LLM_FAKE_URL}/v1`,
      credential: env.LLM_FAKE_KEY,
      settings: { provider, inspection: { packs: ['llm-compliance-gdpr'] } },
    };
  }
});

describe('an A2A message prepared again', () => {
  async function agent() {
    return connection({
      type: 'a2a',
      agentCardUrl: env.A2A_AGENT_URL,
      credential: env.A2A_AGENT_CREDENTIAL,
      settings: { inspection: { packs: ['pii-default'] } },
    });
  }

  async function send(slug: string, text: string) {
    const trace = `ig_trace_reprep_${marker()}`;
    const res = await call('POST', `/v1/a2a/${slug}`, {
      key: org.key,
      headers: { 'A2A-Version': '1.0', 'X-Igris-Trace-Id': trace },
      body: {
        jsonrpc: '2.0',
        id: 1,
        method: 'SendMessage',
        params: {
          message: {
            messageId: `m-${crypto.randomUUID()}`,
            role: 'ROLE_USER',
            parts: [{ text }],
            metadata: { skillId: 'echo' },
          },
        },
      },
    });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { result?: unknown; error?: { data: { code: string } } };
    await flushAudit();
    const row = await env.DB.prepare('SELECT * FROM audit_events WHERE trace_id = ?').bind(trace).first<{
      action: string;
      error_code: string | null;
      upstream_status: number | null;
      details: string;
    }>();
    return { answer, row: row! };
  }

  it('the redact finding is on the row and the agent gets the placeholder', async () => {
    const conn = await agent();
    expect((await send(conn.slug, 'hello')).answer.error).toBeUndefined(); // warm
    await changeElsewhere(conn.id);
    const { answer, row } = await send(conn.slug, `write to ${EMAIL}`);
    // The agent echoes what it received.
    expect(answer.error).toBeUndefined();
    expect(JSON.stringify(answer.result)).toContain('[EMAIL_1]');
    expect(JSON.stringify(answer.result)).not.toContain(EMAIL);
    expect(findingKinds(row)).toContain('pii.email');
    expect(JSON.stringify(row)).not.toContain(EMAIL);
  });

  it('a detection changed from redact to block refuses it before the agent', async () => {
    const conn = await agent();
    expect((await send(conn.slug, 'hello')).answer.error).toBeUndefined(); // warm
    await changeElsewhere(conn.id, PII_BLOCKED);
    const { answer, row } = await send(conn.slug, `write to ${EMAIL}`);
    expect(answer.error?.data.code).toBe('content_blocked');
    expect(JSON.stringify(answer)).not.toContain(EMAIL);
    // Never forwarded; recorded as a denial, as an MCP or LLM content block is.
    expect(row).toMatchObject({ action: 'deny', error_code: 'content_blocked', upstream_status: null });
    expect(JSON.stringify(row)).not.toContain(EMAIL);
  });
});
