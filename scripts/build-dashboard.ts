/**
 * `npm run dashboard:build` — `vite build` of dashboard/ (React + Vite, dashboard/vite.config.ts)
 * into dashboard/dist, which the Worker serves as static assets locally and `npm run deploy`
 * publishes to Cloudflare Pages. Set VITE_API_BASE_URL to point a Pages build at the API's origin.
 */
import path from 'node:path';
import { build } from 'vite';

const root = path.resolve(import.meta.dirname, '..', 'dashboard');

await build({
  configFile: path.join(root, 'vite.config.ts'),
  root,
  logLevel: process.env.VERBOSE === '1' ? 'info' : 'warn',
});
console.log('dashboard built into dashboard/dist');
