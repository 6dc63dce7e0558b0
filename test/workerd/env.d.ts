import type { D1Migration } from '@cloudflare/vitest-plugin';

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      /** Base URL of the real MCP upstream started by test/workerd/global-setup.ts. */
      UPSTREAM_URL: string;
    }
  }
}
