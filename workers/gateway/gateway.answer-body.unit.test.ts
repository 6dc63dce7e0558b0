/**
 * A stage that reads other bodies (`onBody`, gateway.answer-body.ts) in plain Node, through the one
 * rewriter: a JSONL or text body is read whole and replaced or refused, JSON that does not parse
 * too; an SSE event whose data is not JSON goes through it on a passing, a short and a held stream;
 * over the cap the answer is refused (`upstream_too_large`); and without such a stage the body is
 * not read at all (the same Response).
 */
import { describe, expect, it } from 'vitest';
import { AppError } from '../lib/errors';
import { answerWithStages } from './gateway.answer.ts';
import type { BodyEnd } from './gateway.body-end.ts';
import { MAX_ANSWER_MESSAGE_BYTES, rewriteResponse, rewriteWholeSse } from './gateway.rewrite.ts';
import type { ResponseStage, StreamHold } from './gateway.stages.ts';

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

/** Upper-cases every body it reads; refuses one holding "secret". */
function reader(): { stage: ResponseStage; read: string[] } {
  const read: string[] = [];
  const stage: ResponseStage = {
    name: 'reader',
    onMessage: () => undefined,
    onBody(bytes) {
      const text = decode(bytes);
      read.push(text);
      if (text.includes('secret')) throw new AppError('content_blocked', { message: 'blocked' });
      return new TextEncoder().encode(text.toUpperCase());
    },
  };
  return { stage, read };
}

function answer(body: BodyInit, type: string): Response {
  return new Response(body, { status: 200, headers: { 'Content-Type': type } });
}

describe('bodies that are not JSON or SSE', () => {
  it('are read whole and replaced by what the stage returns', async () => {
    const { stage, read } = reader();
    const ends: BodyEnd[] = [];
    const res = await rewriteResponse(answer('{"a":1}\n{"b":2}\n', 'application/binary'), {
      stages: [stage],
      onBodyDone: (how) => ends.push(how),
    });
    expect(await res.text()).toBe('{"A":1}\n{"B":2}\n');
    expect(read).toEqual(['{"a":1}\n{"b":2}\n']);
    expect(ends).toEqual(['complete']);
  });

  it('JSON that does not parse is read by the stage too', async () => {
    const { stage, read } = reader();
    const res = await rewriteResponse(answer('{"a":1}\n{"b":2}', 'application/json'), { stages: [stage] });
    expect(await res.text()).toBe('{"A":1}\n{"B":2}');
    expect(read).toHaveLength(1);
  });

  it('a refusal is thrown, the end reported as an error, nothing sent', async () => {
    const { stage } = reader();
    const ends: Array<[BodyEnd, string | undefined]> = [];
    const err = await rewriteResponse(answer('the secret', 'text/plain'), {
      stages: [stage],
      onBodyDone: (how, e) => ends.push([how, e?.code]),
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'content_blocked' });
    expect(ends).toEqual([['error', 'content_blocked']]);
  });

  it('over the cap: refused, upstream_too_large', async () => {
    const { stage, read } = reader();
    const big = new Uint8Array(MAX_ANSWER_MESSAGE_BYTES + 1);
    const err = await rewriteResponse(answer(big, 'application/octet-stream'), { stages: [stage] }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'upstream_too_large' });
    expect(read).toEqual([]);
  });

  it('without a stage that reads them: not read, the same Response', async () => {
    const upstream = answer('{"a":1}\n', 'application/binary');
    const res = await rewriteResponse(upstream, {
      stages: [{ name: 'json only', onMessage: () => undefined }],
    });
    expect(res).toBe(upstream);
    expect(res.bodyUsed).toBe(false);
  });
});

describe('SSE data that is not JSON', () => {
  const events = 'data: {"x":1}\n\nevent: note\ndata: plain\ndata: text\n\n';

  it('passing: the event rewritten, each line its own data field; JSON events untouched', async () => {
    const { stage, read } = reader();
    const res = await rewriteResponse(answer(events, 'text/event-stream'), { stages: [stage] });
    expect(await res.text()).toBe('data: {"x":1}\n\nevent: note\ndata: PLAIN\ndata: TEXT\n\n');
    expect(read).toEqual(['plain\ntext']);
  });

  it('read whole (a short stream): the same', () => {
    const { stage } = reader();
    const bytes = new TextEncoder().encode(events);
    const res = rewriteWholeSse(answer(bytes, 'text/event-stream'), bytes, { stages: [stage] });
    return expect(res.text()).resolves.toBe('data: {"x":1}\n\nevent: note\ndata: PLAIN\ndata: TEXT\n\n');
  });

  it('held: the same, and a refusal refuses the stream whole', async () => {
    const hold: StreamHold = { begin() {}, settle: () => ({ refusal: null, changed: new Set() }) };
    const held = (body: string) => {
      const { stage } = reader();
      return answerWithStages({ response: answer(body, 'text/event-stream') }, null, {
        stages: [{ ...stage, hold }],
      });
    };
    const { response } = await held(events);
    expect(await response.text()).toBe('data: {"x":1}\n\nevent: note\ndata: PLAIN\ndata: TEXT\n\n');
    await expect(held('data: {"x":1}\n\ndata: a secret\n\n')).rejects.toMatchObject({
      code: 'content_blocked',
    });
  });
});
