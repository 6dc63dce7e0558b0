/**
 * The set-up of the tracing e2e test (tracing.e2e.test.ts): per-run names and secrets, the caller's
 * traceparent, a second organization made as a person makes one, the OTLP receiver, upstreams and
 * fake provider with the A/B connections (setUpTracing), and readers for what they saw.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { type DecodedSpan, type OtlpReceiver, startOtlpReceiver } from '../shared/otlp.receiver.ts';
import { adminKey, api, gatewayUrl } from './helpers.ts';
import { type FakeProvider, startFakeProvider } from './llm.fake-provider.ts';
import { startModernServer, type TestServer } from './protocol.servers.ts';
import { signUp } from './sign-up.fixtures.ts';

export const RUN = randomBytes(4).toString('hex');
export const SLUG_A = `trace-a-${RUN}`;
export const SLUG_B = `trace-b-${RUN}`;
export const SLUG_LLM = `trace-llm-${RUN}`;
export const PROVIDER_KEY = `sk-provider-trace-${RUN}`;
export const CREDENTIAL_A = `upstream-credential-a-${RUN}`;
export const CREDENTIAL_B = `upstream-credential-b-${RUN}`;
export const OTLP_SECRET_A = `otlp-secret-a-${RUN}`;
export const OTLP_SECRET_B = `otlp-secret-b-${RUN}`;
export const CONTENT = `confidential-argument-${RUN}`;
export const CALLER_TRACE = randomBytes(16).toString('hex');
export const CALLER_SPAN = randomBytes(8).toString('hex');
export const CALLER_TRACEPARENT = `00-${CALLER_TRACE}-${CALLER_SPAN}-01`;

/** A second organization, as a person makes one: sign up, create the organization, make an owner key. */
export async function createOrg(): Promise<{ orgId: string; key: string }> {
  const origin = new URL(gatewayUrl()).origin;
  const { cookie, csrf: csrfToken } = await signUp({
    email: `trace-${RUN}@example.test`,
    password: 'correct horse battery staple',
  });
  const asPerson = async (path: string, body: unknown) => {
    const res = await fetch(`${gatewayUrl()}${path}`, {
      method: 'POST',
      headers: {
        Cookie: cookie,
        'X-CSRF-Token': csrfToken,
        Origin: origin,
        'Content-Type': 'application/json',
      },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as Record<string, unknown>;
    expect(res.status, JSON.stringify(json)).toBe(201);
    return json;
  };
  const org = await asPerson('/api/auth/organizations', { name: `trace-${RUN}`, slug: `trace-${RUN}` });
  const created = await asPerson('/api/v1/api-keys', { name: 'tracing e2e', role: 'owner' });
  return { orgId: String(org.id), key: String(created.key) };
}

export async function ok<T>(res: Promise<{ status: number; body: T }>, status: number): Promise<T> {
  const { status: got, body } = await res;
  expect(got, JSON.stringify(body)).toBe(status);
  return body;
}

export async function until<T>(what: string, probe: () => T | undefined, ms = 40_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export const traceparentsSeenBy = (server: TestServer) =>
  server.requests.map((r) => r.headers.traceparent).filter((v): v is string => typeof v === 'string');

/** The spans of one gateway call: its root (SERVER) and the root's children. */
export function callOf(spans: DecodedSpan[], root: DecodedSpan): DecodedSpan[] {
  return spans.filter((s) => s === root || s.parentSpanId === root.spanId);
}

// Live bindings: set by setUpTracing, read by the test file after its beforeAll.
export let receiver: OtlpReceiver;
export let upstreamA: TestServer;
export let upstreamB: TestServer;
export let provider: FakeProvider;
export let orgB: { orgId: string; key: string };

export const spansAt = (tenant: string) =>
  receiver.received.filter((r) => r.path === `/${tenant}/v1/traces`).flatMap((r) => r.spans);

/** The receiver, the two upstreams, the fake provider, the second organization and the A/B connections (the describe's beforeAll). */
export async function setUpTracing(): Promise<void> {
  receiver = await startOtlpReceiver();
  upstreamA = await startModernServer();
  upstreamB = await startModernServer();
  provider = await startFakeProvider({ apiKey: PROVIDER_KEY });
  orgB = await createOrg();
  for (const [slug, url, credential, key] of [
    [SLUG_A, upstreamA.url, CREDENTIAL_A, adminKey()],
    [SLUG_B, upstreamB.url, CREDENTIAL_B, orgB.key],
  ] as const) {
    await ok(
      api(
        'POST',
        '/connections',
        { slug, name: slug, upstreamUrl: url, authType: 'bearer', credential },
        key,
      ),
      201,
    );
    await ok(
      api(
        'PUT',
        `/connections/${slug}/policy`,
        {
          rules: [
            { tool: 'echo', action: 'allow' },
            { tool: 'delete_everything', action: 'deny' },
          ],
        },
        key,
      ),
      200,
    );
  }
}
