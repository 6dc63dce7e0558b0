import { applyD1Migrations } from 'cloudflare:test';
import { env } from 'cloudflare:workers';

// The same migrations wrangler applies (drizzle-kit output in migrations/), applied to the test
// D1 before any test runs. applyD1Migrations records what it applied, so this is idempotent.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
