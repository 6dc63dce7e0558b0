/**
 * Remote and unverified caller text quoted by a log line is echo-safe (lib/echo.remote.ts,
 * lib/echo.safe.ts): a Langfuse refusal whose message quotes the request's Basic credentials
 * (against the local fake, test/shared/oversize.fake.ts) is logged without the keys; a Cross App
 * Access assertion from an issuer nobody trusts is logged with its issuer bounded and a
 * credential-looking issuer hidden. Each assertion fails on the code that logged the text raw.
 */
import { env } from 'cloudflare:workers';
import { afterAll, beforeAll, describe, expect, it, type MockInstance, vi } from 'vitest';
import { sendToLangfuse } from '../../workers/langfuse/langfuse.deliver';
import { randomId } from '../../workers/lib/ids';
import { expectJson } from './helpers';
import { langfuseGeneration, orgSendingTo } from './langfuse.fixtures';
import { fetchWorker, OAUTH_BASE, randomAddress, resourceFor } from './oauth.helpers';

const logLines: string[] = [];
const spies: MockInstance[] = [];

beforeAll(() => {
  for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    const original = console[level].bind(console);
    spies.push(
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        logLines.push(args.map(String).join(' '));
        original(...args);
      }),
    );
  }
});

afterAll(() => {
  for (const spy of spies) spy.mockRestore();
});

const linesWith = (from: number, msg: string) =>
  logLines
    .slice(from)
    .filter((line) => line.includes(msg))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('Langfuse: a refusal that quotes the request', () => {
  const generation = langfuseGeneration({ id: 'evt_echo', traceId: 'trace-echo' });

  it('is logged with its status, without the keys in any form', async () => {
    const run = randomId('r').slice(-10).toLowerCase();
    const publicKey = `pk-lf-${crypto.randomUUID()}`;
    const secretKey = `sk-lf-${crypto.randomUUID()}`;
    const org = await orgSendingTo(`${env.OVERSIZE_URL}/r/${run}/echo/0/declared`, { publicKey, secretKey });

    const from = logLines.length;
    expect(await sendToLangfuse(env, org.orgId, [generation])).toBe('done');
    const all = logLines.slice(from).join('\n');
    for (const sent of [secretKey, btoa(`${publicKey}:${secretKey}`)]) expect(all).not.toContain(sent);
    const [refused] = linesWith(from, 'Langfuse refused some events');
    expect(refused).toMatchObject({ orgId: org.orgId, errors: [{ status: 400 }] });
  });
});

describe('Cross App Access: an assertion from an issuer nobody trusts', () => {
  const b64 = (value: unknown) =>
    btoa(JSON.stringify(value)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');

  async function exchangeFrom(iss: string): Promise<Response> {
    const registered = await fetchWorker('/register', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'CF-Connecting-IP': randomAddress() },
      body: JSON.stringify({
        client_name: 'XAA app',
        redirect_uris: ['https://app.example/callback'],
        token_endpoint_auth_method: 'client_secret_basic',
      }),
    });
    const client = await expectJson<{ client_id: string; client_secret: string }>(registered, 201);
    const now = Math.floor(Date.now() / 1000);
    const resource = resourceFor(`xaa-${randomId('s').slice(-8).toLowerCase()}`);
    const claims = {
      iss,
      sub: 'idp-subject',
      aud: OAUTH_BASE,
      client_id: client.client_id,
      jti: randomId('jti'),
      iat: now,
      exp: now + 120,
      resource,
    };
    const jwt = `${b64({ alg: 'RS256', typ: 'oauth-id-jag+jwt', kid: 'k1' })}.${b64(claims)}.c2ln`;
    return fetchWorker('/token', {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Authorization: `Basic ${btoa(`${client.client_id}:${client.client_secret}`)}`,
      },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion: jwt,
        resource,
      }).toString(),
    });
  }

  it('logs the issuer bounded, and hidden when it carries a credential-looking value', async () => {
    const token = 'zq_9fKx2LmQ7vRt4NwB8yHc3JdP6sGa';
    const long = `https://stranger.example.com/${'a'.repeat(4000)}`;
    for (const [iss, shown] of [
      [`https://stranger.example.com/t/${token}`, '[redacted]'],
      [long, `${long.slice(0, 200)}…`],
    ] as const) {
      const from = logLines.length;
      expect((await exchangeFrom(iss)).status).toBe(400);
      const [line] = linesWith(from, 'xaa exchange for no known organization');
      expect(line?.issuer).toBe(shown);
      expect(logLines.slice(from).join('\n')).not.toContain(iss);
    }
  });
});
