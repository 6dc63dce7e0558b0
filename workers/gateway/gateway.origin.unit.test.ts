import { describe, expect, it } from 'vitest';
import {
  corsHeaders,
  isOriginAllowed,
  normalizeOrigin,
  ownOrigins,
  preflightResponse,
} from './gateway.origin.ts';

describe('normalizeOrigin', () => {
  it('reduces URLs to scheme://host[:port], drops default ports, lowercases the host', () => {
    expect(normalizeOrigin('https://App.Example.com:443/path?q')).toBe('https://app.example.com');
    expect(normalizeOrigin('http://localhost:8787')).toBe('http://localhost:8787');
    expect(normalizeOrigin('null')).toBeNull();
    expect(normalizeOrigin('file:///etc/passwd')).toBeNull();
    expect(normalizeOrigin('not a url')).toBeNull();
  });
});

describe('ownOrigins', () => {
  it('prefers PUBLIC_BASE_URL and falls back to the request URL only when it is empty', () => {
    expect(ownOrigins('http://evil.test:8787/v1/mcp/x', 'https://gw.example.com/')).toEqual([
      'https://gw.example.com',
    ]);
    expect(ownOrigins('http://127.0.0.1:8787/v1/mcp/x', '')).toEqual(['http://127.0.0.1:8787']);
  });
});

describe('isOriginAllowed', () => {
  const allowed = ['https://gw.example.com', 'https://app.example.com/some/path'];
  it('lets requests without Origin through (not a browser)', () => {
    expect(isOriginAllowed(null, allowed)).toBe(true);
  });
  it('accepts listed origins, however they are spelled', () => {
    expect(isOriginAllowed('https://gw.example.com', allowed)).toBe(true);
    expect(isOriginAllowed('https://APP.example.com:443', allowed)).toBe(true);
  });
  it.each([
    'https://evil.example.com',
    'http://gw.example.com',
    'https://gw.example.com:8443',
    'https://gw.example.com.evil.test',
    'null',
    '',
  ])('refuses %j', (origin) => {
    expect(isOriginAllowed(origin, allowed)).toBe(false);
  });
});

describe('CORS', () => {
  it('exposes the MCP session and version headers to an allowed origin', () => {
    const headers = corsHeaders('https://app.example.com');
    expect(headers['Access-Control-Allow-Origin']).toBe('https://app.example.com');
    expect(headers['Access-Control-Expose-Headers']).toContain('Mcp-Session-Id');
    expect(headers['Access-Control-Expose-Headers']).toContain('MCP-Protocol-Version');
    expect(headers.Vary).toBe('Origin');
  });

  it('answers a preflight, reflecting well-formed requested headers such as Mcp-Param-*', () => {
    const res = preflightResponse(
      new Request('http://gw.test/v1/mcp/x', {
        method: 'OPTIONS',
        headers: {
          Origin: 'https://app.example.com',
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'authorization, content-type, mcp-param-region',
        },
      }),
    );
    expect(res.status).toBe(204);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe('https://app.example.com');
    expect(res.headers.get('Access-Control-Allow-Headers')).toBe(
      'authorization, content-type, mcp-param-region',
    );
    expect(res.headers.get('Access-Control-Allow-Methods')).toBe('GET, POST, DELETE');
  });

  it('does not reflect a malformed header list and refuses a null origin', () => {
    const res = preflightResponse(
      new Request('http://gw.test/v1/mcp/x', {
        method: 'OPTIONS',
        headers: { Origin: 'https://a.example', 'Access-Control-Request-Headers': 'x\u0001y' },
      }),
    );
    expect(res.headers.get('Access-Control-Allow-Headers')).toContain('Mcp-Session-Id');
    const nullOrigin = preflightResponse(
      new Request('http://gw.test/v1/mcp/x', { method: 'OPTIONS', headers: { Origin: 'null' } }),
    );
    expect(nullOrigin.status).toBe(403);
    expect(nullOrigin.headers.get('Access-Control-Allow-Origin')).toBeNull();
  });
});
