import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PendingOutcome } from '../../durable-objects/guard.contract';
import type { AuditEventInsert } from '../../workers/db/schema';
import { CLAIM_WAIT_MS } from '../../workers/gateway/gateway.claims';
import { CallOutcomes } from '../../workers/gateway/gateway.outcome';
import { outcomesForAdmit } from '../../workers/gateway/gateway.outcome.batch';
import type { StageCall } from '../../workers/gateway/gateway.stages';
import type { LlmRequest } from '../../workers/gateway/llm.adapter';
import { objectClaimStage } from '../../workers/gateway/llm.objects.stage';

/**
 * An LLM create's outcome leaves only once its cost is priced (a D1 read); its creator's next call,
 * naming the response it just got, must find the claim at the guard (workers/gateway/gateway.claims.ts).
 * These tests hold the pricing back, as a slow D1 would, and watch what that next call's admit carries
 * — in workerd, with the call core's own outcome and queue modules (the runtime's `scheduler.wait`
 * stubbed so that waits end when the test says).
 */
function setup(connectionId: string) {
  const waits: Array<{ ms: number; release: () => void }> = [];
  vi.stubGlobal('scheduler', {
    wait: (ms: number) => new Promise<void>((release) => waits.push({ ms, release })),
  });
  const target = { orgId: 'org-claims', connectionId };
  const call = { ...target, findings: [] } as unknown as StageCall;
  const parsed = {
    units: [
      { endpoint: 'responses', body: { model: 'm', input: 'hi' }, forwarded: { target: 'POST /responses' } },
    ],
    upstreamPath: '/responses',
    raw: null,
  } as unknown as LlmRequest;
  let priced!: () => void;
  const outcomes = new CallOutcomes({
    ctx: { waitUntil: () => {} },
    guard: { completeMany: async () => [] } as never,
    target,
    rows: [{ id: 'ev-create' } as AuditEventInsert],
    findings: call.findings,
    tokenChecks: [],
    atEnd: true,
    final: () =>
      new Promise((resolve) => {
        priced = () => resolve({ outcome: { costUsd: 0.01 } });
      }),
  });
  const stage = objectClaimStage(call, parsed)!;
  return { waits, target, stage, outcomes, price: () => priced() };
}

const CLAIM = {
  stage: 'llm_response',
  kind: 'response_created',
  severity: 'info',
  detail: { responseId: 'resp_1' },
};

const ticks = () => new Promise((r) => setTimeout(r, 5));

describe('a created response’s claim rides the admit of the call that names it', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('waits for the creator’s outcome to be queued, then carries the claim', async () => {
    const { target, stage, outcomes, price } = setup('conn-wait');
    stage.onMessage({ id: 'resp_1', object: 'response' });
    outcomes.bodyDone('complete', { upstreamStatus: 200, latencyMs: 5 });
    let taken: PendingOutcome[] | undefined | null = null;
    const pending = outcomesForAdmit(target.orgId, target.connectionId, {
      protocol: 'llm-response',
      ids: ['resp_1'],
    });
    expect(pending).toBeInstanceOf(Promise); // a claim in flight: the only case that waits
    const admit = Promise.resolve(pending).then((items) => {
      taken = items;
    });
    await ticks();
    expect(taken).toBeNull(); // still pricing: the admit waits
    price();
    await admit;
    expect(taken![0]!.eventId).toBe('ev-create');
    expect(taken![0]!.outcome.findings).toEqual([CLAIM]);
  });

  it('a call naming nothing in flight does not wait', async () => {
    const { target, stage, outcomes, price } = setup('conn-other');
    stage.onMessage({ type: 'response.created', response: { id: 'resp_1', object: 'response' } });
    outcomes.bodyDone('complete', { upstreamStatus: 200, latencyMs: 5 });
    const other = await outcomesForAdmit(target.orgId, target.connectionId, {
      protocol: 'llm-response',
      ids: ['resp_someone_else'],
    });
    expect(other).toBeUndefined();
    expect(await outcomesForAdmit(target.orgId, target.connectionId, undefined)).toBeUndefined();
    price();
  });

  it('without a claim in flight the outcomes are taken at once (no promise), the same ones the wait hands over', async () => {
    // The wait: the claim of resp_1 is in flight until the create is priced.
    const waited = setup('conn-same-wait');
    waited.stage.onMessage({ id: 'resp_1', object: 'response' });
    waited.outcomes.bodyDone('complete', { upstreamStatus: 200, latencyMs: 5 });
    const pending = outcomesForAdmit(waited.target.orgId, waited.target.connectionId, {
      protocol: 'llm-response',
      ids: ['resp_1'],
    });
    expect(pending).toBeInstanceOf(Promise);
    waited.price();
    const afterWait = await pending;
    // No wait: the same call's outcome, already queued (its claim rode nothing in flight).
    const direct = setup('conn-same-direct');
    direct.outcomes.bodyDone('complete', { upstreamStatus: 200, latencyMs: 5 });
    direct.price();
    await ticks();
    const naming = { protocol: 'llm-response' as const, ids: ['resp_1'] };
    const taken = outcomesForAdmit(direct.target.orgId, direct.target.connectionId, naming);
    expect(taken).not.toBeInstanceOf(Promise);
    const strip = (items: PendingOutcome[] | undefined) =>
      items?.map(({ eventId, outcome }) => ({ eventId, ...outcome, findings: undefined }));
    expect(strip(taken as PendingOutcome[] | undefined)).toEqual(strip(afterWait));
    expect((taken as PendingOutcome[])[0]!.outcome.costUsd).toBe(0.01);
    // Taken once: the next admit (naming nothing) finds the queue empty, at once too.
    const next = outcomesForAdmit(direct.target.orgId, direct.target.connectionId, undefined);
    expect(next).not.toBeInstanceOf(Promise);
    expect(next).toBeUndefined();
  });

  it('gives up after CLAIM_WAIT_MS: the call is then decided as it stands', async () => {
    const { target, stage, waits } = setup('conn-give-up');
    stage.onMessage({ id: 'resp_1', object: 'response' });
    // The outcome never comes (the call failed before one): only the bounded wait ends it.
    const admit = outcomesForAdmit(target.orgId, target.connectionId, {
      protocol: 'llm-response',
      ids: ['resp_1'],
    });
    await ticks();
    expect(waits.map((w) => w.ms)).toEqual([CLAIM_WAIT_MS]);
    waits[0]!.release();
    expect(await admit).toBeUndefined();
  });
});
