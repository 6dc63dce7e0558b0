/**
 * The dashboard is served with a strict Content-Security-Policy and may not be framed
 * (dashboard/vite.config.ts writes them as `_headers`; Workers static assets and Pages apply it),
 * on index.html, on client-side routes answered by the SPA fallback, and on its assets.
 */
import { describe, expect, it } from 'vitest';
import { gatewayUrl } from './helpers';

async function headersOf(path: string): Promise<Headers> {
  const res = await fetch(`${gatewayUrl()}${path}`);
  await res.body?.cancel();
  expect(res.status).toBe(200);
  return res.headers;
}

describe('dashboard security headers', () => {
  for (const path of ['/', '/observe', '/connections/some-slug', '/favicon.svg']) {
    it(`${path}: CSP with frame-ancestors 'none', no framing, no sniffing`, async () => {
      const headers = await headersOf(path);
      const csp = headers.get('Content-Security-Policy') ?? '';
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("object-src 'none'");
      expect(headers.get('X-Frame-Options')).toBe('DENY');
      expect(headers.get('X-Content-Type-Options')).toBe('nosniff');
    });
  }

  it('does not serve the _headers file itself', async () => {
    const res = await fetch(`${gatewayUrl()}/_headers`);
    const text = await res.text();
    expect(text).not.toContain('Content-Security-Policy');
  });
});
