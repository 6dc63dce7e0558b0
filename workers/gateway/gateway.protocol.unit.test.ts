import { describe, expect, it } from 'vitest';
import { AppError } from '../lib/errors.ts';
import { type ParsedBody, parseJsonRpc } from './gateway.jsonrpc.ts';
import {
  checkHeaderAgreement,
  claimedVersion,
  decodeHeaderValue,
  isModernVersion,
} from './gateway.protocol.ts';

const META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
};

function body(value: unknown): ParsedBody {
  return parseJsonRpc(new TextEncoder().encode(JSON.stringify(value)));
}

function check(headers: Record<string, string>, value: unknown): AppError | null {
  return checkHeaderAgreement(new Headers(headers), body(value));
}

const call = (name: string, meta?: object) => ({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: { name, arguments: {}, ...(meta ? { _meta: meta } : {}) },
});

const b64 = (text: string) => `=?base64?${Buffer.from(text, 'utf8').toString('base64')}?=`;

describe('parseJsonRpc decodes each body on its own', () => {
  it('parses a body unchanged after one that ended inside a UTF-8 sequence (one decoder per isolate)', () => {
    // `{"a":"` then the first two bytes of "€" (e2 82 ac): invalid as a whole body.
    const cut = new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe2, 0x82]);
    expect(() => parseJsonRpc(cut)).toThrow(AppError);
    const next = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: '€cho' } };
    expect(body(next)).toEqual(parseJsonRpc(new TextEncoder().encode(JSON.stringify(next))));
    expect(body(next).messages[0]).toMatchObject({ params: { name: '€cho' } });
  });
});

describe('decodeHeaderValue', () => {
  it('returns plain values as they are and decodes the base64 sentinel', () => {
    expect(decodeHeaderValue('echo')).toBe('echo');
    expect(decodeHeaderValue(b64('Hello, 世界'))).toBe('Hello, 世界');
    expect(decodeHeaderValue('=?base64?SGVsbG8sIOS4lueVjA==?=')).toBe('Hello, 世界');
  });

  it('refuses non-canonical base64 and invalid UTF-8 inside the sentinel', () => {
    expect(decodeHeaderValue('=?base64?not base64!?=')).toBeNull();
    expect(decodeHeaderValue('=?base64?SGVsbG8?=')).toBeNull(); // missing padding
    expect(decodeHeaderValue(`=?base64?${Buffer.from([0xff, 0xfe]).toString('base64')}?=`)).toBeNull();
  });
});

describe('claimedVersion / isModernVersion', () => {
  it('reads the _meta claim only when it is a string', () => {
    expect(claimedVersion(body(call('x', META)).messages[0]!)).toBe('2026-07-28');
    expect(claimedVersion(body(call('x')).messages[0]!)).toBeNull();
    expect(
      claimedVersion(body(call('x', { 'io.modelcontextprotocol/protocolVersion': 7 })).messages[0]!),
    ).toBeNull();
    expect(isModernVersion('2026-07-28')).toBe(true);
    expect(isModernVersion('2027-01-01')).toBe(true);
    expect(isModernVersion('2025-11-25')).toBe(false);
    expect(isModernVersion(null)).toBe(false);
  });
});

describe('checkHeaderAgreement', () => {
  const modern = { 'MCP-Protocol-Version': '2026-07-28', 'Mcp-Method': 'tools/call', 'Mcp-Name': 'echo' };

  it('accepts a modern request whose headers mirror the body (OWS around values ignored)', () => {
    expect(check(modern, call('echo', META))).toBeNull();
    expect(check({ ...modern, 'Mcp-Name': ' echo\t' }, call('echo', META))).toBeNull();
    expect(check({ ...modern, 'Mcp-Name': b64('écho') }, call('écho', META))).toBeNull();
  });

  it('accepts legacy requests without mirrored headers', () => {
    expect(check({}, call('echo'))).toBeNull();
    expect(check({ 'MCP-Protocol-Version': '2025-06-18' }, call('echo'))).toBeNull();
    expect(check({}, { jsonrpc: '2.0', id: 1, method: 'tools/list' })).toBeNull();
    expect(check({}, [call('a'), call('b')])).toBeNull();
  });

  it.each([
    ['Mcp-Name names another tool', { ...modern, 'Mcp-Name': 'safe' }, call('delete_all', META), 'Mcp-Name'],
    [
      'Mcp-Method names another method',
      { ...modern, 'Mcp-Method': 'tools/list' },
      call('echo', META),
      'Mcp-Method',
    ],
    [
      'MCP-Protocol-Version differs from the claim',
      { ...modern, 'MCP-Protocol-Version': '2026-08-01' },
      call('echo', META),
      'MCP-Protocol-Version',
    ],
    [
      'modern request without MCP-Protocol-Version',
      { 'Mcp-Method': 'tools/call', 'Mcp-Name': 'echo' },
      call('echo', META),
      'MCP-Protocol-Version',
    ],
    [
      'modern request without Mcp-Method',
      { 'MCP-Protocol-Version': '2026-07-28', 'Mcp-Name': 'echo' },
      call('echo', META),
      'Mcp-Method',
    ],
    [
      'modern request without Mcp-Name',
      { 'MCP-Protocol-Version': '2026-07-28', 'Mcp-Method': 'tools/call' },
      call('echo', META),
      'Mcp-Name',
    ],
    ['legacy request whose Mcp-Name disagrees', { 'Mcp-Name': 'safe' }, call('delete_all'), 'Mcp-Name'],
    ['legacy request whose Mcp-Method disagrees', { 'Mcp-Method': 'ping' }, call('echo'), 'Mcp-Method'],
    [
      'invalid base64 sentinel in Mcp-Name',
      { ...modern, 'Mcp-Name': '=?base64?***?=' },
      call('echo', META),
      'Mcp-Name',
    ],
    [
      'base64 Mcp-Name decoding to another name',
      { ...modern, 'Mcp-Name': b64('safe') },
      call('echo', META),
      'Mcp-Name',
    ],
    [
      'Mcp-Method on a response',
      { 'Mcp-Method': 'tools/call' },
      { jsonrpc: '2.0', id: 1, result: {} },
      'Mcp-Method',
    ],
    ['Mcp-Method on a batch', { 'Mcp-Method': 'tools/call' }, [call('a'), call('a')], 'Mcp-Method'],
    ['Mcp-Name on a batch', { 'Mcp-Name': 'a' }, [call('a'), call('a')], 'Mcp-Name'],
  ])('refuses with header_mismatch: %s', (_label, headers, value, path) => {
    const err = check(headers, value);
    expect(err).toBeInstanceOf(AppError);
    expect(err!.code).toBe('header_mismatch');
    expect(err!.status).toBe(400);
    expect(err!.message).toMatch(/^Header mismatch: /);
    expect((err!.details as { path: string }).path).toBe(path);
  });

  it('checks Mcp-Name against params.uri for resources/read and params.name for prompts/get', () => {
    const read = { jsonrpc: '2.0', id: 1, method: 'resources/read', params: { uri: 'file:///a' } };
    expect(check({ 'Mcp-Name': 'file:///a' }, read)).toBeNull();
    expect(check({ 'Mcp-Name': 'file:///b' }, read)?.code).toBe('header_mismatch');
    const prompt = { jsonrpc: '2.0', id: 1, method: 'prompts/get', params: { name: 'greet' } };
    expect(check({ 'Mcp-Name': 'greet' }, prompt)).toBeNull();
    expect(check({ 'Mcp-Name': 'other' }, prompt)?.code).toBe('header_mismatch');
  });

  it('passes Mcp-Name unchecked for methods without a name source, and notifications without Mcp-Method', () => {
    expect(check({ 'Mcp-Name': 'anything' }, { jsonrpc: '2.0', id: 1, method: 'tools/list' })).toBeNull();
    const note = {
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: 1, _meta: META },
    };
    expect(check({ 'MCP-Protocol-Version': '2026-07-28' }, note)).toBeNull();
    expect(check({ 'MCP-Protocol-Version': '2026-07-28', 'Mcp-Method': 'ping' }, note)?.code).toBe(
      'header_mismatch',
    );
  });

  it('leaves a governed call without a name to the invalid-params refusal, as the SDK does', () => {
    const nameless = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { _meta: META } };
    expect(check(modern, nameless)).toBeNull();
  });

  it('truncates long caller values in the error details', () => {
    const long = 'x'.repeat(5000);
    const err = check({ 'Mcp-Name': long }, call('echo'));
    expect(JSON.stringify(err!.details).length).toBeLessThan(600);
  });
});

describe('Mcp-Name on every method that names something', () => {
  it('holds a notification of a governed method to its body (it is executed like a request)', () => {
    const note = { jsonrpc: '2.0', method: 'tools/call', params: { name: 'delete_all', arguments: {} } };
    expect(check({ 'Mcp-Name': 'delete_all' }, note)).toBeNull();
    const err = check({ 'Mcp-Name': 'echo' }, note);
    expect(err?.code).toBe('header_mismatch');
    expect((err!.details as { path: string }).path).toBe('Mcp-Name');
  });

  it.each([
    ['resources/subscribe', { uri: 'file:///a' }, 'file:///a', 'file:///b'],
    ['resources/unsubscribe', { uri: 'file:///a' }, 'file:///a', 'file:///b'],
    ['tasks/result', { taskId: 't1' }, 't1', 't2'],
    ['completion/complete', { ref: { type: 'ref/prompt', name: 'greet' } }, 'greet', 'other'],
    ['completion/complete', { ref: { type: 'ref/resource', uri: 'db://{t}' } }, 'db://{t}', 'db://x'],
  ])('%s: a present Mcp-Name must agree with the body', (method, params, same, other) => {
    const message = { jsonrpc: '2.0', id: 1, method, params };
    expect(check({ 'Mcp-Name': same }, message)).toBeNull();
    expect(check({ 'Mcp-Name': other }, message)?.code).toBe('header_mismatch');
  });

  it('does not require Mcp-Name outside the spec table, even on a modern request', () => {
    const message = {
      jsonrpc: '2.0',
      id: 1,
      method: 'resources/subscribe',
      params: { uri: 'file:///a', _meta: META },
    };
    expect(
      check({ 'MCP-Protocol-Version': '2026-07-28', 'Mcp-Method': 'resources/subscribe' }, message),
    ).toBeNull();
  });
});
