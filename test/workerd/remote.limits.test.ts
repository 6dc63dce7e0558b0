/**
 * The caps on what the gateway reads from remote parties for itself (lib/http.bounded.ts
 * REMOTE_BODY_LIMITS, docs/security-model.md#remote-answer-limits), against a real local HTTP
 * server (test/shared/oversize.fake.ts) that pads one answer, sent with a Content-Length
 * (`declared`) or chunked without one (`streamed`): an answer over its cap is refused with a
 * typed error and changes nothing; the same answer padded to within its cap is accepted, so the
 * caps fit real documents with room to spare.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { completeAuthorization, OAuthFailure } from '../../workers/auth/oauth.flow';
import type { ProviderConfig } from '../../workers/auth/oauth.providers';
import { sendToLangfuse } from '../../workers/langfuse/langfuse.deliver';
import { REMOTE_BODY_LIMITS } from '../../workers/lib/http.bounded';
import { randomId } from '../../workers/lib/ids';
import type { OversizeLogEntry } from '../shared/oversize.fake';
import { call, createOrg, json, mcp, putPolicy, rpcResult, type TestOrg } from './helpers';
import { langfuseGeneration, orgSendingTo } from './langfuse.fixtures';
import { fetchWorker, sessionCookie } from './oauth.helpers';

const KIB = 1024;
const FRAMINGS = ['declared', 'streamed'] as const;
type Framing = (typeof FRAMINGS)[number];

/** The fake's URL prefix for one run: `padded` answers are at least `bytes` long. */
function remote(padded: string, bytes: number, framing: Framing): { run: string; prefix: string } {
  const run = randomId('r').slice(-10).toLowerCase();
  return { run, prefix: `${env.OVERSIZE_URL}/r/${run}/${padded}/${bytes}/${framing}` };
}

async function fakeLog(run: string): Promise<OversizeLogEntry[]> {
  return (await fetch(`${env.OVERSIZE_URL}/_log?run=${run}`)).json();
}

let owner: TestOrg;
let cookie: string;

beforeAll(async () => {
  owner = await createOrg('owner');
  cookie = await sessionCookie(owner.userId, owner.orgId);
});

/** An upstream-mode connection whose authorization server is the fake, under `prefix`. */
async function upstreamConnection(
  prefix: string,
  configured: boolean,
): Promise<{ id: string; slug: string }> {
  const slug = `rl-${randomId('u').slice(-8).toLowerCase()}`;
  const res = await call('POST', '/api/v1/connections', {
    key: owner.key,
    body: {
      slug,
      name: slug,
      upstreamUrl: `${env.UPSTREAM_OAUTH_URL}/mcp`,
      authType: 'bearer',
      credential: 'upstream-client-secret',
      settings: {
        upstreamOAuth: {
          issuer: prefix,
          clientId: 'igris-upstream-client',
          scopes: ['mcp:tools'],
          // Configured endpoints: no discovery, so the token answer is the first thing read.
          ...(configured
            ? { authorizationEndpoint: `${prefix}/authorize`, tokenEndpoint: `${prefix}/token` }
            : {}),
        },
      },
    },
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return { id: (await json<{ id: string }>(res)).id, slug };
}

/** Starts linking (the gateway's redirect to the provider) and comes back with a code. */
async function linkOnce(connectionId: string): Promise<Response> {
  const start = await fetchWorker(`/api/oauth/upstream/connect/${connectionId}`, {
    headers: { Cookie: cookie },
  });
  expect(start.status, await start.clone().text()).toBe(302);
  const state = new URL(start.headers.get('Location')!).searchParams.get('state')!;
  const back = `/api/oauth/upstream/callback?code=c-${randomId('c')}&state=${encodeURIComponent(state)}`;
  return fetchWorker(back, { headers: { Cookie: cookie } });
}

function tokenRow(connectionId: string) {
  return env.DB.prepare(
    'SELECT access_token_ciphertext, refresh_token_ciphertext, expires_at, updated_at FROM upstream_oauth_tokens WHERE connection_id = ? AND user_id = ?',
  )
    .bind(connectionId, owner.userId)
    .first();
}

async function expectTooLarge(res: Response): Promise<void> {
  expect(res.status).toBe(502);
  const body = await json<{ error: { code: string; message: string } }>(res);
  expect(body.error.code).toBe('upstream_too_large');
  // The generic message: nothing of the remote's answer, address or cap.
  expect(body.error.message).toBe('Upstream answer too large');
}

describe('upstream OAuth: authorization server metadata (discovery)', () => {
  it.each(FRAMINGS)('refuses metadata over %s cap, accepts it within', async (framing) => {
    const over = remote('metadata', REMOTE_BODY_LIMITS.authServerMetadata + KIB, framing);
    const overConnection = await upstreamConnection(over.prefix, false);
    await expectTooLarge(
      await fetchWorker(`/api/oauth/upstream/connect/${overConnection.id}`, { headers: { Cookie: cookie } }),
    );
    // Over the cap on the OIDC document: the RFC 8414 spelling is not asked for as well.
    expect((await fakeLog(over.run)).map((e) => e.kind)).toEqual(['metadata']);

    const within = remote('metadata', REMOTE_BODY_LIMITS.authServerMetadata - 8 * KIB, framing);
    const withinConnection = await upstreamConnection(within.prefix, false);
    const ok = await fetchWorker(`/api/oauth/upstream/connect/${withinConnection.id}`, {
      headers: { Cookie: cookie },
    });
    expect(ok.status).toBe(302);
    expect(ok.headers.get('Location')).toContain(`${within.prefix}/authorize?`);
  });
});

describe('upstream OAuth: token answers', () => {
  it.each(FRAMINGS)(
    'refuses a code redemption answer over the cap (%s), storing nothing',
    async (framing) => {
      const over = remote('code', REMOTE_BODY_LIMITS.tokenResponse + KIB, framing);
      const connection = await upstreamConnection(over.prefix, true);
      const back = await linkOnce(connection.id);
      expect(back.status).toBe(502);
      expect(await back.text()).toContain('Not connected');
      expect(await tokenRow(connection.id)).toBeNull();

      const within = remote('code', REMOTE_BODY_LIMITS.tokenResponse - 4 * KIB, framing);
      const linked = await upstreamConnection(within.prefix, true);
      expect((await linkOnce(linked.id)).status).toBe(200);
      expect(await tokenRow(linked.id)).not.toBeNull();
    },
  );

  it.each(FRAMINGS)(
    'refuses a refresh answer over the cap (%s): the call fails typed, the stored tokens stay',
    async (framing) => {
      const over = remote('refresh', REMOTE_BODY_LIMITS.tokenResponse + KIB, framing);
      const connection = await upstreamConnection(over.prefix, true);
      await putPolicy(connection.slug, [{ tool: '*', action: 'allow' }], owner.key);
      expect((await linkOnce(connection.id)).status).toBe(200);
      await env.DB.prepare(
        'UPDATE upstream_oauth_tokens SET expires_at = ? WHERE connection_id = ? AND user_id = ?',
      )
        .bind(Date.now() - 1000, connection.id, owner.userId)
        .run();
      const before = await tokenRow(connection.id);

      const res = await mcp(
        connection.slug,
        'tools/call',
        { name: 'whoami', arguments: {} },
        { key: owner.key },
      );
      const body = await rpcResult(res);
      expect(body.error?.data?.code).toBe('upstream_too_large');
      expect(body.error?.message).toBe('Upstream answer too large');
      // Not a refusal of the grant: the link is kept as it was, for a retry.
      expect(await tokenRow(connection.id)).toEqual(before);
      expect((await fakeLog(over.run)).map((e) => [e.kind, e.padded])).toEqual([
        ['code', false],
        ['refresh', true],
      ]);
    },
  );
});

describe('people sign-in: the provider answers', () => {
  const github = (prefix: string): ProviderConfig => ({
    id: 'github',
    clientId: 'rl-github-client',
    clientSecret: 'rl-github-secret',
    authorizeUrl: `${prefix}/authorize`,
    tokenUrl: `${prefix}/token`,
    apiUrl: prefix,
    scope: 'read:user user:email',
  });
  const google = (prefix: string): ProviderConfig => ({
    id: 'google',
    clientId: 'rl-google-client',
    clientSecret: 'rl-google-secret',
    authorizeUrl: `${prefix}/authorize`,
    tokenUrl: `${prefix}/token`,
    jwksUrl: `${prefix}/jwks`,
    issuer: prefix,
    scope: 'openid email profile',
  });
  const signIn = (config: ProviderConfig) =>
    completeAuthorization(config, 'code-1', `verifier-${randomId('v')}`, 'https://gateway.test/cb');

  const cases = [
    ['GitHub token answer', 'code', REMOTE_BODY_LIMITS.tokenResponse, github],
    ['GitHub user', 'user', REMOTE_BODY_LIMITS.profile, github],
    ['GitHub emails', 'emails', REMOTE_BODY_LIMITS.profile, github],
    ['Google keys (JWKS)', 'jwks', REMOTE_BODY_LIMITS.jwks, google],
  ] as const;
  for (const [what, padded, cap, provider] of cases) {
    it.each(FRAMINGS)(`refuses the ${what} over its cap (%s), accepts it within`, async (framing) => {
      const over = remote(padded, cap + KIB, framing);
      const failure = await signIn(provider(over.prefix)).catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(OAuthFailure);
      expect((failure as OAuthFailure).code).toBe('provider_error');
      expect((await fakeLog(over.run)).find((e) => e.padded)?.kind).toBe(padded);

      const within = remote(padded, cap - 4 * KIB, framing);
      const identity = await signIn(provider(within.prefix));
      expect(identity).toMatchObject({ email: 'remote.limits@example.com', emailVerified: true });
    });
  }
});

describe('Langfuse: the ingestion acknowledgement', () => {
  const generation = langfuseGeneration({ id: 'evt_remote_limits', traceId: 'trace-remote-limits' });

  it.each(FRAMINGS)(
    'stops reading an answer over the cap (%s); the accepted batch is done',
    async (framing) => {
      // Far over the cap, and over what the sockets between the two buffer: a reader that took it
      // all would let the fake finish writing.
      const over = remote('ingestion', 32 * 1024 * KIB, framing);
      const org = await orgSendingTo(over.prefix, {
        publicKey: 'pk-lf-rl',
        secretKey: 'sk-lf-remote-limits',
      });
      expect(await sendToLangfuse(env, org.orgId, [generation])).toBe('done');
      // The server sees the connection dropped once the gateway has read the cap.
      await expect
        .poll(async () => (await fakeLog(over.run)).map((e) => [e.kind, e.closed]))
        .toEqual([['ingestion', true]]);
      expect((await fakeLog(over.run))[0]?.finished).toBe(false);
    },
  );
});
