import { afterEach, describe, expect, it, vi } from 'vitest';
import { levelForError, log } from './log';

afterEach(() => vi.restoreAllMocks());

describe('levelForError', () => {
  it('logs a kill switch / suspended session refusal (503 by protocol) at info, not as an error', () => {
    expect(levelForError('session_suspended', 503)).toBe('info');
  });

  it("logs the upstream's failures as warnings and our own 5xx as errors; 4xx not at all", () => {
    expect(levelForError('upstream_unreachable', 502)).toBe('warn');
    expect(levelForError('upstream_timeout', 504)).toBe('warn');
    expect(levelForError('guard_unavailable', 503)).toBe('error');
    expect(levelForError('internal', 500)).toBe('error');
    expect(levelForError('policy_denied', 200)).toBeNull();
    expect(levelForError('rate_limited', 429)).toBeNull();
  });
});

describe('log', () => {
  // wrangler dev prints console.warn/console.error as coloured `▲ [WARNING]` / `✘ [ERROR]` blocks.
  it('writes only errors to console.error; every other level is a plain console.log line', () => {
    const out = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    log('info', 'refused', { code: 'session_suspended' });
    log('warn', 'slow upstream');
    log('debug', 'detail');
    expect(out).toHaveBeenCalledTimes(3);
    expect(JSON.parse(String(out.mock.calls[0]![0]))).toMatchObject({
      level: 'info',
      code: 'session_suspended',
    });
    expect(JSON.parse(String(out.mock.calls[1]![0]))).toMatchObject({ level: 'warn' });
    expect(warn).not.toHaveBeenCalled();
    expect(err).not.toHaveBeenCalled();
    log('error', 'broken');
    expect(err).toHaveBeenCalledTimes(1);
  });
});

describe('log: no credential in a line', () => {
  it('masks what a built-in credential detector knows in any field, and the line stays JSON', () => {
    const out = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const aws = 'AKIATOKLVWZ0PT0JWG0Y';
    const openai = 'sk-proj-5p5fIqMhdzXImFgdf7VuwcQXM6wdaDPcif6kdympel4sMkefVhM1EQIuVOLGMyEy6lhZ';
    log('warn', 'gateway error', {
      path: `/api/v1/connections/${aws}`,
      internal: new Error(`bad field "${openai}"`),
      nested: { method: `x/"${openai}` },
    });
    const line = String(out.mock.calls[0]![0]);
    expect(line).not.toContain(aws);
    expect(line).not.toContain(openai);
    expect(line).not.toContain('5p5fIqMhdzXImFgdf7Vu');
    const entry = JSON.parse(line) as { path: string; internal: { message: string } };
    expect(entry.path).toBe('/api/v1/connections/[redacted]');
    expect(entry.internal.message).toBe('bad field "[redacted]"');
  });
});
