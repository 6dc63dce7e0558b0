import { beforeAll, describe, expect, it, vi } from 'vitest';
import { answerWithStages } from './gateway.answer.ts';
import type { BodyEnd } from './gateway.body-end.ts';
import { streamedAnswerOf } from './gateway.jsonrpc.ts';
import type { ResponseStage } from './gateway.stages.ts';

const encoder = new TextEncoder();
const SSE = { 'Content-Type': 'text/event-stream' };

function sse(chunks: string[], status = 200): Response {
  let next = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (next < chunks.length) controller.enqueue(encoder.encode(chunks[next++]!));
      else controller.close();
    },
  });
  return new Response(body, { status, headers: SSE });
}

/** Marks every result it sees; records what it saw and leaves work for after the answer. */
function marker() {
  const seen: unknown[] = [];
  const deferred: string[] = [];
  const stage: ResponseStage = {
    name: 'mark',
    onMessage(message) {
      seen.push(message);
      deferred.push('work');
      const m = message as { result?: object };
      return m.result ? { ...m, result: { ...m.result, marked: true } } : undefined;
    },
  };
  return { stage, seen, deferred };
}

const ANSWER = 'event: message\ndata: {"jsonrpc":"2.0","id":1,"result":{"ok":true}}\n\n';
const PROGRESS = 'data: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}\n\n';

// workerd's scheduler.wait (native.wait.ts), as a timer here.
beforeAll(() => {
  vi.stubGlobal('scheduler', {
    wait: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
  });
});

describe('answerWithStages', () => {
  it('reads a short answer whole and runs the stages on its bytes, before the body is reported done', async () => {
    const { stage, deferred } = marker();
    let doneWith: number | null = null;
    const out = await answerWithStages({ response: sse([ANSWER]) }, streamedAnswerOf(1), {
      stages: [stage],
      onBodyDone: (how: BodyEnd) => {
        expect(how).toBe('complete');
        doneWith = deferred.length;
      },
    });
    expect(out.whole).toBe(true);
    expect(out.delay).toBeUndefined();
    expect(await out.response.text()).toContain('"marked":true');
    expect(doneWith).toBe(1); // the stage's deferred work existed when the body was reported done
  });

  it('keeps a short answer byte for byte when no stage changes it', async () => {
    const untouched: ResponseStage = { name: 'look', onMessage: () => undefined };
    const out = await answerWithStages({ response: sse([': prime\n\n', ANSWER]) }, streamedAnswerOf(1), {
      stages: [untouched],
    });
    expect(out.whole).toBe(true);
    expect(await out.response.text()).toBe(`: prime\n\n${ANSWER}`);
  });

  it('leaves a non-2xx answer read whole untouched', async () => {
    const { stage, seen } = marker();
    const out = await answerWithStages({ response: sse([ANSWER], 500) }, streamedAnswerOf(1), {
      stages: [stage],
    });
    expect(out.whole).toBe(true);
    expect(out.response.status).toBe(500);
    expect(await out.response.text()).toBe(ANSWER);
    expect(seen).toHaveLength(0);
  });

  it('rewrites a stream that goes on from where the peek stopped, every byte of it, and hands over the delay', async () => {
    const { stage, seen } = marker();
    const out = await answerWithStages({ response: sse([PROGRESS, ANSWER]) }, streamedAnswerOf(1), {
      stages: [stage],
    });
    expect(out.whole).toBe(false);
    expect(out.delay).toBeInstanceOf(Promise);
    const text = await out.response.text();
    expect(text.startsWith(PROGRESS)).toBe(true);
    expect(text).toContain('"marked":true');
    expect(seen).toHaveLength(2);
  });

  it('does not peek without an answer to wait for (a GET stream) or at a JSON body', async () => {
    const { stage } = marker();
    const out = await answerWithStages({ response: sse([ANSWER]) }, null, { stages: [stage] });
    expect(out.whole).toBe(false);
    expect(out.delay).toBeUndefined();
    expect(await out.response.text()).toContain('"marked":true');
    const json = new Response('{"jsonrpc":"2.0","id":1,"result":{}}', {
      headers: { 'Content-Type': 'application/json' },
    });
    const jsonOut = await answerWithStages({ response: json }, streamedAnswerOf(1), { stages: [stage] });
    expect(jsonOut.whole).toBe(false);
    expect(await jsonOut.response.text()).toContain('"marked":true');
  });
});
