import { describe, expect, it } from 'vitest';
import {
  downstreamHeaders,
  type UpstreamTarget,
  upstreamHeaders,
  upstreamRequestUrl,
} from './gateway.forward.ts';

const target: UpstreamTarget = {
  url: 'http://upstream.test/mcp',
  authType: 'bearer',
  authHeaderName: null,
  credential: 'upstream-secret',
  timeoutMs: 1000,
};

describe('upstreamHeaders', () => {
  it('forwards the MCP headers, Mcp-Param-* included, and injects the credential', () => {
    const out = upstreamHeaders(
      new Headers({
        Accept: 'application/json, text/event-stream',
        'Content-Type': 'application/json',
        'Mcp-Session-Id': 's1',
        'MCP-Protocol-Version': '2026-07-28',
        'Mcp-Method': 'tools/call',
        'Mcp-Name': 'echo',
        'Mcp-Param-Region': '=?base64?SGVsbG8sIOS4lueVjA==?=',
        'Mcp-Param-Tenant': 'acme',
        'Last-Event-ID': '42',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      }),
      target,
    );
    expect(out).toEqual({
      accept: 'application/json, text/event-stream',
      'content-type': 'application/json',
      'mcp-session-id': 's1',
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/call',
      'mcp-name': 'echo',
      'mcp-param-region': '=?base64?SGVsbG8sIOS4lueVjA==?=',
      'mcp-param-tenant': 'acme',
      'last-event-id': '42',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      authorization: 'Bearer upstream-secret',
    });
  });

  it('never forwards the caller key, cookies, Origin, identity or hop-by-hop headers', () => {
    const out = upstreamHeaders(
      new Headers({
        Authorization: 'Bearer ig_callers_key',
        Cookie: 'igris.session_token=abc',
        Origin: 'https://app.example.com',
        'X-Igris-User': 'alice',
        'X-Igris-Metadata': '{}',
        Connection: 'keep-alive, Mcp-Param-Secret',
        'Keep-Alive': 'timeout=5',
        TE: 'trailers',
        Upgrade: 'websocket',
        'Proxy-Authorization': 'Basic x',
        'Transfer-Encoding': 'chunked',
        'Mcp-Param-Secret': 'hop only',
        'CF-Connecting-IP': '1.2.3.4',
        Host: 'gw.example.com',
      }),
      { ...target, authType: 'none', credential: null },
    );
    expect(Object.keys(out)).toEqual([]);
  });

  it('puts the credential in a custom header, overriding whatever the caller sent there', () => {
    const out = upstreamHeaders(new Headers({ 'X-Api-Key': 'caller' }), {
      ...target,
      authType: 'header',
      authHeaderName: 'X-Api-Key',
    });
    expect(out['x-api-key']).toBe('upstream-secret');
  });
});

describe('downstreamHeaders', () => {
  it('keeps MCP response headers and drops hop-by-hop, framing and cookie headers', () => {
    const out = downstreamHeaders(
      new Headers({
        'Content-Type': 'text/event-stream',
        'Cache-Control': 'no-cache, no-transform',
        'X-Accel-Buffering': 'no',
        'Mcp-Session-Id': 's1',
        'MCP-Protocol-Version': '2025-11-25',
        Allow: 'GET, POST, DELETE',
        Connection: 'keep-alive, X-Hop',
        'X-Hop': 'x',
        'Keep-Alive': 'timeout=5',
        'Transfer-Encoding': 'chunked',
        'Content-Length': '10',
        'Set-Cookie': 'a=b',
        'WWW-Authenticate': 'Bearer realm="upstream"',
      }),
    );
    expect(out).toEqual({
      allow: 'GET, POST, DELETE',
      'cache-control': 'no-cache, no-transform',
      'content-type': 'text/event-stream',
      'mcp-protocol-version': '2025-11-25',
      'mcp-session-id': 's1',
      'x-accel-buffering': 'no',
    });
  });
});

describe('upstreamRequestUrl (authType query)', () => {
  const query: UpstreamTarget = { ...target, authType: 'query', authHeaderName: 'api_key' };

  it('adds the credential as the named query parameter, encoded, keeping the rest of the URL', () => {
    const out = new URL(
      upstreamRequestUrl({ ...query, url: 'https://u.test/mcp?region=eu', credential: 'a b&c=d' }),
    );
    expect(out.pathname).toBe('/mcp');
    expect(out.searchParams.get('region')).toBe('eu');
    expect(out.searchParams.getAll('api_key')).toEqual(['a b&c=d']);
  });

  it('replaces a value already in the URL rather than sending two', () => {
    const out = new URL(upstreamRequestUrl({ ...query, url: 'https://u.test/mcp?api_key=old' }));
    expect(out.searchParams.getAll('api_key')).toEqual(['upstream-secret']);
  });

  it('leaves the URL alone for the other auth types, and sends no header for query auth', () => {
    expect(upstreamRequestUrl(target)).toBe(target.url);
    expect(upstreamRequestUrl({ ...query, credential: null })).toBe(target.url);
    const headers = upstreamHeaders(new Headers({ Accept: 'application/json' }), query);
    expect(Object.values(headers).join(' ')).not.toContain('upstream-secret');
  });
});

describe('downstreamHeaders and CORS', () => {
  it('drops every Access-Control-* header of the upstream: the gateway owns CORS', () => {
    const out = downstreamHeaders(
      new Headers({
        'Content-Type': 'application/json',
        'Access-Control-Allow-Origin': '*',
        'Access-Control-Allow-Credentials': 'true',
        'Access-Control-Allow-Headers': 'Authorization, X-Anything',
        'Access-Control-Allow-Methods': 'GET, POST, PUT',
        'Access-Control-Expose-Headers': 'X-Upstream-Secret',
        'Access-Control-Max-Age': '86400',
        'access-control-allow-private-network': 'true',
      }),
    );
    expect(out).toEqual({ 'content-type': 'application/json' });
  });
});
