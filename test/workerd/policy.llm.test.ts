/**
 * LLM rules through the policy API: stored and versioned like any rule (model, endpoint,
 * tokenLimit, tokenGuard), refused with a rule index and path when malformed, and explained by the
 * simulator for a hypothetical LLM call (model + endpoint) as well as for an MCP call.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { call, createConnection, createOrg, expectJson, type TestOrg } from './helpers';

let org: TestOrg;
const SLUG = `policy-llm-${crypto.randomUUID().slice(0, 8)}`;

const RULES = [
  { model: 'gpt-4o*', endpoint: 'embeddings', action: 'deny', reason: 'no embeddings on 4o' },
  {
    model: 'gpt-*',
    endpoint: ['chat.completions', 'responses'],
    action: 'allow',
    tokenLimit: { limit: 100_000, windowSeconds: 60, by: 'apiKey' },
    tokenGuard: { maxInputTokens: 8_000, maxOutputTokens: 1_024 },
  },
  { tool: 'read_*', action: 'allow' },
];

interface Simulation {
  decision: string;
  matched: boolean;
  ruleIndex: number | null;
  trace: Array<{ ruleIndex: number; matched: boolean; why: string }>;
}

function simulate(body: Record<string, unknown>) {
  return call('POST', `/api/v1/connections/${SLUG}/policy/simulate`, { key: org.key, body });
}

beforeAll(async () => {
  org = await createOrg('owner');
  await createConnection(SLUG, { key: org.key });
});

describe('LLM rules in the policy API', () => {
  it('stores model, endpoint, tokenLimit and tokenGuard as written', async () => {
    const put = await expectJson<{ version: number; rules: unknown[] }>(
      await call('PUT', `/api/v1/connections/${SLUG}/policy`, { key: org.key, body: { rules: RULES } }),
      200,
    );
    expect(put.rules).toEqual(RULES);
    const current = await expectJson<{ rules: unknown[] }>(
      await call('GET', `/api/v1/connections/${SLUG}/policy`, { key: org.key }),
      200,
    );
    expect(current.rules).toEqual(RULES);
  });

  it('refuses a rule with none of tool, model, endpoint, and an unknown endpoint, with their paths', async () => {
    const res = await call('PUT', `/api/v1/connections/${SLUG}/policy`, {
      key: org.key,
      body: { rules: [{ action: 'allow' }, { endpoint: ['chat.completions', 'chat'], action: 'allow' }] },
    });
    const body = await expectJson<{ error: { details: { issues: Array<Record<string, unknown>> } } }>(
      res,
      400,
    );
    expect(body.error.details.issues).toEqual([
      {
        location: 'body',
        path: 'rules[0]',
        ruleIndex: 0,
        message: 'a rule needs at least one of "tool", "model" or "endpoint"',
      },
      expect.objectContaining({ path: 'rules[1].endpoint[1]', ruleIndex: 1 }),
    ]);
  });

  it('simulates an LLM call by model and endpoint, explaining each rule', async () => {
    const denied = await expectJson<Simulation>(
      await simulate({ tool: 'gpt-4o-mini', model: 'gpt-4o-mini', endpoint: 'embeddings' }),
      200,
    );
    expect(denied).toMatchObject({ decision: 'deny', matched: true, ruleIndex: 0 });
    expect(denied.trace[0]?.why).toBe(
      "model 'gpt-4o-mini' matches glob 'gpt-4o*', endpoint 'embeddings' is 'embeddings' and no conditions — deny",
    );

    const allowed = await expectJson<Simulation>(
      await simulate({ tool: 'gpt-4o-mini', model: 'gpt-4o-mini', endpoint: 'chat.completions' }),
      200,
    );
    expect(allowed).toMatchObject({ decision: 'allow', ruleIndex: 1 });
    expect(allowed.trace[0]).toEqual({
      ruleIndex: 0,
      matched: false,
      why: "endpoint 'chat.completions' is not 'embeddings'",
    });
  });

  it('never applies LLM rules to an MCP call (no model, no endpoint)', async () => {
    const mcp = await expectJson<Simulation>(await simulate({ tool: 'gpt-4o' }), 200);
    expect(mcp).toMatchObject({ decision: 'deny', matched: false, ruleIndex: null });
    expect(mcp.trace[0]?.why).toBe('no model in the request (not an LLM call) — rule skipped');
    expect(await expectJson<Simulation>(await simulate({ tool: 'read_file' }), 200)).toMatchObject({
      decision: 'allow',
      ruleIndex: 2,
    });
  });

  it('refuses an unknown endpoint in a simulation request', async () => {
    const res = await simulate({ tool: 'gpt-4o', model: 'gpt-4o', endpoint: 'chat/completions' });
    expect(res.status).toBe(400);
    await res.text();
  });
});
