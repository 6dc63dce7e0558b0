import { defineConfig } from 'drizzle-kit';

// drizzle-kit writes plain SQL migrations that wrangler (`d1 migrations apply`) and the
// vitest integration (`readD1Migrations`) both read.
export default defineConfig({
  dialect: 'sqlite',
  schema: './workers/db/schema.ts',
  out: './migrations',
});
