/**
 * Issue 18, gateway mode, through the real runtime: the official MCP SDK client, given only the
 * connection's URL and an OAuthClientProvider, discovers the authorization server from the 401,
 * registers itself (DCR), sends the person to the consent page (driven here with fetch and the
 * dashboard session a real sign-up left), exchanges the code with PKCE, lists and calls tools,
 * refreshes its token transparently, and is refused after revocation. A token for one connection
 * is refused on another, and an `ig_` key keeps working beside it.
 */
import { auth, type OAuthClientProvider, UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { connectClient, ensureConnection, gatewayUrl, setPolicy } from './helpers';
import { consent, type Person, REDIRECT_URL, setUp, signUp } from './oauth.person';

/** What an MCP host keeps per server: its registration, tokens and PKCE verifier, in memory. */
class MemoryOAuthProvider implements OAuthClientProvider {
  client: OAuthClientInformationMixed | undefined;
  saved: OAuthTokens | undefined;
  verifier = '';
  authorizationUrl: URL | null = null;
  readonly requested: string[] = [];

  get redirectUrl(): string {
    return REDIRECT_URL;
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'igris-e2e OAuth client',
      redirect_uris: [REDIRECT_URL],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.client = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
}

function transportFor(slug: string, provider: OAuthClientProvider, seen?: string[]) {
  return new StreamableHTTPClientTransport(new URL(`${gatewayUrl()}/v1/mcp/${slug}`), {
    authProvider: provider,
    fetch: (input, init) => {
      seen?.push(new URL(input instanceof Request ? input.url : String(input)).pathname);
      return fetch(input, init);
    },
  });
}

const SLUG_A = `oauth-a-${crypto.randomUUID().slice(0, 6)}`;
const SLUG_B = `oauth-b-${crypto.randomUUID().slice(0, 6)}`;
const KEY_SLUG = 'e2e-oauth-keyed';
let person: Person;
let ids: Record<string, string>;
const provider = new MemoryOAuthProvider();

beforeAll(async () => {
  person = await signUp();
  ids = await setUp(person, [SLUG_A, SLUG_B]);
});

describe('the official MCP SDK client with an OAuth provider', () => {
  it('discovers, registers, gets consent, and calls a tool with only the URL', async () => {
    const seen: string[] = [];
    const first = transportFor(SLUG_A, provider, seen);
    const client = new Client({ name: 'igris-e2e-oauth', version: '1.0.0' });
    const refused = await client.connect(first).then(
      () => null,
      (err: unknown) => err as Error,
    );
    // The SDK stops at the authorization step and hands the URL to the host (redirectToAuthorization).
    expect(refused).toBeInstanceOf(UnauthorizedError);
    // Discovery from the 401 alone: resource metadata, server metadata, registration.
    expect(seen).toEqual(
      expect.arrayContaining([
        `/v1/mcp/${SLUG_A}`,
        `/.well-known/oauth-protected-resource/v1/mcp/${SLUG_A}`,
        '/.well-known/oauth-authorization-server',
        '/register',
      ]),
    );
    expect(provider.client?.client_id).toBeTruthy();
    const url = provider.authorizationUrl!;
    expect(url.pathname).toBe('/api/oauth/authorize');
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('resource')).toBe(`${gatewayUrl()}/v1/mcp/${SLUG_A}`);

    const code = await consent(person, url, ids[SLUG_A]!);
    await first.finishAuth(code);
    expect(provider.saved?.access_token).toBeTruthy();
    expect(provider.saved?.refresh_token).toBeTruthy();

    const connected = new Client({ name: 'igris-e2e-oauth', version: '1.0.0' });
    const transport = transportFor(SLUG_A, provider);
    await connected.connect(transport);
    const { tools } = await connected.listTools();
    expect(tools.map((t) => t.name)).toContain('echo');
    const result = await connected.callTool({ name: 'echo', arguments: { message: 'hello via oauth' } });
    expect(result.content).toEqual([{ type: 'text', text: 'hello via oauth' }]);
    await transport.close();
  });

  it('refreshes its token transparently when the access token stops working', async () => {
    const before = provider.saved!;
    // As if the access token had expired: the gateway answers 401, the SDK refreshes and retries.
    provider.saved = {
      ...before,
      access_token: `${before.access_token.split(':').slice(0, 2).join(':')}:expired`,
    };
    const client = new Client({ name: 'igris-e2e-oauth', version: '1.0.0' });
    const transport = transportFor(SLUG_A, provider);
    await client.connect(transport);
    expect(provider.saved?.access_token).not.toBe(before.access_token);
    expect(provider.saved?.refresh_token).not.toBe(before.refresh_token);
    const result = await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } });
    expect(result.content).toEqual([{ type: 'text', text: '5' }]);
    await transport.close();
  });

  it('refuses the token on another connection (audience)', async () => {
    const res = await fetch(`${gatewayUrl()}/v1/mcp/${SLUG_B}`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${provider.saved!.access_token}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toContain(`oauth-protected-resource/v1/mcp/${SLUG_B}`);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
      /another connection/,
    );
  });

  it('keeps ig_ keys working beside OAuth', async () => {
    await ensureConnection(KEY_SLUG, `${inject('upstreamUrl')}/stateless`, null);
    await setPolicy(KEY_SLUG, [{ tool: '*', action: 'allow' }]);
    const { client, transport } = await connectClient(KEY_SLUG);
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('echo');
    await transport.close();
    const keyed = await fetch(`${gatewayUrl()}/v1/mcp/${SLUG_A}`, {
      method: 'POST',
      headers: {
        Authorization: 'Bearer ig_this_key_does_not_exist_0000000000',
        'Content-Type': 'application/json',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    // An ig_ key is judged as a key: the message names the key problem, not OAuth.
    expect(keyed.status).toBe(401);
    expect(((await keyed.json()) as { error: { message: string } }).error.message).toMatch(
      /^Unknown API key/,
    );
  });

  it('is refused after revocation, and cannot refresh its way back', async () => {
    const tokens = provider.saved!;
    const revoke = await fetch(`${gatewayUrl()}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token: tokens.refresh_token!,
        client_id: provider.client!.client_id,
      }).toString(),
    });
    expect(revoke.status).toBe(200);
    await revoke.text();
    const refresh = await auth(provider, { serverUrl: `${gatewayUrl()}/v1/mcp/${SLUG_A}` }).catch(
      (e: Error) => e,
    );
    // Revoking the refresh token revoked the grant: the refresh is refused as invalid_grant.
    expect(refresh).toBeInstanceOf(Error);
    expect((refresh as Error).name).toBe('InvalidGrantError');
    const direct = await fetch(`${gatewayUrl()}/v1/mcp/${SLUG_A}`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${tokens.access_token}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(direct.status).toBe(401);
    await direct.text();
  });
});
