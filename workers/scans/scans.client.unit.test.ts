import { describe, expect, it } from 'vitest';
import { REDACTED } from '../lib/echo.safe';
import { AppError } from '../lib/errors';
import { resultOf } from './scans.client';

const GITHUB = 'ghp_PTTv6vsndhgF9eRW1veDgS0dYlaFqhLidHDy';

describe('scans.client: a scanned server’s error', () => {
  it('keeps its code and an echo-safe message, nothing else, in the internal error', () => {
    const answer = {
      status: 200,
      headers: new Headers(),
      message: {
        jsonrpc: '2.0',
        id: 1,
        error: { code: -32000, message: `bad token ${GITHUB}`, data: GITHUB },
      },
    };
    const err = (() => {
      try {
        resultOf(answer, 'tools/list');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('upstream_unreachable');
    expect((err as AppError).internal).toEqual({ status: 200, error: { code: -32000, message: REDACTED } });
    expect(JSON.stringify((err as AppError).internal)).not.toContain(GITHUB);
  });
});
