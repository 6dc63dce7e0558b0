import { describe, expect, it } from 'vitest';
import { AppError } from '../lib/errors.ts';
import type { BodyEnd } from './gateway.body-end.ts';
import { rewriteResponse, rewriteWholeSse } from './gateway.rewrite.ts';
import type { Finding, ResponseStage } from './gateway.stages.ts';

const encoder = new TextEncoder();

/** An SSE answer whose body sends one event, then fails (as the upstream body does once aborted). */
function breakingAnswer(): Response {
  let sent = false;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent) controller.error(new DOMException('The client has disconnected', 'AbortError'));
      else controller.enqueue(encoder.encode('data: {"choices":[]}\n\n'));
      sent = true;
    },
  });
  return new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
}

const watching: ResponseStage = { name: 'watch', onMessage: () => undefined };

async function endOf(callerSignal?: AbortSignal): Promise<BodyEnd | null> {
  let how: BodyEnd | null = null;
  const response = await rewriteResponse(breakingAnswer(), {
    stages: [watching],
    onBodyDone: (end) => {
      how = end;
    },
    ...(callerSignal ? { callerSignal } : {}),
  });
  await response.text().catch(() => {});
  return how;
}

describe('how a watched stream ended', () => {
  it('a failed read after the caller hung up is the caller cancelling, not the upstream breaking', async () => {
    const gone = new AbortController();
    gone.abort();
    expect(await endOf(gone.signal)).toBe('cancelled');
  });

  it('a failed read while the caller is still there is the upstream breaking', async () => {
    expect(await endOf(new AbortController().signal)).toBe('error');
    expect(await endOf()).toBe('error');
  });
});

describe('the pre-check on a JSON body', () => {
  const jsonAnswer = (text: string) =>
    new Response(text, { status: 200, headers: { 'Content-Type': 'application/json' } });
  const counting = () => {
    const seen: unknown[] = [];
    const stage: ResponseStage = {
      name: 'count',
      wants: (raw) => raw.includes('"method"'),
      onMessage: (message) => {
        seen.push(message);
        return { replaced: true };
      },
    };
    return { seen, stage };
  };

  it('passes a body no stage wants byte for byte, without parsing it for them', async () => {
    const { seen, stage } = counting();
    const text = '{"jsonrpc":"2.0", "id":1,"result":{}}';
    const out = await rewriteResponse(jsonAnswer(text), { stages: [stage] });
    expect(await out.text()).toBe(text);
    expect(seen).toEqual([]);
  });

  it('parses and hands over a body a stage wants', async () => {
    const { seen, stage } = counting();
    const out = await rewriteResponse(jsonAnswer('{"jsonrpc":"2.0","id":1,"method":"ping"}'), {
      stages: [stage],
    });
    expect(await out.json()).toEqual({ replaced: true });
    expect(seen).toEqual([{ jsonrpc: '2.0', id: 1, method: 'ping' }]);
  });
});

describe('a stage that refuses the rest of a stream', () => {
  it('ends the stream at that event with the last words; later events never reach the caller', async () => {
    const events = ['{"n":1}', '{"n":2,"stop":true}', '{"n":3}'].map((d) => `data: ${d}\n\n`).join('');
    const answer = new Response(encoder.encode(events), {
      status: 200,
      headers: { 'Content-Type': 'text/event-stream' },
    });
    const refusing: ResponseStage = {
      name: 'refuse',
      onMessage: (m) => {
        if ((m as { stop?: boolean }).stop)
          throw new AppError('upstream_too_large', { details: { maxStreams: 1 } });
        return undefined;
      },
    };
    const ends: Array<[BodyEnd, string | undefined]> = [];
    const response = await rewriteResponse(answer, {
      stages: [refusing],
      onBodyDone: (how, err) => ends.push([how, err?.code]),
      lastWords: (err) => `event: error\ndata: ${JSON.stringify({ code: err.code })}\n\n`,
    });
    expect(await response.text()).toBe(
      'data: {"n":1}\n\nevent: error\ndata: {"code":"upstream_too_large"}\n\n',
    );
    expect(ends).toEqual([['error', 'upstream_too_large']]);
  });
});

describe('a stage that refuses the rest of a short stream read whole', () => {
  it('ends it at that event with the last words, and reports the error', async () => {
    const events = ['{"n":1}', '{"n":2,"stop":true}', '{"n":3}'].map((d) => `data: ${d}\n\n`).join('');
    const refusing: ResponseStage = {
      name: 'refuse',
      onMessage: (m) => {
        if ((m as { stop?: boolean }).stop) throw new AppError('upstream_too_large', {});
        return undefined;
      },
    };
    const ends: Array<[BodyEnd, string | undefined]> = [];
    const head = new Response(null, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
    const response = rewriteWholeSse(head, encoder.encode(events), {
      stages: [refusing],
      onBodyDone: (how, err) => ends.push([how, err?.code]),
      lastWords: (err) => `data: ${JSON.stringify({ error: err.code })}\n\n`,
    });
    expect(await response.text()).toBe('data: {"n":1}\n\ndata: {"error":"upstream_too_large"}\n\n');
    expect(ends).toEqual([['error', 'upstream_too_large']]);
  });
});

describe('the end of an answer', () => {
  it('lets each stage finish before the body is done, and reports the findings it makes then', async () => {
    const order: string[] = [];
    const findings: Finding[] = [];
    const gathering: ResponseStage = {
      name: 'gather',
      onMessage: () => undefined,
      finish: () => {
        order.push('finish');
        findings.push({ stage: 'gather', kind: 'late', severity: 'low' });
      },
    };
    const response = await rewriteResponse(
      new Response(encoder.encode('data: {"n":1}\n\n'), {
        status: 200,
        headers: { 'Content-Type': 'text/event-stream' },
      }),
      {
        stages: [gathering],
        findings,
        onLateFindings: () => order.push(`late:${findings.length}`),
        onBodyDone: (how) => order.push(how),
      },
    );
    await response.text();
    expect(order).toEqual(['finish', 'late:1', 'complete']);
  });
});
