/**
 * Where the API lives. Same origin by default (the Worker serves this app locally); a Pages
 * deployment is built with VITE_API_BASE_URL, and a `/config.json` beside index.html
 * (`{"apiBaseUrl": "https://api.example.com"}`) overrides both at run time, so one build can be
 * pointed at another gateway without rebuilding.
 */

let apiBaseUrl = normalize(import.meta.env.VITE_API_BASE_URL ?? '');

function normalize(url: string): string {
  return url.trim().replace(/\/+$/, '');
}

/** Reads /config.json once at start-up. A missing or malformed file keeps the build-time value. */
export async function loadRuntimeConfig(): Promise<void> {
  try {
    const res = await fetch('/config.json', { cache: 'no-store', headers: { Accept: 'application/json' } });
    // The Worker's SPA fallback answers unknown paths with index.html: only real JSON counts.
    if (!res.ok || !(res.headers.get('Content-Type') ?? '').includes('json')) return;
    const value: unknown = await res.json();
    if (value && typeof value === 'object' && 'apiBaseUrl' in value && typeof value.apiBaseUrl === 'string') {
      apiBaseUrl = normalize(value.apiBaseUrl);
    }
  } catch {
    // No runtime config: keep the build-time base URL.
  }
}

/** '' (same origin) or an absolute origin+path prefix without a trailing slash. */
export function getApiBaseUrl(): string {
  return apiBaseUrl;
}

/** The origin the API (and so the gateway) is on, for URLs shown to people. */
export function apiOrigin(): string {
  return apiBaseUrl === '' ? window.location.origin : new URL(apiBaseUrl).origin;
}

/** True when the API is on another origin than this page (Pages): cookies need credentials: 'include'. */
export function isCrossOrigin(): boolean {
  return apiBaseUrl !== '' && new URL(apiBaseUrl).origin !== window.location.origin;
}
