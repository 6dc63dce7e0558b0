/** A Message Batch's results_url pointed at the gateway (llm.batch-results.ts). */
import { describe, expect, it } from 'vitest';
import { batchResultsStage, gatewayBase } from './llm.batch-results';

const BASE = 'https://gw.example/llm/claude/v1';

describe('a Message Batch names its results at the gateway', () => {
  it("the gateway's base is the request URL without the provider path it ends with", () => {
    expect(
      gatewayBase(
        new URL('https://gw.example/llm/claude/v1/messages/batches/mb_1'),
        '/messages/batches/mb_1',
      ),
    ).toBe(BASE);
    expect(gatewayBase(new URL('https://gw.example/llm/claude/v1/other'), '/messages/batches')).toBeNull();
    expect(batchResultsStage(null)).toBeNull();
  });

  it('rewrites every message_batch of an answer (one, or a list), nothing else', () => {
    const stage = batchResultsStage(BASE)!;
    const one = {
      type: 'message_batch',
      id: 'msgbatch_1',
      results_url: 'https://api.anthropic.com/v1/messages/batches/msgbatch_1/results',
    };
    expect(stage.onMessage(one)).toMatchObject({
      results_url: `${BASE}/messages/batches/msgbatch_1/results`,
    });
    const list = {
      data: [
        { ...one, id: 'msgbatch_2' },
        { type: 'message_batch', id: 'msgbatch_3', results_url: null },
      ],
    };
    const out = stage.onMessage(list) as typeof list;
    expect(out.data.map((b) => b.results_url)).toEqual([`${BASE}/messages/batches/msgbatch_2/results`, null]);
    expect(stage.onMessage({ type: 'file', id: 'f', results_url: 'x' })).toBeUndefined();
    expect(stage.onMessage({ type: 'message_batch', id: 7, results_url: 'x' })).toBeUndefined();
    expect(stage.wants?.('{"id":"x"}')).toBe(false);
  });
});
