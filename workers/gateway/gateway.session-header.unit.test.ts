import { describe, expect, it } from 'vitest';
import { AppError } from '../lib/errors';
import { invalidMcpSessionId, MAX_MCP_SESSION_ID_CHARS, readMcpSessionId } from './gateway.session-header';

const read = (value?: string) =>
  readMcpSessionId(new Headers(value === undefined ? {} : { 'Mcp-Session-Id': value }));

describe('readMcpSessionId', () => {
  it('keeps a well-formed id: visible ASCII, up to the cap', () => {
    expect(read('3f1c2a9e-5b7d-4e2f-9a1b-0c8d7e6f5a4b')).toEqual({
      id: '3f1c2a9e-5b7d-4e2f-9a1b-0c8d7e6f5a4b',
      valid: true,
    });
    const longest = `!${'~'.repeat(MAX_MCP_SESSION_ID_CHARS - 1)}`;
    expect(read(longest)).toEqual({ id: longest, valid: true });
  });

  it('treats an absent or empty header as no session', () => {
    expect(read()).toEqual({ id: null, valid: true });
    expect(read('')).toEqual({ id: null, valid: true });
  });

  it.each([
    ['one character over the cap', 'a'.repeat(MAX_MCP_SESSION_ID_CHARS + 1)],
    ['60,000 characters', 'a'.repeat(60_000)],
    ['an inner space', 'abc def'],
    ['a tab', 'abc\tdef'],
    ['a non-ASCII character', 'sessión'],
    ['two headers joined', 'abc, def'],
  ])('refuses %s, keeping nothing of it', (_label, value) => {
    expect(read(value)).toEqual({ id: null, valid: false });
  });
});

describe('invalidMcpSessionId', () => {
  it('is a 400 bad_request naming the header, not its value', () => {
    const err = invalidMcpSessionId();
    expect(err).toBeInstanceOf(AppError);
    expect(err.status).toBe(400);
    expect(err.code).toBe('bad_request');
    expect(err.details).toEqual({ location: 'header', path: 'Mcp-Session-Id' });
    expect(err.message).toBe(
      'Invalid Mcp-Session-Id header: at most 256 visible ASCII characters (0x21-0x7E)',
    );
  });
});
