/**
 * Dashboard build: `npm run dashboard:build` (scripts/build-dashboard.ts) → dashboard/dist, which the
 * Worker serves as static assets locally and `npm run deploy` publishes to Cloudflare Pages.
 *
 * VITE_API_BASE_URL (build time) points the app at an API on another origin (Pages); empty means
 * same origin. A `/config.json` next to index.html ({"apiBaseUrl": "…"}) overrides it at run time.
 */
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

/**
 * Security headers for every dashboard response, as a `_headers` file next to index.html (honoured
 * by Workers static assets — what `npm start` serves — and by Cloudflare Pages): a strict CSP (only
 * this origin's scripts and styles; API calls to this origin, plus VITE_API_BASE_URL's origin and
 * any DASHBOARD_CONNECT_SRC origins for a Pages deployment) and `frame-ancestors 'none'` against
 * clickjacking (the kill switch is one click away).
 */
function securityHeaders(): Plugin {
  return {
    name: 'igris-security-headers',
    apply: 'build',
    generateBundle() {
      const origins = [
        process.env.VITE_API_BASE_URL,
        ...(process.env.DASHBOARD_CONNECT_SRC ?? '').split(/\s+/),
      ]
        .filter((value): value is string => Boolean(value))
        .map((value) => new URL(value).origin);
      const csp = [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        `connect-src 'self'${origins.map((o) => ` ${o}`).join('')}`,
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
      ].join('; ');
      const lines = [
        '/*',
        `  Content-Security-Policy: ${csp}`,
        '  X-Frame-Options: DENY',
        '  X-Content-Type-Options: nosniff',
        '  Referrer-Policy: strict-origin-when-cross-origin',
      ];
      this.emitFile({ type: 'asset', fileName: '_headers', source: `${lines.join('\n')}\n` });
    },
  };
}

const root = new URL('.', import.meta.url).pathname;

export default defineConfig({
  root,
  base: '/',
  plugins: [react(), securityHeaders()],
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
