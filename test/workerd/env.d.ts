import type { D1Migration } from '@cloudflare/vitest-plugin';

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      /** Base URL of the real MCP upstream started by test/workerd/global-setup.ts. */
      UPSTREAM_URL: string;
      /** The same upstream behind a recording proxy (test/workerd/upstream.recorder.ts). */
      UPSTREAM_RECORDER_URL: string;
      /** An upstream that answers 401 unless `?api_key=` equals QUERY_UPSTREAM_SECRET (global-setup.ts). */
      QUERY_UPSTREAM_URL: string;
      QUERY_UPSTREAM_SECRET: string;
      /** The fake LLM provider started by global-setup.ts, and the provider key it requires. */
      LLM_FAKE_URL: string;
      LLM_FAKE_KEY: string;
      /** The fake upstream authorization server + MCP resource (test/shared/upstream-oauth.fake.ts). */
      UPSTREAM_OAUTH_URL: string;
      /** A remote party whose answers can be made too large (test/shared/oversize.fake.ts). */
      OVERSIZE_URL: string;
      /** The A2A agent started by global-setup.ts (test/e2e/a2a.agent.ts), and the credential it requires. */
      A2A_AGENT_URL: string;
      A2A_AGENT_CREDENTIAL: string;
    }
  }
}
