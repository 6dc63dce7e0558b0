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
run('npm', ['run', '--silent', 'dashboard:build']);
run(wrangler, ['pages', 'deploy', 'dashboard/dist', '--project-name', project]);
