import { describe, expect, it } from 'vitest';
import { toHealth } from './connection.health.ts';

describe('toHealth', () => {
  it('grades the error rate: idle, ok, degraded, failing', () => {
    expect(toHealth(0, 0, null)).toMatchObject({ status: 'idle', errorRate: 0, lastError: null });
    expect(toHealth(10, 0, null)).toMatchObject({ status: 'ok', errorRate: 0 });
    expect(toHealth(3, 1, null)).toMatchObject({ status: 'degraded', errorRate: 0.333 });
    expect(toHealth(4, 2, null).status).toBe('failing');
  });

  it('describes the last error', () => {
    const at = Date.UTC(2026, 10, 22, 3, 0, 0);
    expect(
      toHealth(1, 1, { created_at: at, upstream_status: 502, error_code: null, outcome: 'upstream_error' })
        .lastError,
    ).toEqual({
      at: '2026-11-22T03:00:00.000Z',
      outcome: 'upstream_error',
      upstreamStatus: 502,
      errorCode: null,
    });
  });
});
