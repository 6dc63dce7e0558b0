import { describe, expect, it } from 'vitest';
import { consentCsp, escapeHtml } from './oauth.consent';
import { grantableScopes, oauthClientRefusal, oauthTokenRefusal } from './oauth.policy';
import { looksLikeOAuthToken, parseResource, resourceMetadataUrl, resourceOf } from './oauth.resource';

const ISSUER = 'https://igris.example.com';

describe('resources', () => {
  it('round-trips a connection URL and builds its RFC 9728 metadata URL', () => {
    expect(resourceOf(ISSUER, 'mcp', 'github-prod')).toBe(`${ISSUER}/v1/mcp/github-prod`);
    expect(resourceOf(ISSUER, 'llm', 'openai')).toBe(`${ISSUER}/llm/openai`);
    expect(parseResource(ISSUER, `${ISSUER}/v1/mcp/github-prod`)).toEqual({
      kind: 'mcp',
      slug: 'github-prod',
    });
    expect(parseResource(ISSUER, `${ISSUER}/llm/openai`)).toEqual({ kind: 'llm', slug: 'openai' });
    // A2A agents are resources too (issue 18: OAuth on /v1/a2a/<slug>).
    expect(resourceOf(ISSUER, 'a2a', 'travel')).toBe(`${ISSUER}/v1/a2a/travel`);
    expect(parseResource(ISSUER, `${ISSUER}/v1/a2a/travel`)).toEqual({ kind: 'a2a', slug: 'travel' });
    expect(resourceMetadataUrl(ISSUER, 'mcp', 'a_b')).toBe(
      `${ISSUER}/.well-known/oauth-protected-resource/v1/mcp/a_b`,
    );
  });

  it.each([
    'https://evil.example.com/v1/mcp/x',
    `${ISSUER}.evil.com/v1/mcp/x`,
    `${ISSUER}/v1/mcp/`,
    `${ISSUER}/v1/mcp/x/tools`,
    `${ISSUER}/v1/mcp/x?y=1`,
    `${ISSUER}/v1/a2a/x/.well-known/agent-card.json`,
    `${ISSUER}/api/v1/connections`,
  ])('is not one of our connection resources: %s', (resource) => {
    expect(parseResource(ISSUER, resource)).toBeNull();
  });
});

describe('token shape', () => {
  it('tells library tokens from ig_ keys', () => {
    expect(looksLikeOAuthToken('usr_abc:grant123:secretsecret')).toBe(true);
    expect(looksLikeOAuthToken('ig_abcdefghijklmnopqrstuvwxyz')).toBe(false);
    expect(looksLikeOAuthToken('a::b')).toBe(false);
    expect(looksLikeOAuthToken('a:b:c:d')).toBe(false);
  });
});

describe('consent page helpers', () => {
  it('escapes every HTML-significant character', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&</a>`)).toBe(
      '&#60;a href=&#34;x&#34; onclick=&#39;y&#39;&#62;&#38;&#60;/a&#62;',
    );
  });

  it('allows the form to post here and redirect only to the client origin', () => {
    expect(consentCsp('http://127.0.0.1:3999/cb')).toBe(
      "default-src 'none'; form-action 'self' http://127.0.0.1:3999; frame-ancestors 'none'; base-uri 'none'",
    );
    expect(consentCsp('cursor://anysphere/cb')).toBe(
      "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    expect(consentCsp(null)).toMatch(/^default-src 'none'; form-action 'self';/);
  });
});

describe('per-connection OAuth settings', () => {
  const open = {};
  const off = {
    oauth: {
      enabled: false,
      scopes: ['gateway:call' as const],
      registration: 'open' as const,
      approvedClients: [],
    },
  };
  const approved = {
    oauth: {
      enabled: true,
      scopes: ['gateway:call' as const],
      registration: 'approved' as const,
      approvedClients: ['c1'],
    },
  };

  it('offers every client by default, none when off, approved ones only when so configured', () => {
    expect(oauthClientRefusal(open, 'any')).toBeNull();
    expect(oauthClientRefusal(off, 'any')).toMatch(/turned off/);
    expect(oauthClientRefusal(approved, 'c1')).toBeNull();
    expect(oauthClientRefusal(approved, 'c2')).toMatch(/not approved/);
  });

  it('grants only the scopes the connection allows, and refuses tokens whose scope was withdrawn', () => {
    expect(grantableScopes(open, ['gateway:call', 'offline_access'])).toEqual([
      'gateway:call',
      'offline_access',
    ]);
    expect(grantableScopes(approved, ['gateway:call', 'offline_access'])).toEqual(['gateway:call']);
    expect(oauthTokenRefusal(approved, { clientId: 'c1', scope: ['gateway:call'] })).toBeNull();
    const noCall = { oauth: { ...approved.oauth, scopes: ['offline_access' as const] } };
    expect(oauthTokenRefusal(noCall, { clientId: 'c1', scope: ['gateway:call'] })).toMatch(
      /no longer allowed/,
    );
  });
});
