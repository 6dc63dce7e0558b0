/**
 * Dashboard build: `npm run dashboard:build` (scripts/build-dashboard.ts) → dashboard/dist, which the
 * Worker serves as static assets locally and `npm run deploy` publishes to Cloudflare Pages.
 *
 * VITE_API_BASE_URL (build time) points the app at an API on another origin (Pages); empty means
 * same origin. A `/config.json` next to index.html ({"apiBaseUrl": "…"}) overrides it at run time.
 */
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = new URL('.', import.meta.url).pathname;

export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  envDir: root,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 800,
  },
  server: {
    // `vite` dev server against a running `npm start` gateway (same-origin through the proxy).
    proxy: { '/api': 'http://127.0.0.1:8787', '/v1': 'http://127.0.0.1:8787' },
  },
});
