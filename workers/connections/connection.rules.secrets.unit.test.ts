/**
 * The pure rules about secrets in upstream URLs: credential-looking query parameters refused or
 * allowed, their redaction for display, same-origin checks, and the query auth parameter name.
 */
import { describe, expect, it } from 'vitest';
import { DEV, expectAccepted, expectRefused } from './connection.rules.fixtures.ts';
import {
  authQueryParamSchema,
  isCredentialParamName,
  redactUpstreamUrl,
  sameOrigin,
} from './connection.secrets.ts';

describe('checkUpstreamUrl: secrets in the query string', () => {
  it.each([
    ['https://mcp.example.com/?api_key=abc123', 'api_key'],
    ['https://mcp.example.com/?apikey=abc123', 'apikey'],
    ['https://mcp.example.com/?apiKey=abc123', 'apiKey'],
    ['https://mcp.example.com/?API-KEY=abc123', 'API-KEY'],
    ['https://mcp.example.com/?key=abc123', 'key'],
    ['https://mcp.example.com/?token=abc123', 'token'],
    ['https://mcp.example.com/?access_token=abc123', 'access_token'],
    ['https://mcp.example.com/?x_auth_token=abc123', 'x_auth_token'],
    ['https://mcp.example.com/?secret=abc123', 'secret'],
    ['https://mcp.example.com/?client_secret=abc123', 'client_secret'],
    ['https://mcp.example.com/?password=abc123', 'password'],
    ['https://mcp.example.com/?sig=abc123', 'sig'],
    ['https://mcp.example.com/?signature=abc123', 'signature'],
    ['https://mcp.example.com/?auth=abc123', 'auth'],
    ['https://mcp.example.com/?X-Amz-Security-Token=abc123', 'X-Amz-Security-Token'],
    ['https://mcp.example.com/mcp?region=eu&token=abc123', 'token'],
  ])('refuses %s naming %s and pointing to authType "query"', (url, name) => {
    const message = expectRefused(url, 'query-credential');
    expect(message).toContain(`"${name}"`);
    expect(message).toContain('authType "query"');
    expect(message).not.toContain('abc123');
    // Not an address rule: development refuses it too.
    expectRefused(url, 'query-credential', DEV);
  });

  it.each([
    'https://mcp.example.com/?region=eu',
    'https://mcp.example.com/?monkey=1&keyboard=2&tokens_limit=5',
    'https://mcp.example.com/?token=',
    'https://mcp.example.com/?format=json&v=2',
  ])('accepts %s', (url) => {
    expectAccepted(url);
  });

  it('points userinfo to the credential field as well', () => {
    const message = expectRefused('https://u:p4ss@mcp.example.com/', 'credentials');
    expect(message).toContain('"query"');
    expect(message).not.toContain('p4ss');
  });
});

describe('isCredentialParamName', () => {
  it('normalizes case and separators', () => {
    for (const name of ['api_key', 'Api-Key', 'APIKEY', 'access.token', 'github_token', 'db_password']) {
      expect(isCredentialParamName(name), name).toBe(true);
    }
    for (const name of ['q', 'page', 'monkey', 'keys_limit', 'region', '']) {
      expect(isCredentialParamName(name), name).toBe(false);
    }
  });
});

describe('redactUpstreamUrl', () => {
  it('drops userinfo and masks credential-looking parameter values, keeping the rest', () => {
    const out = redactUpstreamUrl('https://u:pw@mcp.example.com/x?api_key=s3cr3t&region=eu&token=t0k');
    expect(out).not.toContain('s3cr3t');
    expect(out).not.toContain('t0k');
    expect(out).not.toContain('pw@');
    expect(out).toBe('https://mcp.example.com/x?api_key=REDACTED&region=eu&token=REDACTED');
  });

  it('does not echo an unparseable URL', () => {
    expect(redactUpstreamUrl('not a url s3cr3t')).toBe('[unparseable URL]');
  });
});

describe('sameOrigin', () => {
  it('compares scheme, host and port as the URL parser normalizes them', () => {
    expect(sameOrigin('https://a.example.com/x', 'https://A.EXAMPLE.com:443/y?z=1')).toBe(true);
    expect(sameOrigin('https://a.example.com/', 'http://a.example.com/')).toBe(false);
    expect(sameOrigin('https://a.example.com/', 'https://b.example.com/')).toBe(false);
    expect(sameOrigin('https://a.example.com/', 'https://a.example.com:8443/')).toBe(false);
    expect(sameOrigin('http://127.0.0.1:1/', 'http://localhost:1/')).toBe(false);
    expect(sameOrigin('not a url', 'not a url')).toBe(false);
  });
});

describe('authQueryParamSchema', () => {
  it.each(['api_key', 'key', 'X-Token', 'a.b~c'])('accepts %j', (name) => {
    expect(authQueryParamSchema.safeParse(name).success).toBe(true);
  });

  it.each(['', 'a b', 'a&b', 'a=b', 'ä', 'x'.repeat(65)])('refuses %j', (name) => {
    expect(authQueryParamSchema.safeParse(name).success).toBe(false);
  });
});
