/**
 * Token windows in the ConnectionGuard (an LLM rule's `tokenLimit`), driven directly through the
 * typed client: `admit` refuses once the tokens recorded in the window reach the limit (without
 * counting the refused call), `complete` adds a call's actual tokens once, and request windows are
 * unaffected. When the window slides is covered by the unit layer (durable-objects/rate.window.unit.test.ts).
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { guardFor } from '../../durable-objects/do.client';
import type { AdmitRequest, RateCheck } from '../../durable-objects/guard.contract';
import type { AuditEventInsert } from '../../workers/db/schema';
import { randomId } from '../../workers/lib/ids';
import { createConnection, createOrg, flushAudit, type TestOrg } from './helpers';

let org: TestOrg;
let connectionId: string;
const SLUG = `guard-tokens-${crypto.randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  org = await createOrg('owner');
  connectionId = (await createConnection(SLUG, { key: org.key })).id;
});

const tokenCheck = (user: string): RateCheck => ({
  ruleIndex: 2,
  key: `v1:r2:tokens:user=${user}`,
  limit: 100,
  windowSeconds: 60,
  unit: 'tokens',
});
const requestCheck = (user: string): RateCheck => ({
  ruleIndex: 0,
  key: `v1:r0:user=${user}`,
  limit: 1_000,
  windowSeconds: 60,
});

function row(eventId: string, user: string): AuditEventInsert {
  return {
    id: eventId,
    orgId: org.orgId,
    type: 'llm_call',
    connectionId,
    connectionSlug: SLUG,
    user,
    tool: 'gpt-4o',
    model: 'gpt-4o',
    action: 'allow',
    ruleIndex: 2,
    policyVersion: 1,
    createdAt: Date.now(),
  };
}

function admit(eventId: string, user: string, checks: RateCheck[]) {
  const request: AdmitRequest = {
    orgId: org.orgId,
    connectionId,
    caller: { apiKeyId: null, user, mcpSessionId: null },
    rateChecks: checks,
    audit: [row(eventId, user)],
    final: false,
  };
  return guardFor(env, org.orgId, connectionId).admit(request);
}

function complete(eventId: string, user: string, used: number) {
  return guardFor(env, org.orgId, connectionId).complete(eventId, {
    upstreamStatus: 200,
    latencyMs: 12,
    outputTokens: used,
    tokens: { checks: [tokenCheck(user)], used },
  });
}

describe('ConnectionGuard token windows', () => {
  it('refuses once the recorded tokens reach the limit, and counts each call once', async () => {
    const alice = 'alice@example.com';
    const checks = [requestCheck(alice), tokenCheck(alice)];
    const first = randomId('evt');
    expect(await admit(first, alice, checks)).toMatchObject({ verdict: 'admit' });
    await complete(first, alice, 60);
    // The same outcome delivered twice (a retried RPC) is not counted twice: 60 < 100.
    await complete(first, alice, 60);

    const second = randomId('evt');
    expect(await admit(second, alice, checks)).toMatchObject({ verdict: 'admit' });
    await complete(second, alice, 40);

    // 100 tokens recorded: the next call is refused, with the window's figures.
    const refusedId = randomId('evt');
    const refused = await admit(refusedId, alice, checks);
    expect(refused).toMatchObject({ verdict: 'rate_limited', ruleIndex: 2, limit: 100, windowSeconds: 60 });
    if (refused.verdict !== 'rate_limited') throw new Error('unreachable');
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(60);
    // Refused again: refusals add nothing and the window is still full.
    expect(await admit(randomId('evt'), alice, checks)).toMatchObject({ verdict: 'rate_limited' });

    // Another user's window is its own.
    const bob = 'bob@example.com';
    expect(await admit(randomId('evt'), bob, [requestCheck(bob), tokenCheck(bob)])).toMatchObject({
      verdict: 'admit',
    });

    // The refusal is audited as such, through the guard's durable spool.
    await flushAudit();
    const stored = await env.DB.prepare('SELECT action, error_code FROM audit_events WHERE id = ?')
      .bind(refusedId)
      .first<{ action: string; error_code: string }>();
    expect(stored).toEqual({ action: 'rate_limited', error_code: 'rate_limited' });
  });

  it('admits request-only checks as before, unaffected by full token windows of the same key', async () => {
    const carol = 'carol@example.com';
    const shared = tokenCheck(carol);
    const first = randomId('evt');
    expect(await admit(first, carol, [shared])).toMatchObject({ verdict: 'admit' });
    await complete(first, carol, 500);
    expect(await admit(randomId('evt'), carol, [shared])).toMatchObject({ verdict: 'rate_limited' });
    // A request window under the very same key string counts requests, not tokens.
    const sameKey: RateCheck = { ruleIndex: 0, key: shared.key, limit: 2, windowSeconds: 60 };
    expect(await admit(randomId('evt'), carol, [sameKey])).toMatchObject({ verdict: 'admit' });
    expect(await admit(randomId('evt'), carol, [sameKey])).toMatchObject({ verdict: 'admit' });
    expect(await admit(randomId('evt'), carol, [sameKey])).toMatchObject({
      verdict: 'rate_limited',
      ruleIndex: 0,
      limit: 2,
    });
  });
});
