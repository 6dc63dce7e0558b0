import path from 'node:path';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

/** What test/workerd/auth.global-setup.ts provides about the fake OAuth/OIDC provider it started. */
interface FakeOAuthInfo {
  url: string;
  github: { clientId: string; clientSecret: string };
  google: { clientId: string; clientSecret: string };
}

function fakeOAuthBindings(fake: FakeOAuthInfo): Record<string, string> {
  return {
    GITHUB_CLIENT_ID: fake.github.clientId,
    GITHUB_CLIENT_SECRET: fake.github.clientSecret,
    GITHUB_AUTHORIZE_URL: `${fake.url}/github/login/oauth/authorize`,
    GITHUB_TOKEN_URL: `${fake.url}/github/login/oauth/access_token`,
    GITHUB_API_URL: `${fake.url}/github/api`,
    GOOGLE_CLIENT_ID: fake.google.clientId,
    GOOGLE_CLIENT_SECRET: fake.google.clientSecret,
    GOOGLE_AUTHORIZE_URL: `${fake.url}/google/authorize`,
    GOOGLE_TOKEN_URL: `${fake.url}/google/token`,
    GOOGLE_JWKS_URL: `${fake.url}/google/jwks`,
    GOOGLE_ISSUER: `${fake.url}/google`,
  };
}

// Three layers (see docs/testing.md):
//   unit     — pure modules (policy, metadata, crypto helpers) in plain Node, no runtime.
//   workerd  — integration tests inside workerd with real D1, KV and Durable Objects.
//   e2e      — real processes over HTTP: the local runtime + real MCP servers + the official MCP client.
export default defineConfig({
  test: {
    reporters: ['default', './test/reporters/summary.reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'workers/**/*.unit.test.ts',
            'durable-objects/**/*.unit.test.ts',
            'sdk/**/*.unit.test.ts',
            // Checks of the tests' own sources (test/e2e/sign-up.addresses.unit.test.ts).
            'test/**/*.unit.test.ts',
          ],
          environment: 'node',
        },
      },
      {
        plugins: [
          cloudflareTest(async ({ inject }) => {
            const migrations = await readD1Migrations(path.join(import.meta.dirname, 'migrations'));
            return {
              wrangler: { configPath: './wrangler.toml' },
              miniflare: {
                bindings: {
                  TEST_MIGRATIONS: migrations,
                  ENVIRONMENT: 'test',
                  ALLOW_PRIVATE_UPSTREAMS: 'true',
                  UPSTREAM_URL: inject<string>('upstreamUrl'),
                  UPSTREAM_RECORDER_URL: inject<string>('upstreamRecorderUrl'),
                  // An upstream that requires ?api_key=<QUERY_UPSTREAM_SECRET> (authType "query").
                  QUERY_UPSTREAM_URL: inject<{ url: string }>('queryUpstream').url,
                  QUERY_UPSTREAM_SECRET: inject<{ value: string }>('queryUpstream').value,
                  // The fake LLM provider (test/e2e/llm.fake-provider.ts) and the key it requires.
                  LLM_FAKE_URL: inject<{ url: string }>('llmFake').url,
                  LLM_FAKE_KEY: inject<{ key: string }>('llmFake').key,
                  // The fake upstream authorization server + MCP resource of OAuth upstream mode.
                  UPSTREAM_OAUTH_URL: inject<string>('upstreamOAuthUrl'),
                  // A remote party whose answers can be made too large (test/shared/oversize.fake.ts).
                  OVERSIZE_URL: inject<string>('oversizeUrl'),
                  // The A2A agent (test/e2e/a2a.agent.ts) and the bearer credential it requires.
                  A2A_AGENT_URL: inject<{ url: string }>('a2aAgent').url,
                  A2A_AGENT_CREDENTIAL: inject<{ credential: string }>('a2aAgent').credential,
                  // The production default: tests run the caches the product runs (config.epoch.ts).
                  POLICY_CACHE_TTL_MS: '10000',
                  ENCRYPTION_KEY: 'dGVzdC1lbmNyeXB0aW9uLWtleS0zMi1ieXRlcy0wMDA=',
                  ADMIN_API_KEY: 'ig_test_admin_key_0123456789abcdefghijklmnop',
                  // People sign-in (test/workerd/auth.*.test.ts): a fixed session secret, a
                  // dashboard origin for CORS/CSRF, and OAuth pointed at the local fake provider.
                  SESSION_SECRET: 'test-session-secret-0123456789abcdefghijklmnopqrstuvwxyz',
                  DASHBOARD_ORIGINS: 'https://dashboard.test',
                  ...fakeOAuthBindings(inject<FakeOAuthInfo>('fakeOAuth')),
                  // Cross App Access (experimental) on: its API and early refusals are tested here,
                  // the exchange end to end (test/e2e/oauth.xaa.e2e.test.ts: the IdP's https JWKS).
                  CROSS_APP_ACCESS: 'on',
                },
              },
            };
          }),
        ],
        test: {
          name: 'workerd',
          include: ['test/workerd/**/*.test.ts'],
          // A test of several API and gateway round trips can pass 5 s on a loaded 2-core machine;
          // nothing here asserts on time, so the bound only catches hangs.
          testTimeout: 20_000,
          setupFiles: ['./test/workerd/apply-migrations.ts'],
          globalSetup: [
            './test/workerd/global-setup.ts',
            './test/workerd/auth.global-setup.ts',
            './test/workerd/upstream-oauth.global-setup.ts',
            './test/workerd/oversize.global-setup.ts',
          ],
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.e2e.test.ts'],
          environment: 'node',
          globalSetup: ['./test/e2e/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
