/**
 * The A2A skill id is a governed name, held to the same 512-byte cap as MCP names
 * (policy.methods.ts MAX_GOVERNED_NAME_BYTES), against the real agent built with the official
 * `@a2a-js/sdk` server (test/e2e/a2a.agent.ts). Red-team finding: a 300,000-character
 * `metadata.skillId` was matched, echoed in the denial and stored whole in the audit row.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, createOrg, expectJson, flushAudit, putPolicy, type TestOrg } from './helpers';

const SLUG = `a2a-limits-${Date.now().toString(36)}`;
let org: TestOrg;

type RpcAnswer = {
  result?: unknown;
  error?: { code: number; message: string; data: { code: string; details?: unknown } };
};

beforeAll(async () => {
  org = await createOrg('owner');
  const res = await call('POST', '/api/v1/connections', {
    key: org.key,
    body: {
      slug: SLUG,
      name: SLUG,
      type: 'a2a',
      agentCardUrl: env.A2A_AGENT_URL,
      credential: env.A2A_AGENT_CREDENTIAL,
    },
  });
  await expectJson(res, 201);
  await putPolicy(
    SLUG,
    [
      { tool: 'admin.*', action: 'deny', reason: 'admin skills' },
      { tool: '*', action: 'allow' },
    ],
    org.key,
  );
});

async function sendSkill(skillId: string, trace: string): Promise<{ status: number; text: string }> {
  const res = await call('POST', `/v1/a2a/${SLUG}`, {
    key: org.key,
    headers: { 'A2A-Version': '1.0', 'X-Igris-Trace-Id': trace },
    body: {
      jsonrpc: '2.0',
      id: 1,
      method: 'SendMessage',
      params: {
        message: { messageId: `m-${crypto.randomUUID()}`, role: 'ROLE_USER', parts: [{ text: 'hi' }] },
        metadata: { skillId },
      },
    },
  });
  return { status: res.status, text: await res.text() };
}

async function rowOf(trace: string) {
  await flushAudit();
  return env.DB.prepare(
    'SELECT tool, action, error_code, length(details) AS details_chars FROM audit_events WHERE org_id = ? AND trace_id = ?',
  )
    .bind(org.orgId, trace)
    .all<{ tool: string | null; action: string; error_code: string | null; details_chars: number }>();
}

describe('A2A skill id cap', () => {
  it.each([
    ['300,000 characters', `admin.${'x'.repeat(300_000)}`],
    ['513 bytes', `admin.${'x'.repeat(507)}`],
  ])('refuses a skill id of %s with -32602, never echoing or auditing it', async (label, skillId) => {
    const trace = `a2a-limits-${label.replace(/\W/g, '_')}-${Date.now().toString(36)}`;
    const { status, text } = await sendSkill(skillId, trace);
    expect(status).toBe(400);
    expect(text).not.toContain('x'.repeat(100));
    expect((JSON.parse(text) as RpcAnswer).error).toEqual({
      code: -32602,
      message: 'metadata.skillId is longer than 512 bytes: no skill is named like that',
      data: {
        code: 'validation_failed',
        traceId: trace,
        details: { location: 'body', path: 'params.metadata.skillId' },
      },
    });
    const rows = (await rowOf(trace)).results;
    expect(rows).toEqual([
      { tool: null, action: 'error', error_code: 'validation_failed', details_chars: expect.any(Number) },
    ]);
    expect(rows[0]!.details_chars).toBeLessThan(1000);
  });

  it('still decides a skill id of exactly 512 bytes by the policy', async () => {
    const trace = `a2a-limits-512-${Date.now().toString(36)}`;
    const skillId = `admin.${'x'.repeat(506)}`;
    const { status, text } = await sendSkill(skillId, trace);
    expect(status).toBe(200);
    expect((JSON.parse(text) as RpcAnswer).error).toMatchObject({
      code: -32046,
      data: { code: 'policy_denied', details: { reason: 'admin skills', skill: skillId } },
    });
    expect((await rowOf(trace)).results).toEqual([
      expect.objectContaining({ tool: skillId, action: 'deny', error_code: 'policy_denied' }),
    ]);
  });
});

async function sendSkills(
  metadata: Record<string, unknown>,
  messageMetadata: Record<string, unknown>,
  trace: string,
) {
  const res = await call('POST', `/v1/a2a/${SLUG}`, {
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
          parts: [{ text: 'hi' }],
          metadata: messageMetadata,
        },
        metadata,
      },
    },
  });
  return { status: res.status, answer: (await res.json()) as RpcAnswer };
}

describe('a send names one skill, as a string', () => {
  it.each([
    [
      'two different skill ids (the message one undecided)',
      { skillId: 'summarise' },
      { skillId: 'admin.purge' },
      'metadata.skillId and message.metadata.skillId name different skills: a send names one',
      'params.message.metadata.skillId',
    ],
    [
      'a non-string request skill id beside a string one',
      { skillId: ['admin.purge'] },
      { skillId: 'summarise' },
      'metadata.skillId must be a string',
      'params.metadata.skillId',
    ],
    [
      'a non-string message skill id',
      {},
      { skillId: 7 },
      'message.metadata.skillId must be a string',
      'params.message.metadata.skillId',
    ],
  ])('%s is refused with -32602 before any decision', async (label, own, nested, message, path) => {
    const trace = `a2a-spellings-${label.replace(/\W/g, '_')}-${Date.now().toString(36)}`;
    const { status, answer } = await sendSkills(own, nested, trace);
    expect(status).toBe(400);
    expect(answer.error).toEqual({
      code: -32602,
      message,
      data: { code: 'validation_failed', traceId: trace, details: { location: 'body', path } },
    });
    expect((await rowOf(trace)).results).toEqual([
      expect.objectContaining({ tool: null, action: 'error', error_code: 'validation_failed' }),
    ]);
  });

  it('the same id in both places, or in one (null and "" name nothing), is decided as before', async () => {
    for (const [own, nested] of [
      [{ skillId: 'summarise' }, { skillId: 'summarise' }],
      [{ skillId: null }, { skillId: 'summarise' }],
      [{ skillId: 'summarise' }, { skillId: '' }],
    ] as const) {
      const trace = `a2a-spellings-ok-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
      const { status, answer } = await sendSkills(own, nested, trace);
      expect(status, JSON.stringify([own, nested])).toBe(200);
      expect(answer.error).toBeUndefined();
      expect((await rowOf(trace)).results).toEqual([
        expect.objectContaining({ tool: 'summarise', action: 'allow' }),
      ]);
    }
    const denied = await sendSkills(
      { skillId: 'admin.purge' },
      { skillId: 'admin.purge' },
      `a2a-spellings-deny-${Date.now().toString(36)}`,
    );
    expect(denied.answer.error).toMatchObject({ code: -32046, data: { code: 'policy_denied' } });
  });
});
