/**
 * An upstream error answer through forward and the answer step in plain Node
 * (gateway.error-answer.ts, gateway.forward.ts `errorBody`): read once, passed to the stages that
 * read error bodies, refused when not read whole; without such a stage, and for a 2xx, nothing is
 * read here.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../lib/errors';
import { answerWithStages } from './gateway.answer.ts';
import { forward, type UpstreamTarget } from './gateway.forward.ts';
import { ERROR_BODY_CAP_BYTES } from './gateway.redact.ts';
import type { ResponseStage } from './gateway.stages.ts';

const CREDENTIAL = 'sk-upstream-credential-1234';
let server: Server;
let base = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    const [, status, kind] = (req.url ?? '').split('/');
    if (kind === 'stall') {
      // Headers and the start of a body, then nothing: the read is cut by the time bound.
      res.writeHead(Number(status), { 'Content-Type': 'text/plain' });
      res.write('the start of an error and then');
      return;
    }
    const body =
      kind === 'big'
        ? 'x'.repeat(ERROR_BODY_CAP_BYTES + 10)
        : kind === 'binary'
          ? Buffer.from([0x80, 0x81, 0xfe, ...Buffer.from(CREDENTIAL), 0x82])
          : `{"error":"bad key ${CREDENTIAL} and SECRET-VALUE"}`;
    res.writeHead(Number(status), { 'Content-Type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
});

function target(path: string, credential: string | null): UpstreamTarget {
  const timeoutMs = path.endsWith('/stall') ? 200 : 5_000;
  return { url: `${base}${path}`, authType: 'bearer', authHeaderName: null, credential, timeoutMs };
}

/** A stage that reads error bodies: it sees the bytes, and masks `SECRET-VALUE`. */
function reader(seen: string[]): ResponseStage {
  return {
    name: 'reader',
    onMessage: () => undefined,
    done: () => true,
    onErrorBody(bytes) {
      const text = new TextDecoder().decode(bytes);
      seen.push(text);
      return text.includes('SECRET-VALUE')
        ? new TextEncoder().encode(text.replace('SECRET-VALUE', '[X]'))
        : undefined;
    },
  };
}

async function through(path: string, credential: string | null, stages: ResponseStage[]) {
  const ends: string[] = [];
  const forwarded = await forward(
    'POST',
    new Request('http://gw/x', { method: 'POST' }),
    target(path, credential),
    '{}',
  );
  const answer = await answerWithStages(forwarded, null, {
    stages,
    onBodyDone: (how, err) => ends.push(err ? `${how}:${err.code}` : how),
  }).catch((err: unknown) => err);
  return { answer, ends };
}

describe('an upstream error answer', () => {
  it('is read once, the credential redacted first, then the stages: what they return is sent', async () => {
    const seen: string[] = [];
    const { answer, ends } = await through('/500/json', CREDENTIAL, [reader(seen)]);
    expect(seen).toEqual(['{"error":"bad key [REDACTED] and SECRET-VALUE"}']);
    const { response } = answer as { response: Response };
    expect(response.status).toBe(500);
    expect(await response.text()).toBe('{"error":"bad key [REDACTED] and [X]"}');
    expect(ends).toEqual(['complete']);
  });

  it('is read here when no credential read it (the stage sees the upstream bytes)', async () => {
    const seen: string[] = [];
    const { answer } = await through('/400/json', null, [reader(seen)]);
    expect(seen).toEqual([`{"error":"bad key ${CREDENTIAL} and SECRET-VALUE"}`]);
    expect(await (answer as { response: Response }).response.text()).toContain('[X]');
  });

  it('is refused when it was not read whole: over the cap, upstream_too_large', async () => {
    const seen: string[] = [];
    const { answer, ends } = await through('/500/big', null, [reader(seen)]);
    expect(answer).toBeInstanceOf(AppError);
    expect((answer as AppError).code).toBe('upstream_too_large');
    expect((answer as AppError).details).toEqual({ maxBytes: ERROR_BODY_CAP_BYTES });
    expect(seen).toEqual([]);
    expect(ends).toEqual(['error:upstream_too_large']);
  });

  it('is refused when the upstream does not finish it within the connection’s timeout: upstream_timeout', async () => {
    const seen: string[] = [];
    const { answer, ends } = await through('/503/stall', null, [reader(seen)]);
    expect((answer as AppError).code).toBe('upstream_timeout');
    expect(seen).toEqual([]);
    expect(ends).toEqual(['error:upstream_timeout']);
  });

  it('a stage’s refusal is the answer’s (thrown, the body’s end an error)', async () => {
    const refuse: ResponseStage = {
      name: 'refuse',
      onMessage: () => undefined,
      onErrorBody: () => {
        throw new AppError('content_blocked');
      },
    };
    const { answer, ends } = await through('/500/json', null, [refuse]);
    expect((answer as AppError).code).toBe('content_blocked');
    expect(ends).toEqual(['error:content_blocked']);
  });

  it('keeps bytes that are not UTF-8 as sent, the credential redacted byte for byte', async () => {
    const seen: Uint8Array[] = [];
    const keep: ResponseStage = {
      name: 'keep',
      onMessage: () => undefined,
      onErrorBody: (b) => void seen.push(b),
    };
    const { answer } = await through('/500/binary', CREDENTIAL, [keep]);
    const expected = new Uint8Array([0x80, 0x81, 0xfe, ...new TextEncoder().encode('[REDACTED]'), 0x82]);
    expect(seen).toEqual([expected]);
    expect(new Uint8Array(await (answer as { response: Response }).response.arrayBuffer())).toEqual(expected);
  });

  it('without a stage that reads it, passes as it always did: streamed, unread here', async () => {
    const { answer, ends } = await through('/400/json', null, []);
    expect(await (answer as { response: Response }).response.text()).toContain(CREDENTIAL);
    expect(ends).toEqual(['complete']);
  });
});
