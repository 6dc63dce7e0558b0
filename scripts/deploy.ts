/**
 * `npm run deploy` — production deploy with the wrangler CLI:
 *   1. remote D1 migrations (before the new code, so it never runs against an older schema),
 *   2. the Worker (`wrangler deploy`),
 *   3. the dashboard to Cloudflare Pages (`wrangler pages deploy dashboard/dist`).
 * Prerequisites (once): see docs/deployment.md — D1 database and KV namespace ids in wrangler.toml,
 * secrets set with `wrangler secret put`, and `wrangler login` (or CLOUDFLARE_API_TOKEN).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const wrangler = path.join(root, 'node_modules', '.bin', 'wrangler');
const project = process.env.PAGES_PROJECT ?? 'igris-dashboard';

function run(cmd: string, args: string[]) {
  console.log(`\n$ ${path.basename(cmd)} ${args.join(' ')}`);
  const result = spawnSync(cmd, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

run(wrangler, ['d1', 'migrations', 'apply', 'DB', '--remote']);
run(wrangler, ['deploy']);
// The Pages dashboard calls the Worker cross-origin: its API base is baked in at build time
// (VITE_API_BASE_URL, defaulting to PUBLIC_BASE_URL). The Worker must list the Pages origin in
// DASHBOARD_ORIGINS (CORS with credentials) — see docs/auth.md.
const apiBase = process.env.VITE_API_BASE_URL ?? process.env.PUBLIC_BASE_URL;
if (!apiBase) {
  console.error(
    'Set VITE_API_BASE_URL (or PUBLIC_BASE_URL) to the gateway URL the Pages dashboard should call.',
  );
  process.exit(1);
}
process.env.VITE_API_BASE_URL = apiBase;
run('npm', ['run', '--silent', 'dashboard:build']);
run(wrangler, ['pages', 'deploy', 'dashboard/dist', '--project-name', project]);
