/**
 * Refresh-token reuse detection through the real runtime (docs/oauth.md#refresh-token-rotation-and-reuse),
 * with `oauth4webapi` (panva) as the public client: discovery (RFC 8414), dynamic registration,
 * authorization code with PKCE and the `resource` indicator, refresh with rotation. When a refresh
 * token that was rotated away is presented again — an old one, or the newest one after a thief
 * retried with its predecessor — the grant is revoked: every token of it stops working, for the
 * thief and the client alike, and the organization's audit trail says so.
 */
import * as oauth from 'oauth4webapi';
import { beforeAll, describe, expect, it } from 'vitest';
import { gatewayUrl } from './helpers';
import { asPerson, consent, type Person, REDIRECT_URL, setUp, signUp } from './oauth.person';

const CLIENT_NAME = 'igris-e2e oauth4webapi client';
const SLUG = `oauth-reuse-${crypto.randomUUID().slice(0, 6)}`;
const insecure = { [oauth.allowInsecureRequests]: true };

let person: Person;
let ids: Record<string, string>;
let as: oauth.AuthorizationServer;
let client: oauth.Client;

function resource(): string {
  return `${gatewayUrl()}/v1/mcp/${SLUG}`;
}

beforeAll(async () => {
  person = await signUp();
  ids = await setUp(person, [SLUG]);
  const issuer = new URL(new URL(gatewayUrl()).origin);
  as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { ...insecure, algorithm: 'oauth2' }),
  );
  client = (await oauth.processDynamicClientRegistrationResponse(
    await oauth.dynamicClientRegistrationRequest(
      as,
      {
        client_name: CLIENT_NAME,
        redirect_uris: [REDIRECT_URL],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      },
      insecure,
    ),
  )) as oauth.Client;
});

/** A fresh grant: authorize with PKCE S256, consent, redeem the code. */
async function grant(): Promise<oauth.TokenEndpointResponse> {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint!);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: REDIRECT_URL,
    scope: 'gateway:call offline_access',
    resource: resource(),
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString();
  const code = await consent(person, url, ids[SLUG]!, CLIENT_NAME);
  const callback = new URL(REDIRECT_URL);
  callback.search = new URLSearchParams({ code, state, iss: as.issuer }).toString();
  const params = oauth.validateAuthResponse(as, client, callback, state);
  const response = await oauth.authorizationCodeGrantRequest(
    as,
    client,
    oauth.None(),
    params,
    REDIRECT_URL,
    verifier,
    { ...insecure, additionalParameters: { resource: resource() } },
  );
  const tokens = await oauth.processAuthorizationCodeResponse(as, client, response);
  expect(tokens.refresh_token).toBeTruthy();
  return tokens;
}

async function refresh(token: string): Promise<oauth.TokenEndpointResponse> {
  const response = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), token, {
    ...insecure,
    additionalParameters: { resource: resource() },
  });
  return oauth.processRefreshTokenResponse(as, client, response);
}

/** The OAuth error a refresh is refused with (oauth4webapi throws ResponseBodyError). */
async function refused(token: string): Promise<oauth.ResponseBodyError> {
  const err = await refresh(token).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(oauth.ResponseBodyError);
  return err as oauth.ResponseBodyError;
}

async function callStatus(accessToken: string): Promise<number> {
  const res = await fetch(resource(), {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${accessToken}`,
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  await res.text();
  return res.status;
}

async function reuseAudit(): Promise<Array<{ details: Record<string, unknown> }>> {
  const res = await asPerson(person, 'GET', '/api/v1/audit-events?action=auth.oauth_refresh_reuse&limit=50');
  expect(res.status).toBe(200);
  return ((await res.json()) as { events: Array<{ details: Record<string, unknown> }> }).events;
}

describe('refresh-token reuse with an oauth4webapi public client', () => {
  it('an older refresh token presented again revokes the grant, current tokens included', async () => {
    const first = await grant();
    const second = await refresh(first.refresh_token!);
    const third = await refresh(second.refresh_token!);
    expect(await callStatus(third.access_token)).toBe(200);

    const replay = await refused(first.refresh_token!);
    expect(replay.error).toBe('invalid_grant');
    expect(replay.status).toBe(400);
    // The grant is gone: the newest refresh token and access token no longer work.
    expect((await refused(third.refresh_token!)).error).toBe('invalid_grant');
    expect(await callStatus(third.access_token)).toBe(401);
    const rows = await reuseAudit();
    expect(rows.some((r) => r.details.reason === 'rotated_token_reused')).toBe(true);
  });

  it('a thief retrying with the previous token is caught when the client next refreshes', async () => {
    const first = await grant();
    const client1 = await refresh(first.refresh_token!);
    // The thief copied the first refresh token and uses it at once: within the retry grace period
    // the library's retry tolerance lets it through, and retires the client's newest token…
    const thief = await refresh(first.refresh_token!);
    expect(await callStatus(thief.access_token)).toBe(200);
    // …so when the client presents that token, the copy is detected and the grant revoked.
    expect((await refused(client1.refresh_token!)).error).toBe('invalid_grant');
    expect((await refused(thief.refresh_token!)).error).toBe('invalid_grant');
    expect(await callStatus(thief.access_token)).toBe(401);
    expect(await callStatus(client1.access_token)).toBe(401);
  });
});
